//! The checks for `evolving_schema`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run evolving_schema`.
//!
//! Like a real deploy, the checks apply your migrations one version at a
//! time to a table that already holds members (different ones on every
//! run), and between steps read and write it the way old code (which knows
//! `fullname`) and new code (which knows `display_name`) would.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use workbook::catalog;
use workbook::migrations::{self, MigrationError};
use workbook::steps::{Steps, table_rows};
use workbook::{Db, Failure, check, data};

fn migrations_dir() -> PathBuf {
    workbook::exercise::path("migrations")
}

/// Applies every migration up to `version`, failing the check with
/// PostgreSQL's message and a hint fit for the step that failed.
async fn up_to(db: &Db, steps: &Steps, version: i64, rows: usize) {
    if let Err(e) = steps.up_to(db.url(), version).await {
        let doing = match failing_version(&e) {
            Some(v) => format!(
                "applying {} to a members table that already holds {rows} rows",
                steps.file(v).map_or_else(|| format!("migration {v}"), |f| file_name(&f.up))
            ),
            None => format!("applying the migrations up to {version}"),
        };
        let f = migrations::failure(doing, &e).expected("the migration applies to a table full of rows");
        let f = match hint_for(&e) {
            Some(h) => f.hint(h),
            None => f,
        };
        f.fail();
    }
}

fn failing_version(e: &MigrationError) -> Option<i64> {
    match e {
        MigrationError::Sql { file, .. } => file_name(file).split('_').next().and_then(|v| v.parse().ok()),
        _ => None,
    }
}

fn hint_for(e: &MigrationError) -> Option<String> {
    let MigrationError::Sql { error, file, .. } = e else { return None };
    let code = error.code.as_deref().unwrap_or("");
    if code == "23502" && error.message.contains("contains null values") {
        return Some(
            "This is what happens in production: the column is new, so every existing row has NULL in it, and \
             NOT NULL refuses them. Add the column nullable (or with DEFAULT 'free'), fill it in with UPDATE, \
             then ALTER COLUMN plan SET NOT NULL."
                .to_owned(),
        );
    }
    if code == "25001" || error.message.contains("cannot run inside a transaction block") {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let why = if text.contains("no-transaction") && !text.starts_with("-- no-transaction") {
            "Your file mentions no-transaction, but sqlx only sees it when `-- no-transaction` (two dashes, \
             one space) is the very first thing in the file: no blank line or comment before it."
        } else if text.starts_with("-- no-transaction") {
            "The file has `-- no-transaction`, but PostgreSQL still runs several statements sent together as \
             one transaction. Keep CREATE INDEX CONCURRENTLY alone in its file."
        } else {
            "sqlx runs a migration in a transaction unless its very first line is `-- no-transaction`."
        };
        return Some(why.to_owned());
    }
    None
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A member as the checks insert them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    name: String,
    email: String,
}

fn campus_email() -> String {
    format!("{}.{}@campus.example", data::word(6), data::int(10..9_999))
}

/// Between 6 and 16 members, a few of them on campus.
fn some_members() -> Vec<Member> {
    let n = data::int(6..17) as usize;
    let campus = data::int(1..4) as usize;
    (0..n)
        .map(|i| Member {
            name: data::name(),
            email: if i % 3 == 0 && i / 3 < campus { campus_email() } else { data::email() },
        })
        .collect()
}

/// Inserts members the way the code of before step 2 does: `fullname`
/// and `email`, nothing else.
async fn insert_old(db: &Db, members: &[Member]) {
    for m in members {
        if let Err(e) = sqlx::query("INSERT INTO members (fullname, email) VALUES ($1, $2)")
            .bind(&m.name)
            .bind(&m.email)
            .execute(db.pool())
            .await
        {
            Failure::new(format!("INSERT INTO members (fullname, email) VALUES ({:?}, {:?})", m.name, m.email))
                .expected("old code can still insert members")
                .got(pg_message(&e))
                .fail();
        }
    }
}

/// Migrates to version 1, inserts members, then migrates to `version`.
async fn filled_at(db: &Db, steps: &Steps, version: i64) -> Vec<Member> {
    up_to(db, steps, 1, 0).await;
    let members = some_members();
    insert_old(db, &members).await;
    up_to(db, steps, version, members.len()).await;
    members
}

