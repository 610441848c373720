//! The real `checker` binary on the real course and on fixture answers:
//! passing, failing, not compiling, hanging, spinning, flooding, hoarding
//! memory; the embedded server and an external one; bad input of every
//! kind named in the foundation issue.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::{checker, database_url, workspace_root};
use predicates::prelude::*;
use sqlx::{Connection, PgConnection};

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("checker/tests/fixtures").join(name)
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn statuses(run: &serde_json::Value) -> Vec<(String, String)> {
    run["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// Databases on the server whose name starts with `prefix`.
fn databases(url: &str, prefix: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = PgConnection::connect(url).await.expect("connecting to the test server");
        let names: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{prefix}%"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        names
    })
}

/// The tablespace of each database whose name starts with `prefix`.
fn tablespaces(url: &str, prefix: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = PgConnection::connect(url).await.expect("connecting to the test server");
        let sql = "SELECT t.spcname::text FROM pg_database d JOIN pg_tablespace t ON d.dattablespace = t.oid WHERE d.datname LIKE $1";
        let names: Vec<String> = sqlx::query_scalar(sql).bind(format!("{prefix}%")).fetch_all(&mut conn).await.unwrap();
        names
    })
}

#[test]
fn list_names_every_exercise_in_course_order() {
    let out = checker().args(["list", "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let rows = json(&out.stdout);
    let slugs: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs.first(), Some(&"connect"));
    let info = std::fs::read_to_string(workspace_root().join("exercises/info.toml")).unwrap();
    for slug in &slugs {
        assert!(info.contains(&format!("slug = \"{slug}\"")), "{slug} not in info.toml");
    }
}

#[test]
fn an_unknown_exercise_is_a_usage_error_that_suggests_the_closest() {
    checker().args(["run", "conect"]).assert().code(2).stderr(
        predicate::str::contains("no exercise named `conect`").and(predicate::str::contains("Did you mean `connect`?")),
    );
}

#[test]
fn the_starter_fails_with_messages_and_leaves_no_database_behind() {
    let _builds = common::in_place_builds();
    let url = database_url();
    let child = common::checker_std()
        .args(["--database-url", &url, "run", "connect", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let run = json(&out.stdout);
    assert_eq!(run["outcome"], "checked");
    let failed: Vec<_> = run["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "failed").collect();
    assert!(failed.len() >= 6, "{run:#}");
    for c in failed {
        let got = c["detail"]["got"].as_str().unwrap_or("");
        assert!(got.contains("not yet implemented"), "{c:#}");
        assert!(c["detail"]["location"].as_str().unwrap_or("").contains("src/lib.rs"), "{c:#}");
    }
    assert_eq!(databases(&url, &format!("wbchk_{pid}_")), Vec::<String>::new());
}

#[test]
fn the_solution_passes_on_an_external_server_given_by_database_url() {
    let url = external_url();
    // A copy: the embedded-default test tries solutions/connect itself, and
    // two runs of one directory at once would share an overlay.
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("src")).unwrap();
    std::fs::copy(workspace_root().join("solutions/connect/src/lib.rs"), copy.path().join("src/lib.rs")).unwrap();
    let out = checker()
        .env("DATABASE_URL", &url)
        .args(["dev", "try", "connect", "--format", "json"])
        .arg(copy.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = json(&out.stdout);
    let all = statuses(&run);
    assert!(all.len() >= 8 && all.iter().all(|(_, s)| s == "passed"), "{all:?}");
}

#[test]
fn the_solution_passes_on_the_embedded_default() {
    let out = checker().args(["dev", "try", "connect", "solutions/connect"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("checks pass"), "{text}");
}

#[test]
fn a_compile_error_shows_the_compilers_message_at_the_students_file() {
    let out = checker().args(["dev", "try", "connect"]).arg(fixture("connect/does_not_compile")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("does not compile"), "{text}");
    assert!(text.contains("error[E0308]"), "{text}");
    assert!(text.contains("src/lib.rs:27"), "{text}");
}

#[test]
fn a_check_that_awaits_forever_is_stopped_at_the_check_time_limit() {
    let out = checker()
        .env("WORKBOOK_CHECK_TIMEOUT", "2")
        .args(["dev", "try", "connect", "--format", "json"])
        .arg(fixture("connect/hangs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run = json(&out.stdout);
    let hung: Vec<_> =
        run["checks"].as_array().unwrap().iter().filter(|c| c["detail"]["kind"] == "timed_out").collect();
    assert!(!hung.is_empty(), "{run:#}");
    assert!(hung.iter().all(|c| c["name"].as_str().unwrap().starts_with("health_check")), "{run:#}");
    // The checks that don't call health_check still pass.
    assert!(statuses(&run).iter().any(|(n, s)| n.starts_with("connect_opens") && s == "passed"));
}

#[test]
fn a_check_that_spins_forever_is_killed_at_the_run_time_limit() {
    let started = std::time::Instant::now();
    let out = checker()
        .env("WORKBOOK_RUN_TIMEOUT", "8")
        .args(["dev", "try", "connect", "--format", "json"])
        .arg(fixture("connect/spins"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(60));
    let run = json(&out.stdout);
    let timed_out: Vec<_> = statuses(&run).into_iter().filter(|(_, s)| s == "timed_out").collect();
    assert!(!timed_out.is_empty(), "{run:#}");
}

#[test]
fn a_check_that_prints_without_end_is_cut_at_the_output_cap() {
    let out = checker()
        .args(["dev", "try", "connect", "--format", "json"])
        .arg(fixture("connect/floods"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run = json(&out.stdout);
    assert_eq!(run["output_truncated"], true, "{run:#}");
}

#[test]
fn a_check_that_allocates_without_end_is_stopped_at_the_memory_limit() {
    let out = checker()
        .env("WORKBOOK_CHECK_MEMORY_MB", "256")
        .args(["dev", "try", "connect", "--format", "json"])
        .arg(fixture("connect/hogs_memory"))
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let run = json(&out.stdout);
    assert_eq!(run["crashed"], true, "{run:#}");
    let checks = run["checks"].as_array().unwrap();
    let health: Vec<_> = checks.iter().filter(|c| c["name"].as_str().unwrap().starts_with("health_check")).collect();
    assert!(!health.is_empty());
    for c in health {
        assert_eq!(c["status"], "failed", "{c:#}");
        let got = c["detail"]["got"].as_str().unwrap_or("");
        assert!(got.contains("ran out of memory (its limit is 256 MiB)"), "{c:#}");
    }
}

#[test]
fn a_server_that_refuses_connections_is_an_environment_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    checker()
        .args(["--database-url", &format!("postgres://nobody@127.0.0.1:{port}/postgres"), "run", "connect"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("could not connect").and(predicate::str::contains("Nothing is listening there")),
        );
}

#[test]
fn a_role_without_createdb_is_told_how_to_grant_it() {
    let admin = external_url();
    let role = format!("wb_nocreate_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOCREATEDB")))
            .execute(&mut c)
            .await
            .unwrap();
    });
    let url = common::with_user(&admin, &role);
    let out = checker().args(["--database-url", &url, "run", "connect"]).output().unwrap();
    rt.block_on(async {
        let mut c = PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}"))).execute(&mut c).await.unwrap();
    });
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("may not create databases") && err.contains("CREATEDB"), "{err}");
}

#[test]
fn hints_come_one_more_at_a_time() {
    let dir = scratch_progress();
    let first = checker().env("WORKBOOK_STATE_DIR", dir.path()).args(["hint", "connect"]).output().unwrap();
    let second = checker().env("WORKBOOK_STATE_DIR", dir.path()).args(["hint", "connect"]).output().unwrap();
    let (a, b) = (String::from_utf8_lossy(&first.stdout), String::from_utf8_lossy(&second.stdout));
    assert!(a.contains("Hint 1/") && !a.contains("Hint 2/"), "{a}");
    assert!(b.contains("Hint 1/") && b.contains("Hint 2/"), "{b}");
}

#[test]
fn a_corrupted_progress_file_is_kept_aside_and_the_checker_goes_on() {
    let dir = scratch_progress();
    std::fs::write(dir.path().join("progress.json"), b"{\"done\": [\"conn").unwrap();
    let out = checker().env("WORKBOOK_STATE_DIR", dir.path()).args(["list"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unreadable") && err.contains("verify"), "{err}");
    let kept =
        std::fs::read_dir(dir.path()).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("corrupt"));
    assert!(kept);
}

fn scratch_progress() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The machine's own PostgreSQL (127.0.0.1:5432 here), or
/// `WORKBOOK_EXTERNAL_URL`: the "bring your own server" path.
fn external_url() -> String {
    std::env::var("WORKBOOK_EXTERNAL_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[test]
fn ctrl_c_mid_check_exits_130_and_drops_the_runs_databases() {
    let url = database_url();
    // A copy: `dev try` names its overlay after the directory, and another
    // test runs the same fixture at the same time.
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("src")).unwrap();
    std::fs::copy(fixture("connect/hangs/src/lib.rs"), copy.path().join("src/lib.rs")).unwrap();
    let mut child = common::checker_std()
        .env("WORKBOOK_CHECK_TIMEOUT", "60")
        .args(["dev", "try", "connect"])
        .arg(copy.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("wbchk_{}_", child.id());
    // Wait until the hanging checks hold their databases.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while databases(&url, &prefix).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the checks never created a database");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was interrupted");
        std::thread::sleep(Duration::from_millis(100));
    }
    if std::env::var_os("WORKBOOK_TEST_DATABASE_URL").is_none() && checker::db::fast::available() {
        // On the embedded default, check databases are made in memory.
        let places = tablespaces(&url, &prefix);
        assert!(places.iter().all(|t| t == "workbook_fast"), "{places:?}");
    }
    let sent = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let left = databases(&url, &prefix);
    assert!(
        left.is_empty(),
        "no database of the interrupted run is left: {left:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn with_no_server_programs_and_no_url_the_checker_names_the_three_ways_out() {
    // A course with no embedded cluster yet, and nowhere to find PostgreSQL.
    let course = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(course.path().join("exercises")).unwrap();
    std::fs::copy(workspace_root().join("exercises/info.toml"), course.path().join("exercises/info.toml")).unwrap();
    let out = checker()
        .current_dir(course.path())
        .env("WORKBOOK_PG_SEARCH", "none")
        .env_remove("WORKBOOK_PG_BIN")
        .args(["db", "url"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    for way in ["apt-get install postgresql", "docker compose up -d", "DATABASE_URL"] {
        assert!(err.contains(way), "names {way}: {err}");
    }
}

#[test]
fn a_build_waiting_for_another_cargos_lock_says_so_and_goes_on_when_it_is_free() {
    let _builds = common::in_place_builds();
    use std::io::{BufRead, BufReader};
    let url = database_url();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    // Hold the lock cargo takes on the build directory, as a `cargo build`
    // in another terminal would.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target.join("debug/.cargo-lock"))
        .unwrap();
    lock.lock().unwrap();
    // Without the record of connect's last build, the checker cannot tell
    // that nothing changed and must ask cargo.
    let _ = std::fs::remove_file(target.join("workbook-sources/exercises+connect.built"));
    let mut child = common::checker_std()
        .args(["--database-url", &url, "run", "connect"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut said = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        said.push(line);
        if said.last().unwrap().contains("waiting for another cargo command to finish") {
            break;
        }
    }
    lock.unlock().unwrap();
    assert!(
        said.last().is_some_and(|l| l.contains("waiting for another cargo command to finish")),
        "the checker did not say it was waiting for the lock: {said:?}"
    );
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "the starter is checked once the lock is free: {text}");
    assert!(text.contains("checks pass"), "{text}");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly_with_success() {
    // `checker list --format json | head -1`, made certain: the reader is
    // gone before the checker writes anything.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = common::checker_std()
        .args(["list", "--format", "json"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "nothing said about the pipe: {err}");
}

#[test]
fn help_documents_every_exit_code_including_ctrl_c() {
    let out = checker().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for code in ["0  every check passed", "1  some checks failed", "2  usage error", "3  environment error", "130"] {
        assert!(text.contains(code), "--help lacks {code:?}:\n{text}");
    }
    assert!(text.contains("130  interrupted (Ctrl-C)"), "{text}");
}

#[test]
fn serve_refuses_an_exercise_that_is_not_served_over_http() {
    checker()
        .args(["serve", "connect"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not served over HTTP").and(predicate::str::contains("student_api")));
}

/// `serve` runs the student's own code (here the untouched starter, whose
/// router has no JSON fallback yet) on the port it reports, against the
/// exercise's sandbox database (only migrated up, which changes nothing
/// the sandbox already has).
#[test]
fn serve_runs_the_student_s_server_against_the_sandbox_until_stopped() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::process::CommandExt;

    let mut cmd = common::checker_std();
    cmd.args(["--database-url", &database_url(), "serve", "student_api", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // A group of its own: cargo hands the terminal's process over to the
        // server, so stopping the group stops all of it, as Ctrl-C does.
        .process_group(0);
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut all);
        all
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_owned);
    let answer = address.as_ref().map(|addr| {
        let mut conn = std::net::TcpStream::connect(addr.as_str()).unwrap();
        write!(conn, "GET /nowhere HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        reply
    });
    let pid = child.id() as i32;
    let _ = std::process::Command::new("kill").args(["-s", "TERM", "--", &format!("-{pid}")]).status();
    let _ = child.wait();
    let said = said.join().unwrap();
    assert!(first.starts_with("serving student_api on http://127.0.0.1:"), "{first:?}\n{said}");
    assert!(said.contains("sandbox database: ") && said.contains("wbsandbox_student_api"), "{said}");
    let answer = answer.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("content-length: 0"), "the starter's default fallback, not a JSON one: {answer}");
}
