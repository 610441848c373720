//! `checker reset EX`: put an exercise's editable files back to the
//! starter, after copying the student's versions to a backup (see
//! [`crate::starter`]).

use colored::Colorize;

use crate::exit::Code;
use crate::session::Session;

pub fn execute(session: &Session, slug: &str) -> anyhow::Result<Code> {
    let ex = session.course.find(slug)?.clone();
    let done = crate::starter::reset(&session.course, &ex)?;
    outln!("{} {} is back to its starter ({} files).", "Reset:".green().bold(), ex.slug, done.files);
    match done.backup {
        Some(b) => outln!("Your version is saved in {}.", session.course.display_path(&b)),
        None if done.had_none => outln!("It had no files of yours; there was nothing to back up."),
        None => outln!("Your files were already the starter's; there was nothing to back up."),
    }
    Ok(Code::Passed)
}
