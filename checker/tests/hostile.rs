//! Grading a hostile submission next to an honest one (issue #13): the
//! attacker (fixture `connect/escapes`) tries every way out of the
//! sandbox from its check process, the peeker (`connect/peeks_at_build`)
//! tries to compile files it must not see into its binary; the honest one
//! is the solution.
//! Graded with `--jobs 2`, sandboxed: the attacker earns what its honest
//! functions earn, its feedback names each refusal, the honest one gets
//! full marks, `--out` holds only what the checker wrote, the course tree
//! is unchanged, and nothing of the submission's is alive afterwards.
//!
//! Each restriction is also shown to bite on its own: the trampoline runs
//! one attack with and without its sandbox policy, and only the
//! unsandboxed run gets through.

use crate::common;

use std::path::{Path, PathBuf};

use common::{checker_std, copy_tree, workspace_root};

/// Where the fixture looks for what it attacks (it has no other way to
/// learn the test's paths: its environment is cleared).
const HOSTILE: &str = "/tmp/workbook-hostile";

fn submission(class: &Path, folder: &str, src: &Path) {
    let root = workspace_root();
    let dir = class.join(folder);
    copy_tree(&root.join("exercises/connect"), &dir.join("exercises/connect"));
    std::fs::copy(root.join("Cargo.toml"), dir.join("Cargo.toml")).unwrap();
    copy_tree(src, &dir.join("exercises/connect/src"));
}

/// Every file under `dir` with its bytes (skipping build output).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> =
        walk(dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == ".workbook" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        } else if entry.file_type().unwrap().is_file() {
            out.push(path);
        }
    }
    out
}

/// Check binaries built in this course's target dir still running.
/// The check binaries of this course still running for grader `grader`.
/// Run as root, each of its check processes has a uid of its own from the
/// block the grader's pid picks (`sandbox::fresh_uid`), and whatever they
/// start keeps it: those are the ones counted, so check binaries other
/// tests run at the same time from the same target dir are not.
fn checks_alive(grader: u32) -> Vec<String> {
    let target = workspace_root().join("target");
    let block = 2_000_000_000 + (grader % 100_000) * 1000;
    let as_root = rustix::process::getuid().is_root();
    let mut alive = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let uid = std::fs::read_to_string(entry.path().join("status")).ok().and_then(|status| {
            status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().next()?.parse().ok())
        });
        let ours = !as_root || uid.is_some_and(|u: u32| (block..block + 1000).contains(&u));
        if ours
            && let Ok(exe) = std::fs::read_link(entry.path().join("exe"))
            && exe.starts_with(&target)
            && exe.file_name().is_some_and(|n| n.to_string_lossy().starts_with("checks-"))
        {
            alive.push(format!("{} {}", entry.file_name().to_string_lossy(), exe.display()));
        }
    }
    alive
}

