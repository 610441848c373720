//! Where each check's database comes from. Under the checker, it made
//! them all before the check process started and names them in a file
//! ([`report::var::CHECK_DBS`](crate::report::var::CHECK_DBS)); the process
//! knows no other URL. Run by hand (`cargo test -p EX`), the checks find
//! the server themselves and create and drop their own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};

use crate::report::CheckDatabases;

/// The databases the checker made for this process, read once; `None`
/// when the checks were started by hand.
pub(crate) fn given() -> Option<&'static Result<CheckDatabases, String>> {
    static GIVEN: OnceLock<Option<Result<CheckDatabases, String>>> = OnceLock::new();
    GIVEN.get_or_init(crate::report::given_databases).as_ref()
}

/// Reads, before any check body runs, whatever tells the harness where the
/// databases are, so a check that changes `DATABASE_URL` for the code
/// under test cannot redirect the harness.
pub(crate) fn settle() {
    if given().is_none() {
        let _ = admin_url();
    }
}

/// The URL of the server checks create their databases on, when run by
/// hand (under the checker, see [`given`]).
///
/// Read once, before any check body runs, so a check that changes
/// `DATABASE_URL` for the code under test cannot redirect the harness. In
/// order: `DATABASE_URL`, the workspace's `.env`, then the URL the
/// checker's embedded server publishes while it runs.
pub fn admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match find_admin_url() {
        Some(url) => url,
        None => panic!(
            "no database to check against.\n\
             Run the checks through the checker (`cargo checker run`), which starts one for you,\n\
             or start it with `cargo checker db start`, or set DATABASE_URL to a server where you may create databases."
        ),
    })
}

fn find_admin_url() -> Option<String> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Some(url);
    }
    let root = workspace_root()?;
    if let Some(url) = dotenv_value(&root.join(".env"), "DATABASE_URL") {
        return Some(url);
    }
    let published = std::fs::read_to_string(root.join("target/workbook/pg/url")).ok()?;
    Some(published.trim().to_owned()).filter(|u| !u.is_empty())
}

/// The directory holding the workspace `Cargo.lock`, searched upwards from
/// the crate under test.
fn workspace_root() -> Option<PathBuf> {
    let start = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)?;
    start.ancestors().find(|dir| dir.join("Cargo.lock").is_file()).map(Path::to_path_buf)
}

/// The prefix of every per-check database; the checker drops and sweeps
/// only names that start with it.
pub const CHECK_PREFIX: &str = "wbchk_";

/// Reads `KEY=value` from a dotenv file (comments, quotes, `export` and
/// escapes as dotenvy reads them); the first line setting `key` wins, and
/// a line dotenvy cannot read stops the search.
pub fn dotenv_value(path: &Path, key: &str) -> Option<String> {
    dotenvy::from_path_iter(path).ok()?.map_while(Result::ok).find_map(|(k, v)| (k == key).then_some(v))
}

/// A database name no other check, run or student shares.
///
/// The checker sets `WORKBOOK_DB_PREFIX` per run and drops everything with
/// that prefix when the run ends, however it ends. Run by hand, the prefix
/// carries this process id, so the checker's sweep can tell a live run's
/// databases from a crashed one's.
pub(crate) fn unique_name() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let prefix = crate::report::db_prefix().unwrap_or_else(|| format!("{CHECK_PREFIX}{}", std::process::id()));
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{seq}_{:04x}", fastrand::u16(..))
}

/// Replaces the database in `url` with `name`, keeping every other part.
pub fn url_for_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
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
    // The last '@' ends the credentials: a password may contain '@'.
    let Some(at) = rest.rfind('@') else { return url.to_owned() };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

pub(crate) async fn admin_connection() -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(admin_url()).await
}

/// The tablespace check databases are created in, when set (the checker
/// sets it for its own servers; see the checker's `db::fast`).
pub use crate::report::var::TABLESPACE as TABLESPACE_ENV;

/// Creates `name`, owned by the admin URL's role, and closes it to every
/// other role: when graded, each submission's role must not reach another
/// submission's databases (PUBLIC may connect to a new database otherwise).
pub(crate) async fn create_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    // The checker's embedded server keeps check databases in memory
    // (`WORKBOOK_TABLESPACE`); should that fail, the default place serves.
    let fast = crate::report::tablespace();
    let in_fast = match fast {
        Some(t) => {
            admin.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}" TABLESPACE "{t}""#))).await.is_ok()
        }
        None => false,
    };
    if !in_fast {
        admin.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).await?;
    }
    admin.execute(sqlx::AssertSqlSafe(format!(r#"REVOKE ALL ON DATABASE "{name}" FROM PUBLIC"#))).await.map(drop)
}

pub(crate) async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    admin.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_for_database_swaps_only_the_database() {
        assert_eq!(
            url_for_database("postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable", "x1"),
            "postgres://u:p@127.0.0.1:5432/x1?sslmode=disable"
        );
        assert_eq!(url_for_database("postgres://localhost", "x2"), "postgres://localhost/x2");
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact("postgres://u:secret@h:1/d"), "postgres://u:***@h:1/d");
        assert_eq!(redact("postgres://u:p@ss@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }

    #[test]
    fn dotenv_reads_quoted_and_exported_values() {
        let dir = std::env::temp_dir().join(format!("wb-dotenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".env");
        std::fs::write(&file, "# c\nexport OTHER=1\nDATABASE_URL=\"postgres://a/b\" # the course's\nQ='x y'\n")
            .unwrap();
        assert_eq!(dotenv_value(&file, "DATABASE_URL").as_deref(), Some("postgres://a/b"));
        assert_eq!(dotenv_value(&file, "OTHER").as_deref(), Some("1"));
        assert_eq!(dotenv_value(&file, "Q").as_deref(), Some("x y"));
        assert_eq!(dotenv_value(&file, "MISSING"), None);
        assert_eq!(dotenv_value(&dir.join("absent.env"), "DATABASE_URL"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unique_names_differ_and_fit_postgres_identifiers() {
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        assert!(a.len() < 63, "{a}");
    }
}
