//! `--format json`: the checker's machine-readable output, as types of its
//! own. These are the documented, stable shape scripts can rely on; the
//! engine's types may change without changing them (a test pins the
//! shape: the snapshots in `src/report/snapshots/`).
//!
//! `checker run EX` and `checker dev try EX DIR` print one [`Run`];
//! `checker verify` prints an array of them; `checker list` prints an
//! array of [`ListEntry`]. A [`Run`] is:
//!
//! ```json
//! {
//!   "slug": "connect",
//!   "outcome": "checked",            // or "compile_error" (with "diagnostics"),
//!                                    // or "timed_out" (with "limit_secs")
//!   "checks": [
//!     { "name": "health_check_answers_true",
//!       "status": "failed",          // "passed", "failed" or "timed_out"
//!       "detail": {                  // null when the check passed or said nothing
//!         "kind": "failed",          // "failed", "panicked" or "timed_out"
//!         "called": "health_check(&pool)", "expected": "Ok(true)", "got": "Ok(false)",
//!         "sql": null,               // what the student's code sent, when recorded
//!         "hint": "…", "location": null },
//!       "output": "…" }              // what the check printed, for a failure
//!   ],
//!   "build_ms": 812, "check_ms": 431,
//!   "output_truncated": false,       // the checks printed past the cap
//!   "crashed": false                 // the check process died before every check reported
//! }
//! ```

use serde::Serialize;

use crate::course::Exercise;
use crate::runner::{self, ExerciseRun};

/// One exercise run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub slug: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub checks: Vec<Check>,
    pub build_ms: u64,
    pub check_ms: u64,
    pub output_truncated: bool,
    pub crashed: bool,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Checked,
    CompileError { diagnostics: String },
    TimedOut { limit_secs: u64 },
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    /// `passed`, `failed` or `timed_out`.
    pub status: &'static str,
    pub detail: Option<Detail>,
    pub output: String,
}

/// Why a check failed, as the support crate reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// `failed`, `panicked` or `timed_out`.
    pub kind: &'static str,
    pub called: String,
    pub expected: Option<String>,
    pub got: Option<String>,
    pub sql: Option<String>,
    pub hint: Option<String>,
    pub location: Option<String>,
}

/// One row of `checker list --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    pub slug: String,
    pub title: String,
    /// The book section, from the course root (`book/src/...`).
    pub book: String,
    pub done: bool,
    pub current: bool,
}

impl ListEntry {
    pub fn new(ex: &Exercise, done: bool, current: bool) -> ListEntry {
        ListEntry {
            slug: ex.slug.clone(),
            title: ex.title.clone(),
            book: format!("book/src/{}", ex.book),
            done,
            current,
        }
    }
}

impl From<&ExerciseRun> for Run {
    fn from(run: &ExerciseRun) -> Run {
        Run {
            slug: run.slug.clone(),
            outcome: match &run.outcome {
                runner::Outcome::Checked => Outcome::Checked,
                runner::Outcome::CompileError { diagnostics } => {
                    Outcome::CompileError { diagnostics: diagnostics.clone() }
                }
                runner::Outcome::TimedOut { limit_secs } => Outcome::TimedOut { limit_secs: *limit_secs },
            },
            checks: run.checks.iter().map(Check::from).collect(),
            build_ms: run.build_ms,
            check_ms: run.check_ms,
            output_truncated: run.output_truncated,
            crashed: run.crashed,
        }
    }
}

impl From<&runner::CheckResult> for Check {
    fn from(c: &runner::CheckResult) -> Check {
        Check {
            name: c.name.clone(),
            status: match c.status {
                runner::Status::Passed => "passed",
                runner::Status::Failed => "failed",
                runner::Status::TimedOut => "timed_out",
            },
            detail: c.detail.as_ref().map(|d| Detail {
                kind: d.kind.as_str(),
                called: d.called.clone(),
                expected: d.expected.clone(),
                got: d.got.clone(),
                sql: d.sql.clone(),
                hint: d.hint.clone(),
                location: d.location.clone(),
            }),
            output: c.output.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{CheckResult, Kind, Report, Status};

    /// The documented shape, pinned: a change here is a change for every
    /// script that reads `--format json`.
    #[test]
    fn the_json_shape_is_pinned() {
        let run = ExerciseRun {
            slug: "connect".into(),
            outcome: runner::Outcome::Checked,
            checks: vec![
                CheckResult { name: "a_passes".into(), status: Status::Passed, detail: None, output: String::new() },
                CheckResult {
                    name: "b_fails".into(),
                    status: Status::Failed,
                    detail: Some(Report {
                        kind: Kind::Failed,
                        called: "health_check(&pool)".into(),
                        expected: Some("Ok(true)".into()),
                        got: Some("Ok(false)".into()),
                        sql: Some("SELECT 1".into()),
                        hint: Some("ask the server".into()),
                        location: None,
                    }),
                    output: "check failed".into(),
                },
                CheckResult { name: "c_hangs".into(), status: Status::TimedOut, detail: None, output: String::new() },
            ],
            build_ms: 812,
            check_ms: 431,
            output_truncated: false,
            crashed: false,
            executable: None,
        };
        insta::assert_snapshot!("run", serde_json::to_string_pretty(&Run::from(&run)).unwrap());
        let compile_error = ExerciseRun {
            outcome: runner::Outcome::CompileError { diagnostics: "error[E0308]".into() },
            checks: Vec::new(),
            ..run.clone()
        };
        insta::assert_snapshot!("compile_error", serde_json::to_string_pretty(&Run::from(&compile_error)).unwrap());
        let timed_out = ExerciseRun { outcome: runner::Outcome::TimedOut { limit_secs: 600 }, ..compile_error };
        insta::assert_snapshot!("timed_out", serde_json::to_string_pretty(&Run::from(&timed_out)).unwrap());
        let entry = ListEntry {
            slug: "connect".into(),
            title: "Connect".into(),
            book: "book/src/connect/index.md".into(),
            done: true,
            current: false,
        };
        insta::assert_snapshot!("list", serde_json::to_string_pretty(&[entry]).unwrap());
    }
}
