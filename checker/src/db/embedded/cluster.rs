//! The embedded PostgreSQL cluster: a private server the checker runs from
//! the machine's own PostgreSQL programs, with its data under
//! `target/workbook/pg`, started on demand and reused between runs.
//!
//! Files in the cluster's directory (`dir`):
//! - `lock`: held around init, start and stop, so parallel checker and
//!   test processes end up sharing one server;
//! - `data/`: the data directory, unless it lives elsewhere (see `datadir`);
//! - `server.log`: initdb's output and the server's log;
//! - `port`: the port chosen at first start, reused while it stays free;
//! - `url`: the connection URL, present only while the server runs (the
//!   support crate reads it);
//! - `datadir`: where the data directory is when the server's account
//!   cannot reach `dir` (running as root under `/root`, for example).
//!
//! The server listens on 127.0.0.1 only, with no Unix socket, and never
//! touches other clusters on the machine.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use super::account::Account;
use super::binaries::{PgBinaries, Search};
use super::error::{EmbeddedError, io_err, output_text, run, tail};
use super::files;
use super::files::{append_log, create_dir_all, read_from, remove_dir_if_present, remove_if_present, write_atomically};
use super::home::{self, Layout};
use super::process::{free_port, is_our_postmaster, port_is_free, tcp_accepts, wait_until_accepting};
use crate::db::registry;

/// The cluster's superuser, and the user in every URL it hands out.
pub const SUPERUSER: &str = "workbook";

/// How long pg_ctl may take to start or stop the server before we give up.
const PG_CTL_TIMEOUT_SECS: &str = "60";

/// Server settings, passed on every start so an existing cluster picks up
/// changes to them. The data is throwaway, so durability is traded for speed.
pub const SERVER_SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    // Socket paths under a deep target/ dir exceed the 107-byte limit, and
    // TCP on 127.0.0.1 is all the checker uses.
    "unix_socket_directories=",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    // Parallel checks and grading jobs each hold a small pool.
    "max_connections=200",
];

/// A running embedded server.
#[derive(Debug, Clone)]
pub struct Running {
    /// `postgres://workbook@127.0.0.1:PORT/postgres`
    pub url: String,
    pub port: u16,
    /// The postmaster's.
    pub pid: u32,
    pub data_dir: PathBuf,
    /// The server programs' version, e.g. `15.20`.
    pub version: String,
    /// False when an already running server was reused.
    pub started_now: bool,
}

#[derive(Debug, Clone)]
pub enum Status {
    NotCreated,
    Stopped { data_dir: PathBuf },
    Running(Running),
}

/// The cluster under one directory (normally `<workspace>/target/workbook/pg`).
pub struct Cluster {
    dir: PathBuf,
    search: Search,
    binaries: OnceLock<PgBinaries>,
    /// The superuser's password, for a cluster that must not trust every
    /// local connection (grading). `None`: trust, the student's default.
    password: Option<String>,
    /// The process a throwaway cluster belongs to: when it is gone, the
    /// next checker start stops the server (see `db::orphans`).
    owner_pid: Option<u32>,
}

impl Cluster {
    pub fn new(dir: impl Into<PathBuf>) -> Cluster {
        Cluster::with_search(dir, Search::from_env())
    }

    /// Looks for the server programs only where `search` says.
    pub fn with_search(dir: impl Into<PathBuf>, search: Search) -> Cluster {
        Cluster { dir: dir.into(), search, binaries: OnceLock::new(), password: None, owner_pid: None }
    }

    /// A cluster whose every role signs in with a password (scram-sha-256),
    /// the superuser with `password`. Grading runs untrusted code next to
    /// it: with trust authentication anyone could sign in as anyone.
    pub fn with_password(dir: impl Into<PathBuf>, password: &str) -> Cluster {
        Cluster { password: Some(password.to_owned()), ..Cluster::new(dir) }
    }

