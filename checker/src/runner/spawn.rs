//! Starting a check process: the one place that decides what the process
//! may do before it runs student code.
//!
//! Today that is two limits, set in the child before it `exec`s the check
//! binary: it receives SIGKILL when the checker dies (even by SIGKILL
//! itself: a check in its own process group would otherwise outlive it),
//! and its private memory (`RLIMIT_DATA`) is capped, so a runaway
//! allocation fails inside the check instead of exhausting the machine.
//! Both are inherited across `exec`.
//!
//! The child sets them on itself through a trampoline: the checker runs
//! its own binary again (`/proc/self/exe`, which works even when cargo
//! has rebuilt the file since) with [`TRAMPOLINE`] as its first argument;
//! that process makes the calls through rustix's safe wrappers and
//! `exec`s the check binary with std's safe `CommandExt::exec`. So no
//! `pre_exec` hook (an `unsafe` closure run between fork and exec) is
//! needed, and the checker has no `unsafe` of its own. The cost is one
//! more exec per check binary, a few milliseconds. The same trampoline
//! moves the verdict pipe off stdin and, when grading, applies the
//! sandbox ([`crate::sandbox`]) before the `exec`; builds go through it
//! too.
//!
//! Only the `checker` binary can act as a trampoline, so it opts in with
//! [`enable_trampoline`]; a library user (the integration tests) starts
//! check binaries directly, with the memory limit applied from outside
//! (`prlimit`) right after the spawn.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use workbook::report::{self, Verdicts, var};

/// How the trampoline's failure to start its program begins (on stderr,
/// exit code 3).
pub const START_FAILED: &str = "error: could not start the check binary: ";

/// The first argument that makes the `checker` binary a trampoline.
pub const TRAMPOLINE: &str = "__sandbox";

static SELF_EXE: OnceLock<PathBuf> = OnceLock::new();

/// Called by the `checker` binary's `main`: check binaries are started
/// through it from now on.
pub fn enable_trampoline() {
    let exe = if Path::new("/proc/self/exe").exists() {
        Some(PathBuf::from("/proc/self/exe"))
    } else {
        std::env::current_exe().ok()
    };
    if let Some(exe) = exe {
        let _ = SELF_EXE.set(exe);
    }
}

/// A command that runs `program` (with the arguments the caller adds) as
/// a check process: dying with the checker, and with at most
/// `memory_bytes` of private memory (0: no limit).
/// With a `policy`, the process runs in that sandbox (see
/// [`crate::sandbox`]) with an empty environment: the caller adds what
/// it needs.
pub fn check_command(
    program: &Path,
    memory_bytes: u64,
    policy: Option<&crate::sandbox::Policy>,
) -> Result<tokio::process::Command, std::io::Error> {
    let me = match SELF_EXE.get() {
        Some(me) => me,
        None if policy.is_some() => {
            return Err(std::io::Error::other("only the checker binary can start a sandboxed process"));
        }
        None => return Ok(tokio::process::Command::new(program)),
    };
    let mut cmd = tokio::process::Command::new(me);
    let policy = match policy {
        Some(p) => {
            cmd.env_clear();
            serde_json::to_string(p).map_err(std::io::Error::other)?
        }
        None => "-".to_owned(),
    };
    cmd.arg(TRAMPOLINE)
        .arg(std::process::id().to_string())
        .arg(memory_bytes.to_string())
        .arg(policy)
        .arg("--")
        .arg(program);
    Ok(cmd)
}

/// A pipe for a check process's verdicts: (read end, write end), both
/// closed on `exec` (the write end is handed over as the child's stdin).
pub fn verdict_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

/// Hands `tx` to the process `cmd` starts. It arrives as its stdin; the
/// trampoline moves it to another descriptor and gives the check binary
/// `/dev/null` for stdin instead. Without a trampoline the check binary
/// keeps it as stdin (descriptor 0).
pub fn give_verdict_pipe(cmd: &mut tokio::process::Command, tx: OwnedFd) {
    cmd.stdin(std::process::Stdio::from(tx));
    if SELF_EXE.get().is_none() {
        cmd.env(var::VERDICT_FD, "0");
    }
}

/// What a verdict pipe's reader has read so far.
pub struct VerdictReader {
    bytes: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts reading the verdict pipe's read end, up to
/// [`report::VERDICTS_CAP`] bytes.
pub fn read_verdicts(rx: OwnedFd) -> std::io::Result<VerdictReader> {
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(rx)?;
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let sink = bytes.clone();
    let task = tokio::spawn(async move {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut all = sink.lock().expect("verdict buffer");
                    if all.len() + n > report::VERDICTS_CAP {
                        break;
                    }
                    all.extend_from_slice(&chunk[..n]);
                }
            }
        }
    });
    Ok(VerdictReader { bytes, task })
}

