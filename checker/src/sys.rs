//! The few operating-system calls the checker needs: is a process alive,
//! and stopping a whole process group.

/// Whether a process with this id exists on this machine.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    #[expect(unsafe_code, reason = "kill(pid, 0) only probes; libc has no safe wrapper")]
    // SAFETY: signal 0 sends nothing; kill only checks the pid exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Kills every process in the group led by `pgid` (a child started with
/// `process_group(0)`), so grandchildren don't outlive a time limit.
pub fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    #[expect(unsafe_code, reason = "killpg has no safe wrapper in std")]
    // SAFETY: killpg takes plain integers; an exited group gives ESRCH.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// Makes the child receive SIGKILL when the checker dies, even by SIGKILL
/// itself: a check process in its own group would otherwise outlive it.
#[cfg(target_os = "linux")]
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    #[expect(unsafe_code, reason = "pre_exec runs between fork and exec")]
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_cmd: &mut std::process::Command) {}

/// Caps the memory the child may allocate (`RLIMIT_DATA`: heap and other
/// private writable memory, not reserved address space). Past it an
/// allocation fails, and a Rust program aborts saying so, instead of the
/// machine running out of memory. Inherited by the child's own children.
#[cfg(unix)]
pub fn limit_memory(cmd: &mut std::process::Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    #[expect(unsafe_code, reason = "pre_exec runs between fork and exec")]
    // SAFETY: setrlimit is async-signal-safe; the struct lives on this stack.
    unsafe {
        cmd.pre_exec(move || {
            // Best effort: where a lower hard limit is already set (ulimit
            // -d), or the system refuses, the checks still run.
            let limit = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            let _ = libc::setrlimit(libc::RLIMIT_DATA, &limit);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
pub fn limit_memory(_cmd: &mut std::process::Command, _bytes: u64) {}

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

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_is_alive_and_an_impossible_pid_is_not() {
        assert!(super::process_alive(std::process::id()));
        assert!(!super::process_alive(i32::MAX as u32 - 1));
    }
}
