//! The student loop through the real binary, on a scratch copy of the
//! course: watch mode re-checks when an editable file is saved (and only
//! then), answers its keys and records progress; `--manual` re-checks on
//! Enter; `reset` puts the starter back and keeps the student's work.
//!
//! The scratch course shares the workspace's target dir, so nothing is
//! compiled twice. Cargo names a path crate's artifacts after its path
//! relative to the workspace root, so the scratch `exercises/connect` and
//! the course's own share artifacts: that is why the one test here that
//! compiles anything holds `common::scratch_course_builds()`, which keeps
//! every other build of the course's exercises out while it runs. It also proves the checker's
//! answer to that sharing: the course's own starter, older than the
//! scratch build, is still rebuilt and run as the starter afterwards.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{checker, checker_std, database_url, workspace_root};

/// A copy of the whole course (no build output, no git). The support
/// crate and the manifests keep their file times, so cargo finds what the
/// course already built fresh; the exercises get new ones, so cargo never
/// mistakes a scratch starter for a build of the same path made earlier.
fn scratch_course() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = workspace_root();
    for part in ["exercises", "solutions"] {
        common::copy_tree(&root.join(part), &dir.path().join(part));
    }
    for part in ["Cargo.toml", "Cargo.lock", ".cargo", "checker", "book"] {
        let status = std::process::Command::new("cp").arg("-a").arg(root.join(part)).arg(dir.path()).status().unwrap();
        assert!(status.success(), "copying {part}");
    }
    dir
}

/// Watch mode running in a scratch course, its output read line by line.
struct Watch {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(course: &Path, state: &Path, extra: &[&str]) -> Watch {
        let mut child = checker_std()
            .current_dir(course)
            .env("CARGO_TARGET_DIR", workspace_root().join("target"))
            .env("WORKBOOK_STATE_DIR", state)
            .arg("--database-url")
            .arg(database_url())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        let stdin = child.stdin.take().unwrap();
        Watch { child, stdin, lines, seen: Vec::new() }
    }

