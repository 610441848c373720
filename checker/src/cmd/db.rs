//! `checker db start|stop|status|url|psql`: the database the checks use.

use colored::Colorize;

use super::Ctx;
use crate::cli::DbCommand;
use crate::db::admin::Admin;
use crate::db::embedded::{PgBinaries, Status};
use crate::db::{self, redact};
use crate::exit::Failure;

pub async fn execute(ctx: &Ctx, cmd: &DbCommand) -> anyhow::Result<()> {
    let configured = db::configured_url(&ctx.course, ctx.db_flag.as_deref());
    let cluster = db::embedded_cluster(&ctx.course);
    match cmd {
        DbCommand::Start => {
            if let Some((url, origin)) = configured {
                println!("Using {} (from {origin}); the embedded server is not needed.", redact(&url));
                return Ok(());
            }
            let running = blocking(move || cluster.ensure_running()).await?;
            if running.started_now {
                println!("{} PostgreSQL {} on port {}.", "Started".green().bold(), running.version, running.port);
            } else {
                println!("Already running: PostgreSQL {} on port {}.", running.version, running.port);
            }
        }
        DbCommand::Stop => {
            if blocking(move || cluster.stop()).await? {
                println!("{} the embedded server.", "Stopped".green().bold());
            } else {
                println!("The embedded server was not running.");
            }
        }
        DbCommand::Status => {
            if let Some((url, origin)) = &configured {
                let server = db::Server { url: url.clone(), origin: *origin };
                match Admin::connect(&server).await {
                    Ok(a) => {
                        a.close().await;
                        println!("Using {} (from {origin}): answering.", redact(url));
                    }
                    Err(e) => println!("Using {} (from {origin}): {}", redact(url), e.message.red()),
                }
                return Ok(());
            }
            match blocking(move || cluster.status()).await? {
                Status::NotCreated => println!("Embedded server: not created yet (it starts on the first check)."),
                Status::Stopped { data_dir } => {
                    println!("Embedded server: stopped (data in {}).", data_dir.display());
                }
                Status::Running(r) => println!(
                    "Embedded server: running, PostgreSQL {} on port {} (pid {}, data in {}).\nURL: {}",
                    r.version,
                    r.port,
                    r.pid,
                    r.data_dir.display(),
                    r.url
                ),
            }
        }
        DbCommand::Url => {
            let server = db::resolve(&ctx.course, ctx.db_flag.as_deref()).await?;
            println!("{}", server.url);
        }
        DbCommand::Reset { exercise } => {
            let ex = ctx.course.find(exercise)?.clone();
            let server = ctx.server().await?.clone();
            let mut admin = Admin::connect(&server).await?;
            let name = crate::db::admin::sandbox_name(&ex.slug);
            let existed = admin.database_exists(&name).await?;
            admin.drop_database(&name).await?;
            admin.close().await;
            if existed {
                println!(
                    "{} the sandbox database {name}; the next migrate, seed or psql starts from empty.",
                    "Dropped".green().bold()
                );
            } else {
                println!("The sandbox database {name} did not exist; nothing to do.");
            }
        }
        DbCommand::Psql { exercise } => {
            let ex = ctx.exercise_or_current(exercise.as_deref())?;
            let url = ctx.sandbox_url(&ex.slug).await?;
            let psql = PgBinaries::find().ok().and_then(|b| b.psql()).ok_or_else(|| {
                Failure::env(
                    "psql was not found: install the PostgreSQL client (e.g. `apt-get install postgresql-client`).",
                )
            })?;
            println!("{}", format!("Sandbox database for {}: {}", ex.slug, redact(&url)).dimmed());
            let status = std::process::Command::new(psql).arg(&url).status()?;
            if !status.success() {
                return Err(Failure::env(format!("psql exited with {status}")).into());
            }
        }
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::db::embedded::EmbeddedError> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::env(format!("the embedded server task failed: {e}")))?
        .map_err(|e| Failure::env(format!("failed to {e}")))
}
