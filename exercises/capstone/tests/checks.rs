//! The checks for `capstone`, the enrollment service of the chapter's
//! product brief. Run them with `cargo checker run capstone`.
//!
//! They are black-box: they apply your migrations and seeds, read the
//! catalog, build your pool with `pool_options()` and your router with
//! `app(pool)`, and talk HTTP to it on a port of 127.0.0.1. Where they put
//! rows in with SQL, they use only the fixed points the brief names
//! (`students (name, email, deleted_at)`, `courses (code, title, seats)`,
//! `enrollments (student_id, course_id)`). Every failure names the module
//! of the course to revisit.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use workbook::catalog::{self, ConstraintKind};
use workbook::steps::Steps;
use workbook::{Db, Failure, check, data};
use workbook_http::{Reply, Request, Server, serve};

#[test]
fn migrations_apply_from_empty_and_revert_to_empty() {
    check(async |db| {
        let empty = snapshot(&db).await;
        let steps = Steps::load(migrations()).await;
        let last = steps.files().last().map_or(0, |f| f.version);
        if let Err(e) = steps.up_to(db.url(), last).await {
            workbook::migrations::failure("applying every migration", &e)
                .hint(revisit(2, "every migration must apply on an empty database, in order"))
                .fail();
        }
        for table in ["courses", "students", "enrollments"] {
            if !catalog::table_exists(db.pool(), table).await.unwrap_or_else(|e| db_error(e)) {
                Failure::new("applying every migration")
                    .expected(format!("a table named {table}, as the brief requires"))
                    .got(format!(
                        "no {table} table; tables: {:?}",
                        catalog::tables(db.pool()).await.unwrap_or_default()
                    ))
                    .hint(revisit(2, "write a migration for each table the brief names"))
                    .fail();
            }
        }
        if let Err(e) = steps.down_to(db.url(), 0).await {
            workbook::migrations::failure("reverting every migration, newest first", &e)
                .hint(revisit(2, "every up file needs a down file that undoes it"))
                .fail();
        }
        let after = snapshot(&db).await;
        let left = empty.diff(&after);
        if !left.is_empty() {
            Failure::new("reverting every migration, newest first")
                .expected("the schema exactly as it was before the first migration")
                .got(format!("differences:\n{left}"))
                .hint(revisit(2, "each down file undoes all of its up file: tables, indexes, functions, triggers"))
                .fail();
        }
        if let Err(e) = steps.up_to(db.url(), last).await {
            workbook::migrations::failure("applying every migration again after reverting them", &e)
                .hint(revisit(2, "a down that leaves something behind makes the next up fail"))
                .fail();
        }
    });
}

#[test]
fn the_rename_is_an_expand_then_a_contract_that_keeps_every_row() {
    check(async |db| {
        let steps = Steps::load(migrations()).await;
        let versions: Vec<i64> = steps.files().iter().map(|f| f.version).collect();
        let Some(&first) = versions.first() else {
            Failure::new("reading migrations/").expected("the given 0001_catalogue and yours").got("none").fail()
        };
        step(&steps, &db, first).await;
        let columns = column_names(&db, "courses").await;
        if !columns.iter().any(|c| c == "name") || columns.iter().any(|c| c == "title") {
            Failure::new(format!("the courses table after migration {first} alone"))
                .expected("the given 0001_catalogue: courses (id, code, name, seats)")
                .got(format!("columns {columns:?}"))
                .hint(revisit(
                    5,
                    "0001 is in production and must not change (an applied migration that changes fails its \
                     checksum); put the rename in new migrations",
                ))
                .fail();
        }
        // Rows the production database holds, written by the old version.
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for _ in 0..data::int(3..6) {
            names.insert(course_code(), format!("{} {}", capitalised(&data::word(7)), data::word(5)));
        }
        for (code, name) in &names {
            old_insert(&db, code, name).await.unwrap_or_else(|e| db_error(e));
        }
        let mut expanded = false;
        for &version in versions.iter().skip(1) {
            step(&steps, &db, version).await;
            let columns = column_names(&db, "courses").await;
            let (has_name, has_title) = (columns.iter().any(|c| c == "name"), columns.iter().any(|c| c == "title"));
            if has_name && has_title && !expanded {
                expanded = true;
                let unfilled: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM courses WHERE title IS DISTINCT FROM name")
                        .fetch_one(db.pool())
                        .await
                        .unwrap_or_else(|e| db_error(e));
                if unfilled > 0 {
                    Failure::new(format!("the courses table after migration {version} (the expand step)"))
                        .expected("title filled in from name on every existing row")
                        .got(format!("{unfilled} of {} rows with a title that is not their name", names.len()))
                        .hint(revisit(5, "the expand step adds the new column and also fills it in from the old one on every row already there"))
                        .fail();
                }
                // The old version is still running mid-deploy, and writes
                // name only.
                let (code, name) = (course_code(), format!("{} {}", capitalised(&data::word(6)), data::word(4)));
                if let Err(e) = old_insert(&db, &code, &name).await {
                    Failure::new(format!(
                        "INSERT INTO courses (code, name, seats) after migration {version}, as the old version does"
                    ))
                    .expected("the old version's INSERT to keep working until the contract step")
                    .got(e.to_string())
                    .hint(revisit(
                        5,
                        "during the expand phase old code writes only name: title must accept that (nullable, \
                         or filled by a trigger), and be filled in before the contract step makes it NOT NULL",
                    ))
                    .fail();
                }
                names.insert(code, name);
            }
        }
        let columns = catalog::columns(db.pool(), "courses").await.unwrap_or_else(|e| db_error(e));
        let title = columns.iter().find(|c| c.name == "title");
        let problem = if !expanded && title.is_none() {
            Some("no migration after the given one adds title to courses")
        } else if !expanded {
            Some(
                "no migration left both name and title in place: the rename happened in one step, which breaks \
                 the old version still running mid-deploy",
            )
        } else if columns.iter().any(|c| c.name == "name") {
            Some("name is still there after the last migration: the contract step is missing")
        } else if !title.is_some_and(|t| t.not_null) {
            Some("title accepts NULL after the last migration")
        } else {
            None
        };
        if let Some(problem) = problem {
            Failure::new("the courses table after every migration")
                .expected("an expand migration (title beside name, filled in), then a later contract migration (name dropped, title NOT NULL)")
                .got(problem)
                .hint(revisit(5, "expand and contract are two migrations, with a deploy between them"))
                .fail();
        }
        let now: BTreeMap<String, String> = sqlx::query_as("SELECT code, title FROM courses")
            .fetch_all(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e))
            .into_iter()
            .collect();
        for (code, name) in &names {
            if now.get(code) != Some(name) {
                Failure::new("the courses table after every migration")
                    .expected(format!("course {code} titled {name:?}, the name it had"))
                    .got(format!("{:?}", now.get(code)))
                    .hint(revisit(5, "the data moves with the schema: every row keeps its name as its title"))
                    .fail();
            }
        }
    });
}

