//! The checks for `student_directory`. Each test is one check; its name
//! says what it expects. Run them with `cargo checker run student_directory`.
//!
//! Every check starts from an empty `students` table whose ids begin at a
//! different number on every run. The checks put rows in with their own
//! SQL, call your functions with data that changes per run, and compare
//! what comes back with what the table holds.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use student_directory::{DirectoryError, NewStudent, Student, create, delete, find, list, update};
use workbook::wire::{Traffic, Value};
use workbook::{Db, Failure, check, data};

#[test]
fn create_returns_the_new_student_with_database_generated_fields() {
    check(async |db| {
        let pool = setup(&db).await;
        let mut ids = Vec::new();
        for _ in 0..data::int(2..4) {
            let new = new_student();
            let called = format!("create(&pool, &{new:?})");
            let made = ok(&called, create(pool, &new).await);
            let want = NewStudent { name: made.name.clone(), cohort: made.cohort.clone(), email: made.email.clone() };
            if want != new {
                Failure::new(&called)
                    .expected(format!("a Student with the name, cohort and email given: {new:?}"))
                    .got(format!("{made:?}"))
                    .fail();
            }
            let Some(stored) = row(&db, made.id).await else {
                Failure::new(&called)
                    .expected("the id of the row it inserted")
                    .got(format!("id {}, and no row in students has it (ids there: {:?})", made.id, ids_in(&db).await))
                    .hint("Don't make up the id: take it from INSERT ... RETURNING id, ... .")
                    .fail()
            };
            if stored != made {
                Failure::new(&called)
                    .expected(format!("the row as stored: {stored:?}"))
                    .got(format!("{made:?}"))
                    .hint("Return what INSERT ... RETURNING gives back; the timestamps come from the database.")
                    .fail();
            }
            ids.push(made.id);
        }
        let count = count_rows(&db).await;
        if count != ids.len() as i64 {
            Failure::new(format!("create(..) called {} times", ids.len()))
                .expected(format!("{} rows in students", ids.len()))
                .got(format!("{count} rows"))
                .fail();
        }
    });
}

#[test]
fn find_returns_the_student_with_that_id() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(3..7) as usize).await;
        for want in &rows {
            let called = format!("find(&pool, {})", want.id);
            let (got, sent) = db.wire().during(find(pool, want.id)).await;
            let got = ok(&called, got);
            if got.as_ref() != Some(want) {
                Failure::new(called)
                    .expected(format!("Some({want:?})"))
                    .got(format!("{got:?}"))
                    .hint("Select the row WHERE id = $1 and bind the id.")
                    .fail();
            }
            // The database finds the row: one statement, the id bound, one
            // row back, not the whole table filtered in Rust.
            if sent.len() != 1 || sent.rows_returned() > 1 || !sent.bound(want.id) {
                Failure::new(&called)
                    .expected(format!("one SELECT with the id {} bound as $1, and at most one row sent back", want.id))
                    .got(format!("{} statement(s), {} row(s) back", sent.len(), sent.rows_returned()))
                    .sent(&sent)
                    .hint(
                        "Let PostgreSQL find the row: SELECT ... FROM students WHERE id = $1 with .bind(id). \
                         Loading every student to pick one in Rust costs a full table over the wire.",
                    )
                    .fail();
            }
        }
    });
}

#[test]
fn find_with_an_unknown_id_is_none() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(1..4) as usize).await;
        let missing = rows.iter().map(|s| s.id).max().unwrap_or(0) + data::int(1..1000);
        let called = format!("find(&pool, {missing}) where no student has that id");
        match find(pool, missing).await {
            Ok(None) => {}
            other => Failure::new(called)
                .expected("Ok(None): a missing student is not an error")
                .got(show(&other))
                .hint("fetch_optional gives Ok(None) when no row comes back; fetch_one would give Err(RowNotFound).")
                .fail(),
        }
    });
}

