//! Stopping the embedded servers whose course is gone, on every checker
//! start (see [`super::registry`]): the postmaster is shut down (fast,
//! then immediate, then killed), and its data directory (when it lived in
//! a fallback home under /var/tmp; in the course it went with the course)
//! and its in-memory tablespace directory are removed. A grading cluster
//! whose grading process died is stopped the same way.

use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::embedded::{home, process};
use super::registry::{self, Entry};
use crate::sys;

/// Sweeps this user's servers whose course is gone; returns how many were
/// stopped or cleaned up. Quick when there is nothing to do, and never
/// fails the command that runs it.
pub fn sweep() -> usize {
    let Some(_lock) = registry::try_lock() else { return 0 };
    let mut swept = 0;
    for (file, entry) in registry::entries() {
        let alive = server_alive(&entry);
        if is_orphan(&entry) {
            if alive {
                stop(entry.pid);
            }
            clean_up(&entry);
            let _ = std::fs::remove_file(&file);
            swept += 1;
        } else if !alive && !entry.data_dir.exists() {
            // Stopped long ago and its data gone (`cargo clean`): only the
            // record and the tablespace directory are left.
            super::fast::forget(&entry.data_dir);
            let _ = std::fs::remove_file(&file);
        }
    }
    swept
}

/// Whether the server has no reason to run: its course (the cluster's
/// directory) is gone, or the grading process it belonged to is.
pub fn is_orphan(entry: &Entry) -> bool {
    !entry.dir.exists() || entry.owner_pid.is_some_and(|pid| !sys::process_alive(pid))
}

/// Whether the recorded postmaster still runs (and is that server, not a
/// process that got its pid since).
pub fn server_alive(entry: &Entry) -> bool {
    sys::process_alive(entry.pid) && process::is_our_postmaster(entry.pid, &entry.data_dir).unwrap_or(false)
}

/// Shuts a postmaster down: fast (ends sessions, checkpoints), then
/// immediate, then SIGKILL; at most about 12 s.
pub fn stop(pid: u32) {
    for (signal, wait) in [(Signal::INT, 8), (Signal::QUIT, 3), (Signal::KILL, 1)] {
        if !sys::signal(pid, signal) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(wait);
        while Instant::now() < deadline {
            if !sys::process_alive(pid) || is_zombie(pid) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
}

/// Removes what a stopped orphan leaves outside its course.
pub fn clean_up(entry: &Entry) {
    super::fast::forget(&entry.data_dir);
    if let Some(home) = entry.data_dir.parent()
        && home::is_fallback_home(home)
    {
        let _ = std::fs::remove_dir_all(home);
    } else if !entry.dir.exists() && entry.data_dir.starts_with(Path::new("/var/tmp")) {
        let _ = std::fs::remove_dir_all(&entry.data_dir);
    }
}