#[test]
fn the_seed_loads_the_catalogue_once_however_often_it_runs() {
    check(async |db| {
        migrate(&db).await;
        // Production already has one of the seed's courses (added by hand
        // before the seed existed) and one of its own.
        let mine = course_code();
        let (code, title, seats) = CATALOGUE[data::int(0..CATALOGUE.len() as i64) as usize];
        sqlx::query("INSERT INTO courses (code, title, seats) VALUES ($1, 'Not from the seed', 9), ($2, $3, $4)")
            .bind(&mine)
            .bind(code)
            .bind(title)
            .bind(seats)
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        let seeds = workbook::exercise::path("seeds");
        let want: Vec<(String, String, i32)> =
            CATALOGUE.iter().map(|(c, t, s)| ((*c).into(), (*t).into(), *s)).collect();
        for run in ["on a database that has course {code} already", "again, after reverting it"] {
            let run = run.replace("{code}", code);
            if let Err(e) = workbook::seeds::up(db.url(), &seeds).await {
                Failure::new(format!("seeding {run}"))
                    .expected("the seeds to apply")
                    .got(e.to_string())
                    .hint(revisit(
                        4,
                        "a seed must not fail on rows that are there already: INSERT ... ON CONFLICT (code) DO \
                         NOTHING",
                    ))
                    .fail();
            }
            let got = catalogue_rows(&db).await;
            if got != want {
                Failure::new(format!("seeding {run}, then reading the brief's courses"))
                    .expected(format!("the brief's catalogue, each course once: {want:?}"))
                    .got(format!("{got:?}"))
                    .hint(revisit(
                        4,
                        "seeds/ holds an up and a down file; the up inserts the four courses of the brief",
                    ))
                    .fail();
            }
            if let Err(e) = workbook::seeds::down(db.url(), &seeds).await {
                Failure::new("reverting the seeds").expected("the down files to run").got(e.to_string()).fail();
            }
            let left = catalogue_rows(&db).await;
            let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM courses WHERE code = $1")
                .bind(&mine)
                .fetch_one(db.pool())
                .await
                .unwrap_or_else(|e| db_error(e));
            if !left.is_empty() || kept != 1 {
                Failure::new("reverting the seeds")
                    .expected(format!("the seed's courses gone, and course {mine} (not the seed's) still there"))
                    .got(format!("seed courses left: {left:?}; {mine} rows: {kept}"))
                    .hint(revisit(4, "a down removes exactly the seed's rows, found by their codes"))
                    .fail();
            }
        }
    });
}