async fn column(db: &Db, name: &str) -> Option<catalog::Column> {
    let columns = catalog::columns(db.pool(), "members").await.expect("reading the catalog");
    columns.into_iter().find(|c| c.name == name)
}

/// Fails unless members has (or, with `present` false, lacks) the column
/// `name` after the migration `file`: later steps build on it.
async fn require_column(db: &Db, name: &str, present: bool, file: &str) {
    if column(db, name).await.is_some() != present {
        let names: Vec<String> =
            catalog::columns(db.pool(), "members").await.unwrap_or_default().into_iter().map(|c| c.name).collect();
        Failure::new(format!("the columns of members after {file}"))
            .expected(if present { format!("a column named {name}") } else { format!("no column named {name}") })
            .got(format!("{names:?}"))
            .hint(format!("Write {file} first: the comments in it say what it must do. This check builds on it."))
            .fail();
    }
}

/// PostgreSQL's own words for `e`, without sqlx's wrapping.
fn pg_message(e: &sqlx::Error) -> String {
    e.as_database_error().map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

/// Runs `sql` (one value per member, by id) and returns the values in id
/// order, or PostgreSQL's error.
async fn read_names(db: &Db, sql: &'static str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(sql).fetch_all(db.pool()).await
}

#[test]
fn step_2_adds_plan_to_a_table_that_already_has_rows() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        let members = filled_at(&db, &steps, 2).await;
        let Some(plan) = column(&db, "plan").await else {
            Failure::new("the columns of members after 2_add_plan")
                .expected("a column named plan")
                .got("no such column")
                .hint("Write 2_add_plan.up.sql: ALTER TABLE members ADD COLUMN plan text, then fill it in.")
                .fail()
        };
        if !plan.not_null {
            Failure::new("the column members.plan after 2_add_plan")
                .expected("NOT NULL: every member has a plan")
                .got("nullable")
                .hint("Nullable is the right first step on a full table, but it is only the first: once every row has a plan, the column must refuse NULL for the rows still to come (book/src/evolving_schema/index.md#adding-a-not-null-column-to-a-full-table).")
                .fail();
        }
        let got: Vec<(String, Option<String>)> = sqlx::query_as("SELECT email, plan FROM members ORDER BY id")
            .fetch_all(db.pool())
            .await
            .expect("reading members");
        for (m, (email, plan)) in members.iter().zip(&got) {
            let want = if m.email.ends_with("@campus.example") { "campus" } else { "free" };
            if plan.as_deref() != Some(want) {
                Failure::new(format!("SELECT plan FROM members WHERE email = '{email}' after 2_add_plan"))
                    .expected(format!("{want:?}: the member was there before the migration, with that email"))
                    .got(format!("{plan:?}"))
                    .hint(
                        "The rows that were there before the migration need a plan worked out from what they \
                         already hold (their email), not a blanket default: the migration fills them in itself \
                         (book/src/evolving_schema/index.md#adding-a-not-null-column-to-a-full-table).",
                    )
                    .fail();
            }
        }
    });
}

#[test]
fn old_code_can_still_insert_members_after_step_2() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        filled_at(&db, &steps, 2).await;
        require_column(&db, "plan", true, "2_add_plan.up.sql").await;
        // Code deployed before the migration has never heard of `plan`.
        let (name, email) = (data::name(), data::email());
        let inserted: Result<Option<String>, _> =
            sqlx::query_scalar("INSERT INTO members (fullname, email) VALUES ($1, $2) RETURNING plan::text")
                .bind(&name)
                .bind(&email)
                .fetch_one(db.pool())
                .await;
        match inserted {
            Ok(Some(plan)) if plan == "free" => {}
            Ok(plan) => Failure::new("INSERT INTO members (fullname, email) ... RETURNING plan, after 2_add_plan")
                .expected(r#"Some("free"): a new member on the default plan"#)
                .got(format!("{plan:?}"))
                .hint("ALTER TABLE members ALTER COLUMN plan SET DEFAULT 'free'.")
                .fail(),
            Err(e) => Failure::new(format!(
                "INSERT INTO members (fullname, email) VALUES ({name:?}, {email:?}) after 2_add_plan, as old code does"
            ))
            .expected("the insert works: the code deployed before the migration is still running")
            .got(pg_message(&e))
            .hint(
                "Old code does not name plan, so PostgreSQL uses the column's default, and a NOT NULL column \
                 without one refuses the row. ALTER TABLE members ALTER COLUMN plan SET DEFAULT 'free'.",
            )
            .fail(),
        }
    });
}

