//! `checker next`: move on to the next unsolved exercise.

use colored::Colorize;

use super::Ctx;

pub fn execute(ctx: &Ctx) -> anyhow::Result<()> {
    let (mut progress, _) = ctx.progress();
    let Some(current) = progress.current(&ctx.course).cloned() else { return Ok(()) };
    if !progress.done.contains(&current.slug) {
        println!("{}", format!("Note: {} is not solved yet; you can come back to it.", current.slug).yellow());
    }
    match progress.next_after(&ctx.course, &current.slug).cloned() {
        Some(next) => {
            progress.current = Some(next.slug.clone());
            ctx.save_progress(&progress)?;
            println!(
                "Now on {}: {}. Read book/src/{} and run `cargo checker`.",
                next.slug.bold(),
                next.title,
                next.book
            );
        }
        None => println!("{}", "Every exercise is solved. Well done!".green().bold()),
    }
    Ok(())
}