#[test]
fn students_and_courses_are_many_to_many_through_foreign_keys() {
    check(async |db| {
        let server = service(&db).await;
        let constraints = catalog::constraints(db.pool(), "enrollments").await.unwrap_or_else(|e| db_error(e));
        for parent in ["students", "courses"] {
            let found = constraints.iter().any(|c| {
                c.kind == ConstraintKind::ForeignKey && c.definition.contains(&format!("REFERENCES {parent}(id)"))
            });
            if !found {
                Failure::new("reading the constraints of enrollments")
                    .expected(format!("a foreign key to {parent}(id)"))
                    .got(format!("{:?}", constraints.iter().map(|c| &c.definition).collect::<Vec<_>>()))
                    .hint(revisit(6, "a join table references both sides: student_id REFERENCES students (id)"))
                    .fail();
            }
        }
        let pair_unique =
            catalog::indexes(db.pool(), "enrollments").await.unwrap_or_else(|e| db_error(e)).iter().any(|i| {
                i.unique && i.predicate.is_none() && {
                    let mut cols = i.columns.clone();
                    cols.sort();
                    cols == ["course_id", "student_id"]
                }
            });
        if !pair_unique {
            Failure::new("reading the indexes of enrollments")
                .expected("a primary key or unique index on (student_id, course_id)")
                .got("none: the same student can be enrolled twice in one course")
                .hint(revisit(6, "PRIMARY KEY (student_id, course_id) makes a pair unique and indexes it"))
                .fail();
        }
        let students = insert_students(&db, 3).await;
        let courses = insert_courses(&db, &[10, 10]).await;
        let pairs = [(0, 0), (0, 1), (1, 0)];
        for (s, c) in pairs {
            let reply = enroll(&server, &courses[c], students[s].id).await;
            reply.expect_status(201, &revisit(13, "an enrollment that worked is 201 Created"));
        }
        let reply = server.send(Request::get(format!("/students/{}", students[0].id))).await;
        reply.expect_status(200, &revisit(13, "a live student is 200 OK"));
        let mut want = vec![courses[0].clone(), courses[1].clone()];
        want.sort();
        let got = strings(&reply.expect_json("the student"), "courses");
        if got != want {
            Failure::new(&reply.request)
                .expected(format!("\"courses\": {want:?}, the codes of the student's courses in code order"))
                .got(reply.describe())
                .hint(revisit(6, "load the student's courses through enrollments, ordered by code"))
                .fail();
        }
        let untouched = server.send(Request::get(format!("/students/{}", students[2].id))).await;
        if !strings(&untouched.expect_json("the student"), "courses").is_empty() {
            Failure::new(&untouched.request).expected("\"courses\": []").got(untouched.describe()).fail();
        }
        let reply = server.send(Request::get(format!("/courses/{}", courses[0]))).await;
        reply.expect_status(200, &revisit(13, "a course that exists is 200 OK"));
        let body = reply.expect_json("the course");
        let ids: Vec<i64> = body
            .get("students")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.get("id").and_then(Value::as_i64)).collect())
            .unwrap_or_default();
        if ids != [students[0].id, students[1].id] || body.get("enrolled").and_then(Value::as_i64) != Some(2) {
            Failure::new(&reply.request)
                .expected(format!(
                    "\"enrolled\": 2 and \"students\": [{{\"id\": {}, ..}}, {{\"id\": {}, ..}}] by id",
                    students[0].id, students[1].id
                ))
                .got(reply.describe())
                .hint(revisit(6, "the course's students come through enrollments, ordered by id"))
                .fail();
        }
    });
}

#[test]
fn students_are_created_and_read_with_the_statuses_of_module_13() {
    check(async |db| {
        let server = service(&db).await;
        let (name, email) = (data::name(), data::email());
        let reply = server.send(Request::post("/students").json(&json!({"name": name, "email": email}))).await;
        reply.expect_status(201, &revisit(13, "a POST that creates a student is 201 Created"));
        let body = reply.expect_json("the new student");
        let id = body.get("id").and_then(Value::as_i64).unwrap_or(i64::MIN);
        let stored: Option<(String, String)> = sqlx::query_as("SELECT name, email FROM students WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        if stored != Some((name.clone(), email.clone())) {
            Failure::new(&reply.request)
                .expected(format!("the id of a students row holding {name:?} and {email:?}"))
                .got(format!("{}; that row: {stored:?}", reply.describe()))
                .hint(revisit(3, "INSERT ... RETURNING id, and answer with that id"))
                .fail();
        }
        let location = reply.header("location").unwrap_or_default().to_owned();
        if !location.ends_with(&format!("/students/{id}")) {
            Failure::new(&reply.request)
                .expected(format!("Location: /students/{id}"))
                .got(reply.describe())
                .hint(revisit(13, "a 201 names the new resource in a Location header"))
                .fail();
        }
        let got = server.send(Request::get(format!("/students/{id}"))).await;
        got.expect_status(200, &revisit(13, "a live student is 200 OK"));
        let body = got.expect_json("the student");
        if (str_of(&body, "name"), str_of(&body, "email")) != (name.as_str(), email.as_str())
            || body.get("courses") != Some(&json!([]))
        {
            Failure::new(&got.request)
                .expected(format!("{{\"id\": {id}, \"name\": {name:?}, \"email\": {email:?}, \"courses\": []}}"))
                .got(got.describe())
                .fail();
        }
        let missing = id + data::int(1000..9000);
        expect_error(&server.send(Request::get(format!("/students/{missing}"))).await, &[404], "no such student");
        let taken = server.send(Request::post("/students").json(&json!({"name": data::name(), "email": email}))).await;
        expect_error(&taken, &[409], "the email is taken by a live student");
        let missing_field = server.send(Request::post("/students").json(&json!({"name": data::name()}))).await;
        expect_error(&missing_field, &[400], "a 400 naming `email`");
        if !missing_field.error_message().unwrap_or_default().contains("email") {
            Failure::new(&missing_field.request)
                .expected("an error naming the missing field, email")
                .got(missing_field.describe())
                .hint(revisit(13, "take the body as Result<Json<T>, JsonRejection>: the rejection names the field"))
                .fail();
        }
        let nowhere = server.send(Request::get(format!("/{}", data::word(6)))).await;
        expect_error(&nowhere, &[404], "a JSON 404 for a path with no route");
    });
}

