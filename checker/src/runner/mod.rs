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
pub mod overlay;
mod parse;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use build::{BuildOutput, build_checks, cargo as cargo_path};
pub use exec::{ExecOptions, drop_run_databases, execute, list as list_checks};

/// What one check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Stopped at the time limit.
    TimedOut,
}

/// The structured report the support crate writes for a failed check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub called: String,
    pub expected: Option<String>,
    pub got: Option<String>,
    pub hint: Option<String>,
    pub location: Option<String>,
    /// The SQL the student's code sent, as the check's relay recorded it.
    #[serde(default)]
    pub sql: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    /// How it failed, when the support crate could say.
    pub detail: Option<Detail>,
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
    /// The workspace whose `Cargo.toml` lists the exercise (the course
    /// root, or a generated overlay workspace).
    pub workspace: PathBuf,
    /// The exercise crate's directory inside that workspace.
    pub crate_dir: PathBuf,
    pub target_dir: PathBuf,
    pub admin_url: String,
    /// Prefix for every database this run creates; dropped at the end.
    pub db_prefix: String,
    /// How long the check binary may run.
    pub time_limit: Duration,
    pub check_time_limit: Duration,
    pub output_cap: usize,
    pub color: bool,
    /// More environment for the check binary (grading fixes `WORKBOOK_SEED`).
    pub env: Vec<(String, String)>,
    /// Whether a slow build shows what it is doing (a student's run).
    pub show_build: bool,
}

impl RunRequest {
    /// How to run `executable` for this request: every check, or `only` one.
    pub fn exec_options(&self, executable: PathBuf, only: Option<String>) -> ExecOptions {
        ExecOptions {
            executable,
            crate_dir: self.crate_dir.clone(),
            admin_url: self.admin_url.clone(),
            db_prefix: self.db_prefix.clone(),
            time_limit: self.time_limit,
            check_time_limit: self.check_time_limit,
            output_cap: self.output_cap,
            env: self.env.clone(),
            only,
        }
    }
}

/// How long a build may take. Apart from the checks' own limit: a build
/// waits for cargo's lock while another build runs, and a submission has
/// no build script to stall it (manifests are the course's).
const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Builds and runs one exercise's checks; `time_limit` bounds the checks.
pub async fn run_exercise(req: &RunRequest) -> anyhow::Result<ExerciseRun> {
    let started = Instant::now();
    let build = build_checks(
        &req.workspace,
        &req.crate_dir,
        &req.slug,
        &req.target_dir,
        req.color,
        BUILD_LIMIT,
        req.show_build,
    )
    .await?;
    let build_ms = started.elapsed().as_millis() as u64;
    let exe = match build {
        BuildOutput::Built { executable } => executable,
        BuildOutput::Failed { diagnostics } => {
            return Ok(unbuilt(req, Outcome::CompileError { diagnostics }, build_ms));
        }
        BuildOutput::TimedOut => {
            return Ok(unbuilt(req, Outcome::TimedOut { limit_secs: BUILD_LIMIT.as_secs() }, build_ms));
        }
    };
    let started = Instant::now();
    let opts = req.exec_options(exe, None);
    let executed = execute(&opts).await?;
    Ok(ExerciseRun {
        slug: req.slug.clone(),
        outcome: Outcome::Checked,
        checks: executed.checks,
        build_ms,
        check_ms: started.elapsed().as_millis() as u64,
        output_truncated: executed.truncated,
        crashed: executed.crashed,
        executable: Some(opts.executable),
    })
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

/// Where the support crate writes a failed check's report.
pub(crate) fn report_file(dir: &Path, check: &str) -> PathBuf {
    dir.join(format!("{}.json", check.replace("::", "__")))
}
