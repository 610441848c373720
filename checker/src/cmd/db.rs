//! `checker db start|stop|status|url|psql`: the database the checks use.

use colored::Colorize;

use crate::cli::DbCommand;
use crate::db::admin::Admin;
use crate::db::embedded::{PgBinaries, Status};
use crate::db::{self, blocking, redact};
use crate::exit::Code;
use crate::session::Session;

pub async fn execute(session: &Session, cmd: &DbCommand) -> anyhow::Result<Code> {
    let configured = db::configured_url(&session.course, session.db_flag.as_deref());
    let cluster = db::embedded_cluster(&session.course);
    match cmd {
        DbCommand::Start => {
            if let Some((url, origin)) = configured {
                outln!("Using {} (from {origin}); the embedded server is not needed.", redact(&url));
                return Ok(Code::Passed);
            }
            let running = db::start_embedded(cluster).await?;
            if running.started_now {
                outln!("{} PostgreSQL {} on port {}.", "Started".green().bold(), running.version, running.port);
            } else {
                outln!("Already running: PostgreSQL {} on port {}.", running.version, running.port);
            }
        }
        DbCommand::Stop => {
            if blocking("stopping the embedded server", move || cluster.stop()).await? {
                outln!("{} the embedded server.", "Stopped".green().bold());
            } else {
                outln!("The embedded server was not running.");
            }
        }
        DbCommand::Status => {
            if let Some((url, origin)) = &configured {
                let server = db::Server { url: url.clone(), origin: *origin };
                match Admin::connect(&server).await {
                    Ok(a) => {
                        a.close().await;
                        outln!("Using {} (from {origin}): answering.", redact(url));
                    }
                    Err(e) => outln!("Using {} (from {origin}): {}", redact(url), e.to_string().red()),
                }
                return Ok(Code::Passed);
            }
            match blocking("asking the embedded server", move || cluster.status()).await? {
                Status::NotCreated => outln!("Embedded server: not created yet (it starts on the first check)."),
                Status::Stopped { data_dir } => {
                    outln!("Embedded server: stopped (data in {}).", data_dir.display());
                }
                Status::Running(r) => outln!(
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
            let server = db::resolve(&session.course, session.db_flag.as_deref()).await?;
            outln!("{}", server.url);
        }
        DbCommand::Reset { exercise } => {
            let ex = session.course.find(exercise)?.clone();
            let server = session.server().await?.clone();
            let mut admin = Admin::connect(&server).await?;
            let name = crate::db::admin::sandbox_name(&ex.slug);
            let existed = admin.database_exists(&name).await?;
            admin.drop_database(&name).await?;
            admin.close().await;
            if existed {
                outln!(
                    "{} the sandbox database {name}; the next migrate, seed or psql starts from empty.",
                    "Dropped".green().bold()
                );
            } else {
                outln!("The sandbox database {name} did not exist; nothing to do.");
            }
        }
        DbCommand::Psql { exercise } => {
            let ex = session.exercise_or_current(exercise.as_deref())?;
            let url = session.sandbox_url(&ex.slug).await?;
            let psql = PgBinaries::find().ok().and_then(|b| b.psql()).ok_or_else(|| {
                anyhow::anyhow!(
                    "psql was not found: install the PostgreSQL client (e.g. `apt-get install postgresql-client`)."
                )
            })?;
            outln!("{}", format!("Sandbox database for {}: {}", ex.slug, redact(&url)).dimmed());
            let status = std::process::Command::new(psql).arg(&url).status()?;
            if !status.success() {
                anyhow::bail!("psql exited with {status}");
            }
        }
    }
    Ok(Code::Passed)
}
