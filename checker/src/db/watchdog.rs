//! A server unused for a while stops itself: each embedded server started
//! by the checker gets a small watchdog process (the checker binary again,
//! as `checker __watch-server DIR`), which stops the server once nothing
//! has used it for [`idle_limit`] (30 minutes unless
//! `WORKBOOK_PG_IDLE_STOP` says otherwise), and at once when its course is
//! deleted. PostgreSQL has no setting that does this itself.
//!
//! "Used" means: a checker process holds the cluster (every checker that
//! resolves the embedded server holds a shared lock on `DIR/inuse` for as
//! long as it runs, so a watch loop waiting for a save counts), or a
//! client is connected (psql, `cargo test -p EX` by hand). The next
//! checker command starts the server again, in about a second.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::embedded::{Cluster, Status};

/// The first argument that makes the `checker` binary a watchdog.
pub const WATCHDOG: &str = "__watch-server";

/// The default time a server may sit unused before it stops.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);

static SELF_EXE: OnceLock<PathBuf> = OnceLock::new();
static IN_USE: OnceLock<File> = OnceLock::new();

/// Called by the `checker` binary's `main`: servers it starts get a watchdog.
pub fn enable() {
    if let Ok(exe) = std::env::current_exe() {
        let exe = if Path::new("/proc/self/exe").exists() { PathBuf::from("/proc/self/exe") } else { exe };
        let _ = SELF_EXE.set(exe);
    }
}

/// How long a server may sit unused: `WORKBOOK_PG_IDLE_STOP` seconds
/// (`0` or `off`: never), else [`DEFAULT_IDLE`].
pub fn idle_limit() -> Option<Duration> {
    match std::env::var("WORKBOOK_PG_IDLE_STOP") {
        Ok(v) if v.trim() == "0" || v.trim().eq_ignore_ascii_case("off") => None,
        Ok(v) => Some(workbook::report::parse_seconds(Some(&v)).unwrap_or(DEFAULT_IDLE)),
        Err(_) => Some(DEFAULT_IDLE),
    }
}

/// Marks the cluster in `dir` as used by this process until it exits.
pub fn hold(dir: &Path) {
    if IN_USE.get().is_some() {
        return;
    }
    if let Ok(file) = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("inuse"))
        && file.lock_shared().is_ok()
    {
        let _ = IN_USE.set(file);
    }
}

/// Starts the watchdog of the cluster in `dir` unless one runs already.
pub fn ensure(dir: &Path) {
    let (Some(exe), Some(_limit)) = (SELF_EXE.get(), idle_limit()) else { return };
    if !watchdog_missing(dir) {
        return;
    }
    let child = std::process::Command::new(exe)
        .arg(WATCHDOG)
        .arg(dir)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own group: a Ctrl-C in the student's terminal is not for it.
        .process_group(0)
        .spawn();
    if let Ok(mut child) = child {
        // Reaped when it ends, whether or not this process is still there.
        std::thread::spawn(move || child.wait());
    }
}

fn watchdog_missing(dir: &Path) -> bool {
    let Ok(file) = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("watchdog.lock")) else {
        return false;
    };
    file.try_lock().is_ok()
}

use std::os::unix::process::CommandExt as _;

/// The watchdog itself; returns when the server stopped or its course is gone.
pub fn run(dir: &Path) {
    let Some(limit) = idle_limit() else { return };
    let Ok(lock) = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("watchdog.lock")) else {
        return;
    };
    if lock.try_lock().is_err() {
        return; // another watchdog has it
    }
    let poll = (limit / 6).clamp(Duration::from_millis(250), Duration::from_secs(30));
    let cluster = Cluster::new(dir);
    let mut last_used = Instant::now();
    loop {
        std::thread::sleep(poll);
        if !dir.exists() {
            // The course is gone: stop its server and clean up after it.
            super::orphans::sweep();
            return;
        }
        let url = match cluster.status() {
            Ok(Status::Running(r)) => r.url,
            _ => return, // stopped by `db stop`, or not ours to watch any more
        };
        if held_by_a_checker(dir) || has_clients(&url) {
            last_used = Instant::now();
        } else if last_used.elapsed() >= limit {
            let _ = cluster.stop();
            return;
        }
    }
}

fn held_by_a_checker(dir: &Path) -> bool {
    let Ok(file) = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("inuse")) else {
        return true;
    };
    // Locking it exclusively fails while any checker holds it shared.
    let free = file.try_lock().is_ok();
    drop(file);
    !free
}

/// Whether any client other than us is connected.
fn has_clients(url: &str) -> bool {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return true };
    rt.block_on(async {
        use sqlx::Connection;
        let Ok(Ok(mut conn)) = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(url)).await
        else {
            return true; // cannot tell: assume it is used
        };
        let n: Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut conn)
        .await;
        let _ = conn.close().await;
        n.map_or(true, |n| n > 0)
    })
}