#[test]
fn an_attacker_graded_beside_an_honest_student_escapes_nothing() {
    let _builds = common::in_place_builds();
    let hostile = Path::new(HOSTILE);
    let _ = std::fs::remove_dir_all(hostile);
    std::fs::create_dir_all(hostile).unwrap();
    std::fs::write(hostile.join("secret.txt"), "the grader's token: hunter2\n").unwrap();
    let class = tempfile::tempdir().unwrap();
    let root = workspace_root();
    submission(class.path(), "attacker", &root.join("checker/tests/fixtures/connect/escapes/src"));
    submission(class.path(), "honest", &root.join("solutions/connect/src"));
    // Reads at compile time: a secret, and a file in the checker's part of
    // the target dir (where the other job slots' overlays live).
    submission(class.path(), "peeker", &root.join("checker/tests/fixtures/connect/peeks_at_build/src"));
    let peek = root.join("target/workbook/peek.txt");
    std::fs::create_dir_all(peek.parent().unwrap()).unwrap();
    std::fs::write(&peek, "a classmate's code: hunter3\n").unwrap();
    // A symbolic link to the secret in an editable place, and a file too
    // big to read whole: both refused, neither copied.
    let attacker_src = class.path().join("attacker/exercises/connect/src");
    std::os::unix::fs::symlink(hostile.join("secret.txt"), attacker_src.join("secret.rs")).unwrap();
    std::fs::write(attacker_src.join("big.rs"), vec![b'/'; 3 * 1024 * 1024]).unwrap();
    let course_before = snapshot(&root.join("exercises"));
    let out = hostile.join("out");

    let grader = checker_std()
        .args(["grade"])
        .arg(class.path())
        .arg("--out")
        .arg(&out)
        .args(["--only", "connect", "--jobs", "2", "--timeout", "60", "--require-sandbox"])
        .env("WORKBOOK_TEST_SECRET", "hunter2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let grader_pid = grader.id();
    let run = grader.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(stderr.lines().nth(1).is_some_and(|l| l.starts_with("Sandbox: Landlock")), "{stderr}");

    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    let points = |who: &str| -> u32 {
        let line = csv.lines().find(|l| l.starts_with(&format!("{who},"))).unwrap_or_else(|| panic!("{who}: {csv}"));
        line.split(',').nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(points("honest"), 8, "{csv}");
    // Its two health_check checks fail on purpose; the rest is honest work
    // (at most 6: a check of its honest functions may still lose to a
    // loaded machine's timeouts, as the honest one's may not).
    assert!(points("attacker") <= 6, "{csv}");
    let feedback = std::fs::read_to_string(out.join("feedback/attacker.md")).unwrap();
    assert!(!feedback.contains("ESCAPED"), "a way out of the sandbox:\n{feedback}");
    for refused in [
        "refused the grader's environment",
        "refused reading a secret file: Permission denied",
        "refused the grader's command line: Permission denied",
        "refused the course's own checks: Permission denied",
        "refused this exercise's checks: Permission denied",
        "refused grades.csv: ",
        "refused connecting to port 5432: Permission denied",
        "refused signalling the grader: Operation not permitted",
        "started a process in its own group: ",
    ] {
        assert!(feedback.contains(refused), "the feedback names {refused:?}:\n{feedback}");
    }
    assert!(!feedback.contains("hunter2") && !feedback.contains("WORKBOOK_TEST_SECRET"), "{feedback}");
    assert!(feedback.contains("src/secret.rs (a symbolic link: refused)"), "{feedback}");
    assert!(feedback.contains("src/big.rs (over 1024 KiB: refused)"), "{feedback}");
    assert_eq!(points("peeker"), 0, "{csv}");
    let peeked = std::fs::read_to_string(out.join("feedback/peeker.md")).unwrap();
    for file in ["/tmp/workbook-hostile/secret.txt", "peek.txt"] {
        let refused = peeked.lines().any(|l| l.contains(file) && l.contains("Permission denied"));
        assert!(refused, "the build was refused {file}:\n{peeked}");
    }
    assert!(!peeked.contains("hunter2") && !peeked.contains("hunter3"), "{peeked}");
    let _ = std::fs::remove_file(&peek);

    // Nothing of the attacker's lives on to edit what grading wrote.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(checks_alive(grader_pid), Vec::<String>::new(), "check processes outlived grading");
    assert_eq!(std::fs::read_to_string(out.join("grades.csv")).unwrap(), csv, "grades.csv changed after grading");
    let mut written: Vec<String> =
        std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    written.sort();
    assert_eq!(written, ["classroom", "feedback", "grades.csv", "grades.json", "gradescope", "junit"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("grades.json")).unwrap()).unwrap();
    assert_eq!(json[0]["sandbox"]["on"], true, "{json}");
    assert!(snapshot(&root.join("exercises")) == course_before, "the course's exercises changed");
    std::fs::remove_dir_all(hostile).unwrap();
}

/// The trampoline with a policy, running `sh -c script` (or without one,
/// for `policy: None`); its exit code.
fn sandboxed_sh(policy: Option<serde_json::Value>, script: &str) -> (i32, String) {
    let policy = policy.map_or_else(|| "-".to_owned(), |p| p.to_string());
    let out = common::checker_std()
        .args(["__sandbox", "none", "0", &policy, "--", "/bin/sh", "-c", script])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn base_policy() -> serde_json::Value {
    serde_json::json!({
        "read": ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", "/proc"],
        "exec": ["/usr/bin", "/bin", "/usr/lib", "/lib", "/lib64"],
        "write": ["/dev/null"],
        "connect": [],
        "connect_ephemeral": false,
        "bind_ephemeral": false,
        "uid": null,
    })
}

#[test]
fn each_sandbox_restriction_bites_and_the_same_attack_works_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "hunter2").unwrap();
    let grader = std::process::id();
    let attacks = [
        ("reading outside the policy", format!("cat {}", secret.display())),
        ("writing outside the policy", format!("echo x >> {}", secret.display())),
        ("signalling a process outside the sandbox", format!("kill -0 {grader}")),
    ];
    for (what, script) in &attacks {
        let (free, err) = sandboxed_sh(None, script);
        assert_eq!(free, 0, "{what} works without the sandbox: {err}");
        let (caught, err) = sandboxed_sh(Some(base_policy()), script);
        assert_ne!(caught, 0, "{what} is refused in the sandbox");
        assert!(err.contains("Permission denied") || err.contains("not permitted"), "{what}: {err}");
    }
    // Granting the path in the policy is what lets it through.
    let mut granted = base_policy();
    granted["read"].as_array_mut().unwrap().push(serde_json::json!(dir.path()));
    assert_eq!(sandboxed_sh(Some(granted), &attacks[0].1).0, 0, "a granted path is readable");

    // TCP: connecting to a port that is not in the policy is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    let bash = |policy: Option<serde_json::Value>| {
        let policy = policy.map_or_else(|| "-".to_owned(), |p| p.to_string());
        let out = common::checker_std()
            .args(["__sandbox", "none", "0", &policy, "--", "/bin/bash", "-c", &probe])
            .output()
            .unwrap();
        out.status.code().unwrap_or(-1)
    };
    assert_eq!(bash(None), 0, "the port is reachable without the sandbox");
    assert_ne!(bash(Some(base_policy())), 0, "and refused inside it");
    let mut allowed = base_policy();
    allowed["connect"] = serde_json::json!([port]);
    assert_eq!(bash(Some(allowed)), 0, "unless the policy names it");
}

