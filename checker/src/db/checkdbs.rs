//! The checks' databases, made by the checker: one per check, created
//! while cargo builds, owned by a role that may sign in to them and do
//! nothing else on the server, and dropped once the verdict is out.
//!
//! A check process learns its databases from a file
//! ([`workbook::report::CheckDatabases`]) and holds no other URL: not the
//! superuser's, nor any that could create a database. In grading the role
//! is the submission's; in a student's own runs it is one per checker
//! process (`wbchk_<pid>`, swept with the databases when that process is
//! gone). On a server where the checker's own role is no superuser (a
//! `DATABASE_URL` with CREATEDB only), that role owns the databases.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tokio::task::JoinHandle;

use super::admin::CHECK_PREFIX;
use super::{DbError, Origin, Server, url_with_database};
use workbook::report::{CheckDatabase, CheckDatabases};

/// Connections one check may hold at once: its own pool (4), the pool it
/// hands the code under test through its relay (5), and the pools a
/// lesson about pools builds (up to 6 held, plus the one being refused).
/// A role's limit is this times the checks run at once.
pub const CONNECTIONS_PER_CHECK: u32 = 12;

/// The role that owns a run's check databases.
#[derive(Debug, Clone)]
pub struct CheckRole {
    pub name: String,
    /// Signs in as the role; the database part is replaced per check.
    pub url: String,
    /// Created by the checker (and so dropped by it); false when the
    /// checker's own role is used.
    pub created: bool,
}

/// Where a run's databases are made, and for whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// The checker's own (administrative) URL: it never reaches a check.
    pub admin_url: String,
    pub role: CheckRole,
    /// The in-memory tablespace, when the server has one (`db::fast`).
    pub tablespace: Option<String>,
}

/// The role name for this checker process's own runs.
pub fn process_role_name() -> String {
    format!("{CHECK_PREFIX}{}", std::process::id())
}

/// Makes the role `name` on `server` (replacing one of that name), able to
/// sign in with `password`, at most `limit` connections at once, and
/// nothing else. Returns `Ok(None)` when the server's role is not a
/// superuser (it then owns the databases itself).
pub async fn create_role(
    server: &Server,
    name: &str,
    password: &str,
    limit: u32,
) -> Result<Option<CheckRole>, DbError> {
    let mut conn = connect(&server.url).await?;
    let is_super: bool = sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(&mut conn)
        .await
        .map_err(DbError::query("reading the checker role's privileges"))?;
    if !is_super {
        let _ = conn.close().await;
        return Ok(None);
    }
    check_ident(name)?;
    // A verifier of few rounds, so signing in costs the checks nothing.
    let verifier = super::scram::verifier(password);
    let sql = format!(
        r#"CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT {limit} PASSWORD '{verifier}'"#
    );
    conn.execute(sqlx::AssertSqlSafe(sql)).await.map_err(DbError::query(format!("creating the check role {name}")))?;
    let _ = conn.close().await;
    Ok(Some(CheckRole { name: name.to_owned(), url: with_credentials(&server.url, name, password), created: true }))
}

/// The checker's own role as the owner of the check databases (on a
/// server where it may create databases but not roles).
pub async fn own_role(server: &Server) -> Result<CheckRole, DbError> {
    let mut conn = connect(&server.url).await?;
    let who: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut conn)
        .await
        .map_err(DbError::query("reading the checker's role"))?;
    let _ = conn.close().await;
    Ok(CheckRole { name: who, url: server.url.clone(), created: false })
}

/// The role this process's runs use on `server`: a role of its own, or,
/// where the checker's role is no superuser, that role.
pub async fn session_role(server: &Server) -> Result<CheckRole, DbError> {
    let password = random_hex(24);
    let limit = CONNECTIONS_PER_CHECK * crate::runner::limits::test_threads() as u32;
    match create_role(server, &process_role_name(), &password, limit).await? {
        Some(role) => Ok(role),
        None => own_role(server).await,
    }
}

