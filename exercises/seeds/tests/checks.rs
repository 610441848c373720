//! The checks for `seeds`. Each test is one check; its name says what it
//! expects. Run them with `cargo checker run seeds`.
//!
//! The seeds run through `workbook::seeds`, the same engine as
//! `cargo checker seed seeds up|down`: what you try by hand is what is
//! checked. Every check starts from the given migrations on a fresh
//! database, and adds rows of its own (different on every run) before or
//! after seeding, as the people using the application would.

use std::path::PathBuf;

use workbook::seeds::{self, SeedAction, SeedError, SeedOutcome};
use workbook::steps::table_rows;
use workbook::{Db, Failure, check, data};

const ADMIN_EMAIL: &str = "admin@workbook.example";
const COHORTS: [(&str, &str); 2] = [("staff", "Staff"), ("waitlist", "Waiting list")];

/// A directory of the exercise being checked (read at run time, so a
/// binary built in another checkout still reads this one's files).
fn dir(name: &str) -> PathBuf {
    workbook::exercise::path(name)
}

/// Runs `seed up`, failing the check with the engine's error.
async fn seed_up(db: &Db, doing: &str) -> Vec<SeedOutcome> {
    match seeds::up(db.url(), &dir("seeds")).await {
        Ok(outcomes) => outcomes,
        Err(e) => fail_seed(doing, &e),
    }
}

async fn seed_down(db: &Db, doing: &str) -> Vec<SeedOutcome> {
    match seeds::down(db.url(), &dir("seeds")).await {
        Ok(outcomes) => outcomes,
        Err(e) => fail_seed(doing, &e),
    }
}

fn fail_seed(doing: &str, e: &SeedError) -> ! {
    let hint = match e {
        SeedError::Sql { error, .. } if error.code.as_deref() == Some("23505") => {
            "A plain INSERT fails when the row is already there. Add ON CONFLICT (<the unique column>) DO NOTHING \
             so a second run leaves the row alone."
        }
        SeedError::Sql { error, .. } if error.code.as_deref() == Some("23503") => {
            "A foreign key refused this. Seeds run in version order going up and in reverse going down: the seed \
             that adds a parent row (a cohort) needs a smaller version than the seed whose rows point at it (a user)."
        }
        SeedError::Sql { error, .. } if error.code.as_deref() == Some("23502") => {
            "A NOT NULL column got no value. If it is cohort_id, the cohort was not found: look it up with \
             INSERT ... SELECT ... FROM cohorts WHERE code = 'staff', after the seed that adds it."
        }
        SeedError::Sql { .. } => "PostgreSQL stopped at the line shown: fix the SQL there.",
        SeedError::Unpaired { .. } => "Every seed is two files: <version>_<name>.up.sql and .down.sql.",
        _ => "Run the seeds by hand with `cargo checker seed seeds up` to see more.",
    };
    Failure::new(doing).expected("the seeds run without an error").got(e.to_string()).hint(hint).fail()
}

async fn migrate(db: &Db) {
    db.migrate(dir("migrations")).await;
}

/// Cohorts people created, so seeded ids cannot be guessed: returns their
/// codes.
async fn people_cohorts(db: &Db, n: usize) -> Vec<String> {
    let mut codes = Vec::new();
    for _ in 0..n {
        let code = format!("{}-{}", data::word(5), data::int(2020..2031));
        sqlx::query("INSERT INTO cohorts (code, name) VALUES ($1, $2)")
            .bind(&code)
            .bind(format!("Cohort {}", data::word(4)))
            .execute(db.pool())
            .await
            .expect("inserting a cohort");
        codes.push(code);
    }
    codes
}

async fn all_rows(db: &Db) -> (Vec<String>, Vec<String>) {
    let cohorts = table_rows(db.pool(), "cohorts").await.expect("reading cohorts");
    let users = table_rows(db.pool(), "users").await.expect("reading users");
    (cohorts, users)
}

