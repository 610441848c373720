//! `checker next`: move on to the next unsolved exercise.

use colored::Colorize;

use crate::exit::Code;
use crate::session::Session;

pub fn execute(session: &Session) -> anyhow::Result<Code> {
    let (mut progress, _) = session.progress();
    let Some(current) = progress.current(&session.course).cloned() else { return Ok(Code::Passed) };
    if !progress.done.contains(&current.slug) {
        outln!("{}", format!("Note: {} is not solved yet; you can come back to it.", current.slug).yellow());
    }
    match progress.next_after(&session.course, &current.slug).cloned() {
        Some(next) => {
            progress.current = Some(next.slug.clone());
            session.save_progress(&progress)?;
            let read = crate::report::link::Refs::new(&session.course).section(&next.book);
            outln!("Now on {}: {}. Read {read} and run `cargo checker`.", next.slug.bold(), next.title);
        }
        None => outln!("{}", "Every exercise is solved. Well done!".green().bold()),
    }
    Ok(Code::Passed)
}
