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
//!
//! The same record lets a run skip cargo altogether ([`still_built`]) when
//! nothing cargo compiles changed since the binary was built: a save of a
//! SQL file (a drill, a migration, a seed) that the checks read as they
//! run. Cargo's own no-op costs about 0.3 s of every such save, most of it
//! walking the fingerprints of every dependency.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::course::relative_files;

/// What to record once the build succeeds.
pub struct Pending {
    record: PathBuf,
    hash: u64,
    /// The hash of the files cargo compiles (every file but SQL that no
    /// compiled crate reads).
    inputs: u64,
    started: SystemTime,
}

/// Call before building the crate at `crate_dir` inside `workspace`:
/// retouches its files when cargo would otherwise take them as built.
pub fn before_build(workspace: &Path, crate_dir: &Path, slug: &str, target_dir: &Path) -> Pending {
    let started = SystemTime::now();
    let record = record_path(workspace, crate_dir, target_dir);
    let files = relative_files(crate_dir);
    let (hash, newest) = survey(crate_dir, &files);
    let last = last_built(&record);
    let exe = last.as_ref().map(|(b, _)| b.executable.as_path());
    let inputs = inputs_hash(crate_dir, &files, &dep_info_files(workspace, exe, target_dir, slug));
    if let Some((old_hash, built_at)) = read(&record)
        && old_hash != hash
        && newest.is_some_and(|t| t <= built_at)
    {
        for f in &files {
            touch(&crate_dir.join(f));
        }
    }
    Pending { record, hash, inputs, started }
}

/// Call after a successful build that made `executable`.
pub fn after_build(p: &Pending, executable: &Path) {
    let nanos = p.started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    if let Some(dir) = p.record.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&p.record, format!("{:016x} {nanos}\n", p.hash));
    let built = Built { executable: executable.to_path_buf(), made: modified(executable), inputs: p.inputs };
    let _ = std::fs::write(built_record(&p.record), built.to_text(nanos));
}

/// The check binary of the last successful build of the crate at
/// `crate_dir`, when nothing cargo would compile has changed since: the
/// crate's files other than SQL the checks read at run time hash as they
/// did, the binary is the very file that build made (same modification
/// time), and nothing outside the crate that cargo reads (the workspace's
/// manifest and lockfile, cargo's configuration, the support crates
/// compiled into the checks) is newer than that build's start.
///
/// A SQL file counts as compiled when the dependency list rustc wrote for
/// the checks or the exercise's library names it (an `include_str!`).
pub fn still_built(workspace: &Path, crate_dir: &Path, slug: &str, target_dir: &Path) -> Option<PathBuf> {
    let (built, started) = last_built(&record_path(workspace, crate_dir, target_dir))?;
    if modified(&built.executable)? != built.made? {
        return None;
    }
    let files = relative_files(crate_dir);
    let read_by_rustc = dep_info_files(workspace, Some(&built.executable), target_dir, slug);
    if inputs_hash(crate_dir, &files, &read_by_rustc) != built.inputs {
        return None;
    }
    let outside_newer = outside_inputs(workspace).iter().any(|f| modified(f).is_none_or(|t| t > started));
    (!outside_newer).then_some(built.executable)
}

/// What the last successful build made, as kept next to the record.
struct Built {
    executable: PathBuf,
    made: Option<u128>,
    inputs: u64,
}

impl Built {
    fn to_text(&self, started_nanos: u128) -> String {
        let made = self.made.map_or_else(|| "-".to_owned(), |m| m.to_string());
        format!("{:016x} {started_nanos} {made}\n{}\n", self.inputs, self.executable.display())
    }

    fn from_text(text: &str) -> Option<(Built, u128)> {
        let (head, exe) = text.split_once('\n')?;
        let mut parts = head.split(' ');
        let inputs = u64::from_str_radix(parts.next()?, 16).ok()?;
        let started: u128 = parts.next()?.parse().ok()?;
        let made = parts.next()?.parse().ok();
        let executable = PathBuf::from(exe.trim_end_matches('\n'));
        Some((Built { executable, made, inputs }, started))
    }
}