/// Fails unless the seeds added what they must: checks about running them
/// twice or undoing them prove nothing about seeds that add no rows.
async fn require_seeded(db: &Db, doing: &str) {
    let cohorts: i64 = sqlx::query_scalar("SELECT count(*) FROM cohorts WHERE code IN ('staff', 'waitlist')")
        .fetch_one(db.pool())
        .await
        .expect("reading cohorts");
    let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(ADMIN_EMAIL)
        .fetch_one(db.pool())
        .await
        .expect("reading users");
    if (cohorts, admins) != (2, 1) {
        Failure::new(doing)
            .expected("the cohorts 'staff' and 'waitlist' and the user admin@workbook.example")
            .got(format!("{cohorts} of the 2 cohorts, {admins} of the 1 admin"))
            .hint(
                "Write the up files first (the checks seeding_creates_the_default_cohorts and \
                 the_admin_belongs_to_the_staff_cohort say what they must add); this check builds on them.",
            )
            .fail();
    }
}

async fn cohort_name(db: &Db, code: &str) -> Option<String> {
    sqlx::query_scalar("SELECT name FROM cohorts WHERE code = $1")
        .bind(code)
        .fetch_optional(db.pool())
        .await
        .expect("reading cohorts")
}

#[test]
fn seeding_creates_the_default_cohorts() {
    check(async |db| {
        migrate(&db).await;
        people_cohorts(&db, data::int(1..4) as usize).await;
        seed_up(&db, "seed up on a migrated database").await;
        for (code, name) in COHORTS {
            match cohort_name(&db, code).await {
                Some(got) if got == name => {}
                Some(got) => Failure::new(format!("SELECT name FROM cohorts WHERE code = '{code}' after seed up"))
                    .expected(format!("{name:?}"))
                    .got(format!("{got:?}"))
                    .fail(),
                None => Failure::new(format!("SELECT * FROM cohorts WHERE code = '{code}' after seed up"))
                    .expected(format!("one row: the cohort {code:?} named {name:?}"))
                    .got("no row")
                    .hint("seed up ran, but this cohort is not in the table: seeds/1_default_cohorts.up.sql must insert every cohort its comment lists, with exactly that code and name (book/src/seeds/index.md#the-seeds-directory).")
                    .fail(),
            }
        }
    });
}

#[test]
fn the_admin_belongs_to_the_staff_cohort() {
    check(async |db| {
        migrate(&db).await;
        // Cohorts made before seeding take the first ids: only a seed that
        // looks the staff cohort up by its code finds it.
        people_cohorts(&db, data::int(1..5) as usize).await;
        seed_up(&db, "seed up on a migrated database").await;
        let admin: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT u.name, u.role, c.code FROM users u LEFT JOIN cohorts c ON c.id = u.cohort_id WHERE u.email = $1",
        )
        .bind(ADMIN_EMAIL)
        .fetch_optional(db.pool())
        .await
        .expect("reading users");
        match admin {
            None => Failure::new(format!("SELECT * FROM users WHERE email = '{ADMIN_EMAIL}' after seed up"))
                .expected("one row: the administrator")
                .got("no row")
                .hint(
                    "Write the INSERT in seeds/2_admin_user.up.sql. If you wrote one, its SELECT found no cohort: \
                     is the staff cohort's code exactly 'staff'?",
                )
                .fail(),
            Some((name, role, code)) => {
                let got = (name.as_str(), role.as_str(), code.as_deref());
                if got != ("Workbook Admin", "admin", Some("staff")) {
                    Failure::new(format!("the user {ADMIN_EMAIL} after seed up (name, role, cohort code)"))
                        .expected(r#"("Workbook Admin", "admin", Some("staff"))"#)
                        .got(format!("{got:?}"))
                        .hint(
                            "Never write an id into a seed: ids differ from one database to the next. Find the \
                             cohort by its code: INSERT INTO users (...) SELECT ..., id FROM cohorts WHERE code = 'staff'.",
                        )
                        .fail();
                }
            }
        }
    });
}

