//! `checker serve EX [--port N]`: an HTTP exercise's server, on 127.0.0.1,
//! against the exercise's sandbox database, for trying it by hand.
//!
//! The sandbox is migrated (and seeded, where the exercise has seeds)
//! first; then cargo builds and runs the exercise's `examples/serve.rs`
//! (the example `serve-<slug>`) with `DATABASE_URL` and `PORT` set.
//! Compile errors and the server's own output go straight to the
//! terminal; Ctrl-C stops it.

use colored::Colorize;

use super::{Explained, UsageError};
use crate::db::redact;
use crate::exit::Code;
use crate::seed::{self, SeedError};
use crate::session::Session;

/// Where an HTTP exercise keeps the program `serve` runs.
pub const SERVER: &str = "examples/serve.rs";

pub async fn execute(session: &Session, exercise: &str, port: u16) -> anyhow::Result<Code> {
    let course = &session.course;
    let ex = course.find(exercise)?.clone();
    let dir = course.exercise_dir(&ex);
    if !dir.join(SERVER).is_file() {
        let servers: Vec<&str> = course
            .exercises
            .iter()
            .filter(|e| course.exercise_dir(e).join(SERVER).is_file())
            .map(|e| e.slug.as_str())
            .collect();
        return Err(UsageError(format!(
            "exercise {} is not served over HTTP (it has no {SERVER}); exercises that are: {}",
            ex.slug,
            if servers.is_empty() { "none".to_owned() } else { servers.join(", ") }
        ))
        .into());
    }
    let url = session.sandbox_url(&ex.slug).await?;
    eprintln!("{}", format!("sandbox database: {}", redact(&url)).dimmed());
    let fresh =
        seed::fresh(&url, &seed::migrations_dir(&dir), &seed::seeds_dir(&dir)).await.map_err(|e: SeedError| {
            Explained { message: format!("failed to {e}\n{}", seed::next_step(&e, &ex.slug)), error: e.into() }
        })?;
    if !fresh.migrations_applied.is_empty() {
        eprintln!("{} {} migration(s) to the sandbox", "Applied".green().bold(), fresh.migrations_applied.len());
    }
    let status = tokio::process::Command::new(crate::runner::cargo_path())
        .current_dir(&course.root)
        .args(["run", "--quiet", "--package", &ex.slug, "--example", &format!("serve-{}", ex.slug)])
        .env("CARGO_TARGET_DIR", course.target_dir())
        .env("DATABASE_URL", &url)
        .env("PORT", port.to_string())
        .env_remove("RUSTFLAGS")
        .status()
        .await?;
    Ok(match status.code() {
        Some(0) => Code::Passed,
        // cargo's own code for a build that failed: the compiler said why.
        Some(101) => {
            eprintln!("{} {} did not compile: cargo's messages are above", "error:".red().bold(), ex.slug);
            Code::ChecksFailed
        }
        _ => {
            eprintln!("{} the server stopped ({status}); its messages are above", "error:".red().bold());
            Code::Environment
        }
    })
}