#[test]
fn deleting_a_student_is_a_soft_delete_that_frees_the_email_and_the_seats() {
    check(async |db| {
        let server = service(&db).await;
        let student = insert_students(&db, 1).await.remove(0);
        let course = insert_courses(&db, &[data::int(2..5) as i32]).await.remove(0);
        enroll(&server, &course, student.id).await.expect_status(201, &revisit(13, "an enrollment is 201 Created"));
        let path = format!("/students/{}", student.id);
        let reply = server.send(Request::delete(&path)).await;
        reply.expect_status(204, &revisit(13, "a DELETE that worked is 204 No Content"));
        let row: Option<(Option<String>,)> = sqlx::query_as("SELECT deleted_at::text FROM students WHERE id = $1")
            .bind(student.id)
            .fetch_optional(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        match row {
            Some((Some(_),)) => {}
            other => Failure::new(&reply.request)
                .expected(format!("student {}'s row still there, with deleted_at set", student.id))
                .got(match other {
                    None => "the row is gone: a hard delete".to_owned(),
                    Some(_) => "the row is there with deleted_at NULL".to_owned(),
                })
                .hint(revisit(7, "a soft delete is UPDATE students SET deleted_at = now(), not DELETE"))
                .fail(),
        }
        expect_error(&server.send(Request::get(&path)).await, &[404], "a deleted student is not found");
        let detail = server.send(Request::get(format!("/courses/{course}"))).await;
        let body = detail.expect_json("the course");
        let listed = body
            .get("students")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|s| s.get("id").and_then(Value::as_i64) == Some(student.id)));
        if body.get("enrolled").and_then(Value::as_i64) != Some(0) || listed {
            Failure::new(format!("{} after DELETE {path}", detail.request))
                .expected("\"enrolled\": 0 and the deleted student not listed: their seat is free again")
                .got(detail.describe())
                .hint(revisit(7, "deleting a student withdraws them from their courses, in the same transaction"))
                .fail();
        }
        let again =
            server.send(Request::post("/students").json(&json!({"name": data::name(), "email": student.email}))).await;
        if again.status != 201 {
            Failure::new(format!("{} after the student with that email was deleted", again.request))
                .expected("201 Created: a deleted student's email is free")
                .got(again.describe())
                .hint(revisit(
                    7,
                    "unique among live students only: CREATE UNIQUE INDEX ... (email) WHERE deleted_at IS NULL",
                ))
                .fail();
        }
        let third =
            server.send(Request::post("/students").json(&json!({"name": data::name(), "email": student.email}))).await;
        expect_error(&third, &[409], "two live students never share an email");
        expect_error(&server.send(Request::delete(&path)).await, &[404], "deleting a deleted student again");
    });
}

#[test]
fn enrolling_takes_a_seat_and_refuses_a_full_course_or_a_second_enrollment() {
    check(async |db| {
        let server = service(&db).await;
        let seats = data::int(2..5) as i32;
        let course = insert_courses(&db, &[seats]).await.remove(0);
        let students = insert_students(&db, seats as usize + 2).await;
        for s in &students[..seats as usize] {
            let reply = enroll(&server, &course, s.id).await;
            reply.expect_status(201, &revisit(13, "an enrollment with a seat free is 201 Created"));
        }
        let full = enroll(&server, &course, students[seats as usize].id).await;
        expect_error(&full, &[409], "a conflict: every seat is taken");
        let twice = enroll(&server, &course, students[0].id).await;
        expect_error(&twice, &[409], "a conflict: the student is enrolled already");
        let nobody = enroll(&server, &course, students.last().map_or(0, |s| s.id) + data::int(100..999)).await;
        expect_error(&nobody, &[404], "no such student");
        let no_course = enroll(&server, &format!("NO{}", data::int(100..999)), students[0].id).await;
        expect_error(&no_course, &[404], "no such course");
        let gone = &students[seats as usize + 1];
        sqlx::query("UPDATE students SET deleted_at = now() WHERE id = $1")
            .bind(gone.id)
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        let deleted = enroll(&server, &course, gone.id).await;
        expect_error(&deleted, &[404], "a deleted student cannot enroll");
        let out = server.send(Request::delete(format!("/courses/{course}/enrollments/{}", students[0].id))).await;
        out.expect_status(204, &revisit(13, "a withdrawal that worked is 204 No Content"));
        let not_in = server.send(Request::delete(format!("/courses/{course}/enrollments/{}", students[0].id))).await;
        expect_error(&not_in, &[404], "the student is not enrolled any more");
        let freed = enroll(&server, &course, students[seats as usize].id).await;
        freed.expect_status(201, &revisit(9, "a withdrawal frees its seat for the next student"));
        expect_enrolled(&db, &course, i64::from(seats), &freed.request).await;
    });
}

