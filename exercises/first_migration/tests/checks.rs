//! The checks for `first_migration`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run first_migration`.
//!
//! They never read your SQL. They apply your migrations to a fresh
//! database and ask PostgreSQL's catalog what it built, then revert them
//! and compare the whole schema with how it was before.

use std::path::PathBuf;

use workbook::catalog::{self, Column, ConstraintKind, Snapshot};
use workbook::migrations::{self, MigrationFile};
use workbook::{Db, Failure, check, data};

/// The columns `students` must have, each with its type as PostgreSQL
/// spells it.
const COLUMNS: [(&str, &str); 6] = [
    ("id", "bigint"),
    ("name", "text"),
    ("cohort", "text"),
    ("email", "text"),
    ("created_at", "timestamp with time zone"),
    ("updated_at", "timestamp with time zone"),
];

#[test]
fn the_up_migration_creates_a_students_table() {
    check(async |db| {
        complete_students(&db).await;
        // A table that can hold a student: the row the application will
        // write goes in, and the database numbers it.
        let (name, cohort, email) = (data::name(), data::word(6), data::email());
        let inserted: Result<i64, sqlx::Error> =
            sqlx::query_scalar("INSERT INTO students (name, cohort, email) VALUES ($1, $2, $3) RETURNING id")
                .bind(&name)
                .bind(&cohort)
                .bind(&email)
                .fetch_one(db.pool())
                .await;
        if let Err(e) = inserted {
            Failure::new(format!(
                "INSERT INTO students (name, cohort, email) VALUES ('{name}', '{cohort}', '{email}')"
            ))
            .expected("a new row, numbered by the database")
            .got(e.to_string())
            .hint(
                "Every column the INSERT leaves out needs a default: a generated id, DEFAULT now() for the timestamps.",
            )
            .fail();
        }
    });
}

#[test]
fn students_has_exactly_the_expected_columns() {
    check(async |db| {
        let cols = students(&db).await;
        let have: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let missing: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).filter(|n| !have.contains(n)).collect();
        let extra: Vec<&str> = have.iter().copied().filter(|h| !COLUMNS.iter().any(|(n, _)| n == h)).collect();
        if missing.is_empty() && extra.is_empty() {
            return;
        }
        let mut got = format!("columns {}", have.join(", "));
        if !missing.is_empty() {
            got.push_str(&format!("; missing: {}", missing.join(", ")));
        }
        if !extra.is_empty() {
            got.push_str(&format!("; not expected: {}", extra.join(", ")));
        }
        let hint = if extra.iter().any(|c| c.chars().any(|ch| ch.is_ascii_uppercase() || ch == ' ')) {
            "Column names are snake_case: created_at, not \"createdAt\". Quotes keep capitals and make the \
             name case-sensitive, so every query would need the quotes too; write names without quotes."
        } else {
            "Write each missing column in the CREATE TABLE (name, then type, then NOT NULL and so on), and \
             remove columns the exercise does not ask for."
        };
        Failure::new("the columns of students after your up migration")
            .expected(format!("exactly {}", COLUMNS.map(|(n, _)| n).join(", ")))
            .got(got)
            .hint(hint)
            .fail();
    });
}

#[test]
fn every_column_has_the_expected_type() {
    check(async |db| {
        let cols = students(&db).await;
        let mut wrong = Vec::new();
        let mut hints = Vec::new();
        for (name, want) in COLUMNS {
            let Some(col) = cols.iter().find(|c| c.name == name) else {
                wrong.push(format!("{name}: no such column"));
                hints.push("Add the missing columns to the CREATE TABLE, spelled exactly as listed.");
                continue;
            };
            if col.data_type == want {
                continue;
            }
            wrong.push(format!("{name}: {} (expected {want})", col.data_type));
            hints.push(match (name, col.data_type.as_str()) {
                ("id", "integer") => {
                    "integer holds about two billion values; ids use bigint (bigserial, or \
                                      bigint GENERATED ALWAYS AS IDENTITY)."
                }
                (_, "timestamp without time zone") => {
                    "timestamp without time zone forgets which zone a time was \
                                                       in; use timestamptz."
                }
                (_, t) if t.starts_with("character varying") || t.starts_with("character(") => {
                    "In PostgreSQL text has no length limit and is just as fast as varchar; use text."
                }
                _ => "Write the type after the column name, exactly as the starter's comments say.",
            });
        }
        if !wrong.is_empty() {
            let mut seen = Vec::new();
            hints.retain(|h| {
                !seen.contains(h) && {
                    seen.push(*h);
                    true
                }
            });
            Failure::new("the column types of students")
                .expected(COLUMNS.map(|(n, t)| format!("{n} {t}")).join(", "))
                .got(wrong.join("; "))
                .hint(hints.join(" "))
                .fail();
        }
    });
}