#[test]
fn step_3_lets_old_and_new_code_read_every_name() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        let members = filled_at(&db, &steps, 3).await;
        require_column(&db, "display_name", true, "3_expand_display_name.up.sql").await;
        let want: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
        let readers = [
            ("old code: SELECT fullname FROM members ORDER BY id", "SELECT fullname FROM members ORDER BY id"),
            ("new code: SELECT display_name FROM members ORDER BY id", "SELECT display_name FROM members ORDER BY id"),
        ];
        for (who, sql) in readers {
            match read_names(&db, sql).await {
                Ok(got) if got == want => {}
                Ok(got) => Failure::new(format!("{who}, after 3_expand_display_name"))
                    .expected(format!("{want:?}"))
                    .got(format!("{got:?}"))
                    .hint("The new column starts empty in every existing row: the expand step must copy each member's name into it, or new code reads NULL (book/src/evolving_schema/index.md#renaming-a-column-without-breaking-anyone).")
                    .fail(),
                Err(e) => Failure::new(format!("{who}, after 3_expand_display_name"))
                    .expected("every member's name: old code and new code both run during the switch")
                    .got(pg_message(&e))
                    .hint(
                        "Renaming the column breaks every copy of the old code still running. Expand instead: \
                         ADD COLUMN display_name, copy the names, keep both columns until step 4.",
                    )
                    .fail(),
            }
        }
    });
}

#[test]
fn step_3_keeps_both_names_in_step_on_every_write() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        filled_at(&db, &steps, 3).await;
        require_column(&db, "display_name", true, "3_expand_display_name.up.sql").await;
        if column(&db, "fullname").await.is_none() {
            Failure::new("the columns of members after 3_expand_display_name")
                .expected("both fullname and display_name: old code still reads and writes fullname")
                .got("no fullname")
                .hint("Add display_name next to fullname; drop nothing in this step.")
                .fail();
        }
        let trigger_hint = "Keep the two columns in step with a BEFORE INSERT OR UPDATE trigger, FOR EACH ROW, whose \
                            function copies whichever name was set to the other one.";

        // Old code inserts with fullname only.
        let (old_name, old_email) = (data::name(), data::email());
        let old_id: i64 = match sqlx::query_scalar("INSERT INTO members (fullname, email) VALUES ($1, $2) RETURNING id")
            .bind(&old_name)
            .bind(&old_email)
            .fetch_one(db.pool())
            .await
        {
            Ok(id) => id,
            Err(e) => Failure::new("old code: INSERT INTO members (fullname, email), after 3_expand_display_name")
                .expected("the insert works")
                .got(pg_message(&e))
                .fail(),
        };
        expect_names(&db, old_id, &old_name, "old code inserted it with fullname only", trigger_hint).await;

        // New code inserts with display_name only; fullname is NOT NULL.
        let (new_name, new_email) = (data::name(), data::email());
        let new_id: i64 =
            match sqlx::query_scalar("INSERT INTO members (display_name, email) VALUES ($1, $2) RETURNING id")
                .bind(&new_name)
                .bind(&new_email)
                .fetch_one(db.pool())
                .await
            {
                Ok(id) => id,
                Err(e) => Failure::new(
                    "new code: INSERT INTO members (display_name, email), after 3_expand_display_name",
                )
                .expected("the insert works, and fullname is filled in from display_name")
                .got(pg_message(&e))
                .hint(format!(
                    "{trigger_hint} A BEFORE trigger runs before NOT NULL is checked, so it can fill fullname in."
                ))
                .fail(),
            };
        expect_names(&db, new_id, &new_name, "new code inserted it with display_name only", trigger_hint).await;

        // Each kind of code renames a member the other one inserted.
        let renamed_by_old = format!("{} {}", data::name(), data::word(3));
        sqlx::query("UPDATE members SET fullname = $1 WHERE id = $2")
            .bind(&renamed_by_old)
            .bind(new_id)
            .execute(db.pool())
            .await
            .expect("updating fullname");
        expect_names(&db, new_id, &renamed_by_old, "old code changed its fullname", trigger_hint).await;
        let renamed_by_new = format!("{} {}", data::name(), data::word(3));
        sqlx::query("UPDATE members SET display_name = $1 WHERE id = $2")
            .bind(&renamed_by_new)
            .bind(old_id)
            .execute(db.pool())
            .await
            .expect("updating display_name");
        expect_names(&db, old_id, &renamed_by_new, "new code changed its display_name", trigger_hint).await;
    });
}

