//! `checker migrate`, `checker seed` and `checker db reset` through the
//! real binary, on a scratch copy of the course and a live server: what a
//! student types to try migrations and seeds by hand.
//!
//! Sandbox databases are named after the exercise (`wbsandbox_<slug>`), so
//! each test here works on a different exercise and never shares one.

use crate::common;

use std::path::{Path, PathBuf};

use common::{checker, copy_tree, database_url, workspace_root};
use sqlx::{Connection, PgConnection};

/// A copy of the course's exercises and solutions (no build output): the
/// checker finds the course by `exercises/info.toml`.
fn scratch_course() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["exercises", "solutions"] {
        copy_tree(&workspace_root().join(part), &dir.path().join(part));
    }
    dir
}

/// The checker in `course`, on the test server.
fn run(course: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = checker().current_dir(course).arg("--database-url").arg(url).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn query_i64(url: &str, sql: &'static str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = PgConnection::connect(url).await.expect("connecting to the sandbox");
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        n
    })
}

fn sandbox_url(server: &str, slug: &str) -> String {
    workbook::url_for_database(server, &format!("wbsandbox_{slug}"))
}

fn solve(course: &Path, slug: &str, sub: &str) {
    let from = course.join("solutions").join(slug).join(sub);
    let to = course.join("exercises").join(slug).join(sub);
    copy_tree(&from, &to);
}

fn migration_file(course: &Path, slug: &str, suffix: &str) -> PathBuf {
    let dir = course.join("exercises").join(slug).join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files.remove(0)
}

#[test]
fn migrate_walks_up_and_down_and_refuses_an_edited_migration_with_the_way_out() {
    let server = database_url();
    let course = scratch_course();
    let c = course.path();
    let sandbox = sandbox_url(&server, "first_migration");
    solve(c, "first_migration", "migrations");
    assert_eq!(run(c, &server, &["db", "reset", "first_migration"]).0, 0);

    let (code, out, _) = run(c, &server, &["migrate", "first_migration", "status"]);
    assert_eq!(code, 0);
    assert!(out.contains("create_students: pending"), "{out}");

    let (code, out, err) = run(c, &server, &["migrate", "first_migration", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Applied") && out.contains("create_students.up.sql"), "{out}");
    assert!(err.contains("wbsandbox_first_migration"), "says which database it used: {err}");
    let tables = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'students'";
    assert_eq!(query_i64(&sandbox, tables), 1, "up created the table in the sandbox");

    // Edit the applied migration: up refuses, says why and what to do.
    let up_file = migration_file(c, "first_migration", ".up.sql");
    let mut text = std::fs::read_to_string(&up_file).unwrap();
    text.push_str("\nCREATE INDEX students_name_idx ON students (name);\n");
    std::fs::write(&up_file, &text).unwrap();
    let (code, out, err) = run(c, &server, &["migrate", "first_migration", "up"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("already applied"), "{err}");
    assert!(err.contains("cargo checker migrate first_migration new"), "{err}");
    assert!(err.contains("cargo checker db reset first_migration"), "{err}");
    let (_, out, _) = run(c, &server, &["migrate", "first_migration", "status"]);
    assert!(out.contains("file changed"), "{out}");

    // The way out it names: revert, then apply the edited file.
    let (code, out, err) = run(c, &server, &["migrate", "first_migration", "down"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Reverted"), "{out}");
    assert_eq!(query_i64(&sandbox, tables), 0, "down dropped the table");
    assert_eq!(run(c, &server, &["migrate", "first_migration", "up"]).0, 0);
    let index = "SELECT count(*) FROM pg_indexes WHERE indexname = 'students_name_idx'";
    assert_eq!(query_i64(&sandbox, index), 1, "the edit was applied");

    // A new pair sorts after the existing one; broken SQL names its file and line.
    let (code, out, _) = run(c, &server, &["migrate", "first_migration", "new", "Add phone"]);
    assert_eq!(code, 0);
    assert!(out.contains("_add_phone.up.sql") && out.contains("_add_phone.down.sql"), "{out}");
    let new_up = migration_file(c, "first_migration", "_add_phone.up.sql");
    assert!(new_up.file_name().unwrap().to_string_lossy() > up_file.file_name().unwrap().to_string_lossy());
    std::fs::write(&new_up, "-- a phone number\nALTER TABLE students ADD COLUMN phone txet;\n").unwrap();
    let (code, _, err) = run(c, &server, &["migrate", "first_migration", "up"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("_add_phone.up.sql") && err.contains("txet"), "{err}");
    assert!(err.contains("_add_phone.up.sql:2:39") && err.contains("^"), "points at line and column: {err}");
    let (code, _, err) = run(c, &server, &["migrate", "first_migration", "new", "2fast"]);
    assert_eq!(code, 2, "{err}");

    let (code, out, _) = run(c, &server, &["db", "reset", "first_migration"]);
    assert_eq!(code, 0);
    assert!(out.contains("Dropped"), "{out}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let gone = rt.block_on(async { PgConnection::connect(&sandbox).await.is_err() });
    assert!(gone, "db reset dropped the sandbox");
}

#[test]
fn seed_needs_migrations_first_runs_once_and_reverts_only_its_rows() {
    let server = database_url();
    let course = scratch_course();
    let c = course.path();
    let sandbox = sandbox_url(&server, "seeds");
    solve(c, "seeds", "seeds");
    assert_eq!(run(c, &server, &["db", "reset", "seeds"]).0, 0);

    let (code, _, err) = run(c, &server, &["seed", "seeds", "up"]);
    assert_eq!(code, 1, "seeding an unmigrated sandbox fails: {err}");
    assert!(err.contains("cargo checker migrate seeds up"), "{err}");

    let (code, out, err) = run(c, &server, &["seed", "seeds", "fresh"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("default_cohorts: ran"), "{out}");
    let cohorts = "SELECT count(*) FROM cohorts";
    let seeded = query_i64(&sandbox, cohorts);
    assert!(seeded >= 2, "the seed added its cohorts: {seeded}");

    let (code, out, _) = run(c, &server, &["seed", "seeds", "up"]);
    assert_eq!(code, 0);
    assert!(out.contains("unchanged, skipped"), "{out}");
    assert_eq!(query_i64(&sandbox, cohorts), seeded, "a second up adds nothing");

    let (code, out, _) = run(c, &server, &["seed", "seeds", "status"]);
    assert_eq!(code, 0);
    assert!(out.contains("default_cohorts: applied"), "{out}");

    let (code, out, _) = run(c, &server, &["seed", "seeds", "down"]);
    assert_eq!(code, 0);
    assert!(out.contains("reverted"), "{out}");
    assert_eq!(query_i64(&sandbox, cohorts), 0, "down removed the seeded cohorts");

    let (code, _, err) = run(c, &server, &["seed", "connect", "up"]);
    assert_eq!(code, 2);
    assert!(err.contains("has no seeds") && err.contains("seeds"), "{err}");

    assert_eq!(run(c, &server, &["db", "reset", "seeds"]).0, 0);
}