/// Where the record of the crate at `crate_dir` is kept: named after its
/// path inside the workspace, as cargo names its artifacts.
fn record_path(workspace: &Path, crate_dir: &Path, target_dir: &Path) -> PathBuf {
    let rel = crate_dir.strip_prefix(workspace).unwrap_or(crate_dir);
    let key = rel.to_string_lossy().replace(['/', '\\'], "+");
    target_dir.join("workbook-sources").join(format!("{key}.txt"))
}

fn built_record(record: &Path) -> PathBuf {
    record.with_extension("built")
}

/// The last successful build's binary, and when that build started.
fn last_built(record: &Path) -> Option<(Built, u128)> {
    Built::from_text(&std::fs::read_to_string(built_record(record)).ok()?)
}

/// A file's modification time in nanoseconds since the epoch.
fn modified(path: &Path) -> Option<u128> {
    let t = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_nanos())
}

/// Whether cargo compiles the file, as far as its name tells: everything
/// but SQL, which the checks read from the exercise's directory as they run.
fn is_compiled(file: &str) -> bool {
    !file.ends_with(".sql")
}

/// The hash of the crate's files that cargo compiles, and of those rustc
/// said it read besides (`read_by_rustc`).
fn inputs_hash(crate_dir: &Path, files: &[String], read_by_rustc: &[PathBuf]) -> u64 {
    let read = |f: &String| read_by_rustc.iter().any(|d| same_file(d, &crate_dir.join(f)));
    let inputs: Vec<String> = files.iter().filter(|f| is_compiled(f) || read(f)).cloned().collect();
    survey(crate_dir, &inputs).0
}

/// Every file rustc said it read for the check binary and for the
/// exercise's library (any build of it in this target dir).
fn dep_info_files(workspace: &Path, executable: Option<&Path>, target_dir: &Path, slug: &str) -> Vec<PathBuf> {
    let mut lists: Vec<PathBuf> = executable.map(|e| e.with_extension("d")).into_iter().collect();
    let lib = format!("{}-", slug.replace('-', "_"));
    if let Ok(entries) = std::fs::read_dir(target_dir.join("debug").join("deps")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&lib) && name.ends_with(".d") {
                lists.push(e.path());
            }
        }
    }
    let mut files = Vec::new();
    for list in lists {
        let Ok(text) = std::fs::read_to_string(&list) else { continue };
        for line in text.lines() {
            // `output: input input ...`; a space inside a path is `\ `.
            let Some((_, inputs)) = line.split_once(": ") else { continue };
            let inputs = inputs.replace("\\ ", "\0");
            // Cargo runs rustc in the workspace: relative paths start there.
            files.extend(inputs.split(' ').filter(|f| !f.is_empty()).map(|f| workspace.join(f.replace('\0', " "))));
        }
    }
    files
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || std::fs::canonicalize(a).ok().zip(std::fs::canonicalize(b).ok()).is_some_and(|(a, b)| a == b)
}