async fn expect_names(db: &Db, id: i64, want: &str, what: &str, hint: &str) {
    let got: (Option<String>, Option<String>) =
        sqlx::query_as("SELECT fullname, display_name FROM members WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await
            .expect("reading a member");
    if got != (Some(want.to_owned()), Some(want.to_owned())) {
        Failure::new(format!("SELECT fullname, display_name FROM members WHERE id = {id} ({what})"))
            .expected(format!("({want:?}, {want:?}): both names the same"))
            .got(format!("{got:?}"))
            .hint(hint)
            .fail();
    }
}

#[test]
fn step_4_drops_fullname_and_keeps_every_name() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        let mut members = filled_at(&db, &steps, 3).await;
        require_column(&db, "display_name", true, "3_expand_display_name.up.sql").await;
        // New code, deployed after step 3, writes display_name only.
        for _ in 0..data::int(1..4) {
            let m = Member { name: data::name(), email: data::email() };
            if let Err(e) = sqlx::query("INSERT INTO members (display_name, email) VALUES ($1, $2)")
                .bind(&m.name)
                .bind(&m.email)
                .execute(db.pool())
                .await
            {
                Failure::new("new code: INSERT INTO members (display_name, email), after 3_expand_display_name")
                    .expected("the insert works")
                    .got(pg_message(&e))
                    .hint("Step 3's trigger must fill fullname in when only display_name is given.")
                    .fail();
            }
            members.push(m);
        }
        up_to(&db, &steps, 4, members.len()).await;
        if column(&db, "fullname").await.is_some() {
            Failure::new("the columns of members after 4_contract_fullname")
                .expected("no fullname: nothing reads it any more")
                .got("fullname is still there")
                .hint("ALTER TABLE members DROP COLUMN fullname (after dropping the trigger that writes it).")
                .fail();
        }
        match column(&db, "display_name").await {
            Some(c) if c.not_null => {}
            Some(_) => Failure::new("the column members.display_name after 4_contract_fullname")
                .expected("NOT NULL, as fullname was")
                .got("nullable")
                .hint("ALTER TABLE members ALTER COLUMN display_name SET NOT NULL.")
                .fail(),
            None => Failure::new("the columns of members after 4_contract_fullname")
                .expected("display_name")
                .got("no such column")
                .fail(),
        }
        let triggers: Vec<String> = sqlx::query_scalar(
            "SELECT tgname::text FROM pg_trigger WHERE tgrelid = 'members'::regclass AND NOT tgisinternal",
        )
        .fetch_all(db.pool())
        .await
        .expect("reading triggers");
        if !triggers.is_empty() {
            Failure::new("the triggers on members after 4_contract_fullname")
                .expected("none: the column they kept in step is gone")
                .got(format!("{triggers:?}"))
                .hint("DROP TRIGGER ... ON members; and DROP FUNCTION ...(); in the contract step.")
                .fail();
        }
        let want: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
        match read_names(&db, "SELECT display_name FROM members ORDER BY id").await {
            Ok(got) if got == want => {}
            Ok(got) => Failure::new("SELECT display_name FROM members ORDER BY id, after 4_contract_fullname")
                .expected(format!("{want:?}"))
                .got(format!("{got:?}"))
                .fail(),
            Err(e) => Failure::new("SELECT display_name FROM members, after 4_contract_fullname")
                .expected("every member's name")
                .got(pg_message(&e))
                .fail(),
        }
    });
}

