//! The student-facing report of a run: each check with what was called,
//! expected and got, a hint, and the book section that explains it.

use std::io::{self, Write};

use colored::Colorize;

use crate::course::{Course, Exercise};
use crate::runner::{CheckResult, ExerciseRun, Outcome, Status};

/// Prints one exercise's run.
pub fn run(w: &mut impl Write, course: &Course, ex: &Exercise, run: &ExerciseRun) -> io::Result<()> {
    let timing = format!("build {:.1} s, checks {:.1} s", run.build_ms as f64 / 1000.0, run.check_ms as f64 / 1000.0);
    writeln!(w, "{} {}  {}", ex.slug.bold(), format!("({})", ex.title).dimmed(), timing.dimmed())?;
    match &run.outcome {
        Outcome::CompileError { diagnostics } => {
            writeln!(w, "{}", "  It does not compile yet. The compiler says:".red().bold())?;
            writeln!(w)?;
            for line in diagnostics.trim_end().lines() {
                writeln!(w, "  {line}")?;
            }
            writeln!(w)?;
            writeln!(w, "  Fix the first error first; later ones often follow from it.")?;
        }
        Outcome::TimedOut { limit_secs } => {
            writeln!(w, "  {} building took longer than {limit_secs} s and was stopped.", "Timed out:".red().bold())?;
        }
        Outcome::Checked => {
            for check in &run.checks {
                check_line(w, check)?;
            }
            let passed = run.passed_count();
            let total = run.checks.len();
            writeln!(w)?;
            if run.passed() {
                writeln!(w, "  {}", format!("All {total} checks pass.").green().bold())?;
            } else {
                writeln!(w, "  {passed} of {total} checks pass.")?;
            }
            if run.output_truncated {
                writeln!(w, "  {}", "The checks printed too much; the output was cut and the run stopped.".yellow())?;
            }
        }
    }
    if !run.passed() {
        writeln!(w, "  {} book/src/{}", "Read:".cyan(), ex.book)?;
        if !ex.hints.is_empty() {
            writeln!(w, "  {} `cargo checker hint {}` for a hint.", "Stuck?".cyan(), ex.slug)?;
        }
    }
    let _ = course;
    Ok(())
}

fn check_line(w: &mut impl Write, check: &CheckResult) -> io::Result<()> {
    let name = check.name.replace('_', " ");
    match check.status {
        Status::Passed => writeln!(w, "  {} {}", "✓".green(), name),
        Status::Failed | Status::TimedOut => {
            let mark = if check.status == Status::TimedOut { "⏱".yellow() } else { "✗".red() };
            writeln!(w, "  {} {}", mark, name.bold())?;
            match &check.detail {
                Some(d)
                    if d.kind == "panicked"
                        && d.got.as_deref().is_some_and(|g| g.starts_with("not yet implemented")) =>
                {
                    let todo = d
                        .got
                        .as_deref()
                        .unwrap_or("")
                        .trim_start_matches("not yet implemented")
                        .trim_start_matches(": ");
                    let at = d.location.as_deref().unwrap_or("your code");
                    field(w, "todo", Some(&format!("{at}: {todo}")))?;
                    writeln!(w, "      {}", "this part is not written yet (it still calls todo!())".dimmed())?;
                }
                Some(d) => {
                    field(w, "called", Some(&d.called))?;
                    field(w, "expected", d.expected.as_deref())?;
                    let got = match (&d.got, &d.location) {
                        (Some(g), Some(l)) if d.kind == "panicked" => Some(format!("a panic at {l}: {g}")),
                        (g, _) => g.clone(),
                    };
                    field(w, "got", got.as_deref())?;
                    if let Some(sql) = &d.sql {
                        writeln!(w, "      {}", "your code sent:".dimmed())?;
                        for line in sql.lines() {
                            writeln!(w, "        {line}")?;
                        }
                    }
                    if let Some(h) = &d.hint {
                        writeln!(w, "      {}  {}", "hint".cyan(), h)?;
                    }
                }
                None => {
                    for line in check.output.lines().take(20) {
                        writeln!(w, "      {line}")?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn field(w: &mut impl Write, label: &str, value: Option<&str>) -> io::Result<()> {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(()) };
    let mut lines = value.lines();
    if let Some(first) = lines.next() {
        writeln!(w, "      {:<8}  {}", label.dimmed(), first)?;
    }
    for line in lines {
        writeln!(w, "      {:<8}  {}", "", line)?;
    }
    Ok(())
}
