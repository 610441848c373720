//! Scoring a submission's run against the course's list of checks, and
//! settling races: a check the whole binary's crash stopped is run again
//! on its own.

use super::formats::{CheckOutcome, ExerciseResult};
use crate::course::Exercise;
use crate::runner::{self, ExerciseRun, Outcome, RunError, RunRequest, Status, limits};

/// When a flood, a spin or a crash (such as running out of memory)
/// stopped the whole check binary, which of the other checks had finished
/// is a race. Each check that did not pass is run again on its own, so it
/// earns (or not) the same on every run.
pub(super) async fn rerun_alone(run: &mut ExerciseRun, req: &RunRequest) {
    let stopped = run.output_truncated || run.crashed || run.checks.iter().any(|c| c.status == Status::TimedOut);
    let Some(executable) = run.executable.clone() else { return };
    if !stopped || !matches!(run.outcome, Outcome::Checked) {
        return;
    }
    for (i, check) in run.checks.iter_mut().enumerate() {
        if check.status == Status::Passed {
            continue;
        }
        let mut opts = req.exec_options(executable.clone(), Some(check.name.clone()));
        opts.db_prefix = format!("{}a{i}", req.db_prefix);
        if let Ok(alone) = runner::execute(&opts).await
            && let Some(result) = alone.checks.into_iter().next()
        {
            *check = result;
        }
    }
}

/// Points for one exercise run, against the course's list of checks.
pub(super) fn score(ex: &Exercise, names: &[String], run: Result<ExerciseRun, RunError>) -> ExerciseResult {
    let grader_error = match &run {
        Err(e @ RunError::Sandbox(_)) => Some(e.to_string()),
        _ => None,
    };
    let (note, found): (Option<String>, Vec<runner::CheckResult>) = match run {
        Ok(run) => match run.outcome {
            Outcome::Checked => {
                let note = run.output_truncated.then(|| {
                    format!("the checks printed more than {} KiB and were stopped there", limits::OUTPUT_CAP / 1024)
                });
                (note, run.checks)
            }
            Outcome::CompileError { diagnostics } => {
                (Some(format!("did not compile; no check could run. The compiler said:\n\n{diagnostics}")), Vec::new())
            }
            Outcome::TimedOut { limit_secs } => {
                (Some(format!("the build took more than {limit_secs} s and was stopped")), Vec::new())
            }
        },
        Err(e) => (Some(format!("could not be checked: {e}")), Vec::new()),
    };
    let checks: Vec<CheckOutcome> = names
        .iter()
        .map(|name| {
            let got = found.iter().find(|c| &c.name == name);
            let passed = got.is_some_and(|c| c.status == Status::Passed);
            let message = match got {
                _ if passed => String::new(),
                Some(c) => check_message(c),
                None => note.as_deref().and_then(|n| n.lines().next()).unwrap_or("did not run").to_owned(),
            };
            CheckOutcome {
                name: name.clone(),
                passed,
                points: if passed { ex.points } else { 0 },
                max_points: ex.points,
                message,
                section: ex.section_of(name).to_owned(),
            }
        })
        .collect();
    ExerciseResult {
        slug: ex.slug.clone(),
        title: ex.title.clone(),
        book: ex.book.clone(),
        points: checks.iter().map(|c| c.points).sum(),
        max_points: ex.points * names.len() as u32,
        checks,
        note,
        grader_error,
    }
}

fn check_message(c: &runner::CheckResult) -> String {
    let mut text = String::new();
    if c.status == Status::TimedOut {
        text.push_str("stopped at the time limit\n");
    }
    if let Some(d) = &c.detail {
        if !d.called.is_empty() {
            text.push_str(&format!("called:   {}\n", d.called));
        }
        if let Some(e) = &d.expected {
            text.push_str(&format!("expected: {e}\n"));
        }
        if let Some(g) = &d.got {
            text.push_str(&format!("got:      {g}\n"));
        }
        if let Some(sql) = d.sql.as_deref().filter(|s| !s.trim().is_empty()) {
            text.push_str("your code sent:\n");
            for line in sql.trim_end().lines() {
                text.push_str(&format!("          {line}\n"));
            }
        }
        if let Some(h) = &d.hint {
            text.push_str(&format!("hint:     {h}\n"));
        }
    } else if !c.output.trim().is_empty() {
        let out = c.output.trim();
        // Keep feedback readable: the first 4 KiB of what the check printed.
        let cut = out.char_indices().nth(4096).map_or(out.len(), |(i, _)| i);
        text.push_str(&out[..cut]);
    } else {
        text.push_str("failed");
    }
    text.trim_end().to_owned()
}

/// A seed that depends only on the student and the exercise (FNV-1a, so
/// it does not change with the Rust version).
pub(super) fn stable_seed(student: &str, slug: &str) -> u64 {
    crate::hash::fnv1a(student.bytes().chain([0]).chain(slug.bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_differ_per_student_and_exercise() {
        assert_eq!(stable_seed("ada", "connect"), stable_seed("ada", "connect"));
        assert_ne!(stable_seed("ada", "connect"), stable_seed("bob", "connect"));
        assert_ne!(stable_seed("ada", "connect"), stable_seed("ada", "seeds"));
    }

    #[test]
    fn feedback_shows_the_sql_the_code_sent_before_the_hint() {
        let c = runner::CheckResult {
            name: "n".into(),
            status: Status::Failed,
            detail: Some(runner::Report {
                called: "list(&pool)".into(),
                got: Some("2 rows".into()),
                sql: Some("SELECT 1\nSELECT 2".into()),
                hint: Some("batch it".into()),
                ..runner::Report::default()
            }),
            output: String::new(),
        };
        assert_eq!(
            check_message(&c),
            "called:   list(&pool)\ngot:      2 rows\nyour code sent:\n          SELECT 1\n          SELECT 2\nhint:     batch it"
        );
    }
}