/// The valid indexes on members whose only key is display_name.
async fn display_name_indexes(db: &Db) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = 'members'::regclass AND i.indisvalid AND i.indnkeyatts = 1
           AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                              WHERE attrelid = 'members'::regclass AND attname = 'display_name')",
    )
    .fetch_all(db.pool())
    .await
    .unwrap_or_default()
}

#[test]
fn step_5_indexes_display_name() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        filled_at(&db, &steps, 5).await;
        if display_name_indexes(&db).await.is_empty() {
            let all: Vec<String> = catalog::indexes(db.pool(), "members")
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|i| i.definition)
                .collect();
            Failure::new("the indexes on members after 5_index_display_name")
                .expected("a valid index on members (display_name)")
                .got(format!("{all:?}"))
                .hint("Step 5 must leave a usable index on display_name. An index built CONCURRENTLY that failed stays behind marked invalid, and the planner never uses it (book/src/evolving_schema/index.md#indexes-that-do-not-stop-writes).")
                .fail();
        }
    });
}

#[test]
fn step_5_does_not_block_writes_while_it_builds() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        let members = filled_at(&db, &steps, 4).await;
        require_column(&db, "display_name", true, "3_expand_display_name.up.sql").await;
        require_column(&db, "fullname", false, "4_contract_fullname.up.sql").await;

        // A writer in the middle of a transaction when the deploy starts:
        // any index build has to wait for it to finish.
        let mut busy = PgConnection::connect(db.url()).await.expect("connecting");
        let mut busy_tx = busy.begin().await.expect("BEGIN");
        sqlx::query("INSERT INTO members (display_name, email) VALUES ($1, $2)")
            .bind(data::name())
            .bind(data::email())
            .execute(&mut *busy_tx)
            .await
            .expect("inserting in the open transaction");

        let mut migrating = PgConnection::connect(db.url()).await.expect("connecting");
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut migrating).await.expect("pid");
        let migration = steps.up_to_on(migrating, 5);
        let meanwhile = async {
            // Wait until the migration waits for the busy writer (or ends).
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(4) {
                let waiting: Option<Option<String>> =
                    sqlx::query_scalar("SELECT wait_event_type::text FROM pg_stat_activity WHERE pid = $1")
                        .bind(pid)
                        .fetch_optional(db.pool())
                        .await
                        .expect("reading pg_stat_activity");
                match waiting {
                    None => break,
                    Some(Some(kind)) if kind == "Lock" => break,
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
            // Meanwhile, the application goes on signing members up.
            let mut writer = PgConnection::connect(db.url()).await.expect("connecting");
            sqlx::query("SET lock_timeout = '1s'").execute(&mut writer).await.expect("SET lock_timeout");
            let write = sqlx::query("INSERT INTO members (display_name, email) VALUES ($1, $2)")
                .bind(data::name())
                .bind(data::email())
                .execute(&mut writer)
                .await;
            let _ = writer.close().await;
            busy_tx.commit().await.expect("COMMIT");
            write
        };
        let (migrated, write) = tokio::join!(migration, meanwhile);
        let _ = busy.close().await;

        if let Err(e) = migrated {
            let f = migrations::failure(
                format!("applying 5_index_display_name.up.sql to a members table with {} rows", members.len()),
                &e,
            )
            .expected("the index is built");
            match hint_for(&e) {
                Some(h) => f.hint(h).fail(),
                None => f.fail(),
            }
        }
        if let Err(e) = write {
            Failure::new("INSERT INTO members while 5_index_display_name builds its index (with lock_timeout = 1s)")
                .expected("the insert goes through: building an index must not lock writes to the table")
                .got(format!("{} (the insert waited more than 1 s for the migration's lock)", pg_message(&e)))
                .hint(
                    "A plain CREATE INDEX holds a lock that blocks every INSERT, UPDATE and DELETE until it is \
                     done. Use CREATE INDEX CONCURRENTLY, in a file whose very first line is `-- no-transaction`.",
                )
                .fail();
        }
        if display_name_indexes(&db).await.is_empty() {
            Failure::new("the indexes on members after 5_index_display_name")
                .expected("a valid index on members (display_name)")
                .got("none")
                .hint("Step 5 has not made an index on display_name yet. It is built on a live table, so it must not take the lock that stops writes, and a migration that runs that way cannot run inside a transaction (book/src/evolving_schema/index.md#indexes-that-do-not-stop-writes).")
                .fail();
        }
    });
}

