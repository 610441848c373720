//! The command line, as `--help` shows it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::color::ColorChoice;

const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed (or the command did what it was asked)
  1  some checks failed (or a migration or seed you wrote failed)
  2  usage error: an unknown exercise, a bad argument, a broken info.toml
  3  environment error: no database, no cargo, a server that refuses
  130  interrupted (Ctrl-C): the checks were stopped and their databases dropped

Database: --database-url, then DATABASE_URL, then .env, then an embedded
PostgreSQL the checker runs from your installed binaries (data under
target/workbook/pg). The embedded server stops by itself after 30 minutes
unused (no checker running, no client connected), and the next checker
start stops the server of a course copy that was deleted.

Settings: WORKBOOK_RUN_TIMEOUT (seconds an exercise's checks may take, all
together; a build has its own 10-minute limit), WORKBOOK_CHECK_TIMEOUT
(seconds one check may take, default 10), WORKBOOK_CHECK_MEMORY_MB (memory
a check process may allocate, default 1024, 0 for no limit),
WORKBOOK_PG_BIN (where PostgreSQL's server programs are),
WORKBOOK_FAST_TABLESPACE=off (keep the embedded server's check databases
on disk, not in /dev/shm), WORKBOOK_PG_IDLE_STOP (seconds the embedded
server may sit unused before it stops, default 1800, off to never stop),
NO_COLOR.";

/// The Postgres & ORM Workbook checker. With no command: watch mode on the
/// current exercise (re-checks every time you save).
#[derive(Debug, Parser)]
#[command(name = "checker", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Use this server instead of DATABASE_URL, .env or the embedded default.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Colour output (NO_COLOR is honoured in auto mode).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Watch mode without file watching: press Enter to re-check (for file
    /// systems that don't report changes).
    #[arg(long)]
    pub manual: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the exercises in course order with their progress.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Build and check an exercise (default: the current one).
    Run {
        exercise: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show the next hint for an exercise (default: the current one).
    Hint { exercise: Option<String> },
    /// Put an exercise back to its starter, backing up your files first.
    Reset { exercise: String },
    /// Check every exercise in order and record which pass.
    Verify {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Move on to the next unsolved exercise.
    Next,
    /// The database the checks use.
    #[command(subcommand)]
    Db(DbCommand),
    /// Apply or revert an exercise's migrations in its sandbox database.
    Migrate {
        exercise: String,
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Apply or revert an exercise's seed data in its sandbox database.
    Seed {
        exercise: String,
        #[command(subcommand)]
        action: SeedAction,
    },
    /// Serve an HTTP exercise on 127.0.0.1 against its sandbox database
    /// (migrated and seeded first), to try it with curl or a browser.
    Serve {
        exercise: String,
        /// The port on 127.0.0.1 (0 picks a free one; the server says which).
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
    /// Build the book with mdBook (nothing to install) into target/book
    /// and print where its first page is.
    Book {
        /// Open it in a browser ($BROWSER, else the desktop's default).
        #[arg(long)]
        open: bool,
        /// Serve it on 127.0.0.1 instead, rebuilding and reloading open
        /// pages whenever a file under book/ changes; Ctrl-C stops it.
        #[arg(long)]
        serve: bool,
        /// The port --serve listens on (0 picks a free one).
        #[arg(long, default_value_t = 3001, requires = "serve")]
        port: u16,
    },
    /// Grade a folder of student submissions into grades.csv, feedback and
    /// platform files (Gradescope, JUnit, GitHub Classroom).
    Grade(GradeArgs),
    /// Tools for course authors.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Start the embedded server (a no-op for a configured URL).
    Start,
    /// Stop the embedded server.
    Stop,
    /// Say which server is used and whether it answers.
    Status,
    /// Print the server URL (starting the embedded server if needed).
    Url,
    /// Open psql on an exercise's sandbox database (default: the current one).
    Psql { exercise: Option<String> },
    /// Drop an exercise's sandbox database, so the next migrate, seed or
    /// psql starts from an empty one.
    Reset { exercise: String },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the newest applied migration.
    Down,
    /// List migrations: applied, pending, or changed since applied.
    Status,
    /// Create a timestamped up/down pair.
    New { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SeedAction {
    /// Apply every seed not yet applied.
    Up,
    /// Revert the applied seeds, newest first.
    Down,
    /// Show which seeds are applied, pending, or changed since applied.
    Status,
    /// Apply pending migrations, then pending seeds: a fresh start.
    Fresh,
    /// Create a timestamped up/down seed pair in the exercise's seeds/.
    New { name: String },
}

/// Grading runs on a throwaway PostgreSQL cluster of its own, started from
/// the installed server programs and destroyed at the end; DATABASE_URL and
/// .env are not used. Give --database-url to grade on a server instead
/// (its role must be a superuser: it makes a role per submission, which
/// owns that submission's check databases and may reach nothing else).
#[derive(Debug, Args)]
#[command(
    after_help = "Writes to --out: grades.csv, grades.json, feedback/<student>.md, gradescope/<student>/results.json, junit/<student>.xml, classroom/<student>.json and .b64 (the GitHub Classroom grading reporter's input). Only the files info.toml marks editable are taken from a submission; the feedback lists what else it changed."
)]
pub struct GradeArgs {
    /// A folder with one subfolder per student (a clone of their repository).
    pub submissions: PathBuf,
    /// A CSV mapping folders to student ids: a header naming a folder column
    /// (folder or github_username) and a student column (student or identifier).
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// Only these exercises (comma-separated slugs).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Where to write grades.csv, feedback and platform files.
    #[arg(long, default_value = "grades")]
    pub out: PathBuf,
    /// Submissions checked at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Seconds each exercise of a submission may take.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Run the submissions' code without the sandbox (to measure what it
    /// costs); grading says so on its first line and in grades.json.
    #[arg(long, conflicts_with = "require_sandbox")]
    pub no_sandbox: bool,
    /// Refuse to grade unless the machine offers the whole sandbox
    /// (Landlock ABI 6, or ABI 4 and a separate uid when run as root).
    #[arg(long)]
    pub require_sandbox: bool,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Prove the course: metadata consistent, every starter fails, every
    /// solution passes, every book link resolves.
    Check {
        /// Only these exercises (default: all).
        exercises: Vec<String>,
    },
    /// Run an exercise's checks with the files of DIR laid over its starter
    /// (to test a wrong answer or a solution).
    Try {
        exercise: String,
        dir: PathBuf,
        /// Lay DIR over the solution instead: DIR then holds only the files
        /// a wrong answer changes.
        #[arg(long)]
        over_solution: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Measure: database create/drop, a round trip direct and through the
    /// wire relay, then per exercise (solved, in a scratch copy): watch-mode
    /// save to verdict, the relink floor (`cargo test --no-run -p EX` after
    /// the same edit), and where one save's time goes (cargo, compiling,
    /// linking, the check binary's start, creating databases, migrations,
    /// check bodies, dropping databases).
    Bench {
        /// The exercises to measure (default: every exercise, in course order).
        exercises: Vec<String>,
        /// Saves to time per exercise (the median is shown).
        #[arg(long, default_value_t = 5)]
        saves: usize,
    },
    /// Write the student edition of the course into OUT: everything but
    /// solutions/ (and build output, .git, local state), ready to be a
    /// GitHub Classroom template repository or a zip.
    Edition {
        out: PathBuf,
        /// Put the GitHub Classroom grading workflow in
        /// .github/workflows/classroom.yml.
        #[arg(long)]
        classroom: bool,
    },
    /// Scaffold a new exercise: crate, solution, book section, info.toml entry.
    New {
        slug: String,
        #[arg(long)]
        title: Option<String>,
    },
}