/// What cargo reads besides the exercise's own crate: the workspace's
/// manifest, lockfile and configuration, and every file of the crates the
/// workspace declares by path outside `exercises/` (the checks' support
/// crates).
fn outside_inputs(workspace: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "rust-toolchain.toml"]
        .iter()
        .map(|f| workspace.join(f))
        .filter(|f| f.exists())
        .collect();
    let Ok(manifest) = std::fs::read_to_string(workspace.join("Cargo.toml")) else { return files };
    let Ok(manifest) = manifest.parse::<toml::Table>() else { return files };
    let deps = manifest.get("workspace").and_then(|w| w.get("dependencies")).and_then(|d| d.as_table());
    for dep in deps.into_iter().flat_map(|d| d.values()) {
        let Some(path) = dep.get("path").and_then(|p| p.as_str()) else { continue };
        if path.starts_with("exercises/") {
            continue;
        }
        let dir = workspace.join(path);
        files.extend(relative_files(&dir).into_iter().map(|f| dir.join(f)));
    }
    files
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
        let exe = target.join("checks");

        // First build: nothing recorded yet, nothing touched.
        std::fs::write(&lib, "// one\n").unwrap();
        set_mtime(&lib, hour_ago);
        let p = before_build(ws.path(), &krate, "demo", &target);
        assert_eq!(mtime(&lib), hour_ago);
        after_build(&p, &exe);

        // The same files again: left alone.
        after_build(&before_build(ws.path(), &krate, "demo", &target), &exe);
        assert_eq!(mtime(&lib), hour_ago);

        // Other contents with an old time (a restored backup): retouched.
        std::fs::write(&lib, "// two\n").unwrap();
        set_mtime(&lib, hour_ago);
        let p = before_build(ws.path(), &krate, "demo", &target);
        assert!(mtime(&lib) > hour_ago, "a changed file older than the build is made newer");
        after_build(&p, &exe);

        // Saved in the usual way (newer than the build): left alone.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&lib, "// three\n").unwrap();
        let saved = mtime(&lib);
        before_build(ws.path(), &krate, "demo", &target);
        assert_eq!(mtime(&lib), saved);
    }

    /// A workspace like the course's: a support crate declared by path,
    /// an exercise with a library, a drill and a migration, and a "built"
    /// check binary with rustc's dependency list naming what it read.
    fn course() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let ws = tempfile::tempdir().unwrap();
        let w = ws.path();
        std::fs::write(w.join("Cargo.toml"), "[workspace.dependencies]\nwb = { path = \"support\" }\n").unwrap();
        std::fs::write(w.join("Cargo.lock"), "").unwrap();
        std::fs::create_dir_all(w.join("support/src")).unwrap();
        std::fs::write(w.join("support/src/lib.rs"), "// support\n").unwrap();
        let krate = w.join("exercises/demo");
        for (f, text) in [("src/lib.rs", "// lib\n"), ("drills/01.sql", "SELECT 1;\n"), ("read.sql", "SELECT 2;\n")] {
            std::fs::create_dir_all(krate.join(f).parent().unwrap()).unwrap();
            std::fs::write(krate.join(f), text).unwrap();
        }
        let target = w.join("target");
        let deps = target.join("debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        let exe = deps.join("checks-0123");
        std::fs::write(&exe, "binary").unwrap();
        // The library read read.sql at compile time (an include_str!).
        std::fs::write(deps.join("demo-4567.d"), "x.rmeta: exercises/demo/src/lib.rs exercises/demo/read.sql\n")
            .unwrap();
        (ws, krate, target, exe)
    }

    fn build(w: &Path, krate: &Path, target: &Path, exe: &Path) {
        let p = before_build(w, krate, "demo", target);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(exe, "binary").unwrap();
        after_build(&p, exe);
    }

    #[test]
    fn cargo_is_skipped_only_while_nothing_it_compiles_has_changed() {
        let (ws, krate, target, exe) = course();
        let w = ws.path();
        assert_eq!(still_built(w, &krate, "demo", &target), None, "never built: cargo runs");
        build(w, &krate, &target, &exe);
        assert_eq!(still_built(w, &krate, "demo", &target).as_deref(), Some(exe.as_path()));

        // A drill the checks read as they run: no build needed.
        std::fs::write(krate.join("drills/01.sql"), "SELECT 3;\n").unwrap();
        assert_eq!(still_built(w, &krate, "demo", &target).as_deref(), Some(exe.as_path()));

        // A SQL file rustc read, the library, the support crate, the
        // lockfile, a new Rust file: each needs cargo.
        let needs_cargo = |change: &dyn Fn()| {
            build(w, &krate, &target, &exe);
            assert!(still_built(w, &krate, "demo", &target).is_some());
            std::thread::sleep(std::time::Duration::from_millis(20));
            change();
            assert_eq!(still_built(w, &krate, "demo", &target), None);
        };
        needs_cargo(&|| std::fs::write(krate.join("read.sql"), "SELECT 4;\n").unwrap());
        needs_cargo(&|| std::fs::write(krate.join("src/lib.rs"), "// changed\n").unwrap());
        needs_cargo(&|| std::fs::write(w.join("support/src/lib.rs"), "// changed\n").unwrap());
        needs_cargo(&|| std::fs::write(w.join("Cargo.lock"), "# changed\n").unwrap());
        needs_cargo(&|| std::fs::write(krate.join("src/more.rs"), "// new\n").unwrap());
        // The binary replaced by another build (another copy of the course).
        needs_cargo(&|| std::fs::write(&exe, "another binary").unwrap());
        needs_cargo(&|| std::fs::remove_file(&exe).unwrap());
    }
}
