//! `checker hint [EX]`: one more hint each time it is asked (the watch
//! loop's `h` key shares this, and the count of hints shown).

use colored::Colorize;

use crate::course::Exercise;
use crate::exit::Code;
use crate::session::Session;

pub fn execute(session: &Session, slug: Option<&str>) -> anyhow::Result<Code> {
    let ex = session.exercise_or_current(slug)?;
    for line in next_hint(session, &ex)? {
        outln!("{line}");
    }
    Ok(Code::Passed)
}

/// Shows one more hint of `ex` than last time (saved in the progress
/// file), returning the lines to print: every hint so far, then a note.
pub fn next_hint(session: &Session, ex: &Exercise) -> anyhow::Result<Vec<String>> {
    if ex.hints.is_empty() {
        let read = crate::report::link::Refs::new(&session.course).section(&ex.book);
        return Ok(vec![format!("{} has no hints; its book section is {read}.", ex.slug)]);
    }
    let (mut progress, _) = session.progress();
    let shown = progress.hints_shown.get(&ex.slug).copied().unwrap_or(0);
    let now = (shown + 1).min(ex.hints.len());
    progress.hints_shown.insert(ex.slug.clone(), now);
    session.save_progress(&progress)?;
    let refs = crate::report::link::Refs::new(&session.course);
    let mut lines: Vec<String> = ex
        .hints
        .iter()
        .take(now)
        .enumerate()
        .map(|(i, hint)| {
            let hint = refs.sections_in(hint);
            format!("{} {hint}", format!("Hint {}/{}:", i + 1, ex.hints.len()).cyan().bold())
        })
        .collect();
    lines.push(if now < ex.hints.len() {
        "Ask again for a more specific one.".dimmed().to_string()
    } else if !session.course.has_solutions() {
        "That was the last hint. This edition of the course has no solutions to compare with.".dimmed().to_string()
    } else {
        format!("That was the last hint. The answer is in solutions/{}/ if you want to compare.", ex.slug)
            .dimmed()
            .to_string()
    });
    Ok(lines)
}
