//! The account that runs initdb, pg_ctl and postgres. PostgreSQL refuses
//! to run as root, so a checker running as root (containers, CI) hands
//! the server to an unprivileged account (`postgres`, else `nobody`) and
//! switches to it with runuser or setpriv.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::error::{EmbeddedError, io_err, run};

/// The account that runs initdb, pg_ctl and postgres.
pub(crate) enum Account {
    /// Not root: the checker's own user.
    Current,
    /// Root, which PostgreSQL refuses: an unprivileged account.
    Other(OtherAccount),
}

#[derive(Clone)]
pub(crate) struct OtherAccount {
    pub(crate) name: String,
    pub(crate) uid: u32,
    gid: u32,
    switch: Switch,
}

#[derive(Clone)]
enum Switch {
    Runuser(PathBuf),
    Setpriv(PathBuf),
}

impl Account {
    pub(crate) fn current() -> Result<Account, EmbeddedError> {
        static DETECTED: OnceLock<Option<OtherAccount>> = OnceLock::new();
        if let Some(found) = DETECTED.get() {
            return Ok(found.clone().map_or(Account::Current, Account::Other));
        }
        let found = if crate::sys::effective_uid() == 0 { Some(OtherAccount::detect()?) } else { None };
        Ok(DETECTED.get_or_init(|| found).clone().map_or(Account::Current, Account::Other))
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Account::Current => std::env::var("USER").unwrap_or_else(|_| "the current user".to_owned()),
            Account::Other(other) => other.name.clone(),
        }
    }

    /// A command running `program` as this account, from `/` so the
    /// account never trips over a working directory it may not enter.
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut cmd = match self {
            Account::Current => Command::new(program),
            Account::Other(other) => other.command(program),
        };
        cmd.current_dir("/").env("LC_ALL", "C").stdin(Stdio::null());
        cmd
    }

    /// Hands a file or directory we (root) created to the account.
    pub(crate) fn give(&self, path: &Path) -> Result<(), EmbeddedError> {
        match self {
            Account::Current => Ok(()),
            Account::Other(other) => std::os::unix::fs::chown(path, Some(other.uid), Some(other.gid))
                .map_err(io_err("hand over to the server's account", path)),
        }
    }
}

impl OtherAccount {
    fn detect() -> Result<OtherAccount, EmbeddedError> {
        let (name, uid, gid) = ["postgres", "nobody"]
            .into_iter()
            .find_map(|name| Some((name, id_of(name, "-u")?, id_of(name, "-g")?)))
            .ok_or(EmbeddedError::NoServerAccount)?;
        let switch = if let Some(path) = find_system_program("runuser") {
            Switch::Runuser(path)
        } else if let Some(path) = find_system_program("setpriv") {
            Switch::Setpriv(path)
        } else {
            return Err(EmbeddedError::NoAccountSwitch { user: name.to_owned() });
        };
        Ok(OtherAccount { name: name.to_owned(), uid, gid, switch })
    }

    fn command(&self, program: &Path) -> Command {
        match &self.switch {
            Switch::Runuser(runuser) => {
                let mut cmd = Command::new(runuser);
                cmd.args(["-u", &self.name, "--"]).arg(program);
                cmd
            }
            Switch::Setpriv(setpriv) => {
                let mut cmd = Command::new(setpriv);
                cmd.arg(format!("--reuid={}", self.uid))
                    .arg(format!("--regid={}", self.gid))
                    .args(["--clear-groups", "--"])
                    .arg(program);
                cmd
            }
        }
    }

    /// Whether the account can get to `dir`: every parent must let it pass
    /// (a home directory with mode 700 does not). Asking the system, as the
    /// account, also covers ACLs and group membership.
    pub(crate) fn can_reach(&self, dir: &Path) -> Result<bool, EmbeddedError> {
        let mut cmd = Account::Other(self.clone()).command(Path::new("test"));
        cmd.arg("-x").arg(dir);
        Ok(run(&mut cmd)?.status.success())
    }
}

/// `id -u NAME` / `id -g NAME`, which also see accounts from LDAP and the like.
fn id_of(name: &str, flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, name]).stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// runuser and setpriv live in sbin, which root's PATH may lack in a
/// minimal container.
fn find_system_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    which::which_in(name, std::env::join_paths(dirs).ok(), "/").ok()
}