#[test]
fn every_column_is_not_null() {
    check(async |db| {
        let cols = complete_students(&db).await;
        let nullable: Vec<&str> = cols
            .iter()
            .filter(|c| !c.not_null && COLUMNS.iter().any(|(n, _)| *n == c.name))
            .map(|c| c.name.as_str())
            .collect();
        if !nullable.is_empty() {
            Failure::new("the NOT NULL constraints of students")
                .expected("every column NOT NULL: a student always has a name, a cohort, an email and timestamps")
                .got(format!("these columns accept NULL: {}", nullable.join(", ")))
                .hint(format!(
                    "A column accepts NULL unless you say otherwise. Add NOT NULL after the type, \
                     e.g. `{} text NOT NULL`.",
                    nullable[0]
                ))
                .fail();
        }
    });
}

#[test]
fn id_is_a_primary_key_the_database_generates() {
    check(async |db| {
        let cols = complete_students(&db).await;
        let constraints = catalog::constraints(db.pool(), "students").await.unwrap_or_else(|e| catalog_error(e));
        let pk = constraints.iter().find(|c| c.kind == ConstraintKind::PrimaryKey);
        match pk {
            Some(pk) if pk.columns == ["id"] => {}
            Some(pk) => Failure::new("the primary key of students")
                .expected("PRIMARY KEY (id)")
                .got(pk.definition.clone())
                .hint("The primary key is the id column alone.")
                .fail(),
            None => Failure::new("the primary key of students")
                .expected("PRIMARY KEY (id): the one column that tells rows apart")
                .got("no primary key")
                .hint("Write PRIMARY KEY after id's type: `id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`.")
                .fail(),
        }
        let Some(id) = cols.iter().find(|c| c.name == "id") else { unreachable!("the primary key is on id") };
        if id.identity.is_none() && !id.default.as_deref().is_some_and(|d| d.starts_with("nextval(")) {
            Failure::new("how students.id gets its value")
                .expected("generated by the database: an identity column or a sequence (bigserial)")
                .got(match &id.default {
                    Some(d) => format!("DEFAULT {d}"),
                    None => "no default: every INSERT would have to invent an id".to_owned(),
                })
                .hint(
                    "Declare it `id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY` (or `id bigserial PRIMARY KEY`).",
                )
                .fail();
        }
    });
}

#[test]
fn created_at_and_updated_at_default_to_now() {
    check(async |db| {
        let cols = complete_students(&db).await;
        for name in ["created_at", "updated_at"] {
            match cols.iter().find(|c| c.name == name) {
                None => Failure::new("the columns of students")
                    .expected(format!("a {name} column"))
                    .got(format!("no {name} column"))
                    .fail(),
                Some(c) if !c.has_default() => Failure::new(format!("the default of students.{name}"))
                    .expected("DEFAULT now(): the database fills in the time of the INSERT")
                    .got(format!("{name} has no default"))
                    .hint(format!("Write `{name} timestamptz NOT NULL DEFAULT now()`."))
                    .fail(),
                Some(_) => {}
            }
        }
        // Now ask the database to fill them in, the way the app will.
        let (name, cohort, email) = (data::name(), data::word(6), data::email());
        let inserted: Result<(Option<f64>, Option<f64>), sqlx::Error> = sqlx::query_as(
            "INSERT INTO students (name, cohort, email) VALUES ($1, $2, $3)
             RETURNING extract(epoch FROM now() - created_at)::float8,
                       extract(epoch FROM now() - updated_at)::float8",
        )
        .bind(&name)
        .bind(&cohort)
        .bind(&email)
        .fetch_one(db.pool())
        .await;
        let called = format!(
            "INSERT INTO students (name, cohort, email) VALUES ('{name}', '{cohort}', '{email}'), \
             leaving id and the timestamps to the database"
        );
        match inserted {
            Err(e) => Failure::new(called)
                .expected("a new row")
                .got(e.to_string())
                .hint("Every column the INSERT leaves out needs a default: a generated id, DEFAULT now() for the timestamps.")
                .fail(),
            Ok((Some(c), Some(u))) if c.abs() < 5.0 && u.abs() < 5.0 => {}
            Ok((c, u)) => Failure::new(called)
                .expected("created_at and updated_at both set to the time of the INSERT")
                .got(format!("created_at {}, updated_at {}", age(c), age(u)))
                .hint("DEFAULT now() is the time of the INSERT; a fixed date or an expression is not.")
                .fail(),
        }
    });
}

