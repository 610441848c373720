//! `checker seed EX up|down|status|fresh`: an exercise's seed data, by
//! hand, on its sandbox database.

use colored::Colorize;

use super::Ctx;
use crate::cli::SeedAction;
use crate::db::redact;
use crate::exit::{Code, Failure};
use crate::seed::{self, SeedError};

pub async fn execute(ctx: &Ctx, exercise: &str, action: &SeedAction) -> anyhow::Result<Code> {
    let ex = ctx.course.find(exercise)?.clone();
    let ex_dir = ctx.course.exercise_dir(&ex);
    let seeds = seed::seeds_dir(&ex_dir);
    if !seeds.is_dir() {
        let with_seeds: Vec<&str> = ctx
            .course
            .exercises
            .iter()
            .filter(|e| seed::seeds_dir(&ctx.course.exercise_dir(e)).is_dir())
            .map(|e| e.slug.as_str())
            .collect();
        return Err(Failure::usage(format!(
            "exercise {} has no seeds (there is no {}); exercises with seeds: {}",
            ex.slug,
            ctx.course.display_path(&seeds),
            if with_seeds.is_empty() { "none".to_owned() } else { with_seeds.join(", ") }
        ))
        .into());
    }
    let url = ctx.sandbox_url(&ex.slug).await?;
    eprintln!("{}", format!("sandbox database: {}", redact(&url)).dimmed());
    let fail = |e: SeedError| {
        let code = match e {
            SeedError::Database(_) => Code::Environment,
            _ => Code::ChecksFailed,
        };
        Failure { code, message: format!("failed to {e}\n{}", seed::next_step(&e, &ex.slug)) }
    };
    match action {
        SeedAction::Up => {
            let done = seed::up(&url, &seeds).await.map_err(fail)?;
            print!("{}", seed::describe(&done));
            println!();
        }
        SeedAction::Down => {
            let done = seed::down(&url, &seeds).await.map_err(fail)?;
            if done.is_empty() {
                println!("Nothing to revert: no seed is applied.");
            } else {
                print!("{}", seed::describe(&done));
            }
        }
        SeedAction::Status => print!("{}", seed::describe_status(&seed::status(&url, &seeds).await.map_err(fail)?)),
        SeedAction::Fresh => {
            let fresh = seed::fresh(&url, &seed::migrations_dir(&ex_dir), &seeds).await.map_err(fail)?;
            match fresh.migrations_applied.len() {
                0 => println!("Migrations: all already applied."),
                n => println!("{} {n} migration(s).", "Applied".green().bold()),
            }
            print!("{}", seed::describe(&fresh.seeds));
            println!();
        }
    }
    Ok(Code::Passed)
}
