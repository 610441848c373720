//! Where the checks' database comes from: an explicit URL, or the embedded
//! cluster the checker runs from the machine's own PostgreSQL binaries.
//!
//! Order: `--database-url`, `DATABASE_URL`, `.env` at the course root,
//! then the embedded default.

pub mod admin;
pub mod checkdbs;
pub mod embedded;
mod error;
pub mod fast;
pub mod orphans;
pub mod registry;
mod scram;
pub mod watchdog;

use std::fmt;

use crate::course::Course;
pub use error::{DbError, blocking};

/// Where the URL came from, so messages can say which setting to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
    DotEnv,
    Embedded,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--database-url",
            Origin::Env => "DATABASE_URL",
            Origin::DotEnv => "DATABASE_URL in .env",
            Origin::Embedded => "the embedded server",
        })
    }
}

/// The server checks run against.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: String,
    pub origin: Origin,
}

impl Server {
    /// Whether the checker may sweep leftover check databases here: only
    /// on servers of this machine, where a dead process id means a
    /// crashed run and not another machine's live one.
    pub fn is_local(&self) -> bool {
        if self.origin == Origin::Embedded {
            return true;
        }
        let host = host_of(&self.url);
        matches!(host.as_str(), "" | "localhost" | "127.0.0.1" | "[::1]" | "::1")
    }
}

/// The URL setting chosen without starting anything: `None` means the
/// embedded default.
pub fn configured_url(course: &Course, flag: Option<&str>) -> Option<(String, Origin)> {
    if let Some(url) = flag.filter(|u| !u.trim().is_empty()) {
        return Some((url.to_owned(), Origin::Flag));
    }
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Some((url, Origin::Env));
    }
    dotenv_value(&course.root.join(".env"), "DATABASE_URL").filter(|u| !u.is_empty()).map(|u| (u, Origin::DotEnv))
}

/// Chooses the server, starting the embedded one if nothing else is set.
pub async fn resolve(course: &Course, flag: Option<&str>) -> Result<Server, DbError> {
    if let Some((url, origin)) = configured_url(course, flag) {
        return Ok(Server { url, origin });
    }
    let running = start_embedded(embedded_cluster(course)).await?;
    Ok(Server { url: running.url, origin: Origin::Embedded })
}

/// Starts (or reuses) the course's embedded server, marks it used by this
/// process for as long as it runs, and makes sure its watchdog runs (see
/// [`watchdog`]).
pub async fn start_embedded(cluster: embedded::Cluster) -> Result<embedded::Running, DbError> {
    let dir = cluster.dir().to_path_buf();
    // Held before the start: a watchdog must not stop it under us.
    if std::fs::create_dir_all(&dir).is_ok() {
        watchdog::hold(&dir);
    }
    let running = blocking("starting the embedded server", move || cluster.ensure_running()).await?;
    watchdog::ensure(&dir);
    Ok(running)
}

pub fn embedded_cluster(course: &Course) -> embedded::Cluster {
    embedded::Cluster::new(course.work_dir().join("pg"))
}

pub use workbook::{dotenv_value, redact, url_for_database as url_with_database};

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hostport.starts_with('[') {
        return hostport.split(']').next().map(|h| format!("{h}]")).unwrap_or_default();
    }
    hostport.split(':').next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_servers_on_this_machine_are_local() {
        let s = |url: &str| Server { url: url.into(), origin: Origin::Env };
        assert!(s("postgres://u@127.0.0.1:5432/x").is_local());
        assert!(s("postgres://u:p@localhost/x").is_local());
        assert!(!s("postgres://u@db.example.com/x").is_local());
    }
}