#[test]
fn every_step_goes_down_and_up_again_to_the_same_schema_and_rows() {
    check(async |db| {
        let steps = Steps::load(migrations_dir()).await;
        let versions: Vec<i64> = steps.files().iter().map(|f| f.version).collect();
        let empty = snapshot(&db).await;
        up_to(&db, &steps, versions[0], 0).await;
        let members = some_members();
        insert_old(&db, &members).await;

        let mut states = Vec::new();
        for v in &versions {
            up_to(&db, &steps, *v, members.len()).await;
            states.push((*v, snapshot(&db).await, rows(&db).await));
        }
        // Undoing nothing proves nothing: the steps must be written.
        let finished = column(&db, "plan").await.is_some()
            && column(&db, "display_name").await.is_some()
            && column(&db, "fullname").await.is_none()
            && !display_name_indexes(&db).await.is_empty();
        if !finished {
            Failure::new("members after every migration")
                .expected("plan and display_name, no fullname, an index on display_name")
                .got(format!(
                    "columns {:?}, indexes on display_name {:?}",
                    catalog::columns(db.pool(), "members")
                        .await
                        .unwrap_or_default()
                        .iter()
                        .map(|c| &c.name)
                        .collect::<Vec<_>>(),
                    display_name_indexes(&db).await
                ))
                .hint("Write the up files first (the step checks say what each must do); this check undoes them.")
                .fail();
        }

        for i in (1..states.len()).rev() {
            let (undone, target) = (states[i].0, &states[i - 1]);
            if let Err(e) = steps.down_to(db.url(), target.0).await {
                migrations::failure(format!("undoing migration {undone}"), &e).fail();
            }
            compare(&db, target, &format!("after undoing migration {undone}")).await;
        }
        for state in &states[1..] {
            up_to(&db, &steps, state.0, members.len()).await;
            compare(&db, state, &format!("after undoing every step and applying migration {} again", state.0)).await;
        }
        if let Err(e) = steps.down_to(db.url(), 0).await {
            migrations::failure("undoing every migration", &e).fail();
        }
        let left = snapshot(&db).await;
        if left != empty {
            Failure::new("undoing every migration")
                .expected("an empty schema, as before the first migration")
                .got(format!("left behind:\n{}", empty.diff(&left)))
                .fail();
        }
    });
}

async fn snapshot(db: &Db) -> catalog::Snapshot {
    catalog::snapshot(db.pool()).await.expect("reading the catalog").without_table("_sqlx_migrations")
}

async fn rows(db: &Db) -> Vec<String> {
    table_rows(db.pool(), "members").await.expect("reading members")
}

async fn compare(db: &Db, want: &(i64, catalog::Snapshot, Vec<String>), when: &str) {
    let (version, schema, data) = want;
    let now = snapshot(db).await;
    if &now != schema {
        Failure::new(format!("the schema {when}"))
            .expected(format!("exactly the schema as it was right after migration {version}"))
            .got(format!("differences (+ extra now, - missing now):\n{}", schema.diff(&now)))
            .hint(
                "Each down file must undo its up file completely, and nothing more: drop what it created, \
                 and create again (the same way) what it dropped, including triggers, functions and NOT NULL.",
            )
            .fail();
    }
    let got = rows(db).await;
    if &got != data {
        let gone: Vec<&String> = data.iter().filter(|r| !got.contains(r)).take(2).collect();
        let new: Vec<&String> = got.iter().filter(|r| !data.contains(r)).take(2).collect();
        Failure::new(format!("SELECT * FROM members {when}"))
            .expected(format!("the same {} rows as right after migration {version}", data.len()))
            .got(format!("{} rows; rows as they were: {gone:?}; rows as they are now: {new:?}", got.len()))
            .hint(
                "A down that re-adds a column must fill it in again from the data that is left (UPDATE members \
                 SET fullname = display_name), and an up must compute the same values every time it runs.",
            )
            .fail();
    }
}
