//! The few operating-system calls the checker needs, through rustix's safe
//! wrappers: is a process alive, signalling a process or a whole process
//! group, and the limits a check process puts on itself (see
//! `runner::spawn`). The checker has no `unsafe` code of its own.

use rustix::process::{Pid, Signal};

fn pid(raw: u32) -> Option<Pid> {
    Pid::from_raw(i32::try_from(raw).ok()?)
}

/// Whether a process with this id exists on this machine.
pub fn process_alive(raw: u32) -> bool {
    let Some(pid) = pid(raw) else { return false };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists, but belongs to someone we may not signal.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Kills every process in the group led by `pgid` (a child started with
/// `process_group(0)`), so grandchildren don't outlive a time limit.
pub fn kill_group(pgid: u32) {
    if let Some(pgid) = pid(pgid) {
        let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
    }
}

/// Sends `signal` to one process; false when it could not be sent.
pub fn signal(raw: u32, signal: Signal) -> bool {
    pid(raw).is_some_and(|p| rustix::process::kill_process(p, signal).is_ok())
}

/// Makes this process receive SIGKILL when its parent dies. If the parent
/// (`parent`, its pid) is already gone by the time this runs, exits at
/// once: the signal would never come.
pub fn die_with_parent(parent: Option<u32>) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
        let now = rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32);
        if parent.is_some() && now != parent {
            std::process::exit(137);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
}

/// Caps this process's private writable memory (`RLIMIT_DATA`: heap and
/// the like, not reserved address space), inherited across `exec`. Past
/// it an allocation fails, and a Rust program aborts saying so. Best
/// effort: where a lower hard limit is already set (`ulimit -d`), or the
/// system refuses, the checks still run.
pub fn limit_own_memory(bytes: u64) {
    let limit = rustix::process::Rlimit { current: Some(bytes), maximum: Some(bytes) };
    let _ = rustix::process::setrlimit(rustix::process::Resource::Data, limit);
}

/// The same limit set on another process of ours, from outside (Linux).
pub fn limit_memory_of(raw: u32, bytes: u64) {
    #[cfg(target_os = "linux")]
    if let Some(p) = pid(raw) {
        let limit = rustix::process::Rlimit { current: Some(bytes), maximum: Some(bytes) };
        let _ = rustix::process::prlimit(Some(p), rustix::process::Resource::Data, limit);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (raw, bytes);
}

/// Kills a process group when dropped: a run that is cancelled (Ctrl-C,
/// a time limit) takes its children and grandchildren with it.
pub struct GroupGuard(pub Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            kill_group(pgid);
        }
    }
}

/// A copy of stdin when it is a pipe (the verdict pipe), as a file the
/// trampoline writes its own first line to and closes before the `exec`.
pub fn stdin_pipe_copy() -> std::io::Result<Option<std::fs::File>> {
    let stdin = rustix::stdio::stdin();
    let stat = rustix::fs::fstat(stdin)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Fifo {
        return Ok(None);
    }
    Ok(Some(std::fs::File::from(rustix::io::fcntl_dupfd_cloexec(stdin, 0)?)))
}

/// When stdin is a pipe (the verdict pipe the checker handed over), moves
/// it to a new descriptor that survives `exec` and puts `/dev/null` on
/// stdin; returns the new descriptor's number. The descriptor is kept
/// open on purpose (forgotten, not closed): the program `exec`'d next
/// inherits it.
pub fn move_stdin_pipe() -> std::io::Result<Option<i32>> {
    use std::os::fd::{AsFd, AsRawFd};
    let stdin = rustix::stdio::stdin();
    let stat = rustix::fs::fstat(stdin)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Fifo {
        return Ok(None);
    }
    // dup() clears close-on-exec on the copy.
    let copy = rustix::io::dup(stdin)?;
    let null = std::fs::File::open("/dev/null")?;
    rustix::stdio::dup2_stdin(null.as_fd())?;
    let raw = copy.as_raw_fd();
    std::mem::forget(copy);
    Ok(Some(raw))
}

/// The processes on this machine, with their parent and real uid (from
/// `/proc`; empty elsewhere).
fn processes() -> Vec<(u32, u32, u32)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()?.parse().ok())
        };
        if let (Some(ppid), Some(uid)) = (field("PPid:"), field("Uid:")) {
            found.push((pid, ppid, uid));
        }
    }
    found
}

/// The pids whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    processes().into_iter().filter(|p| p.1 == parent).map(|p| p.0).collect()
}

/// Kills every process running as `uid` (a sandbox's own uid), however
/// it left its process group, until none is left.
pub fn kill_uid(uid: u32) {
    for _ in 0..50 {
        let left: Vec<u32> = processes().into_iter().filter(|p| p.2 == uid).map(|p| p.0).collect();
        if left.is_empty() {
            return;
        }
        for pid in left {
            signal(pid, Signal::KILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Makes this process the reaper of its orphaned descendants: a process
/// a check started, that left its group and whose parent died, becomes
/// our child instead of init's, so [`kill_orphans`] can find it.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::process::getpid();
        let _ = rustix::process::set_child_subreaper(Some(me));
    }
}

/// Kills and reaps every child of ours whose pid is not in `ours` (the
/// processes we started and still wait for): descendants that outlived
/// the process that started them.
pub fn kill_orphans(ours: &dyn Fn(u32) -> bool) {
    let me = std::process::id();
    for _ in 0..50 {
        let orphans: Vec<u32> = processes().into_iter().filter(|p| p.1 == me && !ours(p.0)).map(|p| p.0).collect();
        if orphans.is_empty() {
            return;
        }
        for pid in orphans {
            signal(pid, Signal::KILL);
            if let Some(p) = self::pid(pid) {
                let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
            }
        }
    }
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_is_alive_and_an_impossible_pid_is_not() {
        assert!(super::process_alive(std::process::id()));
        assert!(!super::process_alive(i32::MAX as u32 - 1));
        assert!(!super::process_alive(u32::MAX));
    }
}
