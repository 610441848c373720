//! Where a cluster's data and log live: in its own directory, or, when the
//! server's account cannot reach that directory (the checker runs as
//! root in a private home), in a fallback home under `/var/tmp`.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::account::Account;
use super::error::{EmbeddedError, io_err};
use super::files::{recorded_data_dir, write_atomically};

/// Where one cluster's files are, for one call.
pub(crate) struct Layout {
    /// `Cluster::dir`, canonical.
    pub(crate) dir: PathBuf,
    /// Holds `data/` and `server.log`: `dir`, or a directory under /var/tmp.
    pub(crate) home: PathBuf,
    pub(crate) data: PathBuf,
    pub(crate) log: PathBuf,
}

/// Decides where the data and log live. With `create`, also prepares
/// the out-of-tree home when the server's account cannot reach `dir`.
pub(crate) fn layout(dir: &Path, account: &Account, create: bool) -> Result<Layout, EmbeddedError> {
    let dir = fs::canonicalize(dir).map_err(io_err("resolve", dir))?;
    if let Some(data) = recorded_data_dir(&dir) {
        let home = data.parent().map_or_else(|| dir.clone(), Path::to_path_buf);
        if create {
            prepare_fallback_home(&home, account)?;
        }
        return Ok(Layout { log: home.join("server.log"), home, data, dir });
    }
    if create
        && let Account::Other(other) = account
        && !other.can_reach(&dir)?
    {
        let home = fallback_home(&dir);
        prepare_fallback_home(&home, account)?;
        let data = home.join("data");
        // Recorded before initdb so every later call, and log_file(),
        // finds the same place even if this one fails halfway.
        write_atomically(&dir.join("datadir"), data.as_os_str().as_bytes())?;
        return Ok(Layout { log: home.join("server.log"), home, data, dir });
    }
    Ok(Layout { log: dir.join("server.log"), data: dir.join("data"), home: dir.clone(), dir })
}

/// `/var/tmp/workbook-pg-<hash of dir>`: stable per cluster directory, so
/// two checkouts never share a server, and outside any private home.
pub(crate) fn fallback_home(dir: &Path) -> PathBuf {
    let hash = crate::hash::fnv1a(dir.as_os_str().as_bytes().iter().copied());
    PathBuf::from(format!("/var/tmp/workbook-pg-{:012x}", hash >> 16))
}

pub(crate) fn is_fallback_home(home: &Path) -> bool {
    home.parent() == Some(Path::new("/var/tmp"))
        && home.file_name().is_some_and(|n| n.as_bytes().starts_with(b"workbook-pg-"))
}

/// Creates the out-of-tree home, refusing one someone else prepared:
/// /var/tmp is world-writable, and we are root.
fn prepare_fallback_home(home: &Path, account: &Account) -> Result<(), EmbeddedError> {
    let Account::Other(other) = account else {
        return Ok(());
    };
    match fs::symlink_metadata(home) {
        Ok(meta) => {
            if !meta.is_dir() || (meta.uid() != other.uid && meta.uid() != 0) {
                return Err(EmbeddedError::UnsafeDataHome { path: home.to_path_buf(), user: other.name.clone() });
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new().mode(0o700).create(home).map_err(io_err("create directory", home))?;
        }
        Err(e) => return Err(io_err("inspect", home)(e)),
    }
    account.give(home)
}
