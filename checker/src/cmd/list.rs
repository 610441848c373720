//! `checker list`: the exercises in course order, with progress (the
//! watch loop's `l` key prints the same table).

use std::io::Write;

use colored::Colorize;

use crate::cli::Format;
use crate::exit::Code;
use crate::progress::Progress;
use crate::report::json;
use crate::session::Session;

pub fn execute(session: &Session, format: Format) -> anyhow::Result<Code> {
    let (progress, warning) = session.progress();
    if let Some(w) = warning {
        eprintln!("{} {w}", "warning:".yellow());
    }
    let current = progress.current(&session.course).map(|e| e.slug.clone());
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let rows: Vec<json::ListEntry> = session
            .course
            .exercises
            .iter()
            .map(|e| json::ListEntry::new(e, progress.done.contains(&e.slug), current.as_deref() == Some(&e.slug)))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Code::Passed);
    }
    for line in table(session, &progress, current.as_deref()) {
        writeln!(out, "{line}")?;
    }
    Ok(Code::Passed)
}

/// One line per exercise (solved ✓, `current` ▶), then how many are done.
pub fn table(session: &Session, progress: &Progress, current: Option<&str>) -> Vec<String> {
    let exercises = &session.course.exercises;
    let mut lines: Vec<String> = exercises
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mark = if progress.done.contains(&e.slug) { "✓".green() } else { "·".dimmed() };
            let here = if current == Some(e.slug.as_str()) { "▶".cyan() } else { " ".normal() };
            format!("{here} {mark} {:>2}. {:<20} {}", i + 1, e.slug, e.title.dimmed())
        })
        .collect();
    let done = exercises.iter().filter(|e| progress.done.contains(&e.slug)).count();
    lines.push(String::new());
    lines.push(format!("{done} of {} done.", exercises.len()));
    lines
}