#[test]
fn the_last_seats_are_never_oversold_under_concurrent_requests() {
    check(async |db| {
        let server = service(&db).await;
        let seats = data::int(3..6) as i32;
        let left = data::int(1..3);
        let course = insert_courses(&db, &[seats]).await.remove(0);
        let holders = insert_students(&db, (i64::from(seats) - left) as usize).await;
        let course_id: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE code = $1")
            .bind(&course)
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        for s in &holders {
            sqlx::query("INSERT INTO enrollments (student_id, course_id) VALUES ($1, $2)")
                .bind(s.id)
                .bind(course_id)
                .execute(db.pool())
                .await
                .unwrap_or_else(|e| db_error(e));
        }
        let racers = insert_students(&db, 5).await;
        // The check's lock lets every request read the enrollments but not
        // insert one. Once all five wait, it lets them go: an answer that
        // counts first and inserts later now has every request counting
        // the same free seats.
        let mut lock = db.pool().begin().await.unwrap_or_else(|e| db_error(e));
        sqlx::query("LOCK TABLE enrollments IN SHARE MODE").execute(&mut *lock).await.unwrap_or_else(|e| db_error(e));
        let requests = racers.iter().map(|s| {
            let body = json!({"student_id": s.id});
            server.send_within(
                Request::post(format!("/courses/{course}/enrollments")).json(&body),
                Duration::from_secs(8),
            )
        });
        let (replies, ()) = tokio::join!(futures_util::future::join_all(requests), async {
            wait_for_lock_waiters(&db, racers.len() as i64).await;
            lock.commit().await.unwrap_or_else(|e| db_error(e));
        });
        let won = replies.iter().filter(|r| r.status == 201).count() as i64;
        let refused = replies.iter().filter(|r| r.status == 409).count() as i64;
        let enrolled: i64 = sqlx::query_scalar("SELECT count(*) FROM enrollments WHERE course_id = $1")
            .bind(course_id)
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
        if won != left || refused != 5 - left || enrolled != i64::from(seats) {
            let answers: Vec<String> = replies.iter().map(|r| r.status.to_string()).collect();
            Failure::new(format!(
                "five POST /courses/{course}/enrollments at once for its last {left} seat(s) of {seats}"
            ))
            .expected(format!("{left} × 201 and {} × 409, and {seats} students enrolled", 5 - left))
            .got(format!("answers {}; {enrolled} students enrolled", answers.join(", ")))
            .hint(revisit(
                9,
                "count and insert in one transaction that first locks the course's row (SELECT ... FROM \
                     courses WHERE code = $1 FOR UPDATE), so requests for one course take turns; or take the \
                     seat with one conditional UPDATE. A count followed by an INSERT, unlocked, oversells",
            ))
            .fail();
        }
        for r in replies.iter().filter(|r| r.status == 409) {
            expect_error(r, &[409], "a full course");
        }
    });
}

#[test]
fn every_enrollment_change_is_audited_in_the_same_transaction() {
    check(async |db| {
        let server = service(&db).await;
        let students = insert_students(&db, 3).await;
        let courses = insert_courses(&db, &[10, 10]).await;
        let trail = |entries: &[(&str, i64, Option<&str>)]| -> Vec<Value> {
            entries.iter().map(|(a, s, c)| json!({"action": a, "student_id": s, "course": c})).collect()
        };
        let mut want = Vec::new();
        enroll(&server, &courses[0], students[0].id).await.expect_status(201, &revisit(13, "an enrollment is 201"));
        enroll(&server, &courses[1], students[0].id).await.expect_status(201, &revisit(13, "an enrollment is 201"));
        enroll(&server, &courses[0], students[1].id).await.expect_status(201, &revisit(13, "an enrollment is 201"));
        want.extend(trail(&[
            ("enrolled", students[0].id, Some(&courses[0])),
            ("enrolled", students[0].id, Some(&courses[1])),
            ("enrolled", students[1].id, Some(&courses[0])),
        ]));
        expect_trail(&server, &want, "three enrollments").await;
        server
            .send(Request::delete(format!("/courses/{}/enrollments/{}", courses[0], students[1].id)))
            .await
            .expect_status(204, &revisit(13, "a withdrawal is 204"));
        want.extend(trail(&[("withdrawn", students[1].id, Some(&courses[0]))]));
        expect_trail(&server, &want, "a withdrawal").await;
        server
            .send(Request::delete(format!("/students/{}", students[0].id)))
            .await
            .expect_status(204, &revisit(13, "a delete is 204"));
        let mut two = [courses[0].clone(), courses[1].clone()];
        two.sort();
        want.extend(trail(&[
            ("withdrawn", students[0].id, Some(&two[0])),
            ("withdrawn", students[0].id, Some(&two[1])),
            ("student_deleted", students[0].id, None),
        ]));
        expect_trail(&server, &want, "deleting a student enrolled in two courses").await;

        // An enrollment the database refuses half-way: the check makes the
        // enrollments row fail for this one student. Whatever the answer,
        // the trail must not claim it happened.
        let doomed = students[2].id;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE FUNCTION wb_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused by the check'; END $$;
             CREATE TRIGGER wb_refuse BEFORE INSERT ON enrollments FOR EACH ROW
                 WHEN (NEW.student_id = {doomed}) EXECUTE FUNCTION wb_refuse();"
        )))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
        let refused = enroll(&server, &courses[1], doomed).await;
        if refused.status < 500 {
            Failure::new(format!("{} while the database refuses that enrollment row", refused.request))
                .expected("a 500 with a JSON error: the enrollment did not happen")
                .got(refused.describe())
                .hint(revisit(13, "a database error the client cannot fix is a 500"))
                .fail();
        }
        expect_trail(&server, &want, "an enrollment the database refused").await;
    });
}

