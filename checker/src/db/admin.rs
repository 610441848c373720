//! Administrative work on the check server: creating and dropping the
//! databases the checker owns, and sweeping the ones a crash left behind.
//!
//! Every database the checker creates has a name starting `wbchk_` (check
//! databases) or `wbsandbox_` (a student's sandbox per exercise); nothing
//! else is ever dropped.

use sqlx::{Connection, Executor, PgConnection, Row};

use crate::db::{Server, redact, url_with_database};
use crate::exit::Failure;
use crate::sys;

/// Prefix of every per-check database (the support crate names them).
pub use workbook::CHECK_PREFIX;
/// Prefix of the per-exercise sandbox databases.
pub const SANDBOX_PREFIX: &str = "wbsandbox_";

/// One administrative session on the check server.
pub struct Admin {
    conn: PgConnection,
}

impl Admin {
    /// Connects, turning the usual failures into messages that say what to
    /// do next.
    pub async fn connect(server: &Server) -> Result<Admin, Failure> {
        let conn = tokio::time::timeout(std::time::Duration::from_secs(10), PgConnection::connect(&server.url))
            .await
            .map_err(|_| {
                Failure::env(format!(
                    "the database at {} (from {}) did not answer within 10 s.\n\
                     Check the host and port, or unset it to use the embedded server.",
                    redact(&server.url),
                    server.origin
                ))
            })?
            .map_err(|e| connect_failure(server, &e))?;
        Ok(Admin { conn })
    }

    /// Fails unless this role may create databases: every check needs its own.
    pub async fn require_createdb(&mut self, server: &Server) -> Result<(), Failure> {
        let row = sqlx::query("SELECT rolcreatedb OR rolsuper AS ok, current_user::text AS who FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut self.conn)
            .await
            .map_err(|e| Failure::env(format!("reading the role's privileges: {e}")))?;
        let ok: bool = row.get("ok");
        if ok {
            return Ok(());
        }
        let who: String = row.get("who");
        Err(Failure::env(format!(
            "the role `{who}` at {} (from {}) may not create databases, and every check needs a fresh one.\n\
             Grant it with `ALTER ROLE {who} CREATEDB;` as a superuser, use another role, \
             or unset {} to use the embedded server.",
            redact(&server.url),
            server.origin,
            server.origin
        )))
    }

    /// Names of databases starting with `prefix`.
    pub async fn databases_with_prefix(&mut self, prefix: &str) -> Result<Vec<String>, Failure> {
        let pattern = format!("{}%", prefix.replace('_', "\\_"));
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1 ORDER BY datname")
            .bind(pattern)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| Failure::env(format!("listing databases: {e}")))
    }

    /// Drops every database starting with `prefix`; returns how many.
    /// Waits (at most `limit`) until no session is still creating a
    /// database whose name starts with `prefix`.
    pub async fn wait_for_creates(&mut self, prefix: &str, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            let busy: Result<i64, _> = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE 'CREATE DATABASE \"' || $1 || '%'",
            )
            .bind(prefix)
            .fetch_one(&mut self.conn)
            .await;
            if !matches!(busy, Ok(n) if n > 0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn drop_with_prefix(&mut self, prefix: &str) -> Result<usize, Failure> {
        let names = self.databases_with_prefix(prefix).await?;
        for name in &names {
            self.drop_database(name).await?;
        }
        Ok(names.len())
    }

    /// Drops check databases whose run is over: named after a process that
    /// no longer exists on this machine.
    pub async fn sweep_crashed_runs(&mut self) -> Result<usize, Failure> {
        let mut swept = 0;
        for name in self.databases_with_prefix(CHECK_PREFIX).await? {
            let pid = name[CHECK_PREFIX.len()..].split('_').next().and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && !sys::process_alive(pid)
            {
                self.drop_database(&name).await?;
                swept += 1;
            }
        }
        Ok(swept)
    }

    pub async fn database_exists(&mut self, name: &str) -> Result<bool, Failure> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut self.conn)
            .await
            .map_err(|e| Failure::env(format!("looking up database {name}: {e}")))
    }

    pub async fn create_database(&mut self, name: &str) -> Result<(), Failure> {
        check_ident(name)?;
        self.conn
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
            .map_err(|e| Failure::env(format!("creating database {name}: {e}")))?;
        Ok(())
    }

    pub async fn drop_database(&mut self, name: &str) -> Result<(), Failure> {
        check_ident(name)?;
        if !(name.starts_with(CHECK_PREFIX) || name.starts_with(SANDBOX_PREFIX)) {
            return Err(Failure::env(format!("refusing to drop {name}: the checker did not create it")));
        }
        self.conn
            .execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)))
            .await
            .map_err(|e| Failure::env(format!("dropping database {name}: {e}")))?;
        Ok(())
    }

    /// The sandbox database of an exercise, created if missing; returns its URL.
    pub async fn sandbox(&mut self, server: &Server, slug: &str) -> Result<String, Failure> {
        let name = sandbox_name(slug);
        if !self.database_exists(&name).await? {
            self.create_database(&name).await?;
        }
        Ok(url_with_database(&server.url, &name))
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

pub fn sandbox_name(slug: &str) -> String {
    format!("{SANDBOX_PREFIX}{slug}")
}

/// Database names the checker builds are plain identifiers; anything else
/// is a bug, not something to quote around.
fn check_ident(name: &str) -> Result<(), Failure> {
    if !name.is_empty() && name.len() < 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(Failure::env(format!("not a database name the checker makes: {name:?}")))
    }
}

fn connect_failure(server: &Server, e: &sqlx::Error) -> Failure {
    let what = redact(&server.url);
    let from = server.origin;
    let text = e.to_string();
    let next = if text.contains("refused") {
        "Nothing is listening there: start that server, fix the host and port, or unset it to use the embedded server."
    } else if text.contains("password") || text.contains("authentication") {
        "The server rejected the credentials: fix the user and password in the URL."
    } else if text.contains("does not exist") {
        "The database or role in the URL does not exist on that server: point the URL at one that does (e.g. /postgres)."
    } else if matches!(e, sqlx::Error::Configuration(_)) {
        "The URL itself is malformed: it should look like postgres://user:password@host:5432/postgres."
    } else {
        "Check the URL, or unset it to use the embedded server."
    };
    Failure::env(format!("could not connect to {what} (from {from}): {text}\n{next}"))
}
