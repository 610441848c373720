//! `checker migrate EX up|down|status|new NAME`: an exercise's migrations,
//! by hand, on its sandbox database (never on a check database).

use colored::Colorize;

use super::Ctx;
use crate::cli::MigrateAction;
use crate::db::redact;
use crate::exit::{Code, Failure};
use crate::migrate::{self, MigrateError, State};

pub async fn execute(ctx: &Ctx, exercise: &str, action: &MigrateAction) -> anyhow::Result<Code> {
    let ex = ctx.course.find(exercise)?.clone();
    let dir = crate::seed::migrations_dir(&ctx.course.exercise_dir(&ex));

    if let MigrateAction::New { name } = action {
        let (up, down) = migrate::new(&dir, name).map_err(|e| failure(e, &ex.slug))?;
        println!("{} {}", "Created".green().bold(), ctx.course.display_path(&up));
        println!("{} {}", "Created".green().bold(), ctx.course.display_path(&down));
        println!(
            "Write the change in the up file and its undo in the down file, then: cargo checker migrate {} up",
            ex.slug
        );
        return Ok(Code::Passed);
    }
    if !dir.is_dir() {
        return Err(Failure::usage(format!(
            "exercise {} has no migrations directory ({}); create its first migration with `cargo checker migrate {} new <name>`",
            ex.slug,
            ctx.course.display_path(&dir),
            ex.slug
        ))
        .into());
    }

    let url = ctx.sandbox_url(&ex.slug).await?;
    eprintln!("{}", format!("sandbox database: {}", redact(&url)).dimmed());
    match action {
        MigrateAction::Up => {
            let ran = migrate::up(&url, &dir).await.map_err(|e| failure(e, &ex.slug))?;
            if ran.is_empty() {
                println!("Nothing to apply: every migration is already applied.");
            }
            for m in &ran {
                println!("{} {m}", "Applied".green().bold());
            }
        }
        MigrateAction::Down => match migrate::down(&url, &dir).await.map_err(|e| failure(e, &ex.slug))? {
            Some(m) => println!("{} {m}", "Reverted".green().bold()),
            None => println!("Nothing to revert: no migration is applied."),
        },
        MigrateAction::Status => {
            let all = migrate::status(&url, &dir).await.map_err(|e| failure(e, &ex.slug))?;
            if all.is_empty() {
                println!("No migrations yet: create one with `cargo checker migrate {} new <name>`.", ex.slug);
            }
            for s in &all {
                let line = s.to_string();
                let line = match s.state {
                    State::Applied => line.green(),
                    State::Pending => line.normal(),
                    State::Modified | State::Missing | State::Failed => line.red(),
                };
                println!("  {line}");
            }
        }
        MigrateAction::New { .. } => unreachable!("handled above"),
    }
    Ok(Code::Passed)
}

/// A migration error as the command's failure: the student's SQL or files
/// are at fault (exit 1), unless the database itself is (exit 3).
fn failure(e: MigrateError, slug: &str) -> Failure {
    let code = match e {
        MigrateError::Database(_) | MigrateError::Io { .. } => Code::Environment,
        MigrateError::BadName { .. } => Code::Usage,
        MigrateError::Missing { .. } | MigrateError::Dirty { .. } => {
            return Failure {
                code: Code::ChecksFailed,
                message: format!("{e}\n  - or start the sandbox again from empty: cargo checker db reset {slug}"),
            };
        }
        _ => Code::ChecksFailed,
    };
    Failure { code, message: e.to_string() }
}
