//! Building an exercise and running its checks: the engine under `run`,
//! the watch loop, `verify`, `dev check` and grading.
//!
//! A run is two steps, kept apart so each failure is told as what it is:
//! compile the checks (a compile error is the student's, shown as the
//! compiler wrote it), then run the check binary under a time limit with
//! its own databases, all dropped when it ends, however it ends.

mod build;
mod exec;
mod fresh;
pub mod limits;
pub mod overlay;
mod parse;
pub mod spawn;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use build::{BuildOutput, build_checks, cargo as cargo_path};
pub use exec::{ExecOptions, drop_run_databases, execute, execute_prepared, list as list_checks};
use limits::BUILD_LIMIT;

use crate::db::checkdbs::{Prepared, Target};
use crate::events::{Built, Event, Events, Subject};

/// Why a run could not be carried out (as opposed to checks that failed,
/// which are a run's result).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "could not run cargo ({error}). Install Rust from https://rustup.rs and run the checker from a shell \
         where `cargo` works."
    )]
    NoCargo { error: std::io::Error },

    #[error("{doing}: {error}")]
    Io { doing: String, error: std::io::Error },

    /// The workspace an overlay is generated from is not as expected.
    #[error("{0}")]
    Workspace(String),

    /// The checker's sandbox could not be set up around a build or a check
    /// process: the grader's machine, not the submission.
    #[error("the sandbox could not be set up ({0}): the grading machine's fault, not the submission's")]
    Sandbox(String),

    #[error("listing the checks in {} took over 30 s", .0.display())]
    ListTimeout(PathBuf),

    /// Ctrl-C: the checks were stopped and their databases dropped.
    #[error("interrupted: stopped the checks and dropped their databases")]
    Interrupted,

    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl RunError {
    pub(crate) fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunError {
        let doing = doing.into();
        move |error| RunError::Io { doing, error }
    }
}

/// What one check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Stopped at the time limit.
    TimedOut,
}

/// The structured report the support crate writes for a failed check:
/// one definition, in the support crate, for both sides.
pub use workbook::report::{Kind, Report};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    /// How it failed, when the support crate could say.
    pub detail: Option<Report>,
    /// What the check printed (panic messages included), for failures.
    pub output: String,
}

/// How a whole exercise run ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The checks ran; see `checks`.
    Checked,
    /// The exercise did not compile; the compiler's messages.
    CompileError { diagnostics: String },
    /// The whole run passed its time limit.
    TimedOut { limit_secs: u64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseRun {
    pub slug: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub checks: Vec<CheckResult>,
    pub build_ms: u64,
    pub check_ms: u64,
    /// Set when the output passed the cap and the rest was discarded.
    #[serde(default)]
    pub output_truncated: bool,
    /// Set when the check process died (out of memory, an abort) before
    /// every check reported.
    #[serde(default)]
    pub crashed: bool,
    /// The check binary, when it was built.
    #[serde(skip)]
    pub executable: Option<PathBuf>,
}

impl ExerciseRun {
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Checked)
            && !self.checks.is_empty()
            && self.checks.iter().all(|c| c.status == Status::Passed)
    }

    pub fn passed_count(&self) -> usize {
        self.checks.iter().filter(|c| c.status == Status::Passed).count()
    }
}

/// Everything one run needs to know besides the exercise.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub slug: String,
    /// Which copy of the exercise this is, for the events.
    pub subject: Subject,
    /// The workspace whose `Cargo.toml` lists the exercise (the course
    /// root, or a generated overlay workspace).
    pub workspace: PathBuf,
    /// The exercise crate's directory inside that workspace.
    pub crate_dir: PathBuf,
    pub target_dir: PathBuf,
    /// Where the checks' databases are made, and the role that owns them.
    pub db: Target,
    /// Prefix for every database this run creates; dropped at the end.
    pub db_prefix: String,
    /// How long the check binary may run.
    pub time_limit: Duration,
    pub check_time_limit: Duration,
    pub output_cap: usize,
    pub color: bool,
    /// More environment for the check binary (grading fixes `WORKBOOK_SEED`).
    pub env: Vec<(String, String)>,
    /// Build and check in this sandbox (grading), or as the user's own
    /// processes (a student's own runs).
    pub sandbox: Option<crate::sandbox::Context>,
}

impl RunRequest {
    /// How to run `executable` for this request: every check, or `only` one.
    pub fn exec_options(&self, executable: PathBuf, only: Option<String>) -> ExecOptions {
        ExecOptions {
            executable,
            crate_dir: self.crate_dir.clone(),
            db: self.db.clone(),
            db_prefix: self.db_prefix.clone(),
            time_limit: self.time_limit,
            check_time_limit: self.check_time_limit,
            output_cap: self.output_cap,
            env: self.env.clone(),
            only,
            sandbox: self.sandbox.clone(),
        }
    }
}

