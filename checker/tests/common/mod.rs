//! Shared helpers for the checker's integration tests: the real binary, a
//! database to run against, and scratch copies of the course.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;

use assert_cmd::Command;

/// The workspace root (the directory holding `exercises/info.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("checker/ has a parent").to_path_buf()
}

/// The real `checker` binary, run from the workspace root with no
/// database settings inherited from the developer's shell.
pub fn checker() -> Command {
    Command::from_std(checker_std())
}

/// The same, as a plain `std::process::Command` (for spawning and signals).
pub fn checker_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("checker"));
    cmd.current_dir(workspace_root())
        .env_remove("DATABASE_URL")
        .env("WORKBOOK_STATE_DIR", state_dir())
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// Progress written by tests goes here, never into the developer's own
/// `.workbook/`.
fn state_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workbook-test-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the test state dir");
    dir
}

/// A server URL for tests that need one: `WORKBOOK_TEST_DATABASE_URL` if
/// set, otherwise the embedded default, started through the real binary.
pub fn database_url() -> String {
    if let Ok(url) = std::env::var("WORKBOOK_TEST_DATABASE_URL") {
        return url;
    }
    let out = checker().args(["db", "url"]).output().expect("running checker db url");
    assert!(out.status.success(), "checker db url failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 url").trim().to_owned()
}

/// Copies the tree at `from` to `to` (scratch courses and submissions).
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// `url` signing in as `user` (no password).
pub fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}@{host}")
}

/// Cargo names a path crate's artifacts after its path inside the
/// workspace, so the course's `exercises/connect` and a scratch copy of
/// the course (student_loop) share one set of build artifacts: a build of
/// one can replace the other's check binary between its build and its
/// run. All the suite's tests run in one process, so they take turns
/// here: builds of the course's own exercises at their own paths share
/// the lock, a scratch copy of the course holds it alone.
static COURSE_ARTIFACTS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Held while a test builds the course's exercises in place.
pub fn in_place_builds() -> std::sync::RwLockReadGuard<'static, ()> {
    COURSE_ARTIFACTS.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Held while a test builds a scratch copy of the course at the same paths.
pub fn scratch_course_builds() -> std::sync::RwLockWriteGuard<'static, ()> {
    COURSE_ARTIFACTS.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether the tests run as root (as on CI), where grading drops each
/// check process to a uid of its own.
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}