#[test]
fn seeding_twice_leaves_exactly_the_same_rows() {
    check(async |db| {
        migrate(&db).await;
        people_cohorts(&db, data::int(0..3) as usize).await;
        seed_up(&db, "seed up, the first time").await;
        require_seeded(&db, "seed up, the first time").await;
        let before = all_rows(&db).await;
        // As if every seed file had been edited: the engine runs a changed
        // seed again, on top of the rows its last run left.
        sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {} SET checksum = '\\x00'", seeds::TABLE)))
            .execute(db.pool())
            .await
            .expect("marking the seeds changed");
        let again = match seeds::up(db.url(), &dir("seeds")).await {
            Ok(outcomes) => outcomes,
            Err(e) => Failure::new("seed up a second time (as after editing the seed files)")
                .expected("the same rows as after the first run: a seed must be safe to run twice")
                .got(e.to_string())
                .hint(
                    "A plain INSERT fails (or duplicates rows) when they are already there. End each INSERT with \
                     ON CONFLICT (<its unique column>) DO NOTHING.",
                )
                .fail(),
        };
        if let Some(o) = again.iter().find(|o| o.action != SeedAction::RanAgain) {
            Failure::new("seed up after marking every seed changed")
                .expected("every seed to run again")
                .got(o.to_string())
                .fail();
        }
        let after = all_rows(&db).await;
        for (table, before, after) in [("cohorts", &before.0, &after.0), ("users", &before.1, &after.1)] {
            if before != after {
                Failure::new(format!("SELECT * FROM {table} after running the seeds a second time"))
                    .expected(format!(
                        "the same {} rows as after the first run: a seed must be safe to run twice",
                        before.len()
                    ))
                    .got(format!("{} rows: {}", after.len(), changed_rows(before, after)))
                    .hint(
                        "Use ON CONFLICT (<unique column>) DO NOTHING, so a row that is already there is left \
                         exactly as it is.",
                    )
                    .fail();
            }
        }
    });
}

#[test]
fn seed_down_removes_every_seeded_row() {
    check(async |db| {
        migrate(&db).await;
        people_cohorts(&db, data::int(1..4) as usize).await;
        let unseeded = all_rows(&db).await;
        seed_up(&db, "seed up").await;
        require_seeded(&db, "seed up").await;
        seed_down(&db, "seed down after seed up").await;
        let left = all_rows(&db).await;
        if left != unseeded {
            Failure::new("seed up, then seed down")
                .expected("the tables exactly as they were before seeding")
                .got(format!(
                    "cohorts: {}; users: {}",
                    changed_rows(&unseeded.0, &left.0),
                    changed_rows(&unseeded.1, &left.1)
                ))
                .hint(
                    "Each down file deletes exactly what its up file inserted, found by a unique column: \
                     DELETE FROM cohorts WHERE code IN (...), DELETE FROM users WHERE email = '...'.",
                )
                .fail();
        }
        // Down must leave the database ready to be seeded again.
        seed_up(&db, "seed up again after seed down").await;
        if cohort_name(&db, "staff").await.is_none() {
            Failure::new("seed up, seed down, seed up")
                .expected("the staff cohort back")
                .got("no cohort with code 'staff'")
                .fail();
        }
    });
}

#[test]
fn seed_down_keeps_rows_people_created() {
    check(async |db| {
        migrate(&db).await;
        seed_up(&db, "seed up").await;
        require_seeded(&db, "seed up").await;
        // Rows people added after seeding, made to look like seeded ones:
        // same names, an admin role, similar codes and emails.
        let w = data::word(6);
        let codes = [format!("staff-{w}"), format!("waitlist{}", data::int(2..99))];
        for (code, name) in codes.iter().zip(["Staff", "Waiting list"]) {
            sqlx::query("INSERT INTO cohorts (code, name) VALUES ($1, $2)")
                .bind(code)
                .bind(name)
                .execute(db.pool())
                .await
                .expect("inserting a cohort");
        }
        let people = [
            (format!("admin@{}.example", data::word(5)), "Workbook Admin".to_owned(), "admin"),
            (format!("{}.admin@workbook.example", data::word(5)), data::name(), "admin"),
            (data::email(), "Workbook Admin".to_owned(), "student"),
            (data::email(), data::name(), "student"),
        ];
        for (i, (email, name, role)) in people.iter().enumerate() {
            sqlx::query(
                "INSERT INTO users (email, name, role, cohort_id) SELECT $1, $2, $3, id FROM cohorts WHERE code = $4",
            )
            .bind(email)
            .bind(name)
            .bind(role)
            .bind(&codes[i % 2])
            .execute(db.pool())
            .await
            .expect("inserting a user");
        }
        let theirs = people_rows(&db).await;
        let doing = "seed down, with rows people created alongside the seeded ones";
        if let Err(e) = seeds::down(db.url(), &dir("seeds")).await {
            match &e {
                SeedError::Sql { error, .. } if error.code.as_deref() == Some("23503") => Failure::new(doing)
                    .expected("only the seeded rows deleted")
                    .got(e.to_string())
                    .hint(
                        "Your down tried to delete a cohort that people's users still belong to: it reached past the \
                         seed's own rows. Delete the seeded cohorts by their codes, 'staff' and 'waitlist', only.",
                    )
                    .fail(),
                _ => fail_seed(doing, &e),
            }
        }
        let left = people_rows(&db).await;
        if left != theirs {
            Failure::new("seed down, with rows people created alongside the seeded ones")
                .expected(format!("{} rows people created, untouched", theirs.0.len() + theirs.1.len()))
                .got(format!(
                    "seed down deleted or changed rows it did not create; cohorts: {}; users: {}",
                    changed_rows(&theirs.0, &left.0),
                    changed_rows(&theirs.1, &left.1)
                ))
                .hint(
                    "Find the seed's rows by the unique value the seed gave them (the cohort codes 'staff' and \
                     'waitlist', the email admin@workbook.example), never by a name, a role or a pattern.",
                )
                .fail();
        }
    });
}

