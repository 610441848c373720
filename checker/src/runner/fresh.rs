//! Making sure cargo rebuilds an exercise whose sources changed.
//!
//! Cargo decides by file times: a source file older than the crate's last
//! build counts as built. Two cases fool it:
//! - two copies of the course with one `CARGO_TARGET_DIR`: cargo names a
//!   path crate's artifacts after its path inside the workspace, so both
//!   `exercises/connect` share one build, and the older copy's files look
//!   built by the newer copy's build;
//! - a file put back with its old time (`cp -p` from a backup, an archive
//!   unpacked): older than the build of what it replaced.
//!
//! Either way the checks would run a binary built from other sources. So
//! the checker keeps its own record per crate, in the target dir next to
//! cargo's: a hash (FNV-1a) of the crate's files and when that build started. When
//! the files differ from the record but none is newer than that build,
//! they get a new modification time, and cargo rebuilds. A file saved in
//! the usual way is newer than the build already, and is left alone (an
//! editor would otherwise see its file change under it).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::course::relative_files;

/// What to record once the build succeeds.
pub struct Pending {
    record: PathBuf,
    hash: u64,
    started: SystemTime,
}

/// Call before building the crate at `crate_dir` inside `workspace`:
/// retouches its files when cargo would otherwise take them as built.
pub fn before_build(workspace: &Path, crate_dir: &Path, target_dir: &Path) -> Pending {
    let started = SystemTime::now();
    let rel = crate_dir.strip_prefix(workspace).unwrap_or(crate_dir);
    let key = rel.to_string_lossy().replace(['/', '\\'], "+");
    let record = target_dir.join("workbook-sources").join(format!("{key}.txt"));
    let files = relative_files(crate_dir);
    let (hash, newest) = survey(crate_dir, &files);
    if let Some((old_hash, built_at)) = read(&record)
        && old_hash != hash
        && newest.is_some_and(|t| t <= built_at)
    {
        for f in &files {
            touch(&crate_dir.join(f));
        }
    }
    Pending { record, hash, started }
}

/// Call after a successful build.
pub fn after_build(p: &Pending) {
    let nanos = p.started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    if let Some(dir) = p.record.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&p.record, format!("{:016x} {nanos}\n", p.hash));
}

/// A hash of the files' names and contents, and the newest modification time.
fn survey(dir: &Path, files: &[String]) -> (u64, Option<SystemTime>) {
    // Each file as its name, a NUL, its length and its bytes: no two sets
    // of files run together into the same stream.
    let mut all = Vec::new();
    let mut newest = None;
    for f in files {
        let path = dir.join(f);
        let contents = std::fs::read(&path).unwrap_or_default();
        all.extend_from_slice(f.as_bytes());
        all.push(0);
        all.extend_from_slice(&(contents.len() as u64).to_le_bytes());
        all.extend_from_slice(&contents);
        if let Ok(t) = std::fs::metadata(&path).and_then(|m| m.modified()) {
            newest = newest.max(Some(t));
        }
    }
    (crate::hash::fnv1a(all), newest)
}

fn read(record: &Path) -> Option<(u64, SystemTime)> {
    let text = std::fs::read_to_string(record).ok()?;
    let (hash, nanos) = text.trim().split_once(' ')?;
    let hash = u64::from_str_radix(hash, 16).ok()?;
    let nanos: u64 = nanos.parse().ok()?;
    Some((hash, UNIX_EPOCH + std::time::Duration::from_nanos(nanos)))
}

fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mtime(p: &Path) -> SystemTime {
        std::fs::metadata(p).unwrap().modified().unwrap()
    }

    fn set_mtime(p: &Path, t: SystemTime) {
        std::fs::File::options().append(true).open(p).unwrap().set_modified(t).unwrap();
    }

    #[test]
    fn changed_files_no_newer_than_the_last_build_are_retouched_and_others_are_not() {
        let ws = tempfile::tempdir().unwrap();
        let target = ws.path().join("target");
        let krate = ws.path().join("exercises/demo");
        let lib = krate.join("src/lib.rs");
        std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);

        // First build: nothing recorded yet, nothing touched.
        std::fs::write(&lib, "// one\n").unwrap();
        set_mtime(&lib, hour_ago);
        let p = before_build(ws.path(), &krate, &target);
        assert_eq!(mtime(&lib), hour_ago);
        after_build(&p);

        // The same files again: left alone.
        after_build(&before_build(ws.path(), &krate, &target));
        assert_eq!(mtime(&lib), hour_ago);

        // Other contents with an old time (a restored backup): retouched.
        std::fs::write(&lib, "// two\n").unwrap();
        set_mtime(&lib, hour_ago);
        let p = before_build(ws.path(), &krate, &target);
        assert!(mtime(&lib) > hour_ago, "a changed file older than the build is made newer");
        after_build(&p);

        // Saved in the usual way (newer than the build): left alone.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&lib, "// three\n").unwrap();
        let saved = mtime(&lib);
        before_build(ws.path(), &krate, &target);
        assert_eq!(mtime(&lib), saved);
    }
}
