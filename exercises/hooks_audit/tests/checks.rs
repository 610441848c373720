//! The checks for `hooks_audit`. Each test is one check; its name says what
//! it expects. Run them with `cargo checker run hooks_audit`.
//!
//! Every check builds a few teams and users of its own from data generated
//! for this run, with passwords made up on the spot. Your code reaches the
//! database through the check's relay, which records every statement and
//! every value it sends: that is how the checks know a password never
//! travelled, and that an audit row was written in the same transaction as
//! its change. The hashes are judged with the argon2 crate itself, never
//! with your `verify_password`.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use hooks_audit::{
    NewUser, User, UserChanges, UserError, authenticate, create_user, create_users, delete_user, update_user,
    verify_password,
};
use serde_json::Value as Json;
use workbook::wire::{Traffic, Value};
use workbook::{Db, Failure, catalog, check, data};

// ---------------------------------------------------------------------------
// Passwords: hashed on every path, never sent
// ---------------------------------------------------------------------------

#[test]
fn create_user_stores_a_hash_that_verifies_and_never_sends_the_password() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let new = org.new_user();
        let called = format!(
            "create_user(&pool, actor, &NewUser {{ email: {:?}, password: {:?}, .. }})",
            new.email, new.password
        );
        let (made, sent) = db.wire().during(create_user(db.app_pool(), &data::email(), &new)).await;
        let made = ok(&called, made, &sent);
        let stored = user_row(&db, made.id).await;
        if stored.as_ref() != Some(&made) {
            Failure::new(&called)
                .expected("the user as stored in the table")
                .got(format!("returned {made:?}; the table holds {stored:?}"))
                .hint("What create_user returns must be the row the database stored, ids and timestamps included: those are made by the database, so they can only come back from it, in the same statement that inserts the row (book/src/student_directory/index.md#create-insert--returning).")
                .sent(&sent)
                .fail();
        }
        expect_hash(&called, &made.password_hash, &new.password, &sent);
        expect_never_sent(&called, &sent, &[&new.password]);
        expect_nowhere(&db, &called, &[&new.password]).await;
    });
}

#[test]
fn create_users_hashes_every_row_of_a_bulk_insert() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let mut batch: Vec<NewUser> = (0..data::int(3..7)).map(|_| org.new_user()).collect();
        // Two people choose the same password: salted hashes still differ.
        let shared = batch[0].password.clone();
        let last = batch.len() - 1;
        batch[last].password = shared;
        let called = format!("create_users(&pool, actor, &batch) with {} new users", batch.len());
        let (made, sent) = db.wire().during(create_users(db.app_pool(), &data::email(), &batch)).await;
        let made = ok(&called, made, &sent);
        let emails: Vec<&str> = made.iter().map(|u| u.email.as_str()).collect();
        let want: Vec<&str> = batch.iter().map(|n| n.email.as_str()).collect();
        if emails != want {
            Failure::new(&called)
                .expected(format!("{} users, in the order given: {want:?}", want.len()))
                .got(format!("{emails:?}"))
                .sent(&sent)
                .fail();
        }
        for (user, new) in made.iter().zip(&batch) {
            let stored = user_row(&db, user.id).await;
            if stored.as_ref() != Some(user) {
                Failure::new(&called)
                    .expected(format!("user {} as stored in the table", user.email))
                    .got(format!("returned {user:?}; the table holds {stored:?}"))
                    .sent(&sent)
                    .fail();
            }
            let hint = "This is the trap seed 002 warns about: a bulk insert that skips the per-row hook \
                        (Sequelize's beforeCreate does not run for bulkCreate without individualHooks). Hash every \
                        row's password with hash_password before the INSERT.";
            expect_hash_with(&called, &user.password_hash, &new.password, &sent, hint);
        }
        if made[0].password_hash == made[last].password_hash {
            Failure::new(&called)
                .expected("different hashes for two users who chose the same password: each hash has its own salt")
                .got(format!("both stored {}", made[0].password_hash))
                .hint("hasher().hash_password(..) makes a fresh random salt every time; never reuse one.")
                .fail();
        }
        let passwords: Vec<&str> = batch.iter().map(|n| n.password.as_str()).collect();
        expect_never_sent(&called, &sent, &passwords);
        expect_nowhere(&db, &called, &passwords).await;
    });
}