/// Builds and runs one exercise's checks, telling `events` as it goes;
/// `time_limit` bounds the checks.
pub async fn run_exercise(req: &RunRequest, events: &Events) -> Result<ExerciseRun, RunError> {
    run_exercise_with(req, events, None).await
}

/// [`run_exercise`], with its databases made beforehand (named with the
/// request's prefix) when `ready` holds them.
pub async fn run_exercise_with(
    req: &RunRequest,
    events: &Events,
    ready: Option<Prepared>,
) -> Result<ExerciseRun, RunError> {
    events.emit(Event::ExerciseStarted { slug: req.slug.clone(), subject: req.subject.clone() });
    let started = Instant::now();
    // The checks' databases are made while cargo builds: as many as the
    // exercise had checks the last time it was listed.
    let prepared = ready.unwrap_or_else(|| prepare(req));
    let build = build_checks(
        &req.workspace,
        &req.crate_dir,
        &req.slug,
        &req.target_dir,
        req.color,
        BUILD_LIMIT,
        events,
        req.sandbox.as_ref(),
    )
    .await?;
    let build_ms = started.elapsed().as_millis() as u64;
    let built = |result| Event::Built { slug: req.slug.clone(), subject: req.subject.clone(), result, build_ms };
    let exe = match build {
        BuildOutput::Built { executable } => {
            events.emit(built(Built::Ok));
            executable
        }
        BuildOutput::Failed { diagnostics } => {
            prepared.abandon();
            events.emit(built(Built::CompileError));
            return Ok(finished(req, unbuilt(req, Outcome::CompileError { diagnostics }, build_ms), events));
        }
        BuildOutput::TimedOut => {
            prepared.abandon();
            events.emit(built(Built::TimedOut));
            let outcome = Outcome::TimedOut { limit_secs: BUILD_LIMIT.as_secs() };
            return Ok(finished(req, unbuilt(req, outcome, build_ms), events));
        }
    };
    let started = Instant::now();
    let opts = req.exec_options(exe, None);
    let executed = execute_prepared(&opts, Some(prepared)).await?;
    remember_checks(&req.target_dir, &req.slug, executed.checks.len());
    for check in &executed.checks {
        events.emit(Event::CheckFinished {
            slug: req.slug.clone(),
            subject: req.subject.clone(),
            check: check.clone(),
        });
    }
    let run = ExerciseRun {
        slug: req.slug.clone(),
        outcome: Outcome::Checked,
        checks: executed.checks,
        build_ms,
        check_ms: started.elapsed().as_millis() as u64,
        output_truncated: executed.truncated,
        crashed: executed.crashed,
        executable: Some(opts.executable),
    };
    Ok(finished(req, run, events))
}

fn finished(req: &RunRequest, run: ExerciseRun, events: &Events) -> ExerciseRun {
    events.emit(Event::RunFinished { subject: req.subject.clone(), run: Box::new(run.clone()) });
    run
}

/// A run that ended at the build: no binary, so no checks.
fn unbuilt(req: &RunRequest, outcome: Outcome, build_ms: u64) -> ExerciseRun {
    ExerciseRun {
        slug: req.slug.clone(),
        outcome,
        checks: Vec::new(),
        build_ms,
        check_ms: 0,
        output_truncated: false,
        crashed: false,
        executable: None,
    }
}

/// Starts making the databases a run of `req` will need: as many as the
/// exercise had checks when it was last listed.
pub fn prepare(req: &RunRequest) -> Prepared {
    Prepared::start(&req.db, &req.db_prefix, known_checks(&req.target_dir, &req.slug))
}

/// Runs `req` (on the databases `ready` made, if given); on Ctrl-C the
/// check processes are killed (their group guard), the run's databases
/// dropped, and the run ends with [`RunError::Interrupted`].
pub async fn interruptible(
    req: &RunRequest,
    events: &Events,
    ready: Option<Prepared>,
) -> Result<ExerciseRun, RunError> {
    tokio::select! {
        result = run_exercise_with(req, events, ready) => return result,
        _ = tokio::signal::ctrl_c() => {}
    }
    // The run's future is dropped by now, and with it the guard that kills
    // the check processes: dropping the databases any earlier would race
    // checks that were still creating theirs.
    drop_run_databases(&req.db.admin_url, &req.db_prefix).await;
    Err(RunError::Interrupted)
}

/// Where the number of checks an exercise had when last listed is kept,
/// so the next run can make that many databases while cargo builds.
fn checks_file(target_dir: &std::path::Path, slug: &str) -> PathBuf {
    target_dir.join("workbook-checks").join(slug)
}

fn known_checks(target_dir: &std::path::Path, slug: &str) -> usize {
    std::fs::read_to_string(checks_file(target_dir, slug)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn remember_checks(target_dir: &std::path::Path, slug: &str, n: usize) {
    if n == 0 || known_checks(target_dir, slug) == n {
        return;
    }
    let file = checks_file(target_dir, slug);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(file, n.to_string());
}