/// The verdicts, once the check process has ended: the pipe closes when
/// the last process holding its write end exits; one that escaped the
/// process group and holds it open costs at most a second.
pub async fn collect_verdicts(reader: VerdictReader) -> Verdicts {
    let VerdictReader { bytes, mut task } = reader;
    if tokio::time::timeout(Duration::from_secs(1), &mut task).await.is_err() {
        task.abort();
    }
    let bytes = bytes.lock().expect("verdict buffer");
    report::read_verdicts(&bytes)
}

/// After spawning without a trampoline: the memory limit, from outside.
pub fn limit_spawned(pid: Option<u32>, memory_bytes: u64) {
    if SELF_EXE.get().is_none()
        && memory_bytes > 0
        && let Some(pid) = pid
    {
        crate::sys::limit_memory_of(pid, memory_bytes);
    }
}

/// The trampoline's work, in the child: `args` are what follows
/// [`TRAMPOLINE`] (the checker's pid, the memory limit, the sandbox
/// policy as JSON or `-` for none, `--`, the program and its arguments). Never returns unless the `exec` fails.
pub fn trampoline(args: Vec<OsString>) -> std::io::Error {
    let mut args = args.into_iter();
    let parent: Option<u32> = args.next().and_then(|a| a.to_str()?.parse().ok());
    let memory: u64 = args.next().and_then(|a| a.to_str()?.parse().ok()).unwrap_or(0);
    let policy = args.next().unwrap_or_default();
    let _dashes = args.next();
    let Some(program) = args.next() else {
        return std::io::Error::other("the trampoline was given no program to run");
    };
    crate::sys::die_with_parent(parent);
    if memory > 0 {
        crate::sys::limit_own_memory(memory);
    }
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    // The trampoline's own line on the verdict pipe comes first, before
    // anything the program could write: started, or why it could not.
    let mut first_line = if policy != "-" { crate::sys::stdin_pipe_copy().ok().flatten() } else { None };
    let mut say = |line: String| {
        if let Some(mut pipe) = first_line.take() {
            use std::io::Write;
            let _ = writeln!(pipe, "{line}");
        }
    };
    match crate::sys::move_stdin_pipe() {
        Ok(Some(fd)) => {
            cmd.env(var::VERDICT_FD, fd.to_string());
        }
        Ok(None) => {}
        Err(e) => return e,
    }
    if policy != "-" {
        let policy: crate::sandbox::Policy = match serde_json::from_str(&policy.to_string_lossy()) {
            Ok(p) => p,
            Err(e) => {
                let why = format!("reading the sandbox policy: {e}");
                say(format!("{}{why}", report::START_FAILED));
                return std::io::Error::other(why);
            }
        };
        if let Err(e) = crate::sandbox::enter(&policy) {
            say(format!("{}{e}", report::START_FAILED));
            return std::io::Error::other(e);
        }
        say(report::STARTED.to_owned());
    }
    use std::os::unix::process::CommandExt;
    cmd.exec()
}

/// The processes this checker started and still waits for.
static OURS: Mutex<std::collections::BTreeSet<u32>> = Mutex::new(std::collections::BTreeSet::new());
/// Our children when reaping started (a server's watchdog, say): never
/// taken for escaped processes.
static BEFORE: Mutex<Option<std::collections::BTreeSet<u32>>> = Mutex::new(None);

/// A process we started, counted as ours until this is dropped.
pub struct Tracked(Option<u32>);

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            OURS.lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
        }
    }
}

/// Counts `pid` (a child just spawned) as ours.
pub fn track(pid: Option<u32>) -> Tracked {
    if let Some(pid) = pid {
        OURS.lock().unwrap_or_else(|p| p.into_inner()).insert(pid);
    }
    Tracked(pid)
}

/// From now on, processes that escape a check's process group and
/// outlive their parent become our children, and [`reap_escaped`] kills
/// them (grading calls this before any submission's code runs).
pub fn start_reaping() {
    let me = std::process::id();
    let children = crate::sys::children_of(me);
    *BEFORE.lock().unwrap_or_else(|p| p.into_inner()) = Some(children.into_iter().collect());
    crate::sys::become_subreaper();
}

/// Kills every child of ours that we did not start: what a check left
/// running after its group was killed.
pub fn reap_escaped() {
    let before = BEFORE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(before) = before else { return };
    let ours = OURS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    crate::sys::kill_orphans(&|pid| ours.contains(&pid) || before.contains(&pid));
}