#[test]
fn update_rehashes_only_when_the_password_changes() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let (user, password) = org.some_user();
        let actor = data::email();
        let changes = UserChanges { name: Some(data::name()), ..UserChanges::default() };
        let called = format!("update_user(&pool, actor, {}, &UserChanges {{ name: {:?}, .. }})", user.id, changes.name);
        let (got, sent) = db.wire().during(update_user(db.app_pool(), &actor, user.id, &changes)).await;
        let got = ok(&called, got, &sent);
        let stored = user_row(&db, user.id).await;
        match (&got, &stored) {
            (Some(g), Some(s)) if g == s && s.name == *changes.name.as_ref().unwrap() && s.email == user.email => {}
            _ => Failure::new(&called)
                .expected("Ok(Some(the user with the new name)), as stored in the table")
                .got(format!("returned {got:?}; the table holds {stored:?}"))
                .hint("A field left out of the changes (None) keeps its stored value, a field given replaces it, and the user returned is the row as the UPDATE left it, not one rebuilt in Rust (book/src/hooks_audit/index.md#one-hook-for-every-path).")
                .sent(&sent)
                .fail(),
        }
        let stored = stored.expect("checked above");
        if stored.password_hash != user.password_hash {
            let still = verifies(&stored.password_hash, password);
            Failure::new(&called)
                .expected(format!("password_hash untouched (no new password was given): {}", user.password_hash))
                .got(format!(
                    "{}{}",
                    stored.password_hash,
                    if still { "" } else { ", and the user's password no longer verifies: they are locked out" }
                ))
                .hint(
                    "Hash only a new password. A hook that hashes on every save hashes the stored hash again (the \
                     Sequelize beforeUpdate trap; check changed('password') there). Leave the column alone when \
                     changes.password is None: SET password_hash = coalesce($4, password_hash).",
                )
                .sent(&sent)
                .fail();
        }

        let fresh = password_like();
        let changes = UserChanges { password: Some(fresh.clone()), ..UserChanges::default() };
        let called = format!("update_user(&pool, actor, {}, &UserChanges {{ password: {fresh:?}, .. }})", user.id);
        let (got, sent) = db.wire().during(update_user(db.app_pool(), &actor, user.id, &changes)).await;
        ok(&called, got, &sent);
        let stored = user_row(&db, user.id).await.expect("the user is still there");
        expect_hash(&called, &stored.password_hash, &fresh, &sent);
        if verifies(&stored.password_hash, password) {
            Failure::new(&called)
                .expected("the old password no longer verifies")
                .got("it still does")
                .sent(&sent)
                .fail();
        }
        expect_never_sent(&called, &sent, &[&fresh]);
        expect_nowhere(&db, &called, &[&fresh]).await;

        let unknown = org.unknown_id();
        let called = format!("update_user(&pool, actor, {unknown}, ..), an id no user has");
        match update_user(db.app_pool(), &actor, unknown, &changes).await {
            Ok(None) => {}
            other => Failure::new(called).expected("Ok(None)").got(format!("{other:?}")).fail(),
        }
    });
}

#[test]
fn authenticate_checks_the_password_in_rust_and_never_sends_it() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let (user, password) = org.some_user();
        let app = db.app_pool();
        let called = format!("authenticate(&pool, {:?}, {password:?}) with the right password", user.email);
        let (got, sent) = db.wire().during(authenticate(app, &user.email, password)).await;
        match got {
            Ok(Some(u)) if u == *user => {}
            other => Failure::new(&called)
                .expected(format!("Ok(Some(user {}))", user.id))
                .got(format!("{other:?}"))
                .hint("Find the user by email alone, then verify_password(password, &user.password_hash) in Rust.")
                .sent(&sent)
                .fail(),
        }
        expect_never_sent(&called, &sent, &[password]);
        let wrong = password_like();
        let called = format!("authenticate(&pool, {:?}, {wrong:?}) with a wrong password", user.email);
        let (got, sent) = db.wire().during(authenticate(app, &user.email, &wrong)).await;
        match got {
            Ok(None) => {}
            other => Failure::new(&called).expected("Ok(None)").got(format!("{other:?}")).sent(&sent).fail(),
        }
        expect_never_sent(&called, &sent, &[&wrong]);
        let nobody = data::email();
        match authenticate(app, &nobody, password).await {
            Ok(None) => {}
            other => Failure::new(format!("authenticate(&pool, {nobody:?}, ..) for an email nobody has"))
                .expected("Ok(None)")
                .got(format!("{other:?}"))
                .fail(),
        }
        // verify_password on hashes it did not make, and on garbage.
        for (pw, hash, want) in [
            (password, user.password_hash.as_str(), true),
            (wrong.as_str(), user.password_hash.as_str(), false),
            (password, "not a hash at all", false),
        ] {
            if verify_password(pw, hash) != want {
                Failure::new(format!("verify_password({pw:?}, {hash:?})"))
                    .expected(format!("{want}"))
                    .got(format!("{}", !want))
                    .hint(
                        "Parse the stored PHC string with PasswordHash::new (its cost and salt are inside it), \
                         then hasher().verify_password(..).is_ok(); a string that does not parse verifies nothing.",
                    )
                    .fail();
            }
        }
    });
}

// ---------------------------------------------------------------------------
// The audit trail: one row per change, in the change's transaction
// ---------------------------------------------------------------------------

#[test]
fn every_create_writes_its_audit_row_in_the_same_transaction() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let actor = data::email();
        let new = org.new_user();
        let called = format!("create_user(&pool, {actor:?}, &new)");
        let (made, sent) = db.wire().during(create_user(db.app_pool(), &actor, &new)).await;
        let made = ok(&called, made, &sent);
        expect_audited_in_the_transaction(&called, &sent);
        let trail = audit_rows(&db).await;
        expect_trail(&called, &trail, &[Expected::create(&actor, &made)], &sent);

        let batch: Vec<NewUser> = (0..data::int(3..6)).map(|_| org.new_user()).collect();
        let called = format!("create_users(&pool, {actor:?}, &batch) with {} users", batch.len());
        let (made, sent) = db.wire().during(create_users(db.app_pool(), &actor, &batch)).await;
        let made = ok(&called, made, &sent);
        expect_audited_in_the_transaction(&called, &sent);
        // One row per user, in whatever order they were written.
        let mut want: Vec<Expected> = made.iter().map(|u| Expected::create(&actor, u)).collect();
        want.sort_by_key(|w| w.row_id);
        let mut bulk = audit_rows(&db).await.split_off(trail.len());
        bulk.sort_by_key(|r| r.row_id);
        expect_trail(&called, &bulk, &want, &sent);
    });
}

