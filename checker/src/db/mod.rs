//! Where the checks' database comes from: an explicit URL, or the embedded
//! cluster the checker runs from the machine's own PostgreSQL binaries.
//!
//! Order: `--database-url`, `DATABASE_URL`, `.env` at the course root,
//! then the embedded default.

pub mod admin;
pub mod binaries;
pub mod embedded;

use std::fmt;

use crate::course::Course;
use crate::exit::Failure;

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
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.trim().is_empty() {
            return Some((url, Origin::Env));
        }
    }
    dotenv_value(&course.root.join(".env"), "DATABASE_URL")
        .filter(|u| !u.is_empty())
        .map(|u| (u, Origin::DotEnv))
}

/// Chooses the server, starting the embedded one if nothing else is set.
pub async fn resolve(course: &Course, flag: Option<&str>) -> Result<Server, Failure> {
    if let Some((url, origin)) = configured_url(course, flag) {
        return Ok(Server { url, origin });
    }
    let cluster = embedded_cluster(course);
    let running = tokio::task::spawn_blocking(move || cluster.ensure_running())
        .await
        .map_err(|e| Failure::env(format!("starting the embedded server: {e}")))?
        .map_err(|e| Failure::env(format!("failed to {e}")))?;
    Ok(Server { url: running.url, origin: Origin::Embedded })
}

pub fn embedded_cluster(course: &Course) -> embedded::Cluster {
    embedded::Cluster::new(course.work_dir().join("pg"))
}

/// Reads `KEY=value` from a dotenv file, ignoring comments and quotes.
pub fn dotenv_value(path: &std::path::Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// Replaces the database in `url` with `name`, keeping every other part.
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let Some(at) = rest.rfind('@') else { return url.to_owned() };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

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
    fn url_with_database_keeps_credentials_and_options() {
        assert_eq!(
            url_with_database("postgres://u:p@h:5/postgres?sslmode=disable", "wb"),
            "postgres://u:p@h:5/wb?sslmode=disable"
        );
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(redact("postgres://u:s3cret@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }

    #[test]
    fn only_servers_on_this_machine_are_local() {
        let s = |url: &str| Server { url: url.into(), origin: Origin::Env };
        assert!(s("postgres://u@127.0.0.1:5432/x").is_local());
        assert!(s("postgres://u:p@localhost/x").is_local());
        assert!(!s("postgres://u@db.example.com/x").is_local());
    }
}
