//! The sandbox grading puts around a submission's code: its build (cargo,
//! rustc, the course's build scripts) and every check process.
//!
//! The checker builds a [`Policy`] (what may be read, executed, written,
//! which TCP ports reached, which environment seen, which uid) and starts
//! the program through its own binary as a trampoline (`checker
//! __sandbox …`, see `runner::spawn`). The trampoline applies the policy
//! to itself with Landlock (filesystem, TCP bind and connect, signal and
//! abstract-socket scoping: a sandboxed process cannot signal or trace a
//! process outside its sandbox), drops to a separate uid when it runs as
//! root, and `exec`s the program, which inherits all of it. The
//! environment was cleared by the checker before the trampoline started.
//!
//! On an older kernel the sandbox enforces what its Landlock knows
//! ([`probe`] says which rights are missing); grading says so on its first
//! line and in grades.json, and `--require-sandbox` refuses to grade
//! unless the sandbox is whole (a separate uid, when grading as root,
//! stands in for signal scoping).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope,
};
use serde::{Deserialize, Serialize};

/// The Landlock ABI that gives the whole sandbox: 6 brings signal and
/// abstract-unix socket scoping, on top of filesystem (1 to 3) and TCP
/// ports (4).
const FULL: ABI = ABI::V6;

/// The levels the sandbox falls back through, best first: what each adds.
const LEVELS: [(ABI, &str); 4] = [
    (ABI::V6, "signal and abstract-socket scoping (Landlock ABI 6, Linux 6.12)"),
    (ABI::V4, "TCP port rules (Landlock ABI 4, Linux 6.7)"),
    (ABI::V3, "file truncation rules (Landlock ABI 3, Linux 6.2)"),
    (ABI::V1, "file rules (Landlock ABI 1, Linux 5.13)"),
];

/// Caps the Landlock ABI the sandbox uses below what the kernel offers:
/// how the fallbacks are tried on a kernel that has them all.
pub const ABI_CAP_VAR: &str = "WORKBOOK_LANDLOCK_ABI";

/// What one sandboxed process may do. Sent to the trampoline as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    /// Read (files and directories beneath).
    pub read: Vec<PathBuf>,
    /// Read and execute.
    pub exec: Vec<PathBuf>,
    /// Read, write, create, remove beneath.
    pub write: Vec<PathBuf>,
    /// TCP ports it may connect to; every other port is refused.
    pub connect: Vec<u16>,
    /// Also connect to the local ephemeral port range, where its own
    /// listeners (the check's wire relay, an HTTP exercise's server) bind.
    pub connect_ephemeral: bool,
    /// Whether it may bind listeners, on ephemeral ports only (port 0).
    pub bind_ephemeral: bool,
    /// Run as this uid (and gid), when started as root.
    pub uid: Option<u32>,
    /// The Landlock ABI to enforce ([`probe`]'s): rules an older one does
    /// not know are left out.
    #[serde(default = "full_abi")]
    pub abi: i32,
}

fn full_abi() -> i32 {
    FULL as i32
}

/// What this machine's kernel lets the sandbox enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// The Landlock ABI in use (1 to 6).
    pub abi: i32,
    /// What a newer kernel would add, in words.
    pub missing: Vec<&'static str>,
}

impl Support {
    pub fn signals(&self) -> bool {
        self.abi >= FULL as i32
    }
    pub fn ports(&self) -> bool {
        self.abi >= ABI::V4 as i32
    }
}