/// On a kernel whose Landlock is older than the sandbox wants, the
/// sandbox enforces the rules that kernel knows, no fewer, and grading
/// says what is missing. The ABI cap stands in for the older kernel.
#[test]
fn an_older_kernel_gets_the_parts_of_the_sandbox_it_has_and_grading_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "hunter2").unwrap();
    let grader = std::process::id();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let at = |abi: i32| {
        let mut p = base_policy();
        p["abi"] = serde_json::json!(abi);
        p
    };
    let read = format!("cat {}", secret.display());
    let signal = format!("kill -0 {grader}");
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    // ABI 4: files and ports still refused; signals are what it lacks.
    assert_ne!(sandboxed_sh(Some(at(4)), &read).0, 0, "ABI 4 still enforces file rules");
    assert_eq!(sandboxed_bash(Some(at(4)), &connect), 1, "ABI 4 still enforces port rules");
    assert_eq!(sandboxed_sh(Some(at(4)), &signal).0, 0, "ABI 4 has no signal scoping");
    // ABI 3: file rules only.
    assert_ne!(sandboxed_sh(Some(at(3)), &read).0, 0, "ABI 3 still enforces file rules");
    assert_eq!(sandboxed_bash(Some(at(3)), &connect), 0, "ABI 3 has no port rules");
    // As root, the separate uid is what stops the signal without scoping.
    if common::running_as_root() {
        let mut p = at(4);
        p["uid"] = serde_json::json!(2_100_000_000u32 + grader % 1000);
        let (code, err) = sandboxed_sh(Some(p), &signal);
        assert_ne!(code, 0, "a separate uid cannot signal the grader: {err}");
    }

    // Grading names what is missing, and --require-sandbox refuses a sandbox
    // that is not whole.
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let grade = |abi: &str| {
        let run = checker_std()
            .arg("grade")
            .arg(class.path())
            .arg("--out")
            .arg(out.path().join("out"))
            .arg("--require-sandbox")
            .env("WORKBOOK_LANDLOCK_ABI", abi)
            .output()
            .unwrap();
        (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
    };
    let (code, err) = grade("3");
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("PARTIAL: Landlock ABI 3") && err.contains("TCP port rules (Landlock ABI 4"), "{err}");
    let (code, err) = grade("0");
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("Landlock is not available"), "{err}");
    let written = std::fs::read_dir(out.path().join("out")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "nothing was written");
}

