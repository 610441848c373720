//! Tests for `checker::migrate`, the engine of `checker migrate EX
//! up|down|status|new`: each database test runs in a database of its own,
//! created on the test server and dropped afterwards, with migration files
//! in a temporary directory.

use crate::common;

use std::path::{Path, PathBuf};

use checker::migrate::{self, MigrateError, State};
use sqlx::{Connection, Executor, PgConnection};

/// A fresh database on the test server, dropped when this goes out of
/// scope, even when the test panics.
struct TestDb {
    server: String,
    name: String,
    url: String,
}

impl TestDb {
    async fn create() -> TestDb {
        let server = common::database_url();
        // The wbchk_<pid>_ prefix lets the checker's sweep remove it if
        // this process dies before dropping it.
        let name = format!("wbchk_{}_mig_{:08x}", std::process::id(), fastrand::u32(..));
        let mut admin = PgConnection::connect(&server).await.expect("connecting to the test server");
        admin.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).await.expect("creating a database");
        let _ = admin.close().await;
        let url = checker::db::url_with_database(&server, &name);
        TestDb { server, name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async code (and maybe while unwinding): do the
        // DROP DATABASE on a thread with a runtime of its own.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                admin.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// `exercises/<slug>/migrations` inside a temporary directory, so messages
/// can name the exercise.
fn migrations_dir(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("exercises/demo_ex/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (tmp, dir)
}

const TWO: &[(&str, &str)] = &[
    ("1_create_books.up.sql", "CREATE TABLE books (id bigserial PRIMARY KEY, title text NOT NULL);\n"),
    ("1_create_books.down.sql", "DROP TABLE books;\n"),
    ("2_index_titles.up.sql", "CREATE INDEX books_title_idx ON books (title);\n"),
    ("2_index_titles.down.sql", "DROP INDEX books_title_idx;\n"),
];

fn states(list: &[migrate::Status]) -> Vec<(i64, State)> {
    list.iter().map(|s| (s.version, s.state)).collect()
}

async fn table_exists(url: &str, table: &str) -> bool {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(table).fetch_one(&mut conn).await.unwrap();
    let _ = conn.close().await;
    exists
}

#[tokio::test]
async fn up_down_and_status_walk_the_migrations_in_order() {
    let (_tmp, dir) = migrations_dir(TWO);
    let db = TestDb::create().await;
    let url = db.url.clone();
    {
        assert_eq!(states(&migrate::status(&url, &dir).await.unwrap()), [(1, State::Pending), (2, State::Pending)]);

        let ran = migrate::up(&url, &dir).await.unwrap();
        assert_eq!(ran.iter().map(|a| a.version).collect::<Vec<_>>(), [1, 2]);
        assert!(ran[0].file.ends_with("1_create_books.up.sql"));
        assert!(table_exists(&url, "books").await);
        assert!(migrate::up(&url, &dir).await.unwrap().is_empty(), "nothing left to apply");
        let status = migrate::status(&url, &dir).await.unwrap();
        assert_eq!(states(&status), [(1, State::Applied), (2, State::Applied)]);
        assert_eq!(status[1].to_string(), "2_index_titles: applied");

        let reverted = migrate::down(&url, &dir).await.unwrap().expect("one migration reverted");
        assert_eq!(reverted.version, 2);
        assert!(reverted.file.ends_with("2_index_titles.down.sql"));
        assert!(table_exists(&url, "books").await, "down reverts only the newest");
        assert_eq!(states(&migrate::status(&url, &dir).await.unwrap()), [(1, State::Applied), (2, State::Pending)]);

        assert_eq!(migrate::down(&url, &dir).await.unwrap().map(|a| a.version), Some(1));
        assert!(!table_exists(&url, "books").await);
        assert_eq!(migrate::down(&url, &dir).await.unwrap(), None);
    }
}

#[tokio::test]
async fn editing_an_applied_migration_is_refused_with_why_and_what_to_do() {
    let (_tmp, dir) = migrations_dir(TWO);
    let db = TestDb::create().await;
    let url = db.url.clone();
    {
        migrate::up(&url, &dir).await.unwrap();
        std::fs::write(
            dir.join("1_create_books.up.sql"),
            "CREATE TABLE books (id bigserial PRIMARY KEY, title text);\n",
        )
        .unwrap();
        let status = migrate::status(&url, &dir).await.unwrap();
        assert_eq!(states(&status), [(1, State::Modified), (2, State::Applied)]);

        let err = migrate::up(&url, &dir).await.unwrap_err();
        assert!(matches!(err, MigrateError::Modified { version: 1, .. }), "{err:?}");
        let text = err.to_string();
        let database = url.rsplit('/').next().unwrap();
        for needle in [
            "1_create_books was already applied",
            "checksum",
            "would never run your edit",
            "cargo checker migrate demo_ex new <what_it_changes>",
            "cargo checker migrate demo_ex down",
            database,
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }

        // The way out the message offers works: revert both, apply the edit.
        migrate::down(&url, &dir).await.unwrap();
        migrate::down(&url, &dir).await.unwrap();
        assert_eq!(migrate::up(&url, &dir).await.unwrap().len(), 2);
        assert_eq!(states(&migrate::status(&url, &dir).await.unwrap()), [(1, State::Applied), (2, State::Applied)]);
    }
}

#[tokio::test]
async fn a_failing_migration_names_its_file_line_and_column() {
    let (_tmp, dir) = migrations_dir(&[
        ("1_create_books.up.sql", "-- books\nCREATE TABLE books (\n    title txt NOT NULL\n);\n"),
        ("1_create_books.down.sql", "DROP TABLE books;\n"),
    ]);
    let db = TestDb::create().await;
    let url = db.url.clone();
    {
        let err = migrate::up(&url, &dir).await.unwrap_err();
        let MigrateError::Sql { file, line, column, .. } = &err else { panic!("{err:?}") };
        assert!(file.ends_with("1_create_books.up.sql"));
        assert_eq!((*line, *column), (Some(3), Some(11)));
        let text = err.to_string();
        assert!(text.contains("1_create_books.up.sql:3:11: type \"txt\" does not exist"), "{text}");
        assert!(text.contains("nothing of that file was kept"), "{text}");
        assert_eq!(states(&migrate::status(&url, &dir).await.unwrap()), [(1, State::Pending)]);
    }
}

#[tokio::test]
async fn down_without_a_down_file_is_refused_and_changes_nothing() {
    let (_tmp, dir) = migrations_dir(&TWO[..3]);
    let db = TestDb::create().await;
    let url = db.url.clone();
    {
        migrate::up(&url, &dir).await.unwrap();
        let status = migrate::status(&url, &dir).await.unwrap();
        assert!(status[1].to_string().ends_with("(no down file)"), "{}", status[1]);
        let err = migrate::down(&url, &dir).await.unwrap_err();
        assert!(matches!(err, MigrateError::NoDown { version: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("create 2_index_titles.down.sql next to it"), "{err}");
        assert_eq!(states(&migrate::status(&url, &dir).await.unwrap()), [(1, State::Applied), (2, State::Applied)]);
    }
}

#[tokio::test]
async fn a_migration_whose_file_is_gone_shows_as_missing() {
    let (_tmp, dir) = migrations_dir(TWO);
    let db = TestDb::create().await;
    let url = db.url.clone();
    {
        migrate::up(&url, &dir).await.unwrap();
        std::fs::remove_file(dir.join("2_index_titles.up.sql")).unwrap();
        std::fs::remove_file(dir.join("2_index_titles.down.sql")).unwrap();
        assert_eq!(states(&migrate::status(&url, &dir).await.unwrap()), [(1, State::Applied), (2, State::Missing)]);
        let err = migrate::up(&url, &dir).await.unwrap_err();
        assert!(matches!(err, MigrateError::Missing { version: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("restore the file"), "{err}");
    }
}

#[test]
fn new_creates_a_timestamped_pair_that_sorts_last() {
    let (_tmp, dir) = migrations_dir(&[]);
    let (up, down) = migrate::new(&dir, "Create books").unwrap();
    let name = up.file_name().unwrap().to_string_lossy().into_owned();
    let (version, rest) = name.split_once('_').unwrap();
    assert_eq!(rest, "create_books.up.sql");
    assert_eq!(version.len(), 14, "YYYYMMDDHHMMSS: {name}");
    let now: i64 = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string().parse().unwrap();
    let version: i64 = version.parse().unwrap();
    assert!(now - version < 100, "version {version} is not about now ({now})");
    assert_eq!(down, dir.join(format!("{version}_create_books.down.sql")));
    assert!(std::fs::read_to_string(&up).unwrap().starts_with("-- Up: create books."));
    assert!(std::fs::read_to_string(&down).unwrap().starts_with("-- Down:"));

    // Made in the same second, or after a migration dated in the future:
    // still a version of its own, and last.
    let (second, _) = migrate::new(&dir, "index_titles").unwrap();
    assert!(file_version(&second) > version);
    std::fs::write(dir.join("99990101000000_from_the_future.up.sql"), "").unwrap();
    let (third, _) = migrate::new(&dir, "after_it").unwrap();
    assert_eq!(file_version(&third), 99990101000001);

    assert!(matches!(migrate::new(&dir, "drop; table"), Err(MigrateError::BadName { .. })));
    let err = migrate::new(&dir, "").unwrap_err().to_string();
    assert!(err.contains("lowercase words joined by underscores"), "{err}");
}

#[test]
fn the_chapter_quotes_the_refusal_as_the_checker_words_it() {
    let chapter = std::fs::read_to_string(common::workspace_root().join("book/src/first_migration/index.md"))
        .expect("reading the first_migration chapter");
    let err = MigrateError::Modified {
        exercise: "first_migration".into(),
        database: "wbsandbox_first_migration".into(),
        version: 20250101000000,
        name: "20250101000000_create_students".into(),
        file: "exercises/first_migration/migrations/20250101000000_create_students.up.sql".into(),
    };
    let first_line = err.to_string().lines().next().unwrap().to_owned();
    assert!(chapter.contains(&first_line), "the chapter should quote, on one line:\n{first_line}");
}

#[test]
fn the_engine_futures_can_be_spawned() {
    // The CLI may run them on a spawned task: they must be Send.
    fn assert_send<T: Send>(_: &T) {}
    let dir = Path::new("m");
    assert_send(&migrate::up("postgres://x/y", dir));
    assert_send(&migrate::down("postgres://x/y", dir));
    assert_send(&migrate::status("postgres://x/y", dir));
}

#[test]
fn new_makes_the_directory_when_there_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exercises/fresh/migrations");
    let (up, down) = migrate::new(&dir, "first").unwrap();
    assert!(up.is_file() && down.is_file());
}

fn file_version(path: &Path) -> i64 {
    path.file_name().unwrap().to_string_lossy().split('_').next().unwrap().parse().unwrap()
}

/// `checker seed EX new NAME`: a pair named like the seeds already there,
/// sorting after them, with comments that teach what a seed must do.
#[test]
fn seed_new_creates_a_timestamped_pair_after_the_seeds_there() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("seeds");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("1_default_cohorts.up.sql"), "SELECT 1;").unwrap();
    std::fs::write(dir.join("1_default_cohorts.down.sql"), "SELECT 1;").unwrap();
    let (up, down) = checker::seed::new(&dir, "Demo students").unwrap();
    let version = file_version(&up);
    assert!(version > 20_000_000_000_000, "a timestamp, not 2: {}", up.display());
    assert_eq!(up, dir.join(format!("{version}_demo_students.up.sql")));
    assert_eq!(down, dir.join(format!("{version}_demo_students.down.sql")));
    let up_text = std::fs::read_to_string(&up).unwrap();
    assert!(up_text.starts_with("-- Seed: demo students.") && up_text.contains("ON CONFLICT"), "{up_text}");
    assert!(std::fs::read_to_string(&down).unwrap().contains("DELETE exactly the rows"));
    let (next, _) = checker::seed::new(&dir, "more").unwrap();
    assert!(file_version(&next) > version);
    let err = checker::seed::new(&dir, "drop; table").unwrap_err().to_string();
    assert!(err.contains("cannot name a seed") && err.contains("demo_students"), "{err}");
}