#[test]
fn update_and_delete_write_audit_rows_with_before_and_after() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let actor = data::email();
        let (user, _) = org.some_user();
        let changes = UserChanges { name: Some(data::name()), email: Some(data::email()), password: None };
        let called = format!("update_user(&pool, {actor:?}, {}, &changes) changing name and email", user.id);
        let (got, sent) = db.wire().during(update_user(db.app_pool(), &actor, user.id, &changes)).await;
        let after = ok(&called, got, &sent).unwrap_or_else(|| {
            Failure::new(&called).expected(format!("Ok(Some(user {}))", user.id)).got("Ok(None)").fail()
        });
        expect_audited_in_the_transaction(&called, &sent);
        let trail = audit_rows(&db).await;
        expect_trail(&called, &trail, &[Expected::update(&actor, user, &after)], &sent);

        let (victim, _) = org.another_user(user.id);
        let called = format!("delete_user(&pool, {actor:?}, {})", victim.id);
        let (got, sent) = db.wire().during(delete_user(db.app_pool(), &actor, victim.id)).await;
        match got {
            Ok(true) => {}
            other => Failure::new(&called).expected("Ok(true)").got(format!("{other:?}")).sent(&sent).fail(),
        }
        if user_row(&db, victim.id).await.is_some() {
            Failure::new(&called).expected("the user gone from the table").got("still there").sent(&sent).fail();
        }
        expect_audited_in_the_transaction(&called, &sent);
        expect_trail(&called, &audit_rows(&db).await[trail.len()..], &[Expected::delete(&actor, victim)], &sent);

        // Nothing happened, so nothing is audited.
        let unknown = org.unknown_id();
        let before = audit_rows(&db).await.len();
        let u = update_user(db.app_pool(), &actor, unknown, &changes).await;
        let d = delete_user(db.app_pool(), &actor, unknown).await;
        let called = format!("update_user(.., {unknown}, ..) and delete_user(.., {unknown}) for an id no user has");
        if !matches!(u, Ok(None)) || !matches!(d, Ok(false)) {
            Failure::new(&called).expected("Ok(None) and Ok(false)").got(format!("{u:?} and {d:?}")).fail();
        }
        let after = audit_rows(&db).await;
        if after.len() != before {
            Failure::new(&called)
                .expected("no audit row: nothing changed")
                .got(format!("{} audit row(s):{}", after.len() - before, show_rows(&after[before..])))
                .hint("Audit a change after it happened; a user that is not there was not updated or deleted.")
                .fail();
        }
    });
}

#[test]
fn the_audit_before_is_the_row_the_update_replaced() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let actor = data::email();
        let (user, _) = org.some_user();
        // Someone else is changing the same user, and commits while
        // update_user runs: the check holds the row until update_user waits
        // for it.
        let mut theirs = db.pool().begin().await.unwrap_or_else(|e| query_failed("BEGIN", e));
        let meanwhile = loop {
            let name = data::name();
            if name != user.name {
                break name;
            }
        };
        sqlx::query("SELECT set_config('audit.by_app', 'on', true)")
            .execute(&mut *theirs)
            .await
            .unwrap_or_else(|e| query_failed("marking the check's transaction", e));
        sqlx::query("UPDATE users SET name = $2 WHERE id = $1")
            .bind(user.id)
            .bind(&meanwhile)
            .execute(&mut *theirs)
            .await
            .unwrap_or_else(|e| query_failed("the check's own UPDATE", e));
        let replaced = User { name: meanwhile.clone(), ..user.clone() };

        let changes = UserChanges { email: Some(data::email()), ..UserChanges::default() };
        let called = format!(
            "update_user(&pool, actor, {}, &changes) while another transaction renames the user to {meanwhile:?} \
             and commits as soon as update_user waits for it",
            user.id
        );
        let mark = db.wire().mark();
        let (pool, id, who, what) = (db.app_pool().clone(), user.id, actor.clone(), changes.clone());
        let call = tokio::spawn(async move { update_user(&pool, &who, id, &what).await });
        if !waiting_for_a_lock(&db, &call).await {
            let _ = theirs.rollback().await;
            let got = call.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            Failure::new(&called)
                .expected("update_user to wait for the row the other transaction holds, then update it")
                .got(format!("it returned {got:?} without waiting"))
                .sent(&db.wire().since(mark).await)
                .fail();
        }
        theirs.commit().await.unwrap_or_else(|e| query_failed("COMMIT of the check's transaction", e));
        let got = call.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let sent = db.wire().since(mark).await;
        let after = ok(&called, got, &sent).unwrap_or_else(|| {
            Failure::new(&called).expected(format!("Ok(Some(user {}))", user.id)).got("Ok(None)").fail()
        });
        let trail = audit_rows(&db).await;
        let want = [Expected::update(&actor, &replaced, &after)];
        if let [row] = trail.as_slice()
            && json_problem("before", row.before.as_deref(), Some(&replaced)).is_some()
            && json_problem("before", row.before.as_deref(), Some(user)).is_none()
        {
            Failure::new(&called)
                .expected(format!("before to be the row the UPDATE replaced, named {meanwhile:?}"))
                .got(format!("before says {:?}: a row that was already gone when the change was made", user.name))
                .hint(
                    "Read the row for before with SELECT ... FOR UPDATE inside the transaction: the lock makes the \
                     read wait for the other transaction, and keeps anyone from changing the row between your read \
                     and your UPDATE.",
                )
                .sent(&sent)
                .fail();
        }
        expect_trail(&called, &trail, &want, &sent);
    });
}

