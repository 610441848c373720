//! Tests for `workbook::migrations` and `workbook::catalog` against a live
//! server: each runs in a check database of its own, with migration files
//! written to a scratch directory.

use std::path::PathBuf;
use std::time::Duration;

use workbook::catalog::{self, ConstraintKind};
use workbook::migrations::{self, Direction, MigrationError};
use workbook::{Db, check};

/// A scratch migrations directory holding `files`, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn with(files: &[(&str, &str)]) -> Dir {
        let dir = std::env::temp_dir().join(format!("wb-mig-{}-{:08x}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn snapshot(db: &Db) -> catalog::Snapshot {
    catalog::snapshot(db.pool()).await.unwrap().without_table("_sqlx_migrations")
}

#[test]
fn a_migration_of_only_comments_applies_and_creates_nothing() {
    check(async |db| {
        let dir = Dir::with(&[
            ("1_nothing.up.sql", "-- write the table here\n"),
            ("1_nothing.down.sql", "-- and drop it here\n"),
        ]);
        let before = snapshot(&db).await;
        let applied = migrations::up(db.url(), &dir.0).await.unwrap();
        assert_eq!(applied.len(), 1);
        assert_eq!(before.diff(&snapshot(&db).await), Default::default());
        assert_eq!(migrations::applied(db.url()).await.unwrap().len(), 1);
    });
}

#[test]
fn a_failing_statement_is_reported_with_file_line_and_column() {
    check(async |db| {
        // The error is in the second statement, on line 5: PostgreSQL's
        // position counts from the start of the whole file.
        let up = "-- first a table\nCREATE TABLE a (id int);\n\nCREATE TABLE b (\n    n intt NOT NULL\n);\n";
        let dir =
            Dir::with(&[("7_two_tables.up.sql", up), ("7_two_tables.down.sql", "DROP TABLE b;\nDROP TABLE a;\n")]);
        let err = migrations::up(db.url(), &dir.0).await.unwrap_err();
        let MigrationError::Sql { file, direction, error } = &err else { panic!("{err:?}") };
        assert_eq!(*direction, Direction::Up);
        assert!(file.ends_with("7_two_tables.up.sql"));
        assert_eq!(error.code.as_deref(), Some("42704"));
        let p = error.position.as_ref().expect("a position");
        assert_eq!((p.line, p.column), (5, 7), "{err}");
        let text = err.to_string();
        assert!(text.contains("7_two_tables.up.sql:5:7: type \"intt\" does not exist"), "{text}");
        assert!(text.contains("5 |     n intt NOT NULL"), "{text}");
        assert!(text.contains("  |       ^"), "{text}");
        // Nothing of the failed file is kept: table a rolled back too.
        assert!(!catalog::table_exists(db.pool(), "a").await.unwrap());
    });
}

#[test]
fn a_failed_run_does_not_block_the_next_one() {
    check(async |db| {
        let bad = Dir::with(&[("1_t.up.sql", "CREATE TABLE t (;"), ("1_t.down.sql", "DROP TABLE t;")]);
        assert!(matches!(migrations::up(db.url(), &bad.0).await, Err(MigrationError::Sql { .. })));
        let good = Dir::with(&[("1_t.up.sql", "CREATE TABLE t (n int);"), ("1_t.down.sql", "DROP TABLE t;")]);
        // The advisory lock of the failed run must be gone with its session.
        let again = workbook::timeout(Duration::from_secs(5), migrations::up(db.url(), &good.0)).await;
        assert!(matches!(again, Some(Ok(ref v)) if v.len() == 1), "{again:?}");
    });
}

#[test]
fn down_reverts_newest_first_and_up_works_again() {
    check(async |db| {
        let dir = Dir::with(&[
            (
                "1_things.up.sql",
                "CREATE TYPE mood AS ENUM ('ok', 'meh');\nCREATE TABLE things (id bigserial PRIMARY KEY, m mood);",
            ),
            ("1_things.down.sql", "DROP TABLE things;\nDROP TYPE mood;"),
            ("2_index.up.sql", "CREATE INDEX things_m_idx ON things (m) WHERE m = 'ok';"),
            ("2_index.down.sql", "DROP INDEX things_m_idx;"),
        ]);
        let empty = snapshot(&db).await;
        assert_eq!(migrations::up(db.url(), &dir.0).await.unwrap().len(), 2);
        let full = snapshot(&db).await;

        let last = migrations::down_last(db.url(), &dir.0).await.unwrap().unwrap();
        assert_eq!(last.version, 2);
        let diff = snapshot(&db).await.diff(&full);
        assert_eq!(diff.added.len(), 1, "{diff}");
        assert_eq!(diff.added[0].kind, "index");

        let reverted = migrations::down_to(db.url(), &dir.0, 0).await.unwrap();
        assert_eq!(reverted.iter().map(|m| m.version).collect::<Vec<_>>(), [1]);
        assert!(empty.diff(&snapshot(&db).await).is_empty());
        assert!(migrations::down_last(db.url(), &dir.0).await.unwrap().is_none());

        assert_eq!(migrations::up(db.url(), &dir.0).await.unwrap().len(), 2);
        assert_eq!(snapshot(&db).await, full);
    });
}

#[test]
fn a_missing_down_is_an_error_and_reverts_nothing() {
    check(async |db| {
        let dir = Dir::with(&[
            ("1_a.up.sql", "CREATE TABLE a (n int);"),
            ("1_a.down.sql", "DROP TABLE a;"),
            ("2_b.up.sql", "CREATE TABLE b (n int);"),
        ]);
        migrations::up(db.url(), &dir.0).await.unwrap();
        let err = migrations::down_to(db.url(), &dir.0, 0).await.unwrap_err();
        assert!(matches!(err, MigrationError::NoDown { version: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("has no down file"), "{err}");
        assert!(catalog::table_exists(db.pool(), "a").await.unwrap());
    });
}

#[test]
fn editing_an_applied_migration_is_refused_as_modified() {
    check(async |db| {
        let dir = Dir::with(&[("1_a.up.sql", "CREATE TABLE a (n int);"), ("1_a.down.sql", "DROP TABLE a;")]);
        migrations::up(db.url(), &dir.0).await.unwrap();
        std::fs::write(dir.0.join("1_a.up.sql"), "CREATE TABLE a (n bigint);").unwrap();
        let err = migrations::up(db.url(), &dir.0).await.unwrap_err();
        assert!(matches!(err, MigrationError::Modified { version: 1, .. }), "{err:?}");
        let sums = migrations::checksums(&dir.0).await.unwrap();
        let applied = migrations::applied(db.url()).await.unwrap();
        assert_ne!(sums[&1], applied[0].checksum);
    });
}

#[test]
fn catalog_reads_columns_constraints_and_partial_indexes() {
    check(async |db| {
        sqlx::raw_sql(
            "CREATE TABLE people (
                 id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 email varchar(80) NOT NULL UNIQUE,
                 nick text,
                 born timestamptz NOT NULL DEFAULT now(),
                 CONSTRAINT nick_short CHECK (length(nick) < 20)
             );
             CREATE UNIQUE INDEX people_nick_live ON people (lower(nick)) WHERE nick IS NOT NULL;",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let cols = catalog::columns(db.pool(), "people").await.unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "email", "nick", "born"]);
        assert_eq!(cols[0].identity, Some("always"));
        assert_eq!(cols[1].data_type, "character varying(80)");
        assert!(cols[1].not_null && !cols[2].not_null);
        assert!(!cols[2].has_default());
        assert_eq!(cols[3].data_type, "timestamp with time zone");
        assert_eq!(cols[3].default.as_deref(), Some("now()"));

        let cons = catalog::constraints(db.pool(), "people").await.unwrap();
        let unique = cons.iter().find(|c| c.kind == ConstraintKind::Unique).unwrap();
        assert_eq!(unique.columns, ["email"]);
        assert!(cons.iter().any(|c| c.kind == ConstraintKind::PrimaryKey && c.columns == ["id"]));
        assert!(cons.iter().any(|c| c.kind == ConstraintKind::Check && c.name == "nick_short"));

        let idx = catalog::indexes(db.pool(), "people").await.unwrap();
        let partial = idx.iter().find(|i| i.name == "people_nick_live").unwrap();
        assert!(partial.unique && !partial.primary);
        assert_eq!(partial.columns, ["lower(nick)"]);
        assert_eq!(partial.predicate.as_deref(), Some("nick IS NOT NULL"));
        assert!(idx.iter().any(|i| i.primary && i.columns == ["id"]));
        assert!(catalog::columns(db.pool(), "nobody").await.unwrap().is_empty());
    });
}

#[test]
fn a_snapshot_diff_names_what_was_left_behind() {
    check(async |db| {
        let before = snapshot(&db).await;
        sqlx::raw_sql(
            "CREATE TYPE level AS ENUM ('low', 'high');
             CREATE TABLE gone (id serial PRIMARY KEY, l level);
             CREATE INDEX gone_l ON gone (l);
             CREATE FUNCTION twice(n int) RETURNS int LANGUAGE sql AS 'SELECT n * 2';
             DROP TABLE gone;",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let diff = before.diff(&snapshot(&db).await);
        let text = diff.to_string();
        assert!(text.contains("+ enum type level: 'low', 'high'"), "{text}");
        assert!(text.contains("+ function twice(integer): returns integer"), "{text}");
        assert!(!text.contains("gone"), "{text}");
        assert!(diff.removed.is_empty());

        // A table and its parts read as one line.
        let later = snapshot(&db).await;
        sqlx::raw_sql("CREATE TABLE t (n int NOT NULL); CREATE INDEX t_n ON t (n);").execute(db.pool()).await.unwrap();
        let diff = later.diff(&snapshot(&db).await);
        assert_eq!(diff.to_string(), "+ table t");
        assert!(diff.added.iter().any(|o| o.kind == "index" && o.name == "t_n"));
    });
}