/// Whether this machine can sandbox, and how far: `Err` says why not at all.
pub fn probe() -> Result<Support, String> {
    static PROBED: OnceLock<Result<Support, String>> = OnceLock::new();
    PROBED
        .get_or_init(|| {
            let cap: i32 = std::env::var(ABI_CAP_VAR).ok().and_then(|v| v.parse().ok()).unwrap_or(FULL as i32);
            let mut first_error = None;
            for (i, (abi, _)) in LEVELS.iter().enumerate() {
                if *abi as i32 > cap {
                    continue;
                }
                // Creating a ruleset restricts nothing: it only asks the
                // kernel whether it knows every right of that level.
                match ruleset(*abi) {
                    Ok(_) => {
                        let missing = LEVELS[..i].iter().map(|(_, what)| *what).collect();
                        return Ok(Support { abi: *abi as i32, missing });
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(format!(
                "Landlock is not available ({})",
                first_error.unwrap_or_else(|| format!("{ABI_CAP_VAR}={cap} allows no level"))
            ))
        })
        .clone()
}

/// A ruleset handling every right of `abi`, refused unless the kernel
/// knows them all.
fn ruleset(abi: ABI) -> Result<landlock::RulesetCreated, String> {
    let mut rules =
        Ruleset::default().set_compatibility(CompatLevel::HardRequirement).handle_access(AccessFs::from_all(abi));
    if abi >= ABI::V4 {
        rules = rules.and_then(|r| r.handle_access(AccessNet::from_all(abi)));
    }
    if abi >= ABI::V6 {
        rules = rules.and_then(|r| r.scope(Scope::from_all(abi)));
    }
    rules.and_then(|r| r.create()).map_err(|e| e.to_string())
}

/// Applies `policy` to this process (the trampoline, before it `exec`s).
pub fn enter(policy: &Policy) -> Result<(), String> {
    let abi = ABI::from(policy.abi);
    let read = AccessFs::from_read(abi);
    let exec = read | AccessFs::Execute;
    let write = AccessFs::from_all(abi);
    let fail = |e: landlock::RulesetError| format!("setting up the sandbox: {e}");
    let mut rules = ruleset(abi).map_err(|e| format!("setting up the sandbox: {e}"))?;
    for (paths, access) in [(&policy.read, read), (&policy.exec, exec), (&policy.write, write)] {
        for path in paths {
            // A path this machine does not have is simply not granted.
            let Ok(fd) = PathFd::new(path) else { continue };
            let access = if path.is_dir() { access } else { access & AccessFs::from_file(abi) };
            rules = rules.add_rule(PathBeneath::new(fd, access)).map_err(fail)?;
        }
    }
    if abi >= ABI::V4 {
        let mut ports = policy.connect.clone();
        if policy.connect_ephemeral {
            ports.extend(ephemeral_ports());
        }
        for port in ports {
            rules = rules.add_rule(NetPort::new(port, AccessNet::ConnectTcp)).map_err(fail)?;
        }
        if policy.bind_ephemeral {
            rules = rules.add_rule(NetPort::new(0, AccessNet::BindTcp)).map_err(fail)?;
        }
    }
    let status = rules.restrict_self().map_err(fail)?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(format!("the sandbox is only partly enforced ({:?})", status.ruleset));
    }
    if let Some(uid) = policy.uid {
        drop_to(uid)?;
    }
    Ok(())
}

/// Becomes `uid` (gid the same, no supplementary groups) for good.
fn drop_to(uid: u32) -> Result<(), String> {
    use rustix::process::{Gid, Uid};
    let fail = |what: &str, e: rustix::io::Errno| format!("dropping to uid {uid} ({what}): {e}");
    let gid = Gid::from_raw(uid);
    let id = Uid::from_raw(uid);
    rustix::thread::set_thread_groups(&[]).map_err(|e| fail("groups", e))?;
    rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(|e| fail("gid", e))?;
    rustix::thread::set_thread_res_uid(id, id, id).map_err(|e| fail("uid", e))?;
    Ok(())
}

/// The local ephemeral port range (where port 0 binds land).
fn ephemeral_ports() -> std::ops::RangeInclusive<u16> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut parts = text.split_whitespace().filter_map(|p| p.parse::<u16>().ok());
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if a <= b => a..=b,
        _ => 32768..=60999,
    }
}

/// The port in a `postgres://…@host:port/db` URL (5432 when it has none).
pub fn url_port(url: &str) -> u16 {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split(['/', '?']).next().unwrap_or(host);
    host.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or(5432)
}

/// What the sandbox of one submission's runs is made from.
#[derive(Debug, Clone)]
pub struct Context {
    /// The course's root: its manifests and the support crates are read.
    pub course_root: PathBuf,
    /// The overlay workspace the submission was laid into.
    pub overlay_root: PathBuf,
    pub target_dir: PathBuf,
    /// The uid its processes run as, when the checker is root.
    pub uid: Option<u32>,
    /// The Landlock ABI to enforce ([`Support::abi`]).
    pub abi: i32,
}

/// The parts of the system every sandboxed process reads: libraries and
/// the few files the C library looks at to resolve `localhost`.
fn system_read() -> Vec<PathBuf> {
    [
        "/usr",
        "/lib",
        "/lib64",
        "/bin",
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/hosts",
        "/etc/host.conf",
        "/etc/nsswitch.conf",
        "/etc/resolv.conf",
        "/etc/gai.conf",
        "/etc/localtime",
        "/proc",
        "/sys/fs/cgroup",
        "/sys/devices/system/cpu",
        "/dev/urandom",
        "/dev/random",
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// The toolchain's own directory (`rustc --print sysroot`).
pub fn sysroot() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let out = std::process::Command::new(rustc).args(["--print", "sysroot"]).output().ok()?;
        let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        path.is_dir().then_some(path)
    })
    .as_deref()
}

/// Cargo's home: the dependency cache.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