/// Whether some session of this database waits for a lock, within 3 s,
/// before `call` ends.
async fn waiting_for_a_lock<T>(db: &Db, call: &tokio::task::JoinHandle<T>) -> bool {
    for _ in 0..600 {
        if call.is_finished() {
            return false;
        }
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| query_failed("reading pg_stat_activity", e));
        if waiting {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    false
}

#[test]
fn a_change_that_fails_leaves_no_audit_row() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let actor = data::email();
        let (taken, _) = org.some_user();
        let users_before = all_users(&db).await;

        let mut new = org.new_user();
        new.email = taken.email.clone();
        let called = format!("create_user(&pool, actor, &new) with the email of user {}", taken.id);
        let (got, sent) = db.wire().during(create_user(db.app_pool(), &actor, &new)).await;
        expect_taken(&called, got.map(|_| ()), &taken.email, &sent);
        expect_no_trail(&db, &called, &users_before, &sent).await;

        let mut batch: Vec<NewUser> = (0..data::int(3..6)).map(|_| org.new_user()).collect();
        batch.last_mut().expect("a batch").email = taken.email.clone();
        let called = format!(
            "create_users(&pool, actor, &batch) with {} users, the last with the email of user {}",
            batch.len(),
            taken.id
        );
        let (got, sent) = db.wire().during(create_users(db.app_pool(), &actor, &batch)).await;
        expect_taken(&called, got.map(|_| ()), &taken.email, &sent);
        expect_no_trail(&db, &called, &users_before, &sent).await;

        let (other, _) = org.another_user(taken.id);
        let changes = UserChanges { email: Some(taken.email.clone()), ..UserChanges::default() };
        let called = format!("update_user(&pool, actor, {}, ..) to the email of user {}", other.id, taken.id);
        let (got, sent) = db.wire().during(update_user(db.app_pool(), &actor, other.id, &changes)).await;
        expect_taken(&called, got.map(|_| ()), &taken.email, &sent);
        expect_no_trail(&db, &called, &users_before, &sent).await;
    });
}

#[test]
fn a_failing_audit_insert_rolls_the_change_back() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        // The audit insert of this actor, and of no other, fails.
        let actor = format!("saboteur.{}", data::word(8));
        let sql = format!("ALTER TABLE audit_log ADD CONSTRAINT the_check_refuses CHECK (actor <> '{actor}')");
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(db.pool()).await {
            query_failed("adding the check's failing constraint to audit_log", e);
        }
        let users_before = all_users(&db).await;
        let hint = "The change was committed on its own, so the failed audit could not take it back. Write the \
                    change and its audit row in one transaction (pool.begin(), both on &mut *tx, then commit): when \
                    the audit insert fails, the change is rolled back with it.";

        let new = org.new_user();
        let called = format!("create_user(&pool, {actor:?}, &new) while the audit insert fails");
        let (got, sent) = db.wire().during(create_user(db.app_pool(), &actor, &new)).await;
        expect_failed_and_unchanged(&db, &called, got.map(|_| ()), &users_before, hint, &sent).await;

        let batch: Vec<NewUser> = (0..3).map(|_| org.new_user()).collect();
        let called = format!("create_users(&pool, {actor:?}, &batch) while the audit insert fails");
        let (got, sent) = db.wire().during(create_users(db.app_pool(), &actor, &batch)).await;
        expect_failed_and_unchanged(&db, &called, got.map(|_| ()), &users_before, hint, &sent).await;

        let (user, _) = org.some_user();
        let changes = UserChanges { name: Some(data::name()), ..UserChanges::default() };
        let called = format!("update_user(&pool, {actor:?}, {}, ..) while the audit insert fails", user.id);
        let (got, sent) = db.wire().during(update_user(db.app_pool(), &actor, user.id, &changes)).await;
        expect_failed_and_unchanged(&db, &called, got.map(|_| ()), &users_before, hint, &sent).await;

        let called = format!("delete_user(&pool, {actor:?}, {}) while the audit insert fails", user.id);
        let (got, sent) = db.wire().during(delete_user(db.app_pool(), &actor, user.id)).await;
        expect_failed_and_unchanged(&db, &called, got.map(|_| ()), &users_before, hint, &sent).await;
    });
}

// ---------------------------------------------------------------------------
// The trigger: writes that never run application code
// ---------------------------------------------------------------------------