/// Drops `role` (its databases must be gone first) if the checker made it.
pub async fn drop_role(admin_url: &str, role: &CheckRole) {
    if !role.created {
        return;
    }
    let Ok(mut conn) = connect(admin_url).await else { return };
    let _ = conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP ROLE IF EXISTS "{}""#, role.name))).await;
    let _ = conn.close().await;
}

/// Drops the check roles of checker processes that are gone (their
/// databases were swept first).
pub async fn sweep_roles(admin_url: &str) {
    let Ok(mut conn) = connect(admin_url).await else { return };
    let pattern = format!("{}%", CHECK_PREFIX.replace('_', "\\_"));
    let names: Vec<String> = sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1")
        .bind(pattern)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
    for name in names {
        let pid = name[CHECK_PREFIX.len()..].parse::<u32>().ok();
        if pid.is_some_and(|pid| !crate::sys::process_alive(pid)) {
            let _ = conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP ROLE IF EXISTS "{name}""#))).await;
        }
    }
    let _ = conn.close().await;
}

/// Databases being made for a run, started before its build.
pub struct Prepared {
    target: Target,
    prefix: String,
    /// Stopped if the run is dropped (Ctrl-C) before it is waited for.
    task: Option<JoinHandle<Result<Vec<String>, DbError>>>,
    made: usize,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Prepared {
    /// Starts creating `count` databases named `<prefix>_<i>` for `target`.
    pub fn start(target: &Target, prefix: &str, count: usize) -> Prepared {
        let names: Vec<String> = (0..count).map(|i| format!("{prefix}_{i}")).collect();
        let task = tokio::spawn(create_all(target.clone(), names));
        Prepared { target: target.clone(), prefix: prefix.to_owned(), task: Some(task), made: count }
    }

    /// Waits for the databases, makes more if `checks` needs more, and
    /// pairs each check with one; the databases no check needs are
    /// dropped later with the rest.
    pub async fn assign(mut self, checks: &[String]) -> Result<(CheckDatabases, Made), DbError> {
        let task = self.task.take().expect("a prepared run is assigned once");
        let mut names = match task.await {
            Ok(r) => r?,
            Err(error) => return Err(DbError::Task { doing: "creating the check databases", error }),
        };
        if checks.len() > names.len() {
            let more: Vec<String> =
                (self.made..self.made + checks.len() - names.len()).map(|i| format!("{}_{i}", self.prefix)).collect();
            names.extend(create_all(self.target.clone(), more).await?);
        }
        let mut dbs = CheckDatabases::default();
        for (check, name) in checks.iter().zip(&names) {
            let url = url_with_database(&self.target.role.url, name);
            dbs.checks.insert(check.clone(), CheckDatabase { name: name.clone(), url });
        }
        Ok((dbs, Made { admin_url: self.target.admin_url.clone(), names }))
    }

    /// The run ended before its checks ran (a compile error): drop what
    /// was made, in the background.
    pub fn abandon(mut self) {
        let admin_url = self.target.admin_url.clone();
        let Some(task) = self.task.take() else { return };
        defer(async move {
            if let Ok(Ok(names)) = task.await {
                drop_all(&admin_url, &names).await;
            }
        });
    }
}

/// Databases that were made, to drop once their checks are done.
#[derive(Debug)]
pub struct Made {
    admin_url: String,
    names: Vec<String>,
}

impl Made {
    /// Drops them in the background: the verdict does not wait for it.
    pub fn drop_later(self) {
        defer(async move { drop_all(&self.admin_url, &self.names).await });
    }
}

/// Background work that must finish before the process exits.
static PENDING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

fn defer(work: impl Future<Output = ()> + Send + 'static) {
    let handle = tokio::spawn(work);
    let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    pending.retain(|h| !h.is_finished());
    pending.push(handle);
}

/// Waits for every database drop still under way (before the process
/// exits, after the verdict is printed).
pub async fn finish_deferred() {
    loop {
        let handles: Vec<JoinHandle<()>> = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|p| p.into_inner()));
        if handles.is_empty() {
            return;
        }
        for h in handles {
            let _ = h.await;
        }
    }
}