#[test]
fn list_returns_every_student_ordered_by_name_then_id() {
    check(async |db| {
        let pool = setup(&db).await;
        let empty = ok("list(&pool) on an empty table", list(pool).await);
        if !empty.is_empty() {
            Failure::new("list(&pool) on an empty table").expected("[]").got(format!("{empty:?}")).fail();
        }
        // First, students who all share one name, stored newest id first:
        // only the id can order them, and a sort on the name alone keeps
        // the stored (wrong) order.
        let twin = data::name();
        // Far above where setup starts the sequence, so no id collides.
        let base = data::int(2_000_000..9_000_000) * 10;
        for k in (0..data::int(3..6)).rev() {
            sqlx::query(
                "INSERT INTO students (id, name, cohort, email) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4)",
            )
            .bind(base + k)
            .bind(&twin)
            .bind(format!("{}-{}", data::word(5), data::int(2020..2031)))
            .bind(data::email())
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        }
        expect_listed_in_order(&db, "students who all share a name").await;
        // Then more names, rows in no order: an UPDATE writes a new
        // version of the row at the end of the table, so the table's own
        // order no longer follows the ids.
        let names: Vec<String> = (0..3).map(|_| data::name()).collect();
        for _ in 0..data::int(5..10) {
            let name = &names[data::int(0..names.len() as i64) as usize];
            insert_student(&db, &NewStudent { name: name.clone(), ..new_student() }).await;
        }
        sqlx::query("UPDATE students SET cohort = cohort WHERE id % 2 = 0")
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        expect_listed_in_order(&db, "students with a few names in no order").await;
    });
}

/// Fails unless `list` returns exactly the rows of `students`, ordered by
/// name, then id.
async fn expect_listed_in_order(db: &Db, what: &str) {
    let want: Vec<Student> = sqlx::query_as::<_, Row>(
        "SELECT id, name, cohort, email, created_at, updated_at FROM students ORDER BY name, id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap_or_else(|e| db_error(e))
    .into_iter()
    .map(student)
    .collect();
    let called = format!("list(&pool) with {} {what}", want.len());
    let (got, sent) = db.wire().during(list(db.app_pool())).await;
    let got = ok(&called, got);
    if got != want {
        let order = |v: &[Student]| v.iter().map(|s| format!("{} #{}", s.name, s.id)).collect::<Vec<_>>().join(", ");
        let hint = if got.len() != want.len() {
            "Return every row: no WHERE, no LIMIT."
        } else {
            "Sort in SQL: ORDER BY name, id. Without ORDER BY, rows come back in whatever order is cheapest, \
             and students with the same name need the id to put them in order."
        };
        Failure::new(called)
            .expected(format!("{} students in this order: {}", want.len(), order(&want)))
            .got(format!("{} students in this order: {}", got.len(), order(&got)))
            .hint(hint)
            .fail();
    }
    // Sorted by the server, not afterwards in Rust: the rows must arrive
    // in order (ORDER BY is what makes an order a promise).
    let sent_ids: Vec<i64> = sent
        .queries()
        .iter()
        .filter(|s| s.rows_returned as usize == want.len())
        .flat_map(|s| {
            let at = s.columns.iter().position(|c| c == "id");
            s.rows.iter().filter_map(move |r| match at.and_then(|i| r.get(i)) {
                Some(Value::Int(n)) => Some(*n),
                _ => None,
            })
        })
        .collect();
    let want_ids: Vec<i64> = want.iter().map(|s| s.id).take(workbook::wire::ROWS_KEPT).collect();
    if sent_ids.len() < want_ids.len().min(2) || !sent_ids.starts_with(&want_ids) {
        Failure::new(&called)
            .expected(format!("the rows sent by the server already in order: ids {want_ids:?}"))
            .got(format!("ids in the order the server sent them: {sent_ids:?}"))
            .sent(&sent)
            .hint(
                "Put ORDER BY name, id in the SELECT: without it PostgreSQL sends rows in whatever order is \
                 cheapest, and sorting in Rust afterwards hides the missing ORDER BY instead of fixing it.",
            )
            .fail();
    }
}

#[test]
fn update_changes_the_fields_and_bumps_updated_at() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(2..5) as usize).await;
        let target = &rows[data::int(0..rows.len() as i64) as usize];
        // Move the row an hour into the past, so "updated_at changed" and
        // "created_at did not" are both plain to see.
        let old = sqlx::query_as::<_, Row>(
            "UPDATE students SET created_at = created_at - interval '1 hour', updated_at = updated_at - interval '1 hour'
             WHERE id = $1 RETURNING id, name, cohort, email, created_at, updated_at",
        )
        .bind(target.id)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
        let old = student(old);
        let changes = new_student();
        let called = format!("update(&pool, {}, &{changes:?})", target.id);
        let Some(updated) = ok(&called, update(pool, target.id, &changes).await) else {
            Failure::new(&called)
                .expected("Some(the updated student)")
                .got("None, but a student with that id exists")
                .hint("That student exists, so update must find it and hand back the row as the UPDATE left it; None is only for an id that is not in the table (book/src/student_directory/index.md#update-update--returning).")
                .fail()
        };
        let now = db_now(&db).await;
        let mut problems = Vec::new();
        if updated.id != old.id {
            problems.push(format!("id changed from {} to {}", old.id, updated.id));
        }
        if (updated.name.as_str(), updated.cohort.as_str(), updated.email.as_str())
            != (changes.name.as_str(), changes.cohort.as_str(), changes.email.as_str())
        {
            problems.push("name, cohort and email are not the ones passed in".to_owned());
        }
        if updated.created_at != old.created_at {
            problems.push(format!("created_at changed from {} to {}", old.created_at, updated.created_at));
        }
        if (now - updated.updated_at).num_seconds().abs() > 60 {
            problems
                .push(format!("updated_at is {} but the time is {now}: it was not set to now()", updated.updated_at));
        }
        if !problems.is_empty() {
            Failure::new(&called)
                .expected("the same id and created_at, the new name, cohort and email, and updated_at set to now")
                .got(format!("{updated:?}: {}", problems.join("; ")))
                .hint("SET name = $2, cohort = $3, email = $4, updated_at = now(), and leave id and created_at alone.")
                .fail();
        }
        let stored = row(&db, target.id).await;
        if stored.as_ref() != Some(&updated) {
            Failure::new(&called)
                .expected(format!("the returned student to match the row: {stored:?}"))
                .got(format!("{updated:?}"))
                .hint("Return the row UPDATE ... RETURNING gives back.")
                .fail();
        }
        expect_others_unchanged(&db, &rows, target.id, &called).await;
    });
}