#[test]
fn the_trigger_audits_a_raw_sql_write() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let pool = db.pool();
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| query_failed("current_user", e));
        // What someone types into psql: no application code runs.
        let email = data::email();
        let name = data::name();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (team_id, email, name, password_hash) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(org.teams[0])
        .bind(&email)
        .bind(&name)
        .bind(org_hash(&password_like()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| query_failed("INSERT INTO users (raw SQL)", e));
        let created = user_row(&db, id).await.expect("just inserted");
        sqlx::query("UPDATE users SET name = $2 WHERE id = $1")
            .bind(id)
            .bind(data::name())
            .execute(pool)
            .await
            .unwrap_or_else(|e| query_failed("UPDATE users (raw SQL)", e));
        let updated = user_row(&db, id).await.expect("just updated");
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .unwrap_or_else(|e| query_failed("DELETE FROM users (raw SQL)", e));
        let called = format!(
            "INSERT, UPDATE and DELETE of user {id} in raw SQL, straight to the database (as {role:?}, no application code)"
        );
        let want = [
            Expected::create(&role, &created),
            Expected::update(&role, &created, &updated),
            Expected::delete(&role, &updated),
        ];
        expect_trail(&called, &audit_rows(&db).await, &want, &Traffic::default());
    });
}

#[test]
fn the_trigger_audits_users_deleted_by_on_delete_cascade() {
    check(async |db| {
        let org = Org::new_in(&db).await;
        let team = org.teams[1];
        let members: Vec<&User> = org.users.iter().map(|(u, _)| u).filter(|u| u.team_id == team).collect();
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("current_user", e));
        sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(team)
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("DELETE FROM teams WHERE id = $1", e));
        let called = format!(
            "DELETE FROM teams WHERE id = {team}, a team of {} users who go with it by ON DELETE CASCADE",
            members.len()
        );
        let want: Vec<Expected> = members.iter().map(|u| Expected::delete(&role, u)).collect();
        let mut trail = audit_rows(&db).await;
        trail.sort_by_key(|r| r.row_id);
        expect_trail(&called, &trail, &want, &Traffic::default());
    });
}

// ---------------------------------------------------------------------------
// The organisation: generated data
// ---------------------------------------------------------------------------

struct Org {
    teams: Vec<i64>,
    /// Each with the password their hash was made from, by id.
    users: Vec<(User, String)>,
}

impl Org {
    /// Three teams; 6 to 10 users, at least two in the second team.
    async fn new_in(db: &Db) -> Org {
        db.migrate(workbook::exercise::path("migrations")).await;
        let mut ids = data::int(1..300);
        let teams: Vec<i64> = (0..3)
            .map(|_| {
                ids += data::int(1..5);
                ids
            })
            .collect();
        let n = data::int(6..11) as usize;
        let mut users = Vec::new();
        let mut uid = data::int(1..500);
        let at = DateTime::from_timestamp(Utc::now().timestamp() - data::int(86_400..86_400 * 300), 0).expect("time");
        for i in 0..n {
            uid += data::int(1..4);
            let password = password_like();
            let team = if i < 2 { teams[1] } else { teams[data::int(0..3) as usize] };
            let user = User {
                id: uid,
                team_id: team,
                email: data::email(),
                name: data::name(),
                password_hash: org_hash(&password),
                created_at: at,
                updated_at: at,
            };
            users.push((user, password));
        }
        let pool = db.pool();
        let seeded = async {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO teams (id, name) OVERRIDING SYSTEM VALUE SELECT * FROM unnest($1::bigint[], $2::text[])",
            )
            .bind(&teams)
            .bind(teams.iter().map(|_| data::word(6)).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
            let u: Vec<&User> = users.iter().map(|(u, _)| u).collect();
            sqlx::query(
                "INSERT INTO users (id, team_id, email, name, password_hash, created_at, updated_at) OVERRIDING SYSTEM VALUE
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])",
            )
            .bind(u.iter().map(|u| u.id).collect::<Vec<_>>())
            .bind(u.iter().map(|u| u.team_id).collect::<Vec<_>>())
            .bind(u.iter().map(|u| u.email.clone()).collect::<Vec<_>>())
            .bind(u.iter().map(|u| u.name.clone()).collect::<Vec<_>>())
            .bind(u.iter().map(|u| u.password_hash.clone()).collect::<Vec<_>>())
            .bind(u.iter().map(|u| u.created_at).collect::<Vec<_>>())
            .bind(u.iter().map(|u| u.updated_at).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
            // The sample is not a change anyone made: whatever a trigger
            // wrote about it goes, and the identities move past its ids.
            sqlx::raw_sql(
                "TRUNCATE audit_log;
                 SELECT setval(pg_get_serial_sequence('teams', 'id'), (SELECT max(id) FROM teams));
                 SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        };
        if let Err(e) = seeded.await {
            Failure::new("inserting the check's sample teams and users")
                .expected("the insert to succeed on the schema in migrations/0001_users.up.sql")
                .got(e.to_string())
                .hint(
                    "Keep the tables and columns as the starter gives them; your work in the migration is the trigger.",
                )
                .fail();
        }
        Org { teams, users }
    }

    fn new_user(&self) -> NewUser {
        NewUser {
            team_id: self.teams[data::int(0..3) as usize],
            email: data::email(),
            name: data::name(),
            password: password_like(),
        }
    }

