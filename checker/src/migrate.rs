//! Migrating a student's sandbox database by hand:
//! `checker migrate EX up|down|status|new NAME`.
//!
//! The engine is `workbook::migrations`, the code the checks run, so a
//! migration behaves here exactly as the checks will judge it. This module
//! adds what a person at a terminal needs: which migrations stand where,
//! new correctly named files, and errors that say why and what next. The
//! command that parses arguments and prints lives in `cmd/`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use workbook::migrations::{self as engine, MigrationError, MigrationFile};

/// A migration that `up` applied or `down` reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub description: String,
    /// The file that ran: the up file for `up`, the down file for `down`.
    pub file: PathBuf,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", file_name(&self.file))
    }
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not applied yet: the next `up` runs it.
    Pending,
    /// Applied, and its file is unchanged since.
    Applied,
    /// Applied, but its up file has changed since: `up` will refuse.
    Modified,
    /// Applied, but no file has its version any more.
    Missing,
    /// Recorded as failed part-way.
    Failed,
}

/// One line of `migrate status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub version: i64,
    pub description: String,
    pub state: State,
    /// The up file, when there is one.
    pub file: Option<PathBuf>,
    /// Whether a down file exists (without one, `down` stops here).
    pub has_down: bool,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Pending => "pending",
            State::Applied => "applied",
            State::Modified => "applied, but the file changed since (up will refuse: see `migrate up`)",
            State::Missing => "applied, but its file is gone",
            State::Failed => "failed part-way",
        };
        let name = format!("{}_{}", self.version, self.description.replace(' ', "_"));
        write!(f, "{name}: {state}")?;
        if !self.has_down && self.state != State::Missing {
            write!(f, " (no down file)")?;
        }
        Ok(())
    }
}

/// Why a migration command failed, worded for the student at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("reading the migrations in {}: {message}", dir.display())]
    Source { dir: PathBuf, message: String },

    /// PostgreSQL refused a statement; `report` is file:line:column, the
    /// message, and the line with a caret under the spot.
    #[error("{report}\nnothing of that file was kept; fix it and run the command again")]
    Sql { file: PathBuf, line: Option<usize>, column: Option<usize>, report: String },

    #[error(
        "migration {name} was already applied to database {database}, and {} has changed since.\n\n\
         sqlx stores a checksum of every migration it applies and refuses to go on when a file no longer \
         matches it. An applied migration is history: every database that already ran it (a teammate's, \
         a test server, production) keeps the old text and would never run your edit, so the schemas would \
         quietly drift apart.\n\n\
         what to do:\n  \
         - to change the schema further, put the old text back and add a new migration:\n      \
           cargo checker migrate {exercise} new <what_it_changes>\n  \
         - if this migration never left your machine, revert it here and apply your edit:\n      \
           cargo checker migrate {exercise} down    (repeat until it shows as pending)\n      \
           cargo checker migrate {exercise} up\n  \
         - or start the sandbox database {database} again from empty:\n      \
           cargo checker db reset {exercise}",
        file.display()
    )]
    Modified { exercise: String, database: String, version: i64, name: String, file: PathBuf },

    #[error(
        "migration {version} was applied to database {database}, but no file in {} has that version any \
         more: restore the file, or drop the database {database} and start again from empty",
        dir.display()
    )]
    Missing { database: String, version: i64, dir: PathBuf },

    #[error(
        "{} has no down file, so it cannot be reverted; create {} next to it with the SQL that undoes the up",
        up.display(),
        down_name(up)
    )]
    NoDown { version: i64, up: PathBuf },

    #[error(
        "migration {version} is recorded as failed part-way in database {database}; \
         drop the database and start again from empty"
    )]
    Dirty { database: String, version: i64 },

    #[error("talking to the database: {0}")]
    Database(#[source] sqlx::Error),

    #[error(
        "{name:?} cannot name a {kind}: use lowercase words joined by underscores, \
         saying what it {}", if *kind == "seed" { "adds (e.g. demo_students)" } else { "changes (e.g. add_phone_to_students)" }
    )]
    BadName { name: String, kind: &'static str },

    #[error("writing {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl MigrateError {
    fn from_engine(e: MigrationError, url: &str, dir: &Path) -> MigrateError {
        let database = database_of(url);
        match e {
            MigrationError::Source { dir, message } => MigrateError::Source { dir, message },
            MigrationError::Sql { ref file, ref error, .. } => MigrateError::Sql {
                file: file.clone(),
                line: error.position.as_ref().map(|p| p.line),
                column: error.position.as_ref().map(|p| p.column),
                report: e.to_string(),
            },
            MigrationError::Modified { version, file } => MigrateError::Modified {
                exercise: exercise_of(dir),
                database,
                version,
                name: file_name(&file).trim_end_matches(".up.sql").trim_end_matches(".sql").to_owned(),
                file,
            },
            MigrationError::Missing { version } => MigrateError::Missing { database, version, dir: dir.to_path_buf() },
            MigrationError::NoDown { version, up } => MigrateError::NoDown { version, up },
            MigrationError::Dirty { version } => MigrateError::Dirty { database, version },
            MigrationError::Database(e) => MigrateError::Database(e),
            other => MigrateError::Source { dir: dir.to_path_buf(), message: other.to_string() },
        }
    }
}