/// `bash -c script` in the trampoline (bash, for `/dev/tcp`); its exit code.
fn sandboxed_bash(policy: Option<serde_json::Value>, script: &str) -> i32 {
    let policy = policy.map_or_else(|| "-".to_owned(), |p| p.to_string());
    let out = common::checker_std()
        .args(["__sandbox", "none", "0", &policy, "--", "/bin/bash", "-c", script])
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

/// The trampoline's own first line on the verdict pipe says whether the
/// sandbox was set up: a check binary that prints the failure line itself
/// comes after "started", so it cannot pass its own 0 off as the grader's
/// fault, and a sandbox that fails is reported as such, not as a crash.
#[test]
fn the_verdict_pipe_opens_with_the_trampolines_word_which_the_program_cannot_forge() {
    let run = |policy: &str, script: &str| {
        let (rx, tx) = std::io::pipe().unwrap();
        let mut child = common::checker_std()
            .args(["__sandbox", "none", "0", policy, "--", "/bin/sh", "-c", script])
            .stdin(tx)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { rx }, &mut text).unwrap();
        child.wait().unwrap();
        let first = text.lines().next().unwrap_or("").to_owned();
        (first, workbook::report::read_verdicts(text.as_bytes()).start)
    };
    let forge = format!("echo '{}it was the grader' >&$WORKBOOK_VERDICT_FD", workbook::report::START_FAILED);
    let (first, start) = run(&base_policy().to_string(), &forge);
    assert_eq!(first, workbook::report::STARTED);
    assert_eq!(start, Some(Ok(())), "the forged line after it is not the trampoline's");

    let (first, start) = run("{not a policy", &forge);
    assert!(first.starts_with(workbook::report::START_FAILED), "{first}");
    assert!(matches!(start, Some(Err(why)) if why.contains("reading the sandbox policy")));
}

/// Landlock needs no privilege: a grader that is not root gets the same
/// restrictions (only the separate uid per check process is root's). Run
/// here as `nobody`, through `setpriv`, against files and a process of
/// nobody's own, so that only the sandbox stands in the way.
#[test]
fn an_unprivileged_grader_gets_the_same_sandbox() {
    if !common::running_as_root() {
        // Then the other tests of this module already run unprivileged.
        return;
    }
    let setpriv = Path::new("/usr/bin/setpriv");
    assert!(setpriv.is_file(), "setpriv (util-linux) is needed to run as nobody");
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // A copy nobody can run, wherever the checkout lives.
    let checker = dir.path().join("checker");
    std::fs::copy(assert_cmd::cargo::cargo_bin!("checker"), &checker).unwrap();
    std::fs::set_permissions(&checker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "hunter2").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o666)).unwrap();
    // A process of nobody's, outside any sandbox: nobody may signal it.
    let mut neighbour = std::process::Command::new(setpriv).args(nobody).args(["/bin/sleep", "60"]).spawn().unwrap();
    let as_nobody = |policy: Option<serde_json::Value>, script: &str| {
        let policy = policy.map_or_else(|| "-".to_owned(), |p| p.to_string());
        let out = std::process::Command::new(setpriv)
            .args(nobody)
            .arg(&checker)
            .args(["__sandbox", "none", "0", &policy, "--", "/bin/sh", "-c", script])
            .env_clear()
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let attacks = [
        ("reading", format!("cat {}", secret.display())),
        ("writing", format!("echo x >> {}", secret.display())),
        ("signalling", format!("kill -0 {}", neighbour.id())),
        ("being nobody", "test \"$(id -u)\" = 65534".to_owned()),
    ];
    for (what, script) in &attacks {
        let (free, err) = as_nobody(None, script);
        assert_eq!(free, 0, "{what} works for nobody without the sandbox: {err}");
    }
    for (what, script) in &attacks[..3] {
        let (caught, err) = as_nobody(Some(base_policy()), script);
        assert_ne!(caught, 0, "{what} is refused in nobody's sandbox");
        assert!(err.contains("Permission denied") || err.contains("not permitted"), "{what}: {err}");
    }
    let _ = neighbour.kill();
    let _ = neighbour.wait();
}