#[test]
fn update_with_an_unknown_id_is_none() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(1..4) as usize).await;
        let missing = rows.iter().map(|s| s.id).max().unwrap_or(0) + data::int(1..1000);
        let called = format!("update(&pool, {missing}, ..) where no student has that id");
        match update(pool, missing, &new_student()).await {
            Ok(None) => {}
            other => Failure::new(&called)
                .expected("Ok(None): nothing to update is not an error")
                .got(show(&other))
                .hint("An UPDATE that matches no row returns no row: fetch_optional turns that into None.")
                .fail(),
        }
        expect_others_unchanged(&db, &rows, missing, &called).await;
    });
}

#[test]
fn delete_removes_only_that_student_and_returns_true() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(2..6) as usize).await;
        let target = &rows[data::int(0..rows.len() as i64) as usize];
        let called = format!("delete(&pool, {})", target.id);
        match delete(pool, target.id).await {
            Ok(true) => {}
            other => Failure::new(&called)
                .expected("Ok(true): a row was deleted")
                .got(show(&other))
                .hint("execute() returns a result whose rows_affected() says how many rows went.")
                .fail(),
        }
        if let Some(still) = row(&db, target.id).await {
            Failure::new(&called)
                .expected(format!("no row with id {} left in students", target.id))
                .got(format!("{still:?} is still there"))
                .fail();
        }
        expect_others_unchanged(&db, &rows, target.id, &called).await;
    });
}

#[test]
fn delete_with_an_unknown_id_is_false() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(1..4) as usize).await;
        let missing = rows.iter().map(|s| s.id).max().unwrap_or(0) + data::int(1..1000);
        let called = format!("delete(&pool, {missing}) where no student has that id");
        match delete(pool, missing).await {
            Ok(false) => {}
            other => Failure::new(&called)
                .expected("Ok(false): nothing was deleted, which is not an error")
                .got(show(&other))
                .hint("Return whether rows_affected() is 1, not a fixed true.")
                .fail(),
        }
        expect_others_unchanged(&db, &rows, missing, &called).await;
    });
}