    fn some_user(&self) -> (&User, &str) {
        let (u, p) = &self.users[data::int(0..self.users.len() as i64) as usize];
        (u, p)
    }

    fn another_user(&self, not: i64) -> (&User, &str) {
        let (u, p) = self.users.iter().find(|(u, _)| u.id != not).expect("several users");
        (u, p)
    }

    fn unknown_id(&self) -> i64 {
        self.users.iter().map(|(u, _)| u.id).max().unwrap_or(0) + data::int(100..900)
    }
}

/// A password as people choose them: letters and digits, different on
/// every run.
fn password_like() -> String {
    format!("{}{}{}", data::word(5), data::int(10..99), data::word(5))
}

/// The check's own hash of a sample password: Argon2id at the exercise's
/// cost, made without the code under test.
fn org_hash(password: &str) -> String {
    let params = Params::new(1024, 1, 1, None).expect("valid parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .expect("hashing a sample password")
        .to_string()
}

/// Whether `hash` is an Argon2 PHC string that `password` verifies against
/// (its own cost and salt, read from the string).
fn verifies(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

// ---------------------------------------------------------------------------
// What a check expects of hashes and of the wire
// ---------------------------------------------------------------------------

#[track_caller]
fn expect_hash(called: &str, stored: &str, password: &str, sent: &Traffic) {
    expect_hash_with(called, stored, password, sent, "Store hash_password(&new.password), never the password itself.");
}

#[track_caller]
fn expect_hash_with(called: &str, stored: &str, password: &str, sent: &Traffic, hint: &str) {
    if stored == password || stored.contains(password) {
        Failure::new(called)
            .expected("password_hash to hold an Argon2id hash of the password")
            .got(format!("the password itself, stored as given: {stored:?}"))
            .hint(hint)
            .sent(sent)
            .fail();
    }
    if !stored.starts_with("$argon2id$") {
        Failure::new(called)
            .expected("an Argon2id PHC string, $argon2id$v=19$m=...$salt$hash")
            .got(format!("{stored:?}"))
            .hint("hasher().hash_password(password.as_bytes())?.to_string() gives the PHC string; a digest such as SHA-256 is no password hash.")
            .sent(sent)
            .fail();
    }
    if !verifies(stored, password) {
        Failure::new(called)
            .expected(format!("a hash that {password:?} verifies against"))
            .got(format!("{stored:?} does not verify"))
            .hint("Hash the password you were given, once: hashing a hash (or the wrong field) makes a value no password matches.")
            .sent(sent)
            .fail();
    }
}

/// Fails if any of `secrets` travelled to the database: bound as a value
/// (alone, inside an array, inside JSON text) or written into the SQL.
#[track_caller]
fn expect_never_sent(called: &str, sent: &Traffic, secrets: &[&str]) {
    for secret in secrets {
        let pasted = sent.pasted(secret).map(|s| s.sql.clone());
        let bound = sent.all().iter().find(|s| s.params.iter().any(|p| carries(p, secret))).map(|s| s.sql.clone());
        if let Some(sql) = pasted.or(bound) {
            Failure::new(called)
                .expected(format!("the password {secret:?} never to leave the program: only its hash travels"))
                .got(format!(
                    "it was sent to the database with `{}`",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ))
                .hint(
                    "Hash in Rust before anything is sent. Hashing in SQL (pgcrypto's crypt(), or anything else that \
                     takes the password as a parameter) sends the plaintext over the wire, into the server's logs and \
                     pg_stat_activity; and an audit row must not carry it either.",
                )
                .sent(sent)
                .fail();
        }
    }
}

fn carries(value: &Value, secret: &str) -> bool {
    match value {
        Value::Text(s) | Value::Numeric(s) => s.contains(secret),
        Value::Bytes(b) => b.windows(secret.len()).any(|w| w == secret.as_bytes()),
        Value::Array(items) => items.iter().any(|v| carries(v, secret)),
        _ => false,
    }
}

/// Fails if any of `secrets` is stored anywhere in the schema's tables.
async fn expect_nowhere(db: &Db, called: &str, secrets: &[&str]) {
    let tables = catalog::tables(db.pool()).await.unwrap_or_else(|e| query_failed("listing tables", e));
    let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    for table in tables.iter().filter(|t| !t.starts_with("_sqlx")) {
        let sql = format!(
            r#"SELECT n FROM unnest($1::text[]) AS n WHERE EXISTS (SELECT 1 FROM "{}" t WHERE strpos(t::text, n) > 0)"#,
            table.replace('"', "\"\"")
        );
        let hits: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&secrets)
            .fetch_all(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("scanning the tables for the password", e));
        if let Some(hit) = hits.first() {
            Failure::new(called)
                .expected("no table to hold the password in plain text")
                .got(format!("{table} holds {hit:?}"))
                .hint("Only the hash is stored; the audit row's before and after come from the row without password_hash.")
                .fail();
        }
    }
}

/// The change and its audit insert went in one committed transaction on
/// one connection.
#[track_caller]
fn expect_audited_in_the_transaction(called: &str, sent: &Traffic) {
    let audit = sent.writes().into_iter().any(|s| s.sql.to_lowercase().contains("audit_log"));
    if !audit {
        Failure::new(called)
            .expected("your code to INSERT the audit_log row itself, in the transaction of the change")
            .got("no statement it sent writes to audit_log")
            .hint(
                "The application knows who the actor is; the trigger only knows the database role. Write the audit \
                 row from Rust (the \"after\" hook) and mark the transaction with set_config('audit.by_app', 'on', \
                 true) so the trigger stays quiet.",
            )
            .sent(sent)
            .fail();
    }
    if let Err(why) = sent.in_one_transaction() {
        Failure::new(called)
            .expected("the change and its audit row in one transaction on one connection, committed")
            .got(why)
            .hint(
                "let mut tx = pool.begin().await?; then every query on &mut *tx, the audit insert included; then \
                 tx.commit().await?. A query on the pool runs on another connection, outside the transaction: it \
                 commits on its own even if the change rolls back.",
            )
            .sent(sent)
            .fail();
    }
}

#[track_caller]
fn expect_taken(called: &str, got: Result<(), UserError>, email: &str, sent: &Traffic) {
    match got {
        Err(UserError::EmailTaken(e)) if e == email => {}
        other => Failure::new(called)
            .expected(format!("Err(EmailTaken({email:?}))"))
            .got(format!("{other:?}"))
            .hint("Match SQLSTATE 23505 (sqlx::Error::Database(d) with d.code() == Some(\"23505\")) and return UserError::EmailTaken(the email).")
            .sent(sent)
            .fail(),
    }
}

async fn expect_no_trail(db: &Db, called: &str, users_before: &[User], sent: &Traffic) {
    let trail = audit_rows(db).await;
    if !trail.is_empty() {
        Failure::new(called)
            .expected("no audit row: the change failed, so nothing happened")
            .got(format!("{} audit row(s) for a change that never happened:{}", trail.len(), show_rows(&trail)))
            .hint(
                "The audit row was committed apart from the change. Write it inside the change's transaction, after \
                 the change: if the change fails, the transaction rolls back and takes the audit row with it.",
            )
            .sent(sent)
            .fail();
    }
    let users = all_users(db).await;
    if users != users_before {
        Failure::new(called)
            .expected("the users table as it was: the change failed")
            .got(format!("{} users where there were {}", users.len(), users_before.len()))
            .hint("A batch is all or nothing: insert it in one transaction.")
            .sent(sent)
            .fail();
    }
}

async fn expect_failed_and_unchanged(
    db: &Db,
    called: &str,
    got: Result<(), UserError>,
    users_before: &[User],
    hint: &str,
    sent: &Traffic,
) {
    let users = all_users(db).await;
    if users != users_before {
        Failure::new(called)
            .expected("the change rolled back with its failed audit row: the users table as it was")
            .got(format!(
                "the change stayed ({} users where there were {}), with no audit row to say who made it",
                users.len(),
                users_before.len()
            ))
            .hint(hint)
            .sent(sent)
            .fail();
    }
    if got.is_ok() {
        Failure::new(called)
            .expected("Err(..): the audit insert failed")
            .got("Ok(..)")
            .hint("Pass the audit insert's error on with ?: an unaudited change must not be reported as done.")
            .sent(sent)
            .fail();
    }
}

// ---------------------------------------------------------------------------
// The trail as the check reads it
// ---------------------------------------------------------------------------

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    actor: String,
    action: String,
    table_name: String,
    row_id: i64,
    before: Option<String>,
    after: Option<String>,
}