    /// Marks the cluster as belonging to process `pid` (a grading run):
    /// it must not outlive it.
    #[must_use]
    pub fn owned_by(mut self, pid: u32) -> Cluster {
        self.owner_pid = Some(pid);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Initialises (first time), starts (if stopped) and returns the
    /// running server. Reuses a running one.
    pub fn ensure_running(&self) -> Result<Running, EmbeddedError> {
        let bins = self.binaries()?;
        let account = Account::current()?;
        create_dir_all(&self.dir)?;
        let _lock = self.lock(LockKind::Exclusive)?;
        let layout = home::layout(&self.dir, &account, true)?;
        if !layout.data.exists() {
            self.init(&bins, &account, &layout)?;
        }
        check_major(&bins, &layout)?;
        match self.probe(&bins, &account, &layout)? {
            Probe::Ready { pid, port } => return self.publish(&bins, &layout, pid, port, false),
            Probe::Busy { pid, port } => {
                if wait_until_accepting(port, Duration::from_secs(5)) {
                    return self.publish(&bins, &layout, pid, port, false);
                }
                return Err(unresponsive(&layout, pid, port));
            }
            Probe::Stopped { stale_pid_file: true } => {
                // A crash (or a reboot) left postmaster.pid behind and its
                // pid now belongs to some other process, which would make
                // the server refuse to start; probe() proved it is not ours.
                remove_if_present(&layout.data.join("postmaster.pid"))?;
            }
            Probe::Stopped { stale_pid_file: false } => {}
        }
        self.start(&bins, &account, &layout)
    }

    pub fn status(&self) -> Result<Status, EmbeddedError> {
        if !self.dir.is_dir() {
            return Ok(Status::NotCreated);
        }
        let _lock = self.lock(LockKind::Shared)?;
        let account = Account::current()?;
        let layout = home::layout(&self.dir, &account, false)?;
        if !layout.data.join("PG_VERSION").is_file() {
            return Ok(Status::NotCreated);
        }
        if !layout.data.join("postmaster.pid").exists() {
            // A live postmaster always has its pid file; no need for the
            // binaries (which may have been uninstalled) to say "stopped".
            return Ok(Status::Stopped { data_dir: layout.data });
        }
        let bins = self.binaries()?;
        match self.probe(&bins, &account, &layout)? {
            Probe::Stopped { .. } => Ok(Status::Stopped { data_dir: layout.data }),
            Probe::Ready { pid, port } => Ok(Status::Running(running(&bins, &layout, pid, port, false))),
            Probe::Busy { pid, port } => {
                if wait_until_accepting(port, Duration::from_secs(2)) {
                    Ok(Status::Running(running(&bins, &layout, pid, port, false)))
                } else {
                    Err(unresponsive(&layout, pid, port))
                }
            }
        }
    }

    /// Stops the server; Ok(false) if it was not running.
    pub fn stop(&self) -> Result<bool, EmbeddedError> {
        if !self.dir.is_dir() {
            return Ok(false);
        }
        let _lock = self.lock(LockKind::Exclusive)?;
        let account = Account::current()?;
        let layout = home::layout(&self.dir, &account, false)?;
        let url_file = self.dir.join("url");
        if !layout.data.join("postmaster.pid").exists() {
            remove_if_present(&url_file)?;
            return Ok(false);
        }
        let bins = self.binaries()?;
        let pid = match self.probe(&bins, &account, &layout)? {
            Probe::Stopped { .. } => {
                remove_if_present(&url_file)?;
                return Ok(false);
            }
            Probe::Ready { pid, .. } | Probe::Busy { pid, .. } => pid,
        };
        // Fast mode ends open sessions (a watch loop's pool would otherwise
        // hold a smart shutdown forever); immediate is the fallback for a
        // server that will not finish a clean shutdown in time.
        let mut detail = String::new();
        for mode in ["fast", "immediate"] {
            let out = self.pg_ctl(&bins, &account, &layout, "stop", &["-m", mode])?;
            if out.status.success() {
                remove_if_present(&url_file)?;
                registry::forget(&layout.dir);
                return Ok(true);
            }
            detail.push_str(&output_text(&out));
        }
        Err(EmbeddedError::Stop { pid, detail: detail.trim().to_owned(), log: layout.log })
    }

    /// Stops the server and deletes the cluster: its data, log and the
    /// files that point to them. The next `ensure_running` starts afresh.
    pub fn destroy(&self) -> Result<(), EmbeddedError> {
        if !self.dir.is_dir() {
            return Ok(());
        }
        self.stop()?;
        let _lock = self.lock(LockKind::Exclusive)?;
        let account = Account::current()?;
        let layout = home::layout(&self.dir, &account, false)?;
        // The in-memory tablespace of its check databases goes with it.
        crate::db::fast::forget(&layout.data);
        if layout.home != self.dir && home::is_fallback_home(&layout.home) {
            remove_dir_if_present(&layout.home)?;
        } else {
            remove_dir_if_present(&layout.data)?;
            remove_dir_if_present(&layout.home.join("data.init"))?;
        }
        registry::forget(&layout.dir);
        for name in ["server.log", "port", "url", "datadir"] {
            remove_if_present(&self.dir.join(name))?;
        }
        Ok(())
    }

    pub fn log_file(&self) -> PathBuf {
        match files::recorded_data_dir(&self.dir) {
            Some(data) => data.parent().unwrap_or(&self.dir).join("server.log"),
            None => self.dir.join("server.log"),
        }
    }

    fn binaries(&self) -> Result<PgBinaries, EmbeddedError> {
        if let Some(bins) = self.binaries.get() {
            return Ok(bins.clone());
        }
        let bins = self.search.find()?;
        Ok(self.binaries.get_or_init(|| bins).clone())
    }

    fn lock(&self, kind: LockKind) -> Result<File, EmbeddedError> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("open the lock file", &path))?;
        // std opens files close-on-exec, so the server we spawn never
        // inherits (and keeps holding) this lock.
        match kind {
            LockKind::Exclusive => file.lock(),
            LockKind::Shared => file.lock_shared(),
        }
        .map_err(io_err("lock", &path))?;
        Ok(file)
    }

    /// Runs initdb into a staging directory and renames it into place, so
    /// an interrupted init never leaves a half-made `data/` that looks real.
    fn init(&self, bins: &PgBinaries, account: &Account, layout: &Layout) -> Result<(), EmbeddedError> {
        let staging = layout.home.join("data.init");
        remove_dir_if_present(&staging)?;
        fs::DirBuilder::new().mode(0o700).create(&staging).map_err(io_err("create the data directory", &staging))?;
        account.give(&staging)?;
        prepare_log(&layout.log, account)?;
        let initdb = bins.tool("initdb");
        let staging_arg = staging.to_string_lossy();
        // initdb reads the superuser's password from a file the server's
        // account can read; it is removed as soon as initdb is done.
        let pwfile = layout.home.join("pwfile");
        let auth = match &self.password {
            Some(pw) => {
                fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&pwfile)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, pw.as_bytes()))
                    .map_err(io_err("write the password file", &pwfile))?;
                account.give(&pwfile)?;
                vec!["-A".to_owned(), "scram-sha-256".to_owned(), format!("--pwfile={}", pwfile.display())]
            }
            None => vec!["-A".to_owned(), "trust".to_owned()],
        };
        let result = run(account
            .command(&initdb)
            .args([
                "-D",
                &staging_arg,
                // No fsync of the new files: 1.2 s instead of several on slow disks.
                "-N",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .args(&auth));
        if self.password.is_some() {
            remove_if_present(&pwfile)?;
        }
        let out = result?;
        let text = output_text(&out);
        append_log(&layout.log, &format!("--- initdb -D {staging_arg}\n{text}"))?;
        if !out.status.success() {
            _ = fs::remove_dir_all(&staging);
            return Err(EmbeddedError::Initdb {
                data_dir: layout.data.clone(),
                user: account.name(),
                tail: tail(&text, 20),
                log: layout.log.clone(),
            });
        }
        fs::rename(&staging, &layout.data).map_err(io_err("move the new cluster into", &layout.data))
    }

    /// Tells running from stopped from a stale pid file.
    fn probe(&self, bins: &PgBinaries, account: &Account, layout: &Layout) -> Result<Probe, EmbeddedError> {
        let pid_file = layout.data.join("postmaster.pid");
        let Ok(contents) = fs::read_to_string(&pid_file) else {
            return Ok(Probe::Stopped { stale_pid_file: false });
        };
        // Lines: pid, data dir, start time, port, socket dir, listen address,
        // shared memory key, status.
        let mut lines = contents.lines();
        let Some(pid) = lines.next().and_then(|l| l.trim().parse::<u32>().ok()) else {
            // Truncated by a crash. (A server fills the file in within
            // microseconds of creating it, and ours start under the lock.)
            return Ok(Probe::Stopped { stale_pid_file: true });
        };
        let port = lines.nth(2).and_then(|l| l.trim().parse::<u16>().ok()).unwrap_or(0);
        let ours = match is_our_postmaster(pid, &layout.data) {
            Some(known) => known,
            // No /proc and no ps: pg_ctl's own liveness check (a signal 0
            // sent as the server's account) is the best we have.
            None => self.pg_ctl(bins, account, layout, "status", &[])?.status.success(),
        };
        if !ours {
            return Ok(Probe::Stopped { stale_pid_file: true });
        }
        if port != 0 && tcp_accepts(port) { Ok(Probe::Ready { pid, port }) } else { Ok(Probe::Busy { pid, port }) }
    }

    fn start(&self, bins: &PgBinaries, account: &Account, layout: &Layout) -> Result<Running, EmbeddedError> {
        prepare_log(&layout.log, account)?;
        let mut port = match self.remembered_port() {
            Some(port) if port_is_free(port) => port,
            _ => free_port()?,
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let log_start = fs::metadata(&layout.log).map_or(0, |m| m.len());
            let mut options = format!("-p {port}");
            for setting in SERVER_SETTINGS {
                options.push_str(" -c ");
                options.push_str(setting);
            }
            let log_arg = layout.log.to_string_lossy();
            let out = self.pg_ctl(bins, account, layout, "start", &["-w", "-l", &log_arg, "-o", &options])?;
            if out.status.success() {
                break;
            }
            let new_log = read_from(&layout.log, log_start);
            let retry = attempts < 3
                && if new_log.contains("could not bind") || new_log.contains("already in use") {
                    // Someone took the port between our check and the bind.
                    port = free_port()?;
                    true
                } else if new_log.contains("pre-existing shared memory block") {
                    // Backends of a killed postmaster are still exiting.
                    std::thread::sleep(Duration::from_secs(1));
                    true
                } else {
                    false
                };
            if !retry {
                let text = format!("{}\n{}", new_log.trim_end(), output_text(&out));
                return Err(EmbeddedError::Start {
                    port,
                    tail: tail(&text, 20),
                    log: layout.log.clone(),
                    dir: self.dir.clone(),
                });
            }
        }
        write_atomically(&self.dir.join("port"), port.to_string().as_bytes())?;
        let pid = fs::read_to_string(layout.data.join("postmaster.pid"))
            .ok()
            .and_then(|c| c.lines().next().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(0);
        self.publish(bins, layout, pid, port, true)
    }

    /// Writes the URL where the support crate looks for it.
    fn publish(
        &self,
        bins: &PgBinaries,
        layout: &Layout,
        pid: u32,
        port: u16,
        started_now: bool,
    ) -> Result<Running, EmbeddedError> {
        let mut running = running(bins, layout, pid, port, started_now);
        // Recorded machine-wide, so the server cannot outlive its course.
        let entry =
            registry::Entry { dir: layout.dir.clone(), data_dir: layout.data.clone(), pid, owner_pid: self.owner_pid };
        let _ = registry::record(&entry);
        if let Some(pw) = &self.password {
            running.url = format!("postgres://{SUPERUSER}:{pw}@127.0.0.1:{port}/postgres");
            // The password stays in memory: the file only says where.
            return Ok(running);
        }
        let url_file = self.dir.join("url");
        if fs::read_to_string(&url_file).ok().as_deref() != Some(running.url.as_str()) {
            write_atomically(&url_file, running.url.as_bytes())?;
        }
        if self.remembered_port() != Some(port) {
            write_atomically(&self.dir.join("port"), port.to_string().as_bytes())?;
        }
        Ok(running)
    }

    fn remembered_port(&self) -> Option<u16> {
        fs::read_to_string(self.dir.join("port")).ok()?.trim().parse().ok()
    }

    fn pg_ctl(
        &self,
        bins: &PgBinaries,
        account: &Account,
        layout: &Layout,
        command: &str,
        extra: &[&str],
    ) -> Result<Output, EmbeddedError> {
        let mut cmd = account.command(&bins.tool("pg_ctl"));
        cmd.arg(command).arg("-D").arg(&layout.data).args(extra);
        if command != "status" {
            cmd.args(["-t", PG_CTL_TIMEOUT_SECS]);
        }
        run(&mut cmd)
    }
}

enum Probe {
    Stopped {
        stale_pid_file: bool,
    },
    /// The postmaster is ours and accepts TCP connections.
    Ready {
        pid: u32,
        port: u16,
    },
    /// The postmaster is ours but does not (yet, or any more) accept
    /// connections: starting, shutting down, or hung.
    Busy {
        pid: u32,
        port: u16,
    },
}

enum LockKind {
    Exclusive,
    Shared,
}

fn running(bins: &PgBinaries, layout: &Layout, pid: u32, port: u16, started_now: bool) -> Running {
    Running {
        url: format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres"),
        port,
        pid,
        data_dir: layout.data.clone(),
        version: bins.version.clone(),
        started_now,
    }
}

fn unresponsive(layout: &Layout, pid: u32, port: u16) -> EmbeddedError {
    EmbeddedError::Unresponsive { pid, port, data_dir: layout.data.clone(), log: layout.log.clone() }
}

/// A cluster made by another major version cannot be started; say so
/// rather than show the server's own terse complaint.
fn check_major(bins: &PgBinaries, layout: &Layout) -> Result<(), EmbeddedError> {
    let path = layout.data.join("PG_VERSION");
    let cluster = match fs::read_to_string(&path) {
        Ok(v) => v.trim().to_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(EmbeddedError::NotADataDir { data_dir: layout.data.clone() });
        }
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    if cluster == bins.major() {
        return Ok(());
    }
    Err(EmbeddedError::VersionMismatch {
        data_dir: layout.data.clone(),
        dir: layout.dir.clone(),
        cluster,
        binaries: bins.version.clone(),
        bin_dir: bins.dir.clone(),
    })
}

/// pg_ctl opens the log as the server's account, which cannot create files
/// in a directory root owns: create it first and hand it over.
fn prepare_log(log: &Path, account: &Account) -> Result<(), EmbeddedError> {
    OpenOptions::new().create(true).append(true).open(log).map_err(io_err("create the log file", log))?;
    account.give(log)
}