#[test]
fn a_fresh_start_migrates_then_seeds_an_empty_database() {
    check(async |db| {
        let fresh = match seeds::fresh(db.url(), &dir("migrations"), &dir("seeds")).await {
            Ok(f) => f,
            Err(e) => fail_seed("the fresh start on an empty database (migrate, then seed)", &e),
        };
        require_seeded(&db, "the fresh start on an empty database (migrate, then seed)").await;
        let ran: Vec<SeedAction> = fresh.seeds.iter().map(|o| o.action).collect();
        if fresh.migrations_applied != [1, 2] || ran != [SeedAction::Ran, SeedAction::Ran] {
            Failure::new("the fresh start on an empty database")
                .expected("migrations [1, 2] applied, then both seeds run, in that order")
                .got(format!("migrations {:?}, seeds {:?}", fresh.migrations_applied, fresh.seeds))
                .hint("Keep exactly two seeds: 1_default_cohorts and 2_admin_user, each an .up.sql/.down.sql pair.")
                .fail();
        }
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users u JOIN cohorts c ON c.id = u.cohort_id
             WHERE u.email = $1 AND c.code = 'staff'",
        )
        .bind(ADMIN_EMAIL)
        .fetch_one(db.pool())
        .await
        .expect("reading users");
        if admins != 1 {
            Failure::new("the fresh start on an empty database, then looking for the admin in the staff cohort")
                .expected("1 row")
                .got(format!("{admins} rows"))
                .hint("The cohort seed must come first (version 1), the admin seed after it (version 2).")
                .fail();
        }
    });
}

/// Rows of cohorts and users other than the seeded ones.
async fn people_rows(db: &Db) -> (Vec<String>, Vec<String>) {
    let cohorts = sqlx::query_scalar(
        "SELECT to_jsonb(c)::text FROM cohorts c WHERE code NOT IN ('staff', 'waitlist') ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .expect("reading cohorts");
    let users = sqlx::query_scalar("SELECT to_jsonb(u)::text FROM users u WHERE email <> $1 ORDER BY id")
        .bind(ADMIN_EMAIL)
        .fetch_all(db.pool())
        .await
        .expect("reading users");
    (cohorts, users)
}

/// The rows only in `before` (gone) and only in `after` (new), briefly.
fn changed_rows(before: &[String], after: &[String]) -> String {
    let gone: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
    let new: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
    let extra = after.len().saturating_sub(before.len());
    match (gone.is_empty(), new.is_empty()) {
        (true, true) if extra > 0 => format!("{extra} duplicate rows"),
        (true, true) => "no difference".to_owned(),
        _ => {
            let mut parts = Vec::new();
            for r in gone.iter().take(3) {
                parts.push(format!("gone {r}"));
            }
            for r in new.iter().take(3) {
                parts.push(format!("new {r}"));
            }
            parts.join("; ")
        }
    }
}
