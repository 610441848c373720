//! `checker verify`: check every exercise in order and record the result.

use std::io::Write;

use colored::Colorize;

use super::Ctx;
use crate::cli::Format;
use crate::exit::Code;
use crate::runner::Outcome;

pub async fn execute(ctx: &Ctx, format: Format) -> anyhow::Result<Code> {
    let mut runs = Vec::new();
    for ex in &ctx.course.exercises {
        if format == Format::Human {
            eprint!("{} {} ... ", "checking".dimmed(), ex.slug);
        }
        let run = ctx.run_in_place(ex, false).await?;
        ctx.record(&run)?;
        if format == Format::Human {
            let verdict = match &run.outcome {
                Outcome::CompileError { .. } => "does not compile".red(),
                Outcome::TimedOut { .. } => "timed out".red(),
                Outcome::Checked if run.passed() => "passes".green(),
                Outcome::Checked => format!("{} of {} checks pass", run.passed_count(), run.checks.len()).yellow(),
            };
            eprintln!("{verdict}");
        }
        runs.push(run);
    }
    let passed = runs.iter().filter(|r| r.passed()).count();
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&runs)?)?;
    } else {
        writeln!(out, "{passed} of {} exercises pass.", runs.len())?;
    }
    Ok(if passed == runs.len() { Code::Passed } else { Code::ChecksFailed })
}