#[test]
fn email_is_unique() {
    check(async |db| {
        complete_students(&db).await;
        // First the behaviour: the same email twice is refused.
        let email = data::email();
        let insert = "INSERT INTO students (name, cohort, email) VALUES ($1, $2, $3)";
        for attempt in 0..2 {
            let result =
                sqlx::query(insert).bind(data::name()).bind(data::word(5)).bind(&email).execute(db.pool()).await;
            match (attempt, result) {
                (0, Err(e)) => {
                    Failure::new(format!("INSERT INTO students (name, cohort, email) VALUES (.., .., '{email}')"))
                        .expected("a new row")
                        .got(e.to_string())
                        .fail()
                }
                (1, Ok(_)) => Failure::new(format!("inserting a second student with the email '{email}'"))
                    .expected("refused: duplicate key value violates unique constraint (SQLSTATE 23505)")
                    .got("the row went in: two students now share an email")
                    .hint("Write UNIQUE after email's type: `email text NOT NULL UNIQUE`.")
                    .fail(),
                _ => {}
            }
        }
        let indexes = catalog::indexes(db.pool(), "students").await.unwrap_or_else(|e| catalog_error(e));
        // A UNIQUE constraint brings its own unique index, so looking at
        // indexes covers both spellings. Partial ones don't count: they
        // let some rows share an email.
        let covers_email = |cols: &[String]| cols.len() == 1 && (cols[0] == "email" || cols[0].contains("email"));
        if indexes.iter().any(|i| i.unique && i.predicate.is_none() && covers_email(&i.columns)) {
            return;
        }
        let found: Vec<String> = indexes
            .iter()
            .map(|i| {
                let kind = if i.unique { "unique" } else { "not unique" };
                let partial = i.predicate.as_ref().map(|p| format!(", only WHERE {p}")).unwrap_or_default();
                format!("{} on ({}), {kind}{partial}", i.name, i.columns.join(", "))
            })
            .collect();
        Failure::new("the unique constraints and indexes of students")
            .expected("a UNIQUE constraint (or a unique index) on email alone, so no two students share an email")
            .got(if found.is_empty() { "no indexes at all".to_owned() } else { found.join("; ") })
            .hint("Write UNIQUE after email's type: `email text NOT NULL UNIQUE`.")
            .fail();
    });
}

#[test]
fn down_leaves_the_schema_exactly_as_it_was() {
    check(async |db| {
        let files = migration_files();
        // Up one migration at a time, remembering the schema before each,
        // so each down can be held to undoing exactly its own up.
        let mut before = vec![snapshot(&db).await];
        for file in &files {
            if let Err(e) = migrations::up_to(db.url(), &migrations_dir(), file.version).await {
                migrations::failure(format!("applying {}", name_of(&file.up)), &e).fail();
            }
            before.push(snapshot(&db).await);
        }
        complete_students(&db).await;
        for (i, file) in files.iter().enumerate().rev() {
            let reverted = migrations::down_last(db.url(), &migrations_dir()).await;
            match reverted {
                Ok(Some(m)) if m.version == file.version => {}
                Ok(other) => Failure::new("reverting the newest migration")
                    .expected(format!("{} reverted", name_of(&file.up)))
                    .got(format!("{other:?}"))
                    .fail(),
                Err(e) => migrations::failure(format!("reverting {}", name_of(&file.up)), &e).fail(),
            }
            let after = snapshot(&db).await;
            let diff = before[i].diff(&after);
            if !diff.is_empty() {
                let down = file.down.as_deref().map_or_else(|| "its down file".to_owned(), name_of);
                Failure::new(format!("reverting {} with {down}", name_of(&file.up)))
                    .expected(
                        "the schema exactly as it was before the up ran: nothing left behind, nothing extra removed",
                    )
                    .got(format!("these differences (+ left behind, - removed):\n{diff}"))
                    .hint(
                        "For every line marked +, add a DROP for it to the down file. Drop what depends on \
                         something first (DROP TABLE removes a table with its own indexes and constraints), \
                         then what was depended on (types, functions). Indexes, types and functions an up \
                         creates on their own need their own DROP INDEX, DROP TYPE, DROP FUNCTION.",
                    )
                    .fail();
            }
        }
    });
}