#[test]
fn duplicate_email_is_rejected_with_email_taken() {
    check(async |db| {
        let pool = setup(&db).await;
        let first = insert_students(&db, 1).await.remove(0);
        let copy = NewStudent { email: first.email.clone(), ..new_student() };
        let called = format!("create(&pool, &{copy:?}) when {:?} is already taken", first.email);
        let (result, sent) = db.wire().during(create(pool, &copy)).await;
        match result {
            Err(DirectoryError::EmailTaken(email)) if email == first.email => {}
            Err(DirectoryError::EmailTaken(email)) => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?}))", first.email))
                .got(format!("Err(EmailTaken({email:?}))"))
                .hint("Carry the email that was refused: the one in the NewStudent.")
                .fail(),
            other => Failure::new(&called)
                .expected(format!("Err(DirectoryError::EmailTaken({:?})), which a caller can match on", first.email))
                .got(show(&other))
                .hint(
                    "The unique index refuses the row with SQLSTATE 23505. Before `?` turns the error into \
                     Database, look at it: sqlx::Error::Database(e) if e.code().as_deref() == Some(\"23505\").",
                )
                .fail(),
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM students WHERE email = $1")
            .bind(&first.email)
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        if count != 1 {
            Failure::new(&called).expected("one row with that email").got(format!("{count}")).fail();
        }
        // The unique index decides, not a look-up first: two requests at
        // once would both find the email free.
        let refused = sent.queries().iter().any(|s| s.error.as_ref().is_some_and(|e| e.code == "23505"));
        if !refused {
            Failure::new(&called)
                .expected("the INSERT sent, and refused by the unique index with SQLSTATE 23505")
                .got("EmailTaken without the database refusing anything")
                .sent(&sent)
                .hint(
                    "Don't SELECT to see whether the email is free: between that SELECT and the INSERT another \
                     request can take it. Send the INSERT and turn the server's 23505 into EmailTaken.",
                )
                .fail();
        }
        // Only a unique violation is EmailTaken: any other refusal stays a
        // database error. The check adds a rule of its own to provoke one.
        sqlx::raw_sql("ALTER TABLE students ADD CONSTRAINT check_no_empty_cohort CHECK (cohort <> '')")
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        let bad = NewStudent { cohort: String::new(), ..new_student() };
        let called = format!("create(&pool, &{bad:?}) when a CHECK constraint refuses the empty cohort");
        match create(pool, &bad).await {
            Err(DirectoryError::Database(sqlx::Error::Database(e))) if e.code().as_deref() == Some("23514") => {}
            other => Failure::new(&called)
                .expected("Err(DirectoryError::Database(..)) carrying the server's 23514 check violation")
                .got(show(&other))
                .hint(
                    "Map only SQLSTATE 23505 to EmailTaken; every other error is DirectoryError::Database(e), \
                     so a caller is not told an email is taken when something else went wrong.",
                )
                .fail(),
        }
    });
}

#[test]
fn updating_to_a_taken_email_is_email_taken() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, 2).await;
        let (a, b) = (&rows[0], &rows[1]);
        let changes = NewStudent { email: a.email.clone(), ..new_student() };
        let called = format!("update(&pool, {}, &{changes:?}) when {:?} belongs to student {}", b.id, a.email, a.id);
        match update(pool, b.id, &changes).await {
            Err(DirectoryError::EmailTaken(email)) if email == a.email => {}
            other => Failure::new(&called)
                .expected(format!("Err(DirectoryError::EmailTaken({:?}))", a.email))
                .got(show(&other))
                .hint("update can break the unique index too: map SQLSTATE 23505 there as in create.")
                .fail(),
        }
        expect_others_unchanged(&db, &rows, i64::MIN, &called).await;
    });
}

#[test]
fn quotes_and_sql_in_values_are_stored_exactly() {
    check(async |db| {
        let pool = setup(&db).await;
        let rows = insert_students(&db, data::int(1..3) as usize).await;
        let tricky = NewStudent {
            name: format!("{} O'{}", data::name(), data::word(5)),
            cohort: format!("{}'); DELETE FROM students; --", data::word(4)),
            email: format!("o'{}.{}@{}.example", data::word(5), data::int(100..999), data::word(4)),
        };
        let called = format!("create(&pool, &{tricky:?})");
        let made = match create(pool, &tricky).await {
            Ok(s) => s,
            Err(e) => Failure::new(&called)
                .expected("Ok(student): a quote is an ordinary character in a name")
                .got(format!("Err({})", describe(&e)))
                .hint(
                    "A syntax error here means the value was pasted into the SQL, where its quote ends the \
                     string early. Write $1, $2, $3 in the SQL and pass the values with .bind(..).",
                )
                .fail(),
        };
        let stored = row(&db, made.id).await;
        let exact = stored
            .as_ref()
            .is_some_and(|s| s.name == tricky.name && s.cohort == tricky.cohort && s.email == tricky.email);
        if !exact {
            Failure::new(&called)
                .expected(format!("a row holding exactly {tricky:?}"))
                .got(format!("{stored:?}"))
                .hint("Bind the values as they are; don't escape or change them.")
                .fail();
        }
        // The cohort's DELETE must not have run.
        for s in &rows {
            if row(&db, s.id).await.is_none() {
                Failure::new(&called)
                    .expected("every other student still there")
                    .got(format!("student {} is gone: the text in the cohort ran as SQL", s.id))
                    .hint("That is SQL injection. Send values as bind parameters ($1), never inside the SQL text.")
                    .fail();
            }
        }
    });
}