#[test]
fn the_course_listing_pages_with_a_total_that_counts_courses_not_enrollments() {
    check(async |db| {
        let server = service(&db).await;
        let n = data::int(6..12) as usize;
        let seats: Vec<i32> = (0..n).map(|_| data::int(5..40) as i32).collect();
        let codes = insert_courses(&db, &seats).await;
        let students = insert_students(&db, 5).await;
        // Some courses with several students, some with none: a count of
        // joined rows is then wrong on every page.
        let mut counts: BTreeMap<String, i64> = codes.iter().map(|c| (c.clone(), 0)).collect();
        for (i, code) in codes.iter().enumerate() {
            let k = match i % 3 {
                0 => 0,
                1 => data::int(2..6) as usize,
                _ => 1,
            };
            for s in &students[..k] {
                sqlx::query(
                    "INSERT INTO enrollments (student_id, course_id) SELECT $1, id FROM courses WHERE code = $2",
                )
                .bind(s.id)
                .bind(code)
                .execute(db.pool())
                .await
                .unwrap_or_else(|e| db_error(e));
            }
            counts.insert(code.clone(), k as i64);
        }
        let mut sorted: Vec<(String, i32)> = codes.iter().cloned().zip(seats.iter().copied()).collect();
        sorted.sort();
        let limit = data::int(2..5);
        let mut seen = Vec::new();
        let mut offset = 0;
        while offset < n as i64 + limit {
            let reply = server.send(Request::get(format!("/courses?limit={limit}&offset={offset}"))).await;
            reply.expect_status(200, &revisit(13, "a page of the catalogue is 200 OK"));
            let body = reply.expect_json("a page: {\"courses\": [...], \"total\": N}");
            let total = body.get("total").and_then(Value::as_i64);
            if total != Some(n as i64) {
                Failure::new(&reply.request)
                    .expected(format!("\"total\": {n}, the number of courses"))
                    .got(format!(
                        "\"total\": {} ({})",
                        total.map_or_else(|| "missing".to_owned(), |t| t.to_string()),
                        reply.describe()
                    ))
                    .hint(revisit(
                        11,
                        "count the courses, not the rows of a join with enrollments: count(*) over a LEFT JOIN \
                         counts one row per enrollment. Count apart (SELECT count(*) FROM courses), or \
                         count(DISTINCT c.id)",
                    ))
                    .fail();
            }
            let page: Vec<Value> = body.get("courses").and_then(Value::as_array).cloned().unwrap_or_default();
            let want: Vec<&(String, i32)> = sorted.iter().skip(offset as usize).take(limit as usize).collect();
            let got: Vec<(String, i64, i64)> = page
                .iter()
                .map(|c| {
                    (
                        str_of(c, "code").to_owned(),
                        c.get("seats").and_then(Value::as_i64).unwrap_or(-1),
                        c.get("enrolled").and_then(Value::as_i64).unwrap_or(-1),
                    )
                })
                .collect();
            let expected: Vec<(String, i64, i64)> =
                want.iter().map(|(code, s)| (code.clone(), i64::from(*s), counts[code])).collect();
            if got != expected {
                Failure::new(&reply.request)
                    .expected(format!("courses (code, seats, enrolled) in code order: {expected:?}"))
                    .got(format!("{got:?}"))
                    .hint(revisit(
                        11,
                        "LEFT JOIN enrollments so a course with no students stays, GROUP BY the course, \
                         ORDER BY code, then LIMIT and OFFSET",
                    ))
                    .fail();
            }
            seen.extend(got.into_iter().map(|(c, _, _)| c));
            offset += limit;
        }
        if seen.len() != n {
            Failure::new(format!("GET /courses?limit={limit}&offset=0, {limit}, ..."))
                .expected(format!("all {n} courses once"))
                .got(format!("{seen:?}"))
                .fail();
        }
    });
}

#[test]
fn listing_courses_loads_their_counts_without_a_query_per_course() {
    check(async |db| {
        let server = service(&db).await;
        let n = data::int(5..10) as usize;
        let codes = insert_courses(&db, &vec![20; n]).await;
        let students = insert_students(&db, 2).await;
        for code in &codes {
            sqlx::query("INSERT INTO enrollments (student_id, course_id) SELECT $1, id FROM courses WHERE code = $2")
                .bind(students[0].id)
                .bind(code)
                .execute(db.pool())
                .await
                .unwrap_or_else(|e| db_error(e));
        }
        let (reply, sent) = db.wire().during(server.send(Request::get(format!("/courses?limit={n}")))).await;
        reply.expect_status(200, &revisit(13, "a page of the catalogue is 200 OK"));
        // A new connection's own settings (after_connect's SET) are not
        // the page's work.
        let statements = sent.queries().iter().filter(|q| !q.verb().eq_ignore_ascii_case("SET")).count();
        if statements > 3 {
            Failure::new(&reply.request)
                .expected(format!("at most 3 statements for a page of {n} courses, whatever its size"))
                .got(format!("{statements} statements"))
                .hint(revisit(
                    6,
                    "that is N+1: count every course's enrollments in the page's own query (LEFT JOIN ... GROUP BY)",
                ))
                .sent(&sent)
                .fail();
        }
        let left = db.wire().left_in_transaction().await;
        if !left.is_empty() {
            Failure::new(&reply.request)
                .expected("every connection back in the pool outside any transaction")
                .got(format!("{} connection(s) left inside a transaction", left.len()))
                .hint(revisit(9, "every BEGIN needs its COMMIT or ROLLBACK on every path, errors included"))
                .fail();
        }
    });
}

