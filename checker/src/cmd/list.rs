//! `checker list`: the exercises in course order, with progress (the
//! watch loop's `l` key prints the same table).

use std::io::Write;

use colored::Colorize;

use super::Ctx;
use crate::cli::Format;
use crate::progress::Progress;

pub fn execute(ctx: &Ctx, format: Format) -> anyhow::Result<()> {
    let (progress, warning) = ctx.progress();
    if let Some(w) = warning {
        eprintln!("{} {w}", "warning:".yellow());
    }
    let current = progress.current(&ctx.course).map(|e| e.slug.clone());
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let rows: Vec<_> = ctx
            .course
            .exercises
            .iter()
            .map(|e| {
                serde_json::json!({
                    "slug": e.slug,
                    "title": e.title,
                    "book": format!("book/src/{}", e.book),
                    "done": progress.done.contains(&e.slug),
                    "current": current.as_deref() == Some(e.slug.as_str()),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    for line in table(ctx, &progress, current.as_deref()) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One line per exercise (solved ✓, `current` ▶), then how many are done.
pub fn table(ctx: &Ctx, progress: &Progress, current: Option<&str>) -> Vec<String> {
    let mut lines: Vec<String> = ctx
        .course
        .exercises
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mark = if progress.done.contains(&e.slug) { "✓".green() } else { "·".dimmed() };
            let here = if current == Some(e.slug.as_str()) { "▶".cyan() } else { " ".normal() };
            format!("{here} {mark} {:>2}. {:<20} {}", i + 1, e.slug, e.title.dimmed())
        })
        .collect();
    let done = ctx.course.exercises.iter().filter(|e| progress.done.contains(&e.slug)).count();
    lines.push(String::new());
    lines.push(format!("{done} of {} done.", ctx.course.exercises.len()));
    lines
}