#[test]
fn values_travel_as_bind_parameters_not_inside_the_sql() {
    check(async |db| {
        let pool = setup(&db).await;
        let new = new_student();
        let changes = new_student();
        let (made, sent) = db.wire().during(create(pool, &new)).await;
        let id = ok(&format!("create(&pool, &{new:?})"), made).id;
        expect_bound(&format!("create(&pool, &{new:?})"), &sent, &[&new.name, &new.cohort, &new.email], None);
        let (found, sent) = db.wire().during(find(pool, id)).await;
        ok(&format!("find(&pool, {id})"), found);
        expect_bound(&format!("find(&pool, {id})"), &sent, &[], Some(id));
        let (updated, sent) = db.wire().during(update(pool, id, &changes)).await;
        ok(&format!("update(&pool, {id}, &{changes:?})"), updated);
        expect_bound(
            &format!("update(&pool, {id}, &{changes:?})"),
            &sent,
            &[&changes.name, &changes.cohort, &changes.email],
            Some(id),
        );
        let (deleted, sent) = db.wire().during(delete(pool, id)).await;
        ok(&format!("delete(&pool, {id})"), deleted);
        expect_bound(&format!("delete(&pool, {id})"), &sent, &[], Some(id));
    });
}

/// Fails unless every value (and the id, when given) reached the server as
/// a bind parameter of the statement that used it, and no statement's
/// text carries a value: spelled out, quoted or encoded.
fn expect_bound(called: &str, sent: &Traffic, values: &[&String], id: Option<i64>) {
    let lesson = "Don't build SQL with format!: a value with a quote in it breaks the statement, and a crafted \
                  one runs its own SQL (injection). Write $1, $2, ... in the text and pass each value with .bind(..).";
    if sent.is_empty() {
        Failure::new(called)
            .expected("a statement sent to the server through the pool you are given")
            .got("no statement at all")
            .hint("Run the query on the pool passed in.")
            .fail();
    }
    for value in values {
        if let Some(s) = sent.pasted(value) {
            Failure::new(called)
                .expected("placeholders ($1, $2, ...) in the SQL text, with the values sent apart by .bind(..)")
                .got(format!("the value {value:?} inside the SQL text: {}", s.sql))
                .sent(sent)
                .hint(lesson)
                .fail();
        }
        if !sent.bound(value.as_str()) {
            Failure::new(called)
                .expected(format!("{value:?} sent as a bind parameter"))
                .got("no statement bound it")
                .sent(sent)
                .hint(lesson)
                .fail();
        }
    }
    if let Some(id) = id
        && !sent.bound(id)
    {
        Failure::new(called)
            .expected(format!("the id {id} sent as a bind parameter ($1)"))
            .got("no statement bound it")
            .sent(sent)
            .hint(lesson)
            .fail();
    }
    // A bound value must be used: a placeholder for each parameter.
    for s in sent.queries() {
        if let Some(n) = (1..=s.params.len()).find(|n| !contains_placeholder(&s.sql, *n)) {
            Failure::new(called)
                .expected(format!("every bound value used in the SQL text: ${n} somewhere"))
                .got(format!("${n} is bound but the text never mentions it: {}", s.sql))
                .sent(sent)
                .hint(lesson)
                .fail();
        }
    }
}