#[test]
fn the_pool_is_configured_for_a_server() {
    check(async |db| {
        migrate(&db).await;
        let options = capstone::pool_options();
        let (max, wait) = (options.get_max_connections(), options.get_acquire_timeout());
        if !(5..=20).contains(&max) || wait > Duration::from_secs(5) || wait.is_zero() {
            Failure::new("capstone::pool_options()")
                .expected("max_connections from 5 to 20, and an acquire_timeout above 0 and at most 5 s")
                .got(format!("max_connections {max}, acquire_timeout {} s", wait.as_secs_f64()))
                .hint(revisit(
                    12,
                    "size the pool for the requests served at once, and let a request that cannot get a \
                     connection fail fast (503) instead of waiting 30 s",
                ))
                .fail();
        }
        let pool = options.connect_lazy_with(app_options(&db));
        let mut timeouts = Vec::new();
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut conn = pool.acquire().await.unwrap_or_else(|e| {
                Failure::new("a connection from pool_options()")
                    .got(e.to_string())
                    .hint(revisit(12, "after_connect must succeed"))
                    .fail()
            });
            let shown: String = sqlx::query_scalar("SHOW statement_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap_or_else(|e| db_error(e));
            timeouts.push(shown);
            held.push(conn);
        }
        drop(held);
        for shown in &timeouts {
            let ms = statement_timeout_ms(shown);
            if !(1000..=30_000).contains(&ms) {
                Failure::new("SHOW statement_timeout on a connection of pool_options()")
                    .expected("a timeout from 1 s to 30 s on every connection")
                    .got(format!("{shown:?}"))
                    .hint(revisit(
                        12,
                        "after_connect runs on every new connection: SET statement_timeout = '5s' there, so no \
                         query holds a connection for ever",
                    ))
                    .fail();
            }
        }
    });
}

#[test]
fn a_database_outage_is_a_json_error_and_the_service_recovers() {
    check(async |db| {
        let server = service(&db).await;
        let course = insert_courses(&db, &[5]).await.remove(0);
        let student = insert_students(&db, 1).await.remove(0);
        server.send(Request::get("/courses")).await.expect_status(200, &revisit(13, "the catalogue is 200 OK"));
        db.wire().cut();
        for request in [
            Request::get("/courses"),
            Request::post(format!("/courses/{course}/enrollments")).json(&json!({"student_id": student.id})),
        ] {
            let reply = server.send(request).await;
            if !matches!(reply.status, 500 | 503) || reply.error_message().is_none() {
                Failure::new(format!("{} while the database is down", reply.request))
                    .expected("503 (or 500) with a JSON error body")
                    .got(reply.describe())
                    .hint(revisit(13, "a database error is the server's: 503 when it cannot be reached"))
                    .fail();
            }
        }
        db.wire().restore();
        let back = enroll(&server, &course, student.id).await;
        if back.status != 201 {
            Failure::new(format!("{} after the database came back", back.request))
                .expected("201 Created: the service serves again by itself")
                .got(back.describe())
                .hint(revisit(13, "take connections from the pool for each request; the pool replaces dead ones"))
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// The brief's fixed points, and setup

/// The catalogue the brief lists: code, title, seats.
const CATALOGUE: [(&str, &str, i32); 4] = [
    ("DB101", "Databases", 40),
    ("LAB100", "Lab safety", 120),
    ("SEC301", "Security engineering", 25),
    ("WEB201", "Web services", 30),
];

fn revisit(module: u32, what: &str) -> String {
    let title = match module {
        1 => "Connect",
        2 => "Tables and migrations",
        3 => "CRUD: a student directory",
        4 => "Seeds",
        5 => "Evolving a schema that holds data",
        6 => "Associations and eager loading",
        7 => "Soft deletes",
        8 => "Hooks and audit trails",
        9 => "Transactions and locking",
        10 => "Raw SQL",
        11 => "Pagination and counting",
        12 => "Connection pools",
        _ => "Serving it over HTTP",
    };
    format!("Revisit module {module}, {title}: {what}.")
}

fn migrations() -> std::path::PathBuf {
    workbook::exercise::path("migrations")
}

async fn migrate(db: &Db) {
    db.migrate(migrations()).await;
}

fn app_options(db: &Db) -> PgConnectOptions {
    db.app_url().parse().expect("the relay's URL parses")
}

/// Your migrations applied, your pool (through the check's relay) and your
/// router, served.
async fn service(db: &Db) -> Server {
    migrate(db).await;
    let pool: PgPool = capstone::pool_options().connect_lazy_with(app_options(db));
    serve(capstone::app(pool))
}

async fn step(steps: &Steps, db: &Db, version: i64) {
    if let Err(e) = steps.up_to(db.url(), version).await {
        workbook::migrations::failure(format!("applying migrations up to {version}"), &e)
            .hint(revisit(5, "each migration applies on the data the one before left"))
            .fail();
    }
}

async fn snapshot(db: &Db) -> catalog::Snapshot {
    catalog::snapshot(db.pool()).await.unwrap_or_else(|e| db_error(e)).without_table("_sqlx_migrations")
}

async fn column_names(db: &Db, table: &str) -> Vec<String> {
    catalog::columns(db.pool(), table).await.unwrap_or_else(|e| db_error(e)).into_iter().map(|c| c.name).collect()
}

async fn old_insert(db: &Db, code: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO courses (code, name, seats) VALUES ($1, $2, $3)")
        .bind(code)
        .bind(name)
        .bind(data::int(10..50) as i32)
        .execute(db.pool())
        .await
        .map(drop)
}

async fn catalogue_rows(db: &Db) -> Vec<(String, String, i32)> {
    let codes: Vec<String> = CATALOGUE.iter().map(|(c, _, _)| (*c).to_owned()).collect();
    sqlx::query_as("SELECT code, title, seats FROM courses WHERE code = ANY($1) ORDER BY code, title")
        .bind(codes)
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e))
}

fn course_code() -> String {
    format!("{}{}", data::word(3).to_uppercase(), data::int(100..999))
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

#[derive(Debug, Clone)]
struct Student {
    id: i64,
    email: String,
}

async fn insert_students(db: &Db, n: usize) -> Vec<Student> {
    let names: Vec<String> = (0..n).map(|_| data::name()).collect();
    let emails: Vec<String> = (0..n).map(|_| data::email()).collect();
    let mut rows: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO students (name, email) SELECT * FROM unnest($1::text[], $2::text[]) RETURNING id, email",
    )
    .bind(names)
    .bind(emails)
    .fetch_all(db.pool())
    .await
    .unwrap_or_else(|e| db_error(e));
    rows.sort();
    rows.into_iter().map(|(id, email)| Student { id, email }).collect()
}

/// One course per entry of `seats`, with codes that differ per run; the
/// codes, in the order given.
async fn insert_courses(db: &Db, seats: &[i32]) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    while codes.len() < seats.len() {
        let code = course_code();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let titles: Vec<String> = codes.iter().map(|_| capitalised(&data::word(8))).collect();
    sqlx::query("INSERT INTO courses (code, title, seats) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])")
        .bind(&codes)
        .bind(titles)
        .bind(seats)
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
    codes
}

async fn enroll(server: &Server, course: &str, student_id: i64) -> Reply {
    server.send(Request::post(format!("/courses/{course}/enrollments")).json(&json!({"student_id": student_id}))).await
}

async fn expect_enrolled(db: &Db, course: &str, want: i64, called: &str) {
    let got: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrollments e JOIN courses c ON c.id = e.course_id WHERE c.code = $1")
            .bind(course)
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| db_error(e));
    if got != want {
        Failure::new(called).expected(format!("{want} students enrolled in {course}")).got(format!("{got}")).fail();
    }
}

async fn expect_trail(server: &Server, want: &[Value], after: &str) {
    let reply = server.send(Request::get("/audit")).await;
    reply.expect_status(200, &revisit(13, "the audit trail is 200 OK"));
    let body = reply.expect_json("the trail: {\"entries\": [...]}");
    let got: Vec<Value> = body
        .get("entries")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| json!({"action": e.get("action"), "student_id": e.get("student_id"), "course": e.get("course")}))
                .collect()
        })
        .unwrap_or_default();
    // Entries of one change (a student's withdrawals and deletion) may come
    // in any order: compare them as a set.
    let sorted = |v: &[Value]| {
        let mut t: Vec<String> = v.iter().map(Value::to_string).collect();
        t.sort();
        t
    };
    if sorted(&got) != sorted(want) {
        Failure::new(format!("{} after {after}", reply.request))
            .expected(format!("exactly these entries: {}", Value::Array(want.to_vec())))
            .got(Value::Array(got).to_string())
            .hint(revisit(
                8,
                "write each audit row in the same transaction as the change it records: an entry for a change \
                 that rolled back is a lie, and a change with no entry is a gap",
            ))
            .fail();
    }
}

