//! `checker migrate EX up|down|status|new NAME`: an exercise's migrations,
//! by hand, on its sandbox database (never on a check database).

use colored::Colorize;

use super::{Explained, UsageError};
use crate::cli::MigrateAction;
use crate::db::redact;
use crate::exit::Code;
use crate::migrate::{self, MigrateError, State};
use crate::session::Session;

pub async fn execute(session: &Session, exercise: &str, action: &MigrateAction) -> anyhow::Result<Code> {
    let ex = session.course.find(exercise)?.clone();
    let dir = crate::seed::migrations_dir(&session.course.exercise_dir(&ex));

    if let MigrateAction::New { name } = action {
        let (up, down) = migrate::new(&dir, name).map_err(|e| failure(e, &ex.slug))?;
        outln!("{} {}", "Created".green().bold(), session.course.display_path(&up));
        outln!("{} {}", "Created".green().bold(), session.course.display_path(&down));
        outln!(
            "Write the change in the up file and its undo in the down file, then: cargo checker migrate {} up",
            ex.slug
        );
        return Ok(Code::Passed);
    }
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "exercise {} has no migrations directory ({}); create its first migration with `cargo checker migrate {} new <name>`",
            ex.slug,
            session.course.display_path(&dir),
            ex.slug
        ))
        .into());
    }

    let url = session.sandbox_url(&ex.slug).await?;
    eprintln!("{}", format!("sandbox database: {}", redact(&url)).dimmed());
    match action {
        MigrateAction::Up => {
            let ran = migrate::up(&url, &dir).await.map_err(|e| failure(e, &ex.slug))?;
            if ran.is_empty() {
                outln!("Nothing to apply: every migration is already applied.");
            }
            for m in &ran {
                outln!("{} {m}", "Applied".green().bold());
            }
        }
        MigrateAction::Down => match migrate::down(&url, &dir).await.map_err(|e| failure(e, &ex.slug))? {
            Some(m) => outln!("{} {m}", "Reverted".green().bold()),
            None => outln!("Nothing to revert: no migration is applied."),
        },
        MigrateAction::Status => {
            let all = migrate::status(&url, &dir).await.map_err(|e| failure(e, &ex.slug))?;
            if all.is_empty() {
                outln!("No migrations yet: create one with `cargo checker migrate {} new <name>`.", ex.slug);
            }
            for s in &all {
                let line = s.to_string();
                let line = match s.state {
                    State::Applied => line.green(),
                    State::Pending => line.normal(),
                    State::Modified | State::Missing | State::Failed => line.red(),
                };
                outln!("  {line}");
            }
        }
        MigrateAction::New { .. } => unreachable!("handled above"),
    }
    Ok(Code::Passed)
}

/// A migration error with the way out a sandbox always has, where the
/// error itself does not name it.
fn failure(e: MigrateError, slug: &str) -> anyhow::Error {
    match e {
        MigrateError::Missing { .. } | MigrateError::Dirty { .. } => Explained {
            message: format!("{e}\n  - or start the sandbox again from empty: cargo checker db reset {slug}"),
            error: e.into(),
        }
        .into(),
        e => e.into(),
    }
}