/// How many connections make a run's databases at once: creating one is
/// mostly the server copying files, and two keep both cores busy.
const CREATORS: usize = 2;

async fn create_all(target: Target, names: Vec<String>) -> Result<Vec<String>, DbError> {
    let chunks: Vec<Vec<String>> =
        (0..CREATORS).map(|k| names.iter().skip(k).step_by(CREATORS).cloned().collect()).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
        let target = target.clone();
        tasks.spawn(async move {
            let mut conn = connect(&target.admin_url).await?;
            for name in &chunk {
                create_one(&mut conn, &target, name).await?;
            }
            let _ = conn.close().await;
            Ok::<(), DbError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|error| DbError::Task { doing: "creating the check databases", error })??;
    }
    Ok(names)
}

/// Set once a server refused `STRATEGY FILE_COPY` (before PostgreSQL 15).
static FILE_COPY_REFUSED: AtomicBool = AtomicBool::new(false);

async fn create_one(conn: &mut PgConnection, target: &Target, name: &str) -> Result<(), DbError> {
    check_ident(name)?;
    let owner = &target.role.name;
    let base = format!(r#"CREATE DATABASE "{name}" OWNER "{}""#, owner.replace('"', "\"\""));
    // The in-memory tablespace first; should that fail, the default place.
    let in_fast = match &target.tablespace {
        Some(t) => {
            let fast = format!(r#"{base} TABLESPACE "{t}""#);
            // The in-memory tablespace is only on the checker's own servers
            // (fsync off): there, copying the template's files and taking
            // a checkpoint costs the server half the CPU of writing every
            // block to the WAL (PostgreSQL 15's default), about 17 ms
            // against 31 ms a database. Servers before 15 know no STRATEGY.
            let copied = !FILE_COPY_REFUSED.load(Ordering::Relaxed)
                && conn.execute(sqlx::AssertSqlSafe(format!("{fast} STRATEGY FILE_COPY"))).await.is_ok();
            if !copied {
                FILE_COPY_REFUSED.store(true, Ordering::Relaxed);
            }
            copied || conn.execute(sqlx::AssertSqlSafe(fast)).await.is_ok()
        }
        None => false,
    };
    if !in_fast {
        conn.execute(sqlx::AssertSqlSafe(base)).await.map_err(DbError::query(format!("creating database {name}")))?;
    }
    // Only its owner may connect: not another submission's role.
    conn.execute(sqlx::AssertSqlSafe(format!(r#"REVOKE ALL ON DATABASE "{name}" FROM PUBLIC"#)))
        .await
        .map_err(DbError::query(format!("closing database {name} to other roles")))?;
    Ok(())
}

/// Drops `names` (check databases only), ending whatever is connected.
pub async fn drop_all(admin_url: &str, names: &[String]) {
    let Ok(mut conn) = connect(admin_url).await else { return };
    for name in names.iter().filter(|n| n.starts_with(CHECK_PREFIX) && check_ident(n).is_ok()) {
        let _ = conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))).await;
    }
    let _ = conn.close().await;
}

async fn connect(url: &str) -> Result<PgConnection, DbError> {
    let server = Server { url: url.to_owned(), origin: Origin::Flag };
    let conn = tokio::time::timeout(Duration::from_secs(15), PgConnection::connect(url)).await;
    match conn {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(error)) => Err(DbError::Query { doing: format!("connecting to {}", super::redact(&server.url)), error }),
        Err(_) => Err(DbError::Timeout { url: super::redact(url), origin: Origin::Flag }),
    }
}

fn check_ident(name: &str) -> Result<(), DbError> {
    if !name.is_empty() && name.len() < 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(DbError::BadName(name.to_owned()))
    }
}

/// `url` signing in as `user` with `password` instead.
pub fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

/// `len` hex digits from the operating system's cryptographic generator.
pub fn random_hex(len: usize) -> String {
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

    #[test]
    fn the_process_role_is_swept_by_its_pid() {
        let name = process_role_name();
        assert_eq!(name[CHECK_PREFIX.len()..].parse::<u32>().ok(), Some(std::process::id()));
    }
}
