//! The checker makes every check's database (`db::checkdbs`): a check
//! process holds no URL that could reach more than its own databases, a
//! submission's role reaches only its own and is held to its own
//! connection limit, and the checks still run by hand with `cargo test`.

use crate::common;

use std::path::PathBuf;

use common::{checker, copy_tree, workspace_root};
use sqlx::{Connection, Executor, PgConnection};

use checker::db::checkdbs::{CheckRole, Prepared, Target};
use checker::grade::server::GradingServer;

fn probe_src() -> PathBuf {
    workspace_root().join("checker/tests/fixtures/connect/probes_urls/src")
}

/// What the probing fixture found: how many URLs, and what they could do.
fn probe_line(text: &str) -> Option<(usize, String)> {
    let line = text.lines().find_map(|l| l.split("probe: tried ").nth(1))?;
    let (n, rest) = line.split_once(" urls; powerful: ")?;
    Some((n.parse().ok()?, rest.trim_end_matches(['"', '\\', '.']).to_owned()))
}

/// A superuser URL in the checker's own environment, as a CI job or the
/// Classroom template sets one.
fn superuser_url() -> String {
    common::database_url()
}

#[test]
fn a_check_process_holds_no_url_of_the_checker_in_a_students_run() {
    let answer = tempfile::tempdir().unwrap();
    copy_tree(&probe_src(), &answer.path().join("src"));
    let url = superuser_url();
    let out = checker().env("DATABASE_URL", &url).args(["dev", "try", "connect"]).arg(answer.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (tried, powerful) = probe_line(&stdout)
        .unwrap_or_else(|| panic!("the probe ran and reported:\n{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(tried >= 1, "it found at least its own database's URL: {stdout}");
    // On a student's own server the role may sign in to the shared
    // `postgres` database (PUBLIC may, there), but nothing more.
    for power in ["superuser", "creates databases"] {
        assert!(!powerful.contains(power), "a URL in the check process {power}: {powerful}");
    }
    // The checker's URL was in the checker's environment all along.
    assert!(!stdout.contains(&url), "the checker's URL reached the checks' output");
}

#[test]
fn a_graded_check_process_holds_no_superuser_url() {
    let _builds = common::in_place_builds();
    let class = tempfile::tempdir().unwrap();
    for (folder, src) in
        [("a_prober", Some(probe_src())), ("b_solved", Some(workspace_root().join("solutions/connect/src")))]
    {
        let dir = class.path().join(folder);
        copy_tree(&workspace_root().join("exercises/connect"), &dir.join("exercises/connect"));
        if let Some(src) = src {
            copy_tree(&src, &dir.join("exercises/connect/src"));
        }
    }
    let out_dir = tempfile::tempdir().unwrap();
    let run = checker()
        .env("DATABASE_URL", superuser_url())
        .args(["grade"])
        .arg(class.path())
        .arg("--out")
        .arg(out_dir.path())
        // Signing in with a password is slow in a debug build.
        .env("WORKBOOK_CHECK_TIMEOUT", "30")
        .args(["--only", "connect", "--jobs", "2", "--timeout", "60"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let feedback = std::fs::read_to_string(out_dir.path().join("feedback/a_prober.md")).unwrap();
    let (tried, powerful) = probe_line(&feedback).unwrap_or_else(|| panic!("the probe reported:\n{feedback}"));
    assert!(tried >= 1, "{feedback}");
    assert_eq!(powerful, "none", "{feedback}");
    let grades = std::fs::read_to_string(out_dir.path().join("grades.csv")).unwrap();
    let solved = grades.lines().find(|l| l.starts_with("b_solved,")).unwrap().to_owned();
    let f: Vec<&str> = solved.split(',').collect();
    assert_eq!(f[1], f[3], "the honest submission graded beside it gets full marks: {grades}");
}

/// The databases the checker makes for `role`, as a run makes them.
async fn made_for(server: &GradingServer, role: &checker::grade::server::Role, prefix: &str, n: usize) -> Vec<String> {
    let target = Target {
        admin_url: server.url.clone(),
        role: CheckRole { name: role.name.clone(), url: role.url.clone(), created: false },
        tablespace: server.tablespace.clone(),
    };
    let checks: Vec<String> = (0..n).map(|i| format!("check_{i}")).collect();
    let (dbs, _made) = Prepared::start(&target, prefix, 1).assign(&checks).await.unwrap();
    dbs.checks.values().map(|d| d.url.clone()).collect()
}

#[test]
fn a_submission_role_reaches_only_its_own_databases_within_its_own_limit() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let server = GradingServer::start(dir.path().join("pg"), None).await.unwrap();
        assert_eq!(server.tablespace.is_some(), checker::db::fast::available());
        let fast_dir = checker::db::fast::directory(&server.url).await;
        let limit = 4;
        let a = server.create_role(0, limit).await.unwrap();
        let b = server.create_role(1, limit).await.unwrap();
        let prefix = format!("wbchk_{}_t", std::process::id());
        // More checks than were expected: the rest are made on the spot.
        let a_dbs = made_for(&server, &a, &format!("{prefix}a"), 3).await;
        let b_dbs = made_for(&server, &b, &format!("{prefix}b"), 1).await;
        assert_eq!(a_dbs.len(), 3);

        let mut a_conn = PgConnection::connect(&a_dbs[0]).await.expect("A signs in to its own database");
        let owner: String = sqlx::query_scalar(
            "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()",
        )
        .fetch_one(&mut a_conn)
        .await
        .unwrap();
        assert_eq!(owner, a.name, "A owns it, so its migrations may do anything inside it");
        a_conn.execute("CREATE TABLE t (id int PRIMARY KEY)").await.expect("the owner creates tables");

        // B, with A's database name in its own URL: refused, and cannot drop it.
        let a_name = a_dbs[0].rsplit('/').next().unwrap();
        let refused = PgConnection::connect(&workbook::url_for_database(&b.url, a_name)).await;
        assert!(refused.expect_err("B must not connect to A's database").to_string().contains("permission denied"));
        let mut b_conn = PgConnection::connect(&b_dbs[0]).await.unwrap();
        let dropped = b_conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE "{a_name}" WITH (FORCE)"#))).await;
        assert!(dropped.expect_err("B must not drop A's database").to_string().contains("must be owner"));
        let created = b_conn.execute("CREATE DATABASE made_by_b").await;
        assert!(created.expect_err("a role cannot make databases").to_string().contains("permission denied"));
        assert!(
            PgConnection::connect(&workbook::url_for_database(&b.url, "postgres")).await.is_err(),
            "nor reach the server's own databases"
        );

        // A opens connections until its limit: the next one is refused,
        // and B still gets in.
        let mut held = vec![a_conn];
        for url in a_dbs.iter().cycle().take(limit as usize - 1) {
            held.push(PgConnection::connect(url).await.expect("within A's limit"));
        }
        let over = PgConnection::connect(&a_dbs[1]).await;
        let over = over.expect_err("A is held to its own limit").to_string();
        assert!(over.contains("too many connections for role"), "{over}");
        let b_again = PgConnection::connect(&b_dbs[0]).await.expect("B is not starved by A");
        b_again.close().await.unwrap();
        let superuser_as_b = common::with_user(&b.url, "workbook");
        assert!(
            PgConnection::connect(&superuser_as_b).await.is_err(),
            "no one signs in as the superuser without its password"
        );
        b_conn.close().await.unwrap();
        for c in held {
            c.close().await.unwrap();
        }
        server.drop_role(&a).await;
        server.drop_role(&b).await;
        server.shutdown().await;
        assert!(!fast_dir.is_some_and(|d| d.exists()), "the cluster's tablespace directory is gone with it");
    });
    assert!(!dir.path().join("pg").exists(), "the throwaway cluster is gone");
}

#[test]
fn checks_run_by_hand_still_make_their_own_databases() {
    let _builds = common::in_place_builds();
    let out = std::process::Command::new(checker::runner::cargo_path())
        .current_dir(workspace_root())
        .env("DATABASE_URL", superuser_url())
        .env_remove(workbook::report::var::CHECK_DBS)
        .args(["test", "--quiet", "-p", "connect", "--", "--test-threads", "4"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The starter fails its checks at its todo!()s: each check got its
    // database and ran its body, none failed for want of a database.
    assert!(text.contains("test result: FAILED"), "{text}");
    assert!(text.matches("not yet implemented").count() >= 3, "the bodies ran into the starter's todo!()s:\n{text}");
    for setup_failure in [
        "no database to check against",
        "could not create a check database",
        "could not connect to the check server",
        "made no database",
    ] {
        assert!(!text.contains(setup_failure), "{setup_failure}:\n{text}");
    }
}