/// Fails unless `reply` has one of `statuses` and a JSON error body.
fn expect_error(reply: &Reply, statuses: &[u16], what: &str) {
    if !statuses.contains(&reply.status) || reply.error_message().is_none_or(|m| m.trim().is_empty()) {
        let want: Vec<String> = statuses.iter().map(u16::to_string).collect();
        Failure::new(&reply.request)
            .expected(format!("{} ({what}) with a JSON body {{\"error\": \"...\"}}", want.join(" or ")))
            .got(reply.describe())
            .hint(revisit(
                13,
                "one error type, one IntoResponse: the status for each case, and always a JSON error body",
            ))
            .fail();
    }
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// `SHOW statement_timeout`'s text (`0`, `5s`, `1500ms`, `1min`) in ms.
fn statement_timeout_ms(shown: &str) -> i64 {
    let digits: String = shown.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().unwrap_or(0);
    match &shown[digits.len()..] {
        "" | "ms" => n,
        "s" => n * 1000,
        "min" => n * 60_000,
        "h" => n * 3_600_000,
        _ => 0,
    }
}

/// Waits (up to 3 s) until `n` sessions of this database wait for a lock.
async fn wait_for_lock_waiters(db: &Db, n: i64) {
    for _ in 0..600 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The check's own SQL failed: on a schema that lacks one of the brief's
/// fixed points, that is the schema's doing.
fn db_error(e: sqlx::Error) -> ! {
    let code = e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
    let hint = match code.as_deref() {
        Some("42P01" | "42703") => revisit(
            2,
            "the checks put rows in through the brief's fixed points: students (name, email, deleted_at), courses \
             (code, title, seats) and enrollments (student_id, course_id); your migrations must create them",
        ),
        Some("23502") => revisit(
            2,
            "a column you added is NOT NULL with no default, so the checks' INSERT (the brief's columns only) \
             fails: give it a default",
        ),
        _ => "This is not your code: run the checks again.".to_owned(),
    };
    let got = match e.as_database_error() {
        Some(d) => format!("{} (SQLSTATE {})", d.message(), code.as_deref().unwrap_or("?")),
        None => e.to_string(),
    };
    Failure::new("the check's own SQL").got(got).hint(hint).fail()
}
