//! The embedded servers the checker started on this machine, so none
//! outlives its course: a course copy deleted without `checker db stop` (a
//! re-clone, a scratch copy, a finished term) would otherwise leave its
//! PostgreSQL running, and its data and in-memory tablespace behind.
//!
//! One directory per user, `/var/tmp/workbook-servers-<uid>/` (mode 700,
//! refused when it is not a directory of ours), one small JSON file per
//! cluster, named after its directory. Each user's checker records and
//! sweeps its own servers: the only ones it may stop.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One started server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The cluster's directory (`<course>/target/workbook/pg`): when it is
    /// gone, so is the course, and the server has no reason to run.
    pub dir: PathBuf,
    /// Its data directory (inside `dir`, or a fallback home in /var/tmp).
    pub data_dir: PathBuf,
    /// The postmaster's pid when it was recorded.
    pub pid: u32,
    /// For a throwaway cluster (grading): the process it belongs to.
    #[serde(default)]
    pub owner_pid: Option<u32>,
}

/// This user's registry directory.
pub fn dir() -> PathBuf {
    PathBuf::from(format!("/var/tmp/workbook-servers-{}", crate::sys::effective_uid()))
}

/// Creates the registry directory, refusing one someone else made.
fn ensure_dir() -> io::Result<PathBuf> {
    let dir = dir();
    match fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() && meta.uid() == crate::sys::effective_uid() => Ok(dir),
        Ok(_) => Err(io::Error::other(format!("{} is not a directory of ours", dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .or_else(|e| if e.kind() == io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })?;
            Ok(dir)
        }
        Err(e) => Err(e),
    }
}

fn file_for(registry: &Path, cluster_dir: &Path) -> PathBuf {
    let h = crate::hash::fnv1a(cluster_dir.as_os_str().as_encoded_bytes().iter().copied());
    registry.join(format!("{h:016x}.json"))
}

/// Records (or updates) a running server.
pub fn record(entry: &Entry) -> io::Result<()> {
    let registry = ensure_dir()?;
    let file = file_for(&registry, &entry.dir);
    let json = serde_json::to_vec(entry).map_err(io::Error::other)?;
    if fs::read(&file).is_ok_and(|old| old == json) {
        return Ok(());
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, json)?;
    fs::rename(&tmp, &file)
}

/// Forgets the server of `cluster_dir` (it was stopped or destroyed).
pub fn forget(cluster_dir: &Path) {
    let _ = fs::remove_file(file_for(&dir(), cluster_dir));
}

/// Every recorded server, with the file that records it.
pub fn entries() -> Vec<(PathBuf, Entry)> {
    let Ok(list) = fs::read_dir(dir()) else { return Vec::new() };
    list.flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some((p.clone(), serde_json::from_slice(&fs::read(&p).ok()?).ok()?)))
        .collect()
}

/// Holds the registry's lock, if no other checker holds it (one sweep at
/// a time; a second one just skips).
pub fn try_lock() -> Option<fs::File> {
    let registry = ensure_dir().ok()?;
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(registry.join("lock")).ok()?;
    file.try_lock().ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cluster_directory_has_its_own_file() {
        let r = Path::new("/var/tmp/r");
        assert_ne!(file_for(r, Path::new("/a/target/workbook/pg")), file_for(r, Path::new("/b/target/workbook/pg")));
        assert_eq!(file_for(r, Path::new("/a")), file_for(r, Path::new("/a")));
    }
}