async fn audit_rows(db: &Db) -> Vec<AuditRow> {
    let sql = "SELECT actor, action, table_name, row_id, before::text AS before, after::text AS after
               FROM audit_log ORDER BY id";
    sqlx::query_as(sql).fetch_all(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

/// One audit row a check expects.
struct Expected<'a> {
    actor: String,
    action: &'static str,
    row_id: i64,
    before: Option<&'a User>,
    after: Option<&'a User>,
}

impl<'a> Expected<'a> {
    fn create(actor: &str, user: &'a User) -> Self {
        Expected { actor: actor.to_owned(), action: "create", row_id: user.id, before: None, after: Some(user) }
    }

    fn update(actor: &str, before: &'a User, after: &'a User) -> Self {
        Expected {
            actor: actor.to_owned(),
            action: "update",
            row_id: after.id,
            before: Some(before),
            after: Some(after),
        }
    }

    fn delete(actor: &str, user: &'a User) -> Self {
        Expected { actor: actor.to_owned(), action: "delete", row_id: user.id, before: Some(user), after: None }
    }

    fn describe(&self) -> String {
        format!("{} of users row {} by {:?}", self.action, self.row_id, self.actor)
    }
}

/// The trail holds exactly `want`, in that order.
#[track_caller]
fn expect_trail(called: &str, trail: &[AuditRow], want: &[Expected], sent: &Traffic) {
    let wanted: Vec<String> = want.iter().map(Expected::describe).collect();
    let fail = |got: String, hint: &str| -> ! {
        let f = Failure::new(called)
            .expected(format!("{} audit row(s):{}", want.len(), indent(&wanted)))
            .got(got)
            .hint(hint);
        if sent.all().is_empty() { f.fail() } else { f.sent(sent).fail() }
    };
    if trail.len() != want.len() {
        let doubled = trail.len() == 2 * want.len() && trail.iter().any(|r| want.iter().all(|w| w.actor != r.actor));
        let hint = if doubled {
            "Each change was audited twice: once by your code, once by the trigger. The trigger must stay quiet when \
             the application marked its transaction: IF current_setting('audit.by_app', true) = 'on' THEN RETURN \
             NULL; END IF;"
        } else if trail.is_empty() && sent.all().is_empty() {
            "Nothing was audited: no application code ran, so only a trigger can see this write. Write audit_users() \
             and the AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW trigger in migrations/0001_users.up.sql."
        } else {
            "One audit row per changed row: who (the actor), what (create, update or delete), and the row before and after."
        };
        fail(format!("{} audit row(s):{}", trail.len(), show_rows(trail)), hint);
    }
    for (row, w) in trail.iter().zip(want) {
        let mut problems = Vec::new();
        if row.actor != w.actor {
            problems.push(format!("actor is {:?}, not {:?}", row.actor, w.actor));
        }
        if row.action != w.action {
            problems.push(format!("action is {:?}, not {:?}", row.action, w.action));
        }
        if row.table_name != "users" {
            problems.push(format!("table_name is {:?}, not \"users\"", row.table_name));
        }
        if row.row_id != w.row_id {
            problems.push(format!("row_id is {}, not {}", row.row_id, w.row_id));
        }
        for (side, got, want) in [("before", &row.before, w.before), ("after", &row.after, w.after)] {
            if let Some(p) = json_problem(side, got.as_deref(), want) {
                problems.push(p);
            }
        }
        if !problems.is_empty() {
            let hint = if problems.iter().any(|p| p.contains("password")) {
                "The trail is read by more people than the users table: leave the hash out, to_jsonb(u) - 'password_hash'."
            } else if problems.iter().any(|p| p.contains("actor")) && sent.all().is_empty() {
                "A write straight to the database has no application user: the trigger records current_user, the database role."
            } else {
                "before is the row as it was (NULL for a create), after the row as it is now (NULL for a delete), each as JSON with the row's columns."
            };
            fail(format!("the audit row for {}: {}", w.describe(), problems.join("; ")), hint);
        }
    }
}

/// What is wrong with one side of an audit row, if anything.
fn json_problem(side: &str, got: Option<&str>, want: Option<&User>) -> Option<String> {
    match (got, want) {
        (None, None) => None,
        (Some(g), None) => Some(format!("{side} is {g}, not NULL")),
        (None, Some(_)) => Some(format!("{side} is NULL, not the row")),
        (Some(g), Some(u)) => {
            if g.contains("password_hash") || g.contains(&u.password_hash) {
                return Some(format!("{side} carries the password hash"));
            }
            let Ok(Json::Object(map)) = serde_json::from_str::<Json>(g) else {
                return Some(format!("{side} is not a JSON object: {g}"));
            };
            let fields = [
                ("id", Json::from(u.id)),
                ("team_id", Json::from(u.team_id)),
                ("email", Json::from(u.email.clone())),
                ("name", Json::from(u.name.clone())),
            ];
            let wrong: Vec<String> = fields
                .iter()
                .filter(|(k, v)| map.get(*k) != Some(v))
                .map(|(k, v)| {
                    format!("{k}: {} where {v} was expected", map.get(*k).map_or("missing".into(), Json::to_string))
                })
                .collect();
            (!wrong.is_empty()).then(|| format!("{side} has {}", wrong.join(", ")))
        }
    }
}

fn show_rows(rows: &[AuditRow]) -> String {
    let lines: Vec<String> = rows
        .iter()
        .take(8)
        .map(|r| {
            format!(
                "{} of {} row {} by {:?}, before {}, after {}",
                r.action,
                r.table_name,
                r.row_id,
                r.actor,
                r.before.as_deref().unwrap_or("NULL"),
                r.after.as_deref().unwrap_or("NULL")
            )
        })
        .collect();
    indent(&lines)
}

// ---------------------------------------------------------------------------
// Reading the database back
// ---------------------------------------------------------------------------

async fn user_row(db: &Db, id: i64) -> Option<User> {
    let sql = "SELECT id, team_id, email, name, password_hash, created_at, updated_at FROM users WHERE id = $1";
    sqlx::query_as(sql).bind(id).fetch_optional(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

async fn all_users(db: &Db) -> Vec<User> {
    let sql = "SELECT id, team_id, email, name, password_hash, created_at, updated_at FROM users ORDER BY id";
    sqlx::query_as(sql).fetch_all(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

#[track_caller]
fn ok<T: std::fmt::Debug>(called: &str, got: Result<T, UserError>, sent: &Traffic) -> T {
    got.unwrap_or_else(|e| Failure::new(called).expected("Ok(..)").got(format!("Err({e:?})")).sent(sent).fail())
}

fn query_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what.split_whitespace().collect::<Vec<_>>().join(" "))
        .expected("the check's own query to run")
        .got(e.to_string())
        .hint("The tables and columns come from migrations/0001_users.up.sql: keep the names the starter gives.")
        .fail()
}

fn indent(lines: &[String]) -> String {
    lines.iter().map(|l| format!("\n    {l}")).collect()
}