#[test]
fn up_works_again_after_down() {
    check(async |db| {
        complete_students(&db).await;
        let first = snapshot(&db).await;
        if let Err(e) = migrations::down_to(db.url(), &migrations_dir(), 0).await {
            migrations::failure("reverting every migration", &e).fail();
        }
        if let Err(e) = migrations::up(db.url(), &migrations_dir()).await {
            migrations::failure("applying the migrations again after reverting them", &e)
                .hint(
                    "If PostgreSQL says something \"already exists\", your down file left it behind: \
                     add a DROP for it to the down file.",
                )
                .fail();
        }
        let second = snapshot(&db).await;
        let diff = first.diff(&second);
        if !diff.is_empty() {
            Failure::new("up, down, then up again")
                .expected("the same schema after the second up as after the first")
                .got(format!("these differences (+ only after the second up, - only after the first):\n{diff}"))
                .hint("A down must undo its up completely, so the up finds an empty slate again.")
                .fail();
        }
    });
}

/// Applies the migrations and returns the columns of `students`, failing
/// the check, with what the database has instead, if there is no such
/// table.
async fn students(db: &Db) -> Vec<Column> {
    db.migrate(migrations_dir()).await;
    let cols = catalog::columns(db.pool(), "students").await.unwrap_or_else(|e| catalog_error(e));
    if !cols.is_empty() {
        return cols;
    }
    let tables = catalog::tables(db.pool()).await.unwrap_or_else(|e| catalog_error(e));
    let tables: Vec<String> = tables.into_iter().filter(|t| t != "_sqlx_migrations").collect();
    let (got, hint) = match tables.as_slice() {
        [] => (
            "no tables: the up migration runs, but creates nothing yet".to_owned(),
            "Write a CREATE TABLE students (...) statement in the .up.sql file in migrations/.",
        ),
        some => (
            format!("tables named {}", some.join(", ")),
            "Table names are lowercase and plural: students. A name in quotes (\"Students\") keeps its \
             capitals and would need the quotes in every query.",
        ),
    };
    Failure::new("looking for the students table after applying your migrations")
        .expected("a table named students")
        .got(got)
        .hint(hint)
        .fail()
}

/// The exercise's migrations, read from the copy being checked.
fn migrations_dir() -> PathBuf {
    workbook::exercise::path("migrations")
}

/// Like [`students`], and fails unless every expected column is there:
/// what each check judges is a property of the whole table, so a table
/// missing columns earns none of them.
async fn complete_students(db: &Db) -> Vec<Column> {
    let cols = students(db).await;
    let missing: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).filter(|n| !cols.iter().any(|c| c.name == *n)).collect();
    if !missing.is_empty() {
        Failure::new("the columns of students after your up migration")
            .expected(format!("all of {}", COLUMNS.map(|(n, _)| n).join(", ")))
            .got(format!("missing: {}", missing.join(", ")))
            .hint(
                "This check judges the whole table, so it needs every column first: add the missing ones to the \
                 CREATE TABLE (students_has_exactly_the_expected_columns says what is there).",
            )
            .fail();
    }
    cols
}

fn migration_files() -> Vec<MigrationFile> {
    match migrations::files(&migrations_dir()) {
        Ok(files) => files,
        Err(e) => migrations::failure("reading migrations/", &e).fail(),
    }
}

/// The public schema, less sqlx's own bookkeeping table.
async fn snapshot(db: &Db) -> Snapshot {
    catalog::snapshot(db.pool()).await.unwrap_or_else(|e| catalog_error(e)).without_table("_sqlx_migrations")
}

fn name_of(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn age(seconds: Option<f64>) -> String {
    match seconds {
        None => "NULL".to_owned(),
        Some(s) => format!("{s:.0} seconds before the INSERT"),
    }
}

fn catalog_error(e: sqlx::Error) -> ! {
    Failure::new("reading PostgreSQL's catalog").got(e.to_string()).fail()
}