/// Whether `sql` mentions `$n` as a placeholder of its own (not `$10` for `$1`).
fn contains_placeholder(sql: &str, n: usize) -> bool {
    let p = format!("${n}");
    sql.match_indices(&p).any(|(at, _)| !sql[at + p.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// The row type the checks read with their own SQL: a plain tuple, so they
/// don't depend on `Student` deriving `FromRow`.
type Row = (i64, String, String, String, DateTime<Utc>, DateTime<Utc>);

fn student((id, name, cohort, email, created_at, updated_at): Row) -> Student {
    Student { id, name, cohort, email, created_at, updated_at }
}

/// Migrates the check's database, starts its ids at a number that changes
/// per run, and returns the pool the code under test gets: through the
/// check's relay, so every statement it sends is on the record.
async fn setup(db: &Db) -> &sqlx::PgPool {
    db.migrate(workbook::exercise::path("migrations")).await;
    sqlx::query("SELECT setval(pg_get_serial_sequence('students', 'id'), $1)")
        .bind(data::int(100_000..9_000_000))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
    db.app_pool()
}

fn new_student() -> NewStudent {
    NewStudent {
        name: data::name(),
        cohort: format!("{}-{}", data::word(5), data::int(2020..2031)),
        email: data::email(),
    }
}

async fn insert_student(db: &Db, new: &NewStudent) -> Student {
    let row = sqlx::query_as::<_, Row>(
        "INSERT INTO students (name, cohort, email) VALUES ($1, $2, $3)
         RETURNING id, name, cohort, email, created_at, updated_at",
    )
    .bind(&new.name)
    .bind(&new.cohort)
    .bind(&new.email)
    .fetch_one(db.pool())
    .await
    .unwrap_or_else(|e| db_error(e));
    student(row)
}

async fn insert_students(db: &Db, n: usize) -> Vec<Student> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(insert_student(db, &new_student()).await);
    }
    out
}

/// The row with this id, read by the check itself.
async fn row(db: &Db, id: i64) -> Option<Student> {
    sqlx::query_as::<_, Row>("SELECT id, name, cohort, email, created_at, updated_at FROM students WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e))
        .map(student)
}

async fn ids_in(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM students ORDER BY id").fetch_all(db.pool()).await.unwrap_or_else(|e| db_error(e))
}

async fn count_rows(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM students").fetch_one(db.pool()).await.unwrap_or_else(|e| db_error(e))
}

async fn db_now(db: &Db) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()").fetch_one(db.pool()).await.unwrap_or_else(|e| db_error(e))
}

/// Fails unless every student in `before` other than `except` is still
/// stored exactly as it was.
async fn expect_others_unchanged(db: &Db, before: &[Student], except: i64, called: &str) {
    for s in before.iter().filter(|s| s.id != except) {
        let now = row(db, s.id).await;
        if now.as_ref() != Some(s) {
            Failure::new(called)
                .expected(format!("student {} left as it was: {s:?}", s.id))
                .got(match now {
                    Some(n) => format!("{n:?}"),
                    None => "the row is gone".to_owned(),
                })
                .hint("Every UPDATE and DELETE needs WHERE id = $1, or it changes every row.")
                .fail();
        }
    }
}

/// Unwraps `result`, or fails the check naming `called` and the error.
fn ok<T>(called: &str, result: Result<T, DirectoryError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            let hint = match &e {
                DirectoryError::Database(sqlx::Error::ColumnNotFound(_)) => {
                    "query_as fills the struct's fields from columns of the same name: select every column of Student."
                }
                DirectoryError::Database(sqlx::Error::RowNotFound) => {
                    "fetch_one wants exactly one row; when none is a normal answer, use fetch_optional."
                }
                DirectoryError::Database(sqlx::Error::Database(_)) => {
                    "That is PostgreSQL's own message: it names what it could not do with your SQL."
                }
                _ => "Read the error: it says what went wrong.",
            };
            Failure::new(called).expected("Ok(..)").got(format!("Err({})", describe(&e))).hint(hint).fail()
        }
    }
}

fn show<T: Debug>(result: &Result<T, DirectoryError>) -> String {
    match result {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({})", describe(e)),
    }
}

/// An error as its variant and its message: PostgreSQL's error in full
/// Debug form is a screenful.
fn describe(e: &DirectoryError) -> String {
    match e {
        DirectoryError::EmailTaken(email) => format!("DirectoryError::EmailTaken({email:?})"),
        // sqlx's own Display adds the line of PostgreSQL's C source that
        // raised the error, which only confuses.
        DirectoryError::Database(sqlx::Error::Database(d)) => {
            format!("DirectoryError::Database(..): {} (SQLSTATE {})", d.message(), d.code().as_deref().unwrap_or("?"))
        }
        DirectoryError::Database(inner) => format!("DirectoryError::Database(..): {inner}"),
    }
}

fn db_error(e: sqlx::Error) -> ! {
    Failure::new("the check's own SQL").got(e.to_string()).hint("This is not your code: run the checks again.").fail()
}
