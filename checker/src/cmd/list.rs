//! `checker list`: the exercises in course order, with progress.

use std::io::Write;

use colored::Colorize;

use super::Ctx;
use crate::cli::Format;

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
    for (i, e) in ctx.course.exercises.iter().enumerate() {
        let mark = if progress.done.contains(&e.slug) { "✓".green() } else { "·".dimmed() };
        let here = if current.as_deref() == Some(e.slug.as_str()) { "▶".cyan() } else { " ".normal() };
        writeln!(out, "{here} {mark} {:>2}. {:<20} {}", i + 1, e.slug, e.title.dimmed())?;
    }
    let done = ctx.course.exercises.iter().filter(|e| progress.done.contains(&e.slug)).count();
    writeln!(out, "\n{done} of {} done.", ctx.course.exercises.len())?;
    Ok(())
}
