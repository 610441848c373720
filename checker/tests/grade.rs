//! `checker grade` through the real binary, on a class of fixture
//! submissions: a solved one, the untouched starter, one that edited its
//! checks and added a build script and a dependency, one that does not
//! compile, one that hangs, one that spins, one that floods its output, one
//! that allocates past the memory limit, one that tries to drop every
//! database on the server, and one that prints a passing run and exits. Each gets what it
//! earned; the solved one gets everything, every time.

use crate::common;

use std::path::{Path, PathBuf};

use common::{checker, checker_std, copy_tree, workspace_root};

/// A student's copy of the course (its `exercises/connect` and the root
/// manifest), with `src` taken from `src_from` when given.
fn submission(class: &Path, folder: &str, src_from: Option<PathBuf>) -> PathBuf {
    let root = workspace_root();
    let dir = class.join(folder);
    copy_tree(&root.join("exercises/connect"), &dir.join("exercises/connect"));
    std::fs::copy(root.join("Cargo.toml"), dir.join("Cargo.toml")).unwrap();
    if let Some(src) = src_from {
        copy_tree(&src, &dir.join("exercises/connect/src"));
    }
    dir
}

fn fixture_src(name: &str) -> PathBuf {
    workspace_root().join("checker/tests/fixtures/connect").join(name).join("src")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// grades.csv as (student, connect points, max).
fn grades(out: &Path) -> Vec<(String, u32, u32)> {
    let csv = read(&out.join("grades.csv"));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("student,connect,total,max"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect()
}

fn grade(class: &Path, out: &Path) -> std::process::Output {
    checker()
        .args(["grade"])
        .arg(class)
        .arg("--out")
        .arg(out)
        .args(["--only", "connect", "--jobs", "2", "--timeout", "10"])
        .env("WORKBOOK_CHECK_TIMEOUT", "3")
        .output()
        .unwrap()
}

#[test]
fn a_hostile_class_is_graded_fairly_into_every_format() {
    let _builds = common::in_place_builds();
    let class = tempfile::tempdir().unwrap();
    let c = class.path();
    let solution = Some(workspace_root().join("solutions/connect/src"));
    // Sorted first, so it runs while the others are being checked.
    submission(c, "a_dropper", Some(fixture_src("drops_databases")));
    submission(c, "b_solved", solution);
    submission(c, "c_starter", None);
    let cheater = submission(c, "d_cheater", None);
    std::fs::write(cheater.join("exercises/connect/tests/checks.rs"), "#[test]\nfn everything_passes() {}\n").unwrap();
    std::fs::write(cheater.join("exercises/connect/build.rs"), "fn main() {}\n").unwrap();
    let manifest = cheater.join("exercises/connect/Cargo.toml");
    std::fs::write(&manifest, read(&manifest) + "\n[build-dependencies]\ncc = \"1\"\n").unwrap();
    submission(c, "e_broken", Some(fixture_src("does_not_compile")));
    submission(c, "f_hangs", Some(fixture_src("hangs")));
    submission(c, "g_spins", Some(fixture_src("spins")));
    submission(c, "h_floods", Some(fixture_src("floods")));
    submission(c, "i_hogs", Some(fixture_src("hogs_memory")));
    submission(c, "j_forges", Some(fixture_src("forges_passes")));
    let roster_dir = tempfile::tempdir().unwrap();
    let roster = roster_dir.path().join("roster.csv");
    std::fs::write(&roster, "folder,student\nb_solved,ada@uni.example\n").unwrap();
    let class_dir = c.to_path_buf();

    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path();
    let grader = checker_std()
        .args(["grade"])
        .arg(&class_dir)
        .arg("--roster")
        .arg(&roster)
        .arg("--out")
        .arg(out)
        .args(["--only", "connect", "--jobs", "2", "--timeout", "10"])
        .env("WORKBOOK_CHECK_TIMEOUT", "3")
        .env("WORKBOOK_CHECK_MEMORY_MB", "256")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its throwaway cluster is named after it; other tests grade at the
    // same time, with clusters of their own.
    let cluster = format!("grade-pg-{}", grader.id());
    let run = grader.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stdout}{stderr}");

    let g = grades(out);
    let points = |who: &str| g.iter().find(|r| r.0 == who).unwrap_or_else(|| panic!("{who} in {g:?}")).1;
    let max = g[0].2;
    assert!(max >= 5, "connect has its checks: {g:?}");
    assert_eq!(points("ada@uni.example"), max, "the roster renames b_solved, who passes everything: {g:?}");
    let starter = points("c_starter");
    assert_eq!(starter, 0, "an untouched starter earns nothing: {g:?}");
    assert_eq!(points("d_cheater"), starter, "editing the checks gains nothing: {g:?}");
    assert_eq!(points("e_broken"), 0, "{g:?}");
    assert!(points("f_hangs") < max && points("g_spins") < max && points("h_floods") < max, "{g:?}");
    assert!(points("f_hangs") > 0, "a hanging check costs only that check: {g:?}");
    assert!(points("i_hogs") < max && points("i_hogs") > 0, "running out of memory costs only that check: {g:?}");
    assert_eq!(points("j_forges"), 0, "printing `test ... ok` and exiting earns nothing: {g:?}");

    let feedback = read(&out.join("feedback/d_cheater.md"));
    for f in ["exercises/connect/tests/checks.rs", "exercises/connect/build.rs", "exercises/connect/Cargo.toml"] {
        assert!(feedback.contains(f), "the cheater's feedback names {f}:\n{feedback}");
    }
    assert!(!read(&out.join("feedback/ada@uni.example.md")).contains("- `"), "nothing ignored for the honest student");
    let broken = read(&out.join("feedback/e_broken.md"));
    assert!(broken.contains("did not compile") && broken.contains("error"), "{broken}");
    assert!(read(&out.join("feedback/f_hangs.md")).contains("time limit"));
    assert!(read(&out.join("feedback/h_floods.md")).contains("KiB"));
    assert!(read(&out.join("feedback/i_hogs.md")).contains("ran out of memory (its limit is 256 MiB)"));
    let forger = read(&out.join("feedback/j_forges.md"));
    assert!(forger.contains("the check harness never reported it"), "names what was refused:\n{forger}");

    // Gradescope: the documented fields, and scores that add up.
    let gs: serde_json::Value = serde_json::from_str(&read(&out.join("gradescope/c_starter/results.json"))).unwrap();
    let tests = gs["tests"].as_array().unwrap();
    assert_eq!(gs["max_score"], max);
    assert_eq!(gs["score"].as_u64().unwrap(), tests.iter().map(|t| t["score"].as_u64().unwrap()).sum::<u64>());
    for t in tests {
        assert!(t["name"].is_string() && t["output"].is_string() && t["max_score"].is_u64(), "{t}");
        assert!(t["status"] == "passed" || t["status"] == "failed", "{t}");
    }
    // JUnit: well-formed enough to count its cases and failures.
    let junit = read(&out.join("junit/e_broken.xml"));
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert_eq!(junit.matches("<testcase ").count() as u32, max, "{junit}");
    assert_eq!(junit.matches("<failure ").count() as u32, max, "{junit}");
    // GitHub Classroom: base64 of the reporter's JSON.
    let b64 = read(&out.join("classroom/ada@uni.example.b64"));
    let json = base64_decode(b64.trim());
    let cr: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(cr["version"], 1);
    assert_eq!(cr["status"], "pass");
    assert_eq!(cr["max_score"], max);

    // Nothing is left: no roles, no databases, no cluster.
    let left: Vec<_> = std::fs::read_dir(workspace_root().join("target/workbook"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| *n == cluster)
        .collect();
    assert!(left.is_empty(), "the throwaway cluster was removed: {left:?}");

    // Same inputs, same grades, even for the submission whose flood stops
    // its checks part-way (the race is settled by re-running them alone).
    let class2 = tempfile::tempdir().unwrap();
    for who in ["b_solved", "c_starter", "h_floods"] {
        copy_tree(&class_dir.join(who), &class2.path().join(who));
    }
    let again = tempfile::tempdir().unwrap();
    let run = grade(class2.path(), again.path());
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let second: Vec<(String, u32)> = grades(again.path()).into_iter().map(|r| (r.0, r.1)).collect();
    let first: Vec<(String, u32)> =
        [("b_solved", "ada@uni.example"), ("c_starter", "c_starter"), ("h_floods", "h_floods")]
            .iter()
            .map(|(folder, id)| ((*folder).to_owned(), points(id)))
            .collect();
    assert_eq!(first, second);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).expect("valid base64")
}

/// Every exercise's untouched starter, graded as a student would hand it
/// in: not one point anywhere, including checks that only look for
/// something absent.
#[test]
fn untouched_starters_score_nothing_in_any_exercise() {
    let _builds = common::in_place_builds();
    let class = tempfile::tempdir().unwrap();
    let root = workspace_root();
    let student = class.path().join("untouched");
    copy_tree(&root.join("exercises"), &student.join("exercises"));
    std::fs::copy(root.join("Cargo.toml"), student.join("Cargo.toml")).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let run = checker()
        .args(["grade"])
        .arg(class.path())
        .arg("--out")
        .arg(out_dir.path())
        .args(["--jobs", "1", "--timeout", "60"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let json: serde_json::Value = serde_json::from_str(&read(&out_dir.path().join("grades.json"))).unwrap();
    let exercises = json[0]["exercises"].as_array().expect("the student's exercises");
    assert!(exercises.len() >= 6, "every exercise is graded: {json}");
    for ex in exercises {
        let passed: Vec<&str> = ex["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == true)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(passed.is_empty(), "{}'s starter passes {passed:?}", ex["slug"]);
        assert_eq!(ex["points"], 0, "{ex}");
    }
}

/// Graded submissions sign in with a password; a pool whose checks give it
/// a tenth of a second to open its first connection must get it, with two
/// submissions checked at once. (Before the checker stored few-round SCRAM
/// verifiers, every sign-in repeated 4096 rounds of PBKDF2 in an
/// unoptimised check binary, and solved `pooling` submissions lost 2 to 5
/// of its 12 points here.)
#[test]
fn solved_pooling_submissions_score_full_marks_two_at_a_time() {
    let _builds = common::in_place_builds();
    let root = workspace_root();
    let class = tempfile::tempdir().unwrap();
    for who in ["a", "b", "c"] {
        let dir = class.path().join(who);
        copy_tree(&root.join("exercises/pooling"), &dir.join("exercises/pooling"));
        copy_tree(&root.join("solutions/pooling"), &dir.join("exercises/pooling"));
    }
    let out = tempfile::tempdir().unwrap();
    let run = checker()
        .arg("grade")
        .arg(class.path())
        .arg("--out")
        .arg(out.path())
        .args(["--only", "pooling", "--jobs", "2"])
        .output()
        .unwrap();
    let csv = read(&out.path().join("grades.csv"));
    assert_eq!(run.status.code(), Some(0), "{}\n{csv}", String::from_utf8_lossy(&run.stderr));
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows, ["a,12,12,12", "b,12,12,12", "c,12,12,12"], "{csv}");
}
