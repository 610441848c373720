//! Administrative work on the check server: creating and dropping the
//! databases the checker owns, and sweeping the ones a crash left behind.
//!
//! Every database the checker creates has a name starting `wbchk_` (check
//! databases) or `wbsandbox_` (a student's sandbox per exercise); nothing
//! else is ever dropped.

use sqlx::{Connection, Executor, PgConnection, Row};

use crate::db::{DbError, Server, redact, url_with_database};
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
    pub async fn connect(server: &Server) -> Result<Admin, DbError> {
        let conn = tokio::time::timeout(std::time::Duration::from_secs(10), PgConnection::connect(&server.url))
            .await
            .map_err(|_| DbError::Timeout { url: redact(&server.url), origin: server.origin })?
            .map_err(|e| connect_failure(server, &e))?;
        Ok(Admin { conn })
    }

    /// Fails unless this role may create databases: every check needs its own.
    pub async fn require_createdb(&mut self, server: &Server) -> Result<(), DbError> {
        let row = sqlx::query("SELECT rolcreatedb OR rolsuper AS ok, current_user::text AS who FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut self.conn)
            .await
            .map_err(DbError::query("reading the role's privileges"))?;
        let ok: bool = row.get("ok");
        if ok {
            return Ok(());
        }
        Err(DbError::NoCreatedb { who: row.get("who"), url: redact(&server.url), origin: server.origin })
    }

    /// Names of databases starting with `prefix`.
    pub async fn databases_with_prefix(&mut self, prefix: &str) -> Result<Vec<String>, DbError> {
        let pattern = format!("{}%", prefix.replace('_', "\\_"));
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1 ORDER BY datname")
            .bind(pattern)
            .fetch_all(&mut self.conn)
            .await
            .map_err(DbError::query("listing databases"))
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

    pub async fn drop_with_prefix(&mut self, prefix: &str) -> Result<usize, DbError> {
        let names = self.databases_with_prefix(prefix).await?;
        for name in &names {
            self.drop_database(name).await?;
        }
        Ok(names.len())
    }

    /// Drops check databases whose run is over: named after a process that
    /// no longer exists on this machine.
    pub async fn sweep_crashed_runs(&mut self) -> Result<usize, DbError> {
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

    pub async fn database_exists(&mut self, name: &str) -> Result<bool, DbError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut self.conn)
            .await
            .map_err(DbError::query(format!("looking up database {name}")))
    }

    pub async fn create_database(&mut self, name: &str) -> Result<(), DbError> {
        check_ident(name)?;
        self.conn
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
            .map_err(DbError::query(format!("creating database {name}")))?;
        Ok(())
    }

    pub async fn drop_database(&mut self, name: &str) -> Result<(), DbError> {
        check_ident(name)?;
        if !(name.starts_with(CHECK_PREFIX) || name.starts_with(SANDBOX_PREFIX)) {
            return Err(DbError::NotOurs(name.to_owned()));
        }
        self.conn
            .execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)))
            .await
            .map_err(DbError::query(format!("dropping database {name}")))?;
        Ok(())
    }

    /// The sandbox database of an exercise, created if missing; returns its URL.
    pub async fn sandbox(&mut self, server: &Server, slug: &str) -> Result<String, DbError> {
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
fn check_ident(name: &str) -> Result<(), DbError> {
    if !name.is_empty() && name.len() < 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(DbError::BadName(name.to_owned()))
    }
}

fn connect_failure(server: &Server, e: &sqlx::Error) -> DbError {
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
    DbError::Connect { url: redact(&server.url), origin: server.origin, text, next }
}