/// Applies every pending migration in `dir` to the database at `url`,
/// oldest first; returns what ran.
pub async fn up(url: &str, dir: &Path) -> Result<Vec<Applied>, MigrateError> {
    let ran = engine::up(url, dir).await.map_err(|e| MigrateError::from_engine(e, url, dir))?;
    Ok(ran.into_iter().map(|m| Applied { version: m.version, description: m.description, file: m.up }).collect())
}

/// Reverts the newest applied migration with its down file; `None` when
/// nothing is applied.
pub async fn down(url: &str, dir: &Path) -> Result<Option<Applied>, MigrateError> {
    let reverted = engine::down_last(url, dir).await.map_err(|e| MigrateError::from_engine(e, url, dir))?;
    Ok(reverted.map(|m: MigrationFile| Applied {
        version: m.version,
        description: m.description,
        file: m.down.unwrap_or(m.up),
    }))
}

/// Every migration in `dir` and every one the database at `url` applied,
/// oldest first, with where each stands.
pub async fn status(url: &str, dir: &Path) -> Result<Vec<Status>, MigrateError> {
    let wrap = |e| MigrateError::from_engine(e, url, dir);
    let files = engine::files(dir).map_err(wrap)?;
    let sums = engine::checksums(dir).await.map_err(wrap)?;
    let applied = engine::applied(url).await.map_err(wrap)?;
    let applied: BTreeMap<i64, _> = applied.into_iter().map(|a| (a.version, a)).collect();

    let mut out: Vec<Status> = files
        .iter()
        .map(|f| {
            let state = match applied.get(&f.version) {
                None => State::Pending,
                Some(a) if !a.success => State::Failed,
                Some(a) if sums.get(&f.version) != Some(&a.checksum) => State::Modified,
                Some(_) => State::Applied,
            };
            Status {
                version: f.version,
                description: f.description.clone(),
                state,
                file: Some(f.up.clone()),
                has_down: f.down.is_some(),
            }
        })
        .collect();
    for (version, a) in &applied {
        if !files.iter().any(|f| f.version == *version) {
            out.push(Status {
                version: *version,
                description: a.description.clone(),
                state: State::Missing,
                file: None,
                has_down: false,
            });
        }
    }
    out.sort_by_key(|s| s.version);
    Ok(out)
}

/// Creates `<YYYYMMDDHHMMSS>_<name>.up.sql` and `.down.sql` in `dir`
/// (made if missing), each with a comment saying what belongs in it, and
/// returns their paths (up, down).
///
/// The version is the current UTC time, or one more than the newest
/// migration in `dir` if that is later, so a new migration always sorts
/// last and never shares a version.
pub fn new(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), MigrateError> {
    new_pair(
        dir,
        name,
        "migration",
        &|name| {
            format!(
                "-- Up: {name}.\n-- Write the SQL that makes this change. It runs once per database, in one\n\
                 -- transaction: if any statement fails, none of it is kept.\n"
            )
        },
        "-- Down: undo exactly what the up file does, newest change first, so the\n\
         -- schema is as it was before the up ran.\n",
    )
}

