//! No embedded server outlives its course, through the real binary: a
//! server whose course directory is deleted without `db stop` is stopped
//! by the next checker start (its data and tablespace directories
//! removed), and a server nobody uses stops itself after the idle time.
//!
//! Each test has a scratch course of its own (mode 700, so when the tests
//! run as root the server's data goes under /var/tmp, outside the course:
//! the case where a deleted course left servers running).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{checker, workspace_root};

fn scratch_course() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(dir.path().join("exercises")).unwrap();
    std::fs::copy(workspace_root().join("exercises/info.toml"), dir.path().join("exercises/info.toml")).unwrap();
    dir
}

/// `checker db start` in `course`, then the postmaster's pid and data
/// directory from `db status`.
fn start(course: &Path, idle: &str) -> (u32, PathBuf, String) {
    let out = checker().current_dir(course).env("WORKBOOK_PG_IDLE_STOP", idle).args(["db", "start"]).output().unwrap();
    assert!(out.status.success(), "db start: {}", String::from_utf8_lossy(&out.stderr));
    let out = checker().current_dir(course).args(["db", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pid = text.split("(pid ").nth(1).and_then(|r| r.split(',').next()).and_then(|p| p.parse().ok());
    let data = text.split("data in ").nth(1).and_then(|r| r.split(").").next()).map(PathBuf::from);
    let url = text.lines().find_map(|l| l.strip_prefix("URL: ")).map(str::to_owned);
    match (pid, data, url) {
        (Some(pid), Some(data), Some(url)) => (pid, data, url),
        _ => panic!("db status did not say where the server is: {text}"),
    }
}

/// Whether `pid` still runs (a zombie waiting for its parent does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
}

fn wait_until_stopped(pid: u32, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if !running(pid) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_server_whose_course_is_deleted_is_stopped_by_the_next_checker_start() {
    let course = scratch_course();
    let course_dir = course.path().canonicalize().unwrap();
    // No watchdog: this test is about the sweep at start.
    let (pid, data, _) = start(&course_dir, "off");
    assert!(running(pid));
    let tablespace = checker::db::registry::entries()
        .into_iter()
        .find(|(_, e)| e.dir.starts_with(&course_dir))
        .map(|(_, e)| e.data_dir)
        .expect("the started server is recorded");
    assert_eq!(tablespace, data);

    // The course goes away without `db stop`, as a scratch copy does.
    drop(course);
    let out = checker().args(["list"]).output().unwrap();
    assert!(out.status.success());
    assert!(wait_until_stopped(pid, Duration::from_secs(20)).is_some(), "the orphaned server {pid} still runs");
    assert!(!data.exists(), "its data directory {} is removed", data.display());
    let shm =
        Path::new("/dev/shm").join(format!("workbook-{:016x}", checker::hash::fnv1a(data.to_string_lossy().bytes())));
    assert!(!shm.exists(), "its tablespace directory {} is removed", shm.display());
    let left: Vec<_> =
        checker::db::registry::entries().into_iter().filter(|(_, e)| e.dir.starts_with(&course_dir)).collect();
    assert!(left.is_empty(), "and its record: {left:?}");
}

#[test]
fn an_unused_server_stops_itself_after_the_idle_time() {
    let course = scratch_course();
    let (pid, _, url) = start(course.path(), "2");
    // A connected client is use: the server stays up past the idle time.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let conn = rt.block_on(async {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&url).await.expect("connecting to the scratch server")
    });
    std::thread::sleep(Duration::from_secs(5));
    assert!(running(pid), "a server with a client stopped");
    rt.block_on(async {
        use sqlx::Connection;
        conn.close().await.unwrap();
    });
    let took = wait_until_stopped(pid, Duration::from_secs(30));
    eprintln!("idle stop after the last client left: {took:?} (limit 2 s)");
    assert!(took.is_some_and(|t| t >= Duration::from_secs(1)), "the unused server did not stop: {took:?}");
    let out = checker().current_dir(course.path()).args(["db", "status"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopped"), "{}", String::from_utf8_lossy(&out.stdout));
}
