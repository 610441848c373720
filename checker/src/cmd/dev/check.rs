//! `checker dev check [EX...]`: prove the course (see [`crate::audit`]):
//! a line per exercise as its starter and solution run, then every
//! problem found (each check without a book section among them: the
//! starter's run names the checks).

use colored::Colorize;

use crate::audit;
use crate::events::{Events, drive};
use crate::exit::Code;
use crate::report::DevCheckLines;
use crate::session::Session;

pub async fn execute(session: &Session, only: &[String]) -> anyhow::Result<Code> {
    let course = &session.course;
    if !course.has_solutions() {
        return Err(crate::cmd::UsageError(crate::edition::no_solutions("dev check")).into());
    }
    let mut problems: Vec<String> = audit::metadata_problems(course);
    problems.extend(audit::book_problems(course));
    let selected = course.select(only)?;
    let (found, printed) = drive(&mut DevCheckLines, async |events| prove(session, &selected, &events).await).await;
    problems.extend(found?);
    printed?;
    outln!();
    if problems.is_empty() {
        outln!("{}", format!("The course checks out: {} exercises.", selected.len()).green().bold());
        Ok(Code::Passed)
    } else {
        for p in &problems {
            outln!("{} {p}", "✗".red());
        }
        outln!("\n{} problems.", problems.len());
        Ok(Code::ChecksFailed)
    }
}

/// Runs each exercise's starter in place and its solution in an overlay;
/// returns what is wrong with them.
async fn prove(
    session: &Session,
    selected: &[crate::course::Exercise],
    events: &Events,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for ex in selected {
        if !session.course.exercise_dir(ex).join("Cargo.toml").is_file() {
            continue; // already reported by the metadata pass
        }
        let starter = session.run_in_place(ex, events).await?;
        if let Some(p) = audit::starter_problem(&starter) {
            problems.push(format!("{}: the starter {p}", ex.slug));
        }
        if !starter.checks.is_empty() {
            let names: Vec<String> = starter.checks.iter().map(|c| c.name.clone()).collect();
            problems.extend(crate::book::coverage_problems(ex, &names));
        }
        let solution_dir = session.course.solution_dir(ex);
        let subject = crate::events::Subject::Solution;
        let (solution, _) = session.run_overlay(ex, &solution_dir, "solution", subject, events).await?;
        if let Some(p) = audit::solution_problem(&solution) {
            problems.push(format!("{}: the solution {p}", ex.slug));
        }
    }
    Ok(problems)
}
