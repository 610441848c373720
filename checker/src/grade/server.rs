//! The server grading runs on, and one database role per submission.
//!
//! By default a throwaway cluster: started for this grading run from the
//! installed server programs, with password authentication (trust would
//! let a submission sign in as anyone), destroyed at the end. Each
//! submission gets a role of its own that may sign in and nothing else,
//! with a connection limit; the checker creates every check database,
//! owned by that role and closed to all others (see `db::checkdbs`), so
//! one submission cannot connect to, drop, or starve another's.

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};

use crate::db::checkdbs::{self, random_hex};
use crate::db::embedded::Cluster;
use crate::db::{DbError, Origin, Server, blocking, redact, url_with_database};

pub struct GradingServer {
    /// The superuser's URL (with its password for the throwaway cluster).
    pub url: String,
    /// The throwaway cluster, destroyed by [`GradingServer::shutdown`].
    cluster: Option<Cluster>,
    /// Prefix of every role this run creates.
    role_prefix: String,
    /// On the throwaway cluster, the in-memory tablespace check databases
    /// are made in (see `db::fast`); every submission role may use it.
    pub tablespace: Option<String>,
}

/// A submission's own role.
pub struct Role {
    pub name: String,
    /// Signs in as this role, to the `postgres` database.
    pub url: String,
}

impl GradingServer {
    /// A fresh cluster under `dir` (replacing any left there), or the server
    /// at `url` when the instructor names one.
    pub async fn start(dir: PathBuf, url: Option<String>) -> Result<GradingServer, DbError> {
        let role_prefix = format!("wbgrade_{}_", std::process::id());
        if let Some(url) = url {
            let server = GradingServer { url, cluster: None, role_prefix, tablespace: None };
            server.superuser().await?.close().await.ok();
            return Ok(server);
        }
        let password = random_hex(32);
        let cluster = Cluster::with_password(dir, &password).owned_by(std::process::id());
        let running = blocking("starting the grading server", move || {
            // A cluster left by a grading run that crashed is not reused.
            cluster.destroy()?;
            cluster.ensure_running().map(|r| (cluster, r))
        })
        .await?;
        let (cluster, running) = running;
        let mut server = GradingServer { url: running.url, cluster: Some(cluster), role_prefix, tablespace: None };
        // Nobody but the superuser may use the template every database is
        // copied from, or create anything in the shared databases' public
        // schemas (already so on PostgreSQL 15+, not before).
        let mut conn = server.superuser().await?;
        for sql in [
            "REVOKE ALL ON DATABASE template1 FROM PUBLIC",
            "REVOKE ALL ON DATABASE postgres FROM PUBLIC",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        ] {
            conn.execute(sql).await.map_err(DbError::query(format!("securing the grading server ({sql})")))?;
        }
        conn.close().await.ok();
        let mut t1 = PgConnection::connect(&url_with_database(&server.url, "template1"))
            .await
            .map_err(DbError::query("connecting to template1"))?;
        t1.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC").await.map_err(DbError::query("securing template1"))?;
        t1.close().await.ok();
        server.tablespace = crate::db::fast::ensure(&server.url).await;
        Ok(server)
    }

    /// Whether this is the throwaway cluster (not a server the instructor named).
    pub fn is_throwaway(&self) -> bool {
        self.cluster.is_some()
    }

    pub fn describe(&self) -> String {
        if self.is_throwaway() {
            "a throwaway PostgreSQL cluster (destroyed at the end)".to_owned()
        } else {
            redact(&self.url)
        }
    }

    pub fn as_server(&self) -> Server {
        Server { url: self.url.clone(), origin: Origin::Flag }
    }

    async fn superuser(&self) -> Result<PgConnection, DbError> {
        PgConnection::connect(&self.url)
            .await
            .map_err(DbError::query(format!("could not connect to the grading server {}", redact(&self.url))))
    }

    /// Creates submission `n`'s role: it may sign in to the databases the
    /// checker makes for it (it owns them), at most `limit` connections at
    /// once, and nothing else: no database of its own, no other role's.
    pub async fn create_role(&self, n: usize, limit: u32) -> Result<Role, DbError> {
        let name = format!("{}{n}", self.role_prefix);
        let password = random_hex(24);
        let role = checkdbs::create_role(&self.as_server(), &name, &password, limit).await?;
        let role = role.ok_or_else(|| DbError::NotSuperuser { url: redact(&self.url) })?;
        Ok(Role { name, url: role.url })
    }

    /// The most connections each submission's role may hold, with `jobs`
    /// graded at once: what its checks need, within the server's share.
    pub fn role_connection_limit(jobs: usize) -> u32 {
        let wanted = checkdbs::CONNECTIONS_PER_CHECK * crate::runner::limits::test_threads() as u32;
        // The grading cluster's max_connections (200), less the
        // superuser's reserve and the checker's own sessions.
        let share = (200 - 3 - 10) / jobs.max(1) as u32;
        wanted.min(share).max(1)
    }

    /// Drops every database `role` owns (whatever it named them), ends its
    /// sessions, and drops the role.
    pub async fn drop_role(&self, role: &Role) {
        let Ok(mut conn) = self.superuser().await else { return };
        let owned: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)",
        )
        .bind(&role.name)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for db in owned {
            let quoted = db.replace('"', "\"\"");
            let _ =
                conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{quoted}" WITH (FORCE)"#))).await;
        }
        let _ = sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
            .bind(&role.name)
            .execute(&mut conn)
            .await;
        let _ = conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP OWNED BY "{}""#, role.name))).await;
        let _ = conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP ROLE IF EXISTS "{}""#, role.name))).await;
        conn.close().await.ok();
    }

    /// Stops and deletes the throwaway cluster.
    pub async fn shutdown(self) {
        if let Some(cluster) = self.cluster {
            let dir = cluster.dir().to_path_buf();
            let _ = tokio::task::spawn_blocking(move || cluster.destroy()).await;
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
