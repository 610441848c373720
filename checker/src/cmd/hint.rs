//! `checker hint [EX]`: one more hint each time it is asked.

use colored::Colorize;

use super::Ctx;

pub fn execute(ctx: &Ctx, slug: Option<&str>) -> anyhow::Result<()> {
    let ex = ctx.exercise_or_current(slug)?;
    let (mut progress, _) = ctx.progress();
    if ex.hints.is_empty() {
        println!("{} has no hints; its book section is book/src/{}.", ex.slug, ex.book);
        return Ok(());
    }
    let shown = progress.hints_shown.get(&ex.slug).copied().unwrap_or(0);
    let now = (shown + 1).min(ex.hints.len());
    progress.hints_shown.insert(ex.slug.clone(), now);
    ctx.save_progress(&progress)?;
    for (i, hint) in ex.hints.iter().take(now).enumerate() {
        println!("{} {hint}", format!("Hint {}/{}:", i + 1, ex.hints.len()).cyan().bold());
    }
    if now < ex.hints.len() {
        println!("{}", "Ask again for a more specific one.".dimmed());
    } else {
        println!("{}", format!("That was the last hint. The answer is in solutions/{}/ if you want to compare.", ex.slug).dimmed());
    }
    Ok(())
}