impl Context {
    /// The build of a submission: read the toolchain, the dependency
    /// cache, the course's manifests and support crates, the overlay;
    /// write the target dir and `tmp`; no network at all.
    pub fn build_policy(&self, tmp: &Path) -> Policy {
        let mut read = system_read();
        let course = &self.course_root;
        for part in
            ["Cargo.toml", "Cargo.lock", ".cargo", "checker/Cargo.toml", "checker/workbook", "checker/workbook-http"]
        {
            read.push(course.join(part));
        }
        read.push(self.overlay_root.clone());
        let mut write = build_outputs(&self.target_dir);
        // Cargo trims the course's lockfile to the overlay's members.
        write.push(self.overlay_root.join("Cargo.lock"));
        write.extend([tmp.to_path_buf(), PathBuf::from("/dev/null")]);
        if let Some(home) = cargo_home() {
            read.extend(["registry", "git", "config.toml"].map(|p| home.join(p)));
            // Cargo takes its package-cache lock and records cache use even
            // when it downloads nothing.
            write.extend([".package-cache", ".package-cache-mutate", ".global-cache"].map(|p| home.join(p)));
        }
        let mut exec: Vec<PathBuf> =
            ["/usr/bin", "/bin", "/usr/lib", "/lib", "/lib64", "/usr/libexec"].into_iter().map(PathBuf::from).collect();
        exec.extend(sysroot().map(Path::to_path_buf));
        Policy {
            read,
            exec,
            write,
            connect: Vec::new(),
            connect_ephemeral: false,
            bind_ephemeral: false,
            uid: None,
            abi: self.abi,
        }
    }

    /// A check process: read its crate (migrations, sources the checks
    /// read) and the system's libraries; run only its own binary; write
    /// only `tmp`; connect to the database's port and its own listeners.
    pub fn check_policy(&self, crate_dir: &Path, executable: &Path, tmp: &Path, db_port: u16) -> Policy {
        // Its own /proc entry only (the trampoline's pid is the check
        // binary's after the exec): other processes' command lines, the
        // grader's among them, may name a database URL with a password.
        let mut read: Vec<PathBuf> = system_read().into_iter().filter(|p| p != Path::new("/proc")).collect();
        read.push(PathBuf::from("/proc/self"));
        read.push(crate_dir.to_path_buf());
        let exec = vec![executable.to_path_buf(), "/usr/lib".into(), "/lib".into(), "/lib64".into()];
        let write = vec![tmp.to_path_buf(), PathBuf::from("/dev/null")];
        Policy {
            read,
            exec,
            write,
            connect: vec![db_port],
            connect_ephemeral: true,
            bind_ephemeral: true,
            uid: self.check_uid(crate_dir, executable),
            abi: self.abi,
        }
    }

    /// The uid a check process runs as: the separate one when the checker
    /// is root and that uid can reach the binary and the crate.
    pub fn check_uid(&self, crate_dir: &Path, executable: &Path) -> Option<u32> {
        self.uid.filter(|_| readable_by_others(executable) && readable_by_others(crate_dir))
    }
}

/// What a build writes in the target dir: cargo's profile directory, the
/// temporary directory of integration tests and the two files cargo keeps
/// at the top. Not the rest of the target dir: `target/workbook` holds
/// the other job slots' overlays (a classmate's sources), the grading
/// cluster and the checker's state, which `include_str!` would otherwise
/// read into a compiler message. The directories are made first, since
/// a rule can only name what exists.
pub fn build_outputs(target_dir: &Path) -> Vec<PathBuf> {
    let dirs = ["debug", "tmp"].map(|d| target_dir.join(d));
    for dir in &dirs {
        let _ = std::fs::create_dir_all(dir);
    }
    // Cargo writes them as it builds the course, before any submission.
    let files = [".rustc_info.json", "CACHEDIR.TAG"].map(|f| target_dir.join(f));
    dirs.into_iter().chain(files).collect()
}

/// Whether a process of another uid could reach `path`: every directory
/// above it searchable by others, and it readable by others.
pub fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).unwrap_or(0);
    if mode(path) & 0o004 == 0 {
        return false;
    }
    path.ancestors().skip(1).all(|dir| mode(dir) & 0o001 != 0)
}

/// A private temporary directory for one sandboxed process (mode 700,
/// owned by `uid` when it runs as another user).
pub fn private_tmp(uid: Option<u32>) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("workbook-sandbox-").tempdir()?;
    if let Some(uid) = uid {
        let id = rustix::process::Uid::from_raw(uid);
        rustix::fs::chown(dir.path(), Some(id), Some(rustix::process::Gid::from_raw(uid)))?;
    }
    Ok(dir)
}

/// Makes `uid` the owner of a descriptor (a pipe) it must reopen.
pub fn give_to(fd: &impl std::os::fd::AsFd, uid: u32) -> std::io::Result<()> {
    let id = rustix::process::Uid::from_raw(uid);
    Ok(rustix::fs::fchown(fd, Some(id), Some(rustix::process::Gid::from_raw(uid)))?)
}

/// A uid no account uses, different for each run at once of this checker.
pub fn fresh_uid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 1000;
    2_000_000_000 + (std::process::id() % 100_000) * 1000 + n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_of_a_url() {
        assert_eq!(url_port("postgres://u:p@127.0.0.1:6543/db"), 6543);
        assert_eq!(url_port("postgres://u@localhost/db"), 5432);
        assert_eq!(url_port("postgres://u:p@127.0.0.1:7000"), 7000);
        assert_eq!(url_port("postgres://u:p@127.0.0.1:7001?sslmode=disable"), 7001);
    }
}
