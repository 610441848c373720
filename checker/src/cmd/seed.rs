//! `checker seed EX up|down|status|fresh|new NAME`: an exercise's seed
//! data, by hand, on its sandbox database; `new` creates a seed pair.

use colored::Colorize;

use super::{Explained, UsageError};
use crate::cli::SeedAction;
use crate::db::redact;
use crate::exit::Code;
use crate::seed::{self, SeedError};
use crate::session::Session;

pub async fn execute(session: &Session, exercise: &str, action: &SeedAction) -> anyhow::Result<Code> {
    let ex = session.course.find(exercise)?.clone();
    let ex_dir = session.course.exercise_dir(&ex);
    let seeds = seed::seeds_dir(&ex_dir);
    if let SeedAction::New { name } = action {
        let (up, down) = seed::new(&seeds, name).map_err(|e| UsageError(e.to_string()))?;
        outln!("{} {}", "Created".green().bold(), session.course.display_path(&up));
        outln!("{} {}", "Created".green().bold(), session.course.display_path(&down));
        outln!(
            "Write the rows in the up file and their removal in the down file, then: cargo checker seed {} up",
            ex.slug
        );
        return Ok(Code::Passed);
    }
    if !seeds.is_dir() {
        let with_seeds: Vec<&str> = session
            .course
            .exercises
            .iter()
            .filter(|e| seed::seeds_dir(&session.course.exercise_dir(e)).is_dir())
            .map(|e| e.slug.as_str())
            .collect();
        return Err(UsageError(format!(
            "exercise {} has no seeds (there is no {}); exercises with seeds: {}",
            ex.slug,
            session.course.display_path(&seeds),
            if with_seeds.is_empty() { "none".to_owned() } else { with_seeds.join(", ") }
        ))
        .into());
    }
    let url = session.sandbox_url(&ex.slug).await?;
    eprintln!("{}", format!("sandbox database: {}", redact(&url)).dimmed());
    let fail = |e: SeedError| Explained {
        message: format!("failed to {e}\n{}", seed::next_step(&e, &ex.slug)),
        error: e.into(),
    };
    match action {
        SeedAction::Up => {
            let done = seed::up(&url, &seeds).await.map_err(fail)?;
            outl!("{}", seed::describe(&done));
            outln!();
        }
        SeedAction::Down => {
            let done = seed::down(&url, &seeds).await.map_err(fail)?;
            if done.is_empty() {
                outln!("Nothing to revert: no seed is applied.");
            } else {
                outl!("{}", seed::describe(&done));
            }
        }
        SeedAction::Status => outl!("{}", seed::describe_status(&seed::status(&url, &seeds).await.map_err(fail)?)),
        SeedAction::Fresh => {
            let fresh = seed::fresh(&url, &seed::migrations_dir(&ex_dir), &seeds).await.map_err(fail)?;
            match fresh.migrations_applied.len() {
                0 => outln!("Migrations: all already applied."),
                n => outln!("{} {n} migration(s).", "Applied".green().bold()),
            }
            outl!("{}", seed::describe(&fresh.seeds));
            outln!();
        }
        SeedAction::New { .. } => unreachable!("handled above"),
    }
    Ok(Code::Passed)
}