    /// Types a key and Enter (stdin is not a terminal: line mode).
    fn key(&mut self, key: &str) {
        writeln!(self.stdin, "{key}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The output from now until a line containing `needle`, which must
    /// come within `limit`.
    fn until(&mut self, needle: &str, limit: Duration) -> Vec<String> {
        let end = Instant::now() + limit;
        let mut got = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let found = line.contains(needle);
                    got.push(line);
                    if found {
                        return got;
                    }
                }
                Err(_) => {
                    panic!("no line with {needle:?} within {limit:?}; the output so far:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Asserts nothing containing `needle` is printed for `quiet`.
    fn silent(&mut self, needle: &str, quiet: Duration) {
        let end = Instant::now() + quiet;
        while let Ok(line) = self.lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
            self.seen.push(line.clone());
            assert!(!line.contains(needle), "unexpected {needle:?}; the output so far:\n{}", self.seen.join("\n"));
        }
    }

    /// Quits with `q` and returns the exit code.
    fn quit(mut self) -> i32 {
        self.key("q");
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("watch mode did not quit on q; the output:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn progress(state: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(state.join("progress.json")).unwrap()).unwrap()
}

fn copy_solution(course: &Path, slug: &str, sub: &str) {
    let from = course.join("solutions").join(slug).join(sub);
    let to = course.join("exercises").join(slug).join(sub);
    common::copy_tree(&from, &to);
}

/// Lays in every folder of an exercise's solution (its `src`, `migrations`,
/// `drills`...), whatever the exercise keeps its answer in.
fn copy_whole_solution(course: &Path, slug: &str) {
    for entry in std::fs::read_dir(course.join("solutions").join(slug)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_solution(course, slug, entry.file_name().to_str().unwrap());
        }
    }
}

fn course_info() -> toml::Value {
    toml::from_str(&std::fs::read_to_string(workspace_root().join("exercises/info.toml")).unwrap()).unwrap()
}

/// The exercise the course puts second, read from `exercises/info.toml`, so
/// the test follows the course when its order changes.
fn second_exercise() -> String {
    course_info()["exercises"][1]["slug"].as_str().unwrap().to_string()
}

/// How many hints `exercises/info.toml` gives `slug`.
fn hint_count(slug: &str) -> usize {
    let info = course_info();
    let ex = info["exercises"].as_array().unwrap().iter().find(|e| e["slug"].as_str() == Some(slug)).unwrap();
    let n = ex["hints"].as_array().unwrap().len();
    assert!(n >= 2, "{slug} has {n} hints; the test shows two");
    n
}

/// A first check can include building the exercise from cold.
const FIRST: Duration = Duration::from_secs(600);
/// Later ones rebuild one small crate.
const AGAIN: Duration = Duration::from_secs(180);

#[test]
fn watch_mode_rechecks_on_save_answers_its_keys_and_records_progress() {
    let _builds = common::scratch_course_builds();
    let course = scratch_course();
    let c = course.path();
    let state = tempfile::tempdir().unwrap();

    let mut w = Watch::start(c, state.path(), &[]);
    let first = w.until("Save a file to re-check", FIRST);
    assert!(first.iter().any(|l| l.contains("Checking connect")), "{first:#?}");
    assert!(first.iter().any(|l| l.contains("checks pass") && !l.contains("All")), "the starter fails: {first:#?}");
    assert!(first.iter().any(|l| l.contains("todo") && l.contains("src/lib.rs")), "{first:#?}");

    // A file that is not the student's to edit changes nothing.
    std::fs::write(c.join("exercises/connect/NOTES.md"), "my notes\n").unwrap();
    w.silent("Checking", Duration::from_secs(3));

    // Saving the answer re-checks on its own, and it passes.
    copy_solution(c, "connect", "src");
    let saved = w.until("Save a file to re-check", AGAIN);
    assert!(saved.iter().any(|l| l.contains("Checking connect")), "{saved:#?}");
    assert!(saved.iter().any(|l| l.contains("All") && l.contains("checks pass")), "{saved:#?}");
    assert!(saved.iter().any(|l| l.contains("Solved!")), "{saved:#?}");
    let p = progress(state.path());
    assert!(p["done"].as_array().unwrap().iter().any(|s| s == "connect"), "{p}");

    // h: the first hint; h again: the first two.
    let hints = hint_count("connect");
    w.key("h");
    let hint = w.until(&format!("Hint 1/{hints}"), AGAIN);
    assert!(hint.last().unwrap().contains("DATABASE_URL"), "{hint:#?}");
    w.key("h");
    w.until(&format!("Hint 2/{hints}"), AGAIN);

    // l: the course, connect solved and current.
    let second = second_exercise();
    w.key("l");
    let list = w.until(&second, AGAIN);
    assert!(list.iter().any(|l| l.contains('▶') && l.contains('✓') && l.contains("connect")), "{list:#?}");

    // n: on to the next exercise, which is checked at once and saved as current.
    w.key("n");
    let next = w.until("Save a file to re-check", AGAIN);
    let checking = format!("Checking {second}");
    assert!(next.iter().any(|l| l.contains(&checking)), "{next:#?}");
    assert_eq!(progress(state.path())["current"], second.as_str());
    assert_eq!(w.quit(), 0);

    // --manual: the current exercise again; a save is not noticed, Enter re-checks.
    let mut w = Watch::start(c, state.path(), &["--manual"]);
    let first = w.until("Press Enter to re-check", AGAIN);
    assert!(first.iter().any(|l| l.contains(&checking)), "{first:#?}");
    assert!(first.iter().any(|l| l.contains("checks pass") && !l.contains("All")), "{first:#?}");
    copy_whole_solution(c, &second);
    w.silent("Checking", Duration::from_secs(3));
    w.key("");
    let again = w.until("Press Enter to re-check", AGAIN);
    assert!(again.iter().any(|l| l.contains("All") && l.contains("checks pass")), "{again:#?}");
    assert_eq!(w.quit(), 0);
    let done = progress(state.path())["done"].clone();
    assert_eq!(done, serde_json::json!(["connect", second]));

    // The course's own connect shares its artifacts with the scratch one
    // just built from the solution, and its files are older than that
    // build: cargo alone would take the solution's binary for the starter's.
    let out =
        checker().args(["--database-url", &database_url(), "run", "connect", "--format", "json"]).output().unwrap();
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "the course's starter is built and fails: {run:#}");
    assert!(run["checks"].as_array().unwrap().iter().any(|c| c["status"] == "failed"), "{run:#}");
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The backups of `slug` under the course's `.workbook/backups`, oldest first.
fn backups(course: &Path, slug: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(course.join(".workbook/backups")) else { return Vec::new() };
    let mut all: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{slug}-")))
        .collect();
    all.sort();
    all
}

#[test]
fn reset_puts_the_starter_back_and_keeps_the_students_work() {
    // The course as a student's clone: the course's commit, then the
    // student's own commit, then more uncommitted work.
    let course = tempfile::tempdir().unwrap();
    let c = course.path();
    common::copy_tree(&workspace_root().join("exercises"), &c.join("exercises"));
    git(c, &["init", "-q"]);
    git(c, &["add", "-A"]);
    git(c, &["-c", "user.email=course@example.org", "-c", "user.name=Course", "commit", "-qm", "The course"]);
    git(c, &["config", "user.email", "student@example.org"]);
    git(c, &["config", "user.name", "Student"]);
    let lib = c.join("exercises/connect/src/lib.rs");
    std::fs::write(&lib, "// attempt 1, committed\n").unwrap();
    git(c, &["commit", "-qam", "My first try"]);
    std::fs::write(&lib, "// attempt 2, not committed\n").unwrap();
    std::fs::write(c.join("exercises/connect/src/extra.rs"), "// a module of mine\n").unwrap();
    let checks = c.join("exercises/connect/tests/checks.rs");
    let mut edited_checks = std::fs::read_to_string(&checks).unwrap();
    edited_checks.push_str("// the student's note in the checks\n");
    std::fs::write(&checks, &edited_checks).unwrap();

    let out = checker().current_dir(c).args(["reset", "connect"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("connect is back to its starter"), "{text}");
    assert!(text.contains(".workbook/backups/connect-"), "{text}");

    // The starter is the course's, not the student's own commit.
    let starter = std::fs::read_to_string(workspace_root().join("exercises/connect/src/lib.rs")).unwrap();
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), starter);
    assert!(!c.join("exercises/connect/src/extra.rs").exists(), "a file the starter lacks is removed");
    assert_eq!(std::fs::read_to_string(&checks).unwrap(), edited_checks, "only editable files are reset");

    // Every editable file the student had is in the backup.
    let saved = backups(c, "connect");
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(std::fs::read_to_string(saved[0].join("src/lib.rs")).unwrap(), "// attempt 2, not committed\n");
    assert_eq!(std::fs::read_to_string(saved[0].join("src/extra.rs")).unwrap(), "// a module of mine\n");

    // A second reset at once has nothing new to keep, and must not
    // overwrite the first backup (its name has the same second).
    let out = checker().current_dir(c).args(["reset", "connect"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(&lib, "// attempt 3\n").unwrap();
    let out = checker().current_dir(c).args(["reset", "connect"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let saved = backups(c, "connect");
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert_eq!(std::fs::read_to_string(saved[0].join("src/lib.rs")).unwrap(), "// attempt 2, not committed\n");
    assert_eq!(std::fs::read_to_string(saved[1].join("src/lib.rs")).unwrap(), "// attempt 3\n");
}

#[test]
fn reset_without_git_history_says_so_and_touches_nothing() {
    let course = tempfile::tempdir().unwrap();
    let c = course.path();
    common::copy_tree(&workspace_root().join("exercises"), &c.join("exercises"));
    let lib = c.join("exercises/connect/src/lib.rs");
    std::fs::write(&lib, "// my work\n").unwrap();
    let out = checker().current_dir(c).args(["reset", "connect"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("git clone of the course") && err.contains("Your files are untouched"), "{err}");
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), "// my work\n");
    assert!(backups(c, "connect").is_empty());
}

/// Regression: a second copy of the course sharing the target dir with a
/// checkout already built by plain cargo (a global CARGO_TARGET_DIR, a
/// re-clone, an unpacked archive) is checked against its own files.
/// Cargo reuses the first checkout's binary (same crate path, sources no
/// newer than the build), so a check that baked in the path it was
/// compiled at would read the first checkout's starters and report 0.
/// Both kinds of answer are tried: migrations (`first_migration`) and SQL
/// files the checks read by name (`queries`' drills).
#[test]
fn a_second_copy_sharing_the_target_dir_is_checked_against_its_own_files() {
    let _builds = common::scratch_course_builds();
    let second = scratch_course();
    let first = scratch_course();
    let target = workspace_root().join("target");
    let slugs = ["first_migration", "queries"];
    // The first checkout, built the plain way, after the second was made:
    // the second's sources are older than this build.
    let mut build = std::process::Command::new(env!("CARGO"));
    build.current_dir(first.path()).env("CARGO_TARGET_DIR", &target).args(["test", "--quiet"]);
    for slug in slugs {
        build.args(["-p", slug]);
    }
    let built = build.args(["--test", "checks", "--no-run"]).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    for slug in slugs {
        copy_whole_solution(second.path(), slug);
        let out = checker()
            .current_dir(second.path())
            .env("CARGO_TARGET_DIR", &target)
            .arg("--database-url")
            .arg(database_url())
            .args(["run", slug, "--format", "json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let run: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let failed: Vec<&serde_json::Value> =
            run["checks"].as_array().unwrap().iter().filter(|c| c["status"] != "passed").collect();
        assert!(
            failed.is_empty(),
            "{slug}: the second copy's own (solved) files were not the ones checked: {failed:#?}"
        );
        assert_eq!(out.status.code(), Some(0), "{slug}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
