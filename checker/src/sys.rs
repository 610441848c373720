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
