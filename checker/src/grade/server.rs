//! The server grading runs on, and one database role per submission.
//!
//! By default a throwaway cluster: started for this grading run from the
//! installed server programs, with password authentication (trust would
//! let a submission sign in as anyone), destroyed at the end. Each
//! submission gets a role of its own with LOGIN and CREATEDB and nothing
//! else; the support crate closes every database it creates to other
//! roles, so one submission cannot connect to, or drop, another's.

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};

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

    /// Creates submission `n`'s role: it may sign in and create databases,
    /// and owns only what it creates.
    pub async fn create_role(&self, n: usize) -> Result<Role, DbError> {
        let name = format!("{}{n}", self.role_prefix);
        let password = random_hex(24);
        let mut conn = self.superuser().await?;
        conn.execute(sqlx::AssertSqlSafe(format!(
            r#"CREATE ROLE "{name}" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD '{password}'"#
        )))
        .await
        .map_err(DbError::query(format!("creating the grading role {name}")))?;
        if self.is_throwaway() {
            // This cluster closed `postgres` to PUBLIC: the role gets in to
            // create and drop its own databases, and may create nothing there.
            conn.execute(sqlx::AssertSqlSafe(format!(r#"GRANT CONNECT ON DATABASE postgres TO "{name}""#)))
                .await
                .map_err(DbError::query(format!("granting {name} its admin connection")))?;
        }
        if let Some(t) = &self.tablespace {
            conn.execute(sqlx::AssertSqlSafe(format!(r#"GRANT CREATE ON TABLESPACE "{t}" TO "{name}""#)))
                .await
                .map_err(DbError::query(format!("granting {name} the check tablespace")))?;
        }
        conn.close().await.ok();
        let url = with_credentials(&self.url, &name, &password);
        Ok(Role { name, url })
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

/// `url` signing in as `user` with `password` instead.
fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

/// `len` hex digits from the operating system's cryptographic generator:
/// the superuser's password guards every submission's databases.
fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    getrandom::fill(&mut bytes).expect("the operating system's random generator works");
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .take(len)
        .map(|n| char::from_digit(u32::from(n), 16).expect("a hex digit"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_replace_the_user_and_keep_host_and_database() {
        assert_eq!(
            with_credentials("postgres://workbook:secret@127.0.0.1:5433/postgres", "wbgrade_1_0", "pw"),
            "postgres://wbgrade_1_0:pw@127.0.0.1:5433/postgres"
        );
        assert_eq!(with_credentials("postgres://127.0.0.1/postgres", "r", "p"), "postgres://r:p@127.0.0.1/postgres");
    }

    #[test]
    fn passwords_are_hex_of_the_asked_length_and_never_repeat() {
        let (a, b) = (random_hex(32), random_hex(32));
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
        assert_eq!(random_hex(5).len(), 5);
    }
}