/// A new `<version>_<name>.up.sql`/`.down.sql` pair in `dir` (migrations
/// and seeds are named alike), the version the current UTC time or one
/// past the newest file's, so it sorts last. `up` words the up file's
/// opening comment from the name in words.
pub(crate) fn new_pair(
    dir: &Path,
    name: &str,
    kind: &'static str,
    up: &dyn Fn(&str) -> String,
    down: &str,
) -> Result<(PathBuf, PathBuf), MigrateError> {
    let name = clean_name(name).map_err(|_| MigrateError::BadName { name: name.to_owned(), kind })?;
    std::fs::create_dir_all(dir).map_err(|source| MigrateError::Io { path: dir.to_path_buf(), source })?;
    let newest =
        if dir.read_dir().map_err(|source| MigrateError::Io { path: dir.to_path_buf(), source })?.next().is_some() {
            engine::files(dir).map_err(|e| MigrateError::from_engine(e, "", dir))?.last().map(|f| f.version)
        } else {
            None
        };
    let now: i64 = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string().parse().expect("14 digits fit in i64");
    let version = match newest {
        Some(v) if v >= now => v + 1,
        _ => now,
    };
    let up_file = dir.join(format!("{version}_{name}.up.sql"));
    let down_file = dir.join(format!("{version}_{name}.down.sql"));
    write_new(&up_file, &up(&name.replace('_', " ")))?;
    if let Err(e) = write_new(&down_file, down) {
        let _ = std::fs::remove_file(&up_file);
        return Err(e);
    }
    Ok((up_file, down_file))
}

/// Lowercase, words joined by `_`: spaces and dashes become underscores,
/// anything else is refused rather than guessed at.
fn clean_name(name: &str) -> Result<String, MigrateError> {
    let cleaned: String =
        name.trim().to_lowercase().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c }).collect();
    let ok = !cleaned.is_empty()
        && cleaned.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && cleaned.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if ok { Ok(cleaned) } else { Err(MigrateError::BadName { name: name.to_owned(), kind: "migration" }) }
}

fn write_new(path: &Path, text: &str) -> Result<(), MigrateError> {
    let io = |source| MigrateError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn down_name(up: &Path) -> String {
    let name = file_name(up);
    match name.strip_suffix(".up.sql") {
        Some(stem) => format!("{stem}.down.sql"),
        None => format!("{}.down.sql", name.trim_end_matches(".sql")),
    }
}

/// The exercise a migrations directory belongs to: `exercises/<slug>/migrations`.
fn exercise_of(dir: &Path) -> String {
    dir.parent().and_then(Path::file_name).map_or_else(|| "<exercise>".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The database named in a URL, for messages.
fn database_of(url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    let after_scheme = path.split_once("://").map_or(path, |(_, rest)| rest);
    after_scheme.split_once('/').map_or_else(|| "(the default database)".to_owned(), |(_, db)| db.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_cased_or_refused() {
        assert_eq!(clean_name("Add phone-number").unwrap(), "add_phone_number");
        assert_eq!(clean_name("index_students_2").unwrap(), "index_students_2");
        for bad in ["", "  ", "2fast", "drop;table", "café"] {
            assert!(matches!(clean_name(bad), Err(MigrateError::BadName { .. })), "{bad:?}");
        }
    }

    #[test]
    fn helpers_read_urls_and_paths() {
        assert_eq!(database_of("postgres://u:p@h:5432/wbsandbox_x?sslmode=disable"), "wbsandbox_x");
        assert_eq!(exercise_of(Path::new("/c/exercises/first_migration/migrations")), "first_migration");
        assert_eq!(down_name(Path::new("m/1_a_b.up.sql")), "1_a_b.down.sql");
    }
}
