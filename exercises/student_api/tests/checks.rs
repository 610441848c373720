//! The checks for `student_api`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run student_api`.
//!
//! Every check builds your router with `app(pool)`, serves it on a port of
//! 127.0.0.1 and talks to it with a real HTTP client over TCP. The pool it
//! gives `app` reaches the database through the check's relay, so the
//! check sees the SQL each request sent, and can make the database go
//! away and come back. Rows are put in by the check's own SQL, with ids
//! that start at a different number on every run, and what the API says
//! is compared with what the table holds.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use student_api::app;
use workbook::wire::Traffic;
use workbook::{Db, Failure, check, data};
use workbook_http::{NoReply, Reply, Request, Server, app_pool, app_pool_named, serve};

#[test]
fn post_creates_a_student_answering_201_with_its_location() {
    check(async |db| {
        let server = setup(&db).await;
        let mut made = Vec::new();
        for _ in 0..data::int(2..4) {
            let new = new_student();
            let reply = server.send(Request::post("/students").json(&new)).await;
            reply.expect_status(
                201,
                "A POST that creates a resource answers 201 Created, not 200: return \
                 (StatusCode::CREATED, [(header::LOCATION, ...)], Json(student)).",
            );
            let body = reply.expect_json("the new student");
            let Some(id) = body.get("id").and_then(Value::as_i64) else {
                Failure::new(&reply.request)
                    .expected("the new student as JSON, with its numeric \"id\"")
                    .got(reply.describe())
                    .fail()
            };
            let Some(stored) = row(&db, id).await else {
                Failure::new(&reply.request)
                    .expected("the id of the row it inserted")
                    .got(format!("id {id}, and no row in students has it (ids there: {:?})", ids_in(&db).await))
                    .hint("Answer with the Student that directory::create returned, not one you built yourself.")
                    .fail()
            };
            if (stored.name.as_str(), stored.cohort.as_str(), stored.email.as_str())
                != (str_of(&new, "name"), str_of(&new, "cohort"), str_of(&new, "email"))
            {
                Failure::new(&reply.request)
                    .expected(format!("a row holding the name, cohort and email sent: {new}"))
                    .got(format!("{stored:?}"))
                    .fail();
            }
            expect_student(&reply, &body, &stored);
            let location = reply.header("location").map(str::to_owned);
            let path = format!("/students/{id}");
            let points_there = location
                .as_deref()
                .is_some_and(|l| l == path || l.ends_with(&format!("127.0.0.1:{}{path}", server.addr().port())));
            if !points_there {
                Failure::new(&reply.request)
                    .expected(format!("a Location header naming the new student: {path}"))
                    .got(match &location {
                        Some(l) => format!("Location: {l}"),
                        None => format!("no Location header ({})", reply.describe()),
                    })
                    .hint("A 201 says where the new resource lives: add the header (header::LOCATION, format!(\"/students/{}\", student.id)).")
                    .fail();
            }
            let again = server.send(Request::get(&path)).await;
            again.expect_status(200, "GET on the Location of a student just created must find it.");
            expect_student(&again, &again.expect_json("the student"), &stored);
            made.push(id);
        }
        let count = count_rows(&db).await;
        if count != made.len() as i64 {
            Failure::new(format!("POST /students, {} times", made.len()))
                .expected(format!("{} rows in students", made.len()))
                .got(format!("{count} rows"))
                .fail();
        }
    });
}

#[test]
fn get_returns_the_stored_student_and_404_for_an_unknown_id() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, data::int(3..7) as usize).await;
        for want in &rows {
            let reply = server.send(Request::get(format!("/students/{}", want.id))).await;
            reply.expect_status(200, "A student that exists is 200 OK with the student as JSON.");
            expect_student(&reply, &reply.expect_json("the student"), want);
        }
        let missing = rows.iter().map(|s| s.id).max().unwrap_or(0) + data::int(1..1000);
        let reply = server.send(Request::get(format!("/students/{missing}"))).await;
        expect_error(
            &reply,
            &[404],
            "no student has that id",
            "directory::find gives Ok(None) for a missing id: turn it into an error that answers 404 \
             (.ok_or(ApiError::NotFound(id))?), not a 200 with null and not a 500.",
        );
    });
}

#[test]
fn put_replaces_the_student_and_404s_for_an_unknown_id() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, data::int(2..5) as usize).await;
        let target = &rows[data::int(0..rows.len() as i64) as usize];
        // An hour in the past, so "updated_at moved, created_at did not" shows.
        let old = age_an_hour(&db, target.id).await;
        let changes = new_student();
        let path = format!("/students/{}", target.id);
        let reply = server.send(Request::put(&path).json(&changes)).await;
        reply.expect_status(200, "A PUT that replaced the student answers 200 OK with the student as it is now.");
        let body = reply.expect_json("the replaced student");
        let Some(stored) = row(&db, target.id).await else {
            Failure::new(&reply.request).expected("the student still in the table").got("the row is gone").fail()
        };
        let mut problems = Vec::new();
        if (stored.name.as_str(), stored.cohort.as_str(), stored.email.as_str())
            != (str_of(&changes, "name"), str_of(&changes, "cohort"), str_of(&changes, "email"))
        {
            problems.push(format!("the row holds {stored:?}, not the values sent"));
        }
        if stored.created_at != old.created_at {
            problems.push(format!("created_at changed from {} to {}", old.created_at, stored.created_at));
        }
        if stored.updated_at <= old.updated_at {
            problems.push("updated_at did not move".to_owned());
        }
        if !problems.is_empty() {
            Failure::new(&reply.request)
                .expected("the row's name, cohort and email replaced, created_at kept, updated_at bumped")
                .got(problems.join("; "))
                .hint("Call directory::update with the id from the path and the body's fields.")
                .fail();
        }
        expect_student(&reply, &body, &stored);
        expect_others_unchanged(&db, &rows, target.id, &reply.request).await;

        let missing = rows.iter().map(|s| s.id).max().unwrap_or(0) + data::int(1..1000);
        let before = count_rows(&db).await;
        let reply = server.send(Request::put(format!("/students/{missing}")).json(&new_student())).await;
        expect_error(
            &reply,
            &[404],
            "no student has that id",
            "directory::update gives Ok(None) when no row has the id: answer 404. A PUT here replaces; it \
             does not create.",
        );
        if count_rows(&db).await != before {
            Failure::new(&reply.request)
                .expected(format!("{before} rows, as before"))
                .got(format!("{} rows: the PUT created a student", count_rows(&db).await))
                .fail();
        }
    });
}

#[test]
fn delete_answers_204_and_then_404() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, data::int(2..6) as usize).await;
        let target = &rows[data::int(0..rows.len() as i64) as usize];
        let path = format!("/students/{}", target.id);
        let reply = server.send(Request::delete(&path)).await;
        reply.expect_status(
            204,
            "A DELETE that worked answers 204 No Content, with no body: Ok(StatusCode::NO_CONTENT).",
        );
        if !reply.body.is_empty() {
            Failure::new(&reply.request)
                .expected("204 with an empty body")
                .got(reply.describe())
                .hint("204 means no content: return the status alone.")
                .fail();
        }
        if let Some(still) = row(&db, target.id).await {
            Failure::new(&reply.request)
                .expected(format!("no row with id {} left", target.id))
                .got(format!("{still:?} is still there"))
                .fail();
        }
        expect_others_unchanged(&db, &rows, target.id, &reply.request).await;
        let again = server.send(Request::delete(&path)).await;
        expect_error(
            &again,
            &[404],
            "the student is gone already",
            "directory::delete returns false when there was no row: answer 404 then, not 204.",
        );
        let gone = server.send(Request::get(&path)).await;
        expect_error(&gone, &[404], "a deleted student is not found", "GET of a deleted student is 404.");
    });
}

#[test]
fn a_taken_email_is_409_even_when_two_requests_race_for_it() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, 2).await;
        let (first, second) = (&rows[0], &rows[1]);
        let copy = with(new_student(), "email", &first.email);
        let reply = server.send(Request::post("/students").json(&copy)).await;
        expect_error(
            &reply,
            &[409],
            "a conflict: the email is taken",
            "directory::create gives Err(DirectoryError::EmailTaken(..)): map that variant to 409 Conflict in \
             From<DirectoryError> for ApiError, apart from Database errors.",
        );
        expect_count_with_email(&db, &first.email, 1, &reply.request).await;
        let reply = server.send(Request::put(format!("/students/{}", second.id)).json(&copy)).await;
        expect_error(&reply, &[409], "a conflict: the email is taken", "update can hit the unique index too: 409.");
        expect_others_unchanged(&db, &rows, i64::MIN, &reply.request).await;

        // Two POSTs with one new email at once. The check holds a lock that
        // lets both requests read but not insert, waits until both are
        // waiting to insert, then lets them go: only the unique index can
        // tell them apart, and the loser must still be a 409.
        let email = data::email();
        let mut lock = db.pool().begin().await.unwrap_or_else(|e| db_error(e));
        sqlx::query("LOCK TABLE students IN SHARE MODE").execute(&mut *lock).await.unwrap_or_else(|e| db_error(e));
        let (a, b, ()) = tokio::join!(
            server.send_within(Request::post("/students").json(&with(new_student(), "email", &email)), WAIT),
            server.send_within(Request::post("/students").json(&with(new_student(), "email", &email)), WAIT),
            async {
                wait_for_lock_waiters(&db, 2).await;
                lock.commit().await.unwrap_or_else(|e| db_error(e));
            }
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        if statuses != [201, 409] {
            Failure::new(format!("two POST /students at once, both with email {email}"))
                .expected("one 201 Created and one 409 Conflict")
                .got(format!("{} and {}", a.describe(), b.describe()))
                .hint(
                    "Checking for the email first cannot win this race: both requests look, both see none, \
                     both insert. Let the unique index decide, and map its error (EmailTaken) to 409.",
                )
                .fail();
        }
        let loser = if a.status == 409 { &a } else { &b };
        expect_error(loser, &[409], "a conflict", "The losing request of the race is a 409 like any other.");
        expect_count_with_email(&db, &email, 1, "two POST /students at once").await;
    });
}

#[test]
fn malformed_json_and_wrong_types_are_400_naming_the_field() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, 1).await;
        let good = new_student();
        let name = str_of(&good, "name").to_owned();
        let cut_short = format!("{{\"name\": \"{name}\", \"cohort\": ");
        let cases: Vec<(Request, Option<&str>)> = vec![
            (Request::post("/students").raw("application/json", cut_short), None),
            (Request::post("/students").raw("application/json", format!("[\"{name}\"]")), None),
            (Request::post("/students").json(&without(good.clone(), "email")), Some("email")),
            (Request::post("/students").json(&with_value(good.clone(), "name", json!(data::int(1..99)))), Some("name")),
            (Request::post("/students").json(&with_value(good.clone(), "cohort", Value::Null)), Some("cohort")),
            (
                Request::put(format!("/students/{}", rows[0].id)).json(&with_value(
                    good.clone(),
                    "email",
                    json!(data::int(100..999)),
                )),
                Some("email"),
            ),
        ];
        for (request, field) in cases {
            let reply = server.send(request).await;
            let what = match field {
                Some(f) => format!("a 400 whose error names the field `{f}`"),
                None => "a 400: the body is not a JSON student".to_owned(),
            };
            expect_error(
                &reply,
                &[400],
                &what,
                "Take the body as Result<Json<NewStudent>, JsonRejection> and turn the rejection into your \
                 ApiError with `?` (From<JsonRejection>): axum's own rejection is plain text, and is 422 for a \
                 missing field or a wrong type. Its body_text() names the field.",
            );
            if let Some(field) = field {
                expect_names_field(&reply, field);
            }
        }
        expect_others_unchanged(&db, &rows, i64::MIN, "the bad requests").await;
        let count = count_rows(&db).await;
        if count != 1 {
            Failure::new("the bad requests")
                .expected("no student created")
                .got(format!("{} rows in students", count))
                .fail();
        }
    });
}

#[test]
fn invalid_values_are_400_naming_the_field() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, 1).await;
        let not_an_email = format!("{}.{}", data::word(6), data::word(4));
        let cases = [
            (Request::post("/students").json(&with(new_student(), "name", "   ")), "name"),
            (Request::post("/students").json(&with(new_student(), "cohort", "")), "cohort"),
            (Request::post("/students").json(&with(new_student(), "email", &not_an_email)), "email"),
            (Request::put(format!("/students/{}", rows[0].id)).json(&with(new_student(), "name", "")), "name"),
        ];
        for (request, field) in cases {
            let reply = server.send(request).await;
            expect_error(
                &reply,
                &[400],
                &format!("a 400 whose error names the field `{field}`"),
                "JSON's types cannot say \"not blank\" or \"an email address\": check the NewStudent before it \
                 reaches the database (no blank name or cohort; an email with text on both sides of one @), \
                 and answer ApiError::Invalid { field, .. }.",
            );
            expect_names_field(&reply, field);
        }
        expect_others_unchanged(&db, &rows, i64::MIN, "the invalid requests").await;
        if count_rows(&db).await != 1 {
            Failure::new("POST /students with invalid values")
                .expected("no student created")
                .got(format!("{} rows in students", count_rows(&db).await))
                .fail();
        }
    });
}

#[test]
fn every_error_is_a_json_body_never_html_or_plain_text() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, 1).await;
        let word = data::word(6);
        let nowhere = server.send(Request::get(format!("/{word}/{}", data::int(1..99)))).await;
        expect_error(
            &nowhere,
            &[404],
            "a JSON 404 for a path with no route",
            "axum's default fallback answers 404 with an empty body: give the Router a .fallback(..) that \
             answers with your ApiError.",
        );
        let not_a_number = server.send(Request::get(format!("/students/{word}"))).await;
        expect_error(
            &not_a_number,
            &[400],
            "a 400 whose error names `id`",
            "Path<i64> rejects a non-number with a plain-text 400: take Result<Path<i64>, PathRejection> and \
             turn the rejection into ApiError.",
        );
        expect_names_field(&not_a_number, "id");
        let wrong_method = server.send(Request::patch(format!("/students/{}", rows[0].id)).json(&new_student())).await;
        expect_error(
            &wrong_method,
            &[405],
            "a JSON 405: the path exists, PATCH does not",
            "axum answers a method the route lacks with an empty 405: add .method_not_allowed_fallback(..).",
        );
        let as_text = server.send(Request::post("/students").raw("text/plain", new_student().to_string())).await;
        expect_error(
            &as_text,
            &[415, 400],
            "415 Unsupported Media Type, as JSON: the body was not sent as application/json",
            "Json<T> rejects a body without content-type: application/json (MissingJsonContentType): map that \
             rejection to a JSON error too.",
        );
        if count_rows(&db).await != 1 {
            Failure::new(&as_text.request)
                .expected("no student created")
                .got(format!("{} rows in students", count_rows(&db).await))
                .fail();
        }
    });
}

#[test]
fn the_listing_pages_by_keyset_with_no_student_skipped_or_repeated() {
    check(async |db| {
        let server = setup(&db).await;
        let mut rows = insert_students(&db, data::int(9..16) as usize).await;
        let limit = data::int(2..5);
        let mut seen: Vec<i64> = Vec::new();
        let mut after: Option<i64> = None;
        let mut pages = 0;
        loop {
            let path = match after {
                Some(a) => format!("/students?limit={limit}&after={a}"),
                None => format!("/students?limit={limit}"),
            };
            let (reply, sent) = db.wire().during(server.send(Request::get(&path))).await;
            reply.expect_status(200, "A page of the listing is 200 OK.");
            let (students, next) = read_page(&reply);
            expect_paged_in_sql(&reply, &sent, limit);
            if students.len() as i64 > limit {
                Failure::new(&reply.request)
                    .expected(format!("at most {limit} students"))
                    .got(format!("{} students", students.len()))
                    .hint("LIMIT the query: at most `limit` students per page.")
                    .fail();
            }
            for s in &students {
                let id = s.get("id").and_then(Value::as_i64).unwrap_or(i64::MIN);
                match rows.iter().find(|r| r.id == id) {
                    Some(r) => expect_student(&reply, s, r),
                    None => Failure::new(&reply.request)
                        .expected("students that are in the table")
                        .got(format!("{s}, and no row has id {id}"))
                        .fail(),
                }
                seen.push(id);
            }
            pages += 1;
            if pages == 1 {
                // Between two pages, another client deletes a student the
                // first page showed and adds a new one. Paging by OFFSET
                // would now skip a student; a keyset does not.
                let gone = rows.remove(0);
                sqlx::query("DELETE FROM students WHERE id = $1")
                    .bind(gone.id)
                    .execute(db.pool())
                    .await
                    .unwrap_or_else(|e| db_error(e));
                rows.extend(insert_students(&db, 1).await);
                rows.insert(0, gone);
            }
            match next {
                Some(n) => {
                    if students.len() as i64 != limit {
                        Failure::new(&reply.request)
                            .expected(format!("a full page of {limit} before a next_after"))
                            .got(format!("{} students and next_after {n}", students.len()))
                            .fail();
                    }
                    after = Some(n);
                }
                None => break,
            }
            if pages > 40 {
                Failure::new(&reply.request)
                    .expected("the last page to say next_after: null")
                    .got(format!("{pages} pages and still a next_after"))
                    .fail();
            }
        }
        let want: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if seen != want {
            let skipped: Vec<i64> = want.iter().filter(|id| !seen.contains(id)).copied().collect();
            let repeated: Vec<i64> =
                seen.iter().enumerate().filter(|(i, id)| seen[..*i].contains(id)).map(|(_, id)| *id).collect();
            Failure::new(format!(
                "GET /students?limit={limit}, then each next_after, while a student was deleted and one added"
            ))
            .expected(format!("every student once, in id order: {want:?}"))
            .got(format!("{seen:?} (skipped: {skipped:?}, repeated: {repeated:?})"))
            .hint(
                "Page by keyset: WHERE id > $after ORDER BY id LIMIT $limit, and next_after is the id of the \
                     page's last student. An OFFSET counts rows, so a row deleted before it moves every later \
                     row back one and a student is never shown. On the last page next_after is null: ask for \
                     limit + 1 rows to know whether more follow.",
            )
            .fail();
        }
        // No limit: the first 20.
        let mut all = rows.clone();
        all.retain(|r| r.id != rows[0].id);
        all.extend(insert_students(&db, 21 - all.len() + data::int(0..5) as usize).await);
        let reply = server.send(Request::get("/students")).await;
        reply.expect_status(200, "GET /students with no parameters is the first page.");
        let (students, next) = read_page(&reply);
        let got: Vec<i64> = students.iter().filter_map(|s| s.get("id").and_then(Value::as_i64)).collect();
        let first: Vec<i64> = all.iter().take(20).map(|r| r.id).collect();
        if got != first || next != Some(first[19]) {
            Failure::new(&reply.request)
                .expected(format!("the first 20 of {} students by id, and next_after {}", all.len(), first[19]))
                .got(format!("{} students {got:?}, next_after {next:?}", got.len()))
                .hint("With no limit in the query, a page is 20 students (DEFAULT_LIMIT).")
                .fail();
        }
        for (query, field) in [
            (format!("limit={}", 0), "limit"),
            (format!("limit={}", 101 + data::int(0..50)), "limit"),
            (format!("limit={}", data::word(3)), "limit"),
            (format!("after={}", data::word(4)), "after"),
        ] {
            let reply = server.send(Request::get(format!("/students?{query}"))).await;
            expect_error(
                &reply,
                &[400],
                &format!("a 400 whose error names `{field}`"),
                "A limit is a number from 1 to 100 and after is an id: take Result<Query<..>, QueryRejection> \
                 for the parsing, check the range yourself, and answer ApiError in both cases.",
            );
            expect_names_field(&reply, field);
        }
    });
}

#[test]
fn a_database_that_goes_away_gives_a_json_error_and_the_server_recovers() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, data::int(2..4) as usize).await;
        let path = format!("/students/{}", rows[0].id);
        server.send(Request::get(&path)).await.expect_status(200, "A student that exists is 200 OK.");

        db.wire().cut();
        let during = [
            Request::get(&path),
            Request::get("/students?limit=5"),
            Request::post("/students").json(&new_student()),
            Request::delete(format!("/students/{}", rows[1].id)),
        ];
        for request in during {
            let reply = server.send(request).await;
            if !matches!(reply.status, 500 | 503) || reply.error_message().is_none_or(|m| m.trim().is_empty()) {
                Failure::new(format!("{} while the database is down", reply.request))
                    .expected("503 Service Unavailable (or 500) with a JSON body {\"error\": \"...\"}")
                    .got(reply.describe())
                    .hint(
                        "A database error is not the client's fault and not a missing student: map \
                         ApiError::Database to 503 when the database cannot be reached (sqlx::Error::Io, \
                         PoolTimedOut, PoolClosed) and 500 otherwise, with the same JSON error body as every \
                         other error.",
                    )
                    .fail();
            }
        }
        db.wire().restore();

        let reply = server.send(Request::get(&path)).await;
        if reply.status != 200 {
            Failure::new(format!("{} after the database came back", reply.request))
                .expected("200 OK: the server serves again once its database is back")
                .got(reply.describe())
                .hint(
                    "The connections the server had died with the database. Take a connection from the pool \
                     for each request (State<PgPool> and &pool): the pool notices a dead connection and opens \
                     a new one. A connection kept in the state for ever stays dead.",
                )
                .fail();
        }
        expect_student(&reply, &reply.expect_json("the student"), &rows[0]);
        let new = new_student();
        let created = server.send(Request::post("/students").json(&new)).await;
        created.expect_status(201, "After the database came back, a POST creates a student again.");
        expect_count_with_email(&db, str_of(&new, "email"), 1, &created.request).await;
    });
}

#[test]
fn one_slow_request_does_not_hold_up_the_others() {
    check(async |db| {
        let server = setup(&db).await;
        let rows = insert_students(&db, data::int(3..5) as usize).await;
        let target = &rows[0];
        let changes = new_student();
        // The check locks one student's row, so a PUT of it waits in the
        // database. Meanwhile, other requests must be answered.
        let mut lock = db.pool().begin().await.unwrap_or_else(|e| db_error(e));
        sqlx::query("SELECT id FROM students WHERE id = $1 FOR UPDATE")
            .bind(target.id)
            .execute(&mut *lock)
            .await
            .unwrap_or_else(|e| db_error(e));
        let put = Request::put(format!("/students/{}", target.id)).json(&changes);
        let put_shown = put.describe();
        let (slow, ()) = tokio::join!(server.send_within(put, WAIT), async {
            wait_for_lock_waiters(&db, 1).await;
            let others = [
                Request::get(format!("/students/{}", rows[1].id)),
                Request::get("/students?limit=2"),
                Request::post("/students").json(&new_student()),
            ];
            for request in others {
                let shown = request.describe();
                match server.try_send_within(request, Duration::from_secs(2)).await {
                    Ok(reply) if reply.status < 300 => {}
                    Ok(reply) => Failure::new(format!("{shown}, while {put_shown} waits for a row lock"))
                        .expected("a normal answer: another request's wait is not this one's")
                        .got(reply.describe())
                        .fail(),
                    Err(NoReply::TimedOut(_)) => {
                        Failure::new(format!("{shown}, while {put_shown} waits for a row lock"))
                            .expected("an answer within 2 s")
                            .got("no answer: this request waited for the other one")
                            .hint(
                                "One slow request held up the whole server. Each handler should take its own \
                             connection from the pool for as long as it needs it (&pool in each query): a \
                             Mutex around one connection, or one transaction shared by every request, makes \
                             each request wait for the slowest.",
                            )
                            .fail()
                    }
                    Err(other) => Failure::new(shown).expected("an answer").got(other.describe()).fail(),
                }
            }
            lock.commit().await.unwrap_or_else(|e| db_error(e));
        });
        slow.expect_status(200, "The PUT that waited for the lock completes once the lock is released.");
        let stored = row(&db, target.id).await;
        if stored.as_ref().map(|s| s.email.as_str()) != Some(str_of(&changes, "email")) {
            Failure::new(&slow.request)
                .expected(format!("the row to hold the new email {}", str_of(&changes, "email")))
                .got(format!("{stored:?}"))
                .fail();
        }
    });
}

#[test]
fn each_app_uses_the_pool_it_was_given() {
    check(async |db| {
        let rows = setup_rows(&db, data::int(2..4) as usize).await;
        let tag = data::word(5);
        let (name_a, name_b) = (format!("wb_a_{tag}"), format!("wb_b_{tag}"));
        let server_a = serve(app(app_pool_named(&db, &name_a)));
        let server_b = serve(app(app_pool_named(&db, &name_b)));
        // B first, then A: a global filled by the first app() call fails
        // the first; one the last call overwrote fails the second.
        for (server, name, which) in [(&server_b, &name_b, "second"), (&server_a, &name_a, "first")] {
            let want = &rows[data::int(0..rows.len() as i64) as usize];
            let (reply, sent) = db.wire().during(server.send(Request::get(format!("/students/{}", want.id)))).await;
            // The pool first: a global pool may lead to another check's
            // database, where this student is not found.
            let queries = sent.queries();
            if queries.is_empty() {
                Failure::new(format!("{} on the app built by the {which} of two app() calls", reply.request))
                    .expected("its SQL sent through the pool given to that app()")
                    .got(format!("no statement went through that pool; the reply: {}", reply.describe()))
                    .hint(
                        "Use the pool app() receives, through the router's state (.with_state(pool), then \
                         State(pool) in each handler): not a global (a static or OnceLock an earlier app() call \
                         filled), and not a pool of your own from DATABASE_URL or a URL in the code.",
                    )
                    .fail();
            }
            let conns = sent.connections();
            let strays: Vec<String> = queries
                .iter()
                .filter_map(|q| conns.iter().find(|c| c.id == q.conn))
                .filter(|c| c.application_name.as_deref() != Some(name.as_str()))
                .map(|c| c.application_name.clone().unwrap_or_else(|| "(none)".into()))
                .collect();
            if !strays.is_empty() {
                Failure::new(format!("{} on the app built by the {which} of two app() calls", reply.request))
                    .expected(format!(
                        "its SQL on connections of the pool given to that app() (application_name {name})"
                    ))
                    .got(format!("SQL on connections of another pool (application_name {})", strays.join(", ")))
                    .hint(
                        "The pool is kept in a global (a static, a OnceLock) shared by every app: put it in the \
                         router's state with .with_state(pool) and take it in each handler with State(pool).",
                    )
                    .sent(&sent)
                    .fail();
            }
            reply.expect_status(200, "A student that exists is 200 OK.");
            expect_student(&reply, &reply.expect_json("the student"), want);
        }
    });
}

// ---------------------------------------------------------------------------
// Setup and the table, as the check reads it

/// How long a request that waits on a lock the check holds may take.
const WAIT: Duration = Duration::from_secs(6);

#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: i64,
    name: String,
    cohort: String,
    email: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

type Tuple = (i64, String, String, String, DateTime<Utc>, DateTime<Utc>);

fn to_row((id, name, cohort, email, created_at, updated_at): Tuple) -> Row {
    Row { id, name, cohort, email, created_at, updated_at }
}

/// Migrates, starts the ids at a number that changes per run, and serves
/// `app` with a pool through the check's relay.
async fn setup(db: &Db) -> Server {
    migrate(db).await;
    serve(app(app_pool(db)))
}

async fn migrate(db: &Db) {
    db.migrate(workbook::exercise::path("migrations")).await;
    sqlx::query("SELECT setval(pg_get_serial_sequence('students', 'id'), $1)")
        .bind(data::int(100_000..9_000_000))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
}

async fn setup_rows(db: &Db, n: usize) -> Vec<Row> {
    migrate(db).await;
    insert_students(db, n).await
}

fn new_student() -> Value {
    json!({
        "name": data::name(),
        "cohort": format!("{}-{}", data::word(5), data::int(2020..2031)),
        "email": data::email(),
    })
}

fn with(body: Value, field: &str, value: &str) -> Value {
    with_value(body, field, json!(value))
}

fn with_value(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn without(mut body: Value, field: &str) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.remove(field);
    }
    body
}

fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body.get(field).and_then(Value::as_str).unwrap_or("")
}

/// `n` students in one statement, in id order.
async fn insert_students(db: &Db, n: usize) -> Vec<Row> {
    let people: Vec<Value> = (0..n).map(|_| new_student()).collect();
    let column = |f: &str| people.iter().map(|p| str_of(p, f).to_owned()).collect::<Vec<_>>();
    let mut rows: Vec<Row> = sqlx::query_as::<_, Tuple>(
        "INSERT INTO students (name, cohort, email)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         RETURNING id, name, cohort, email, created_at, updated_at",
    )
    .bind(column("name"))
    .bind(column("cohort"))
    .bind(column("email"))
    .fetch_all(db.pool())
    .await
    .unwrap_or_else(|e| db_error(e))
    .into_iter()
    .map(to_row)
    .collect();
    rows.sort_by_key(|r| r.id);
    rows
}

async fn row(db: &Db, id: i64) -> Option<Row> {
    sqlx::query_as::<_, Tuple>("SELECT id, name, cohort, email, created_at, updated_at FROM students WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e))
        .map(to_row)
}

async fn age_an_hour(db: &Db, id: i64) -> Row {
    to_row(
        sqlx::query_as::<_, Tuple>(
            "UPDATE students SET created_at = created_at - interval '1 hour', updated_at = updated_at - interval '1 hour'
             WHERE id = $1 RETURNING id, name, cohort, email, created_at, updated_at",
        )
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e)),
    )
}

async fn ids_in(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM students ORDER BY id").fetch_all(db.pool()).await.unwrap_or_else(|e| db_error(e))
}

async fn count_rows(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM students").fetch_one(db.pool()).await.unwrap_or_else(|e| db_error(e))
}

async fn expect_count_with_email(db: &Db, email: &str, want: i64, called: &str) {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM students WHERE email = $1")
        .bind(email)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| db_error(e));
    if count != want {
        Failure::new(called).expected(format!("{want} row(s) with email {email}")).got(format!("{count}")).fail();
    }
}

async fn expect_others_unchanged(db: &Db, before: &[Row], except: i64, called: &str) {
    for s in before.iter().filter(|s| s.id != except) {
        let now = row(db, s.id).await;
        if now.as_ref() != Some(s) {
            Failure::new(called)
                .expected(format!("student {} left as it was: {s:?}", s.id))
                .got(match now {
                    Some(n) => format!("{n:?}"),
                    None => "the row is gone".to_owned(),
                })
                .fail();
        }
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

// ---------------------------------------------------------------------------
// What the API said

/// Fails unless `body` is the JSON form of `want`: the same id, name,
/// cohort, email and timestamps.
fn expect_student(reply: &Reply, body: &Value, want: &Row) {
    let time = |f: &str| {
        body.get(f)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let same = body.get("id").and_then(Value::as_i64) == Some(want.id)
        && str_of(body, "name") == want.name
        && str_of(body, "cohort") == want.cohort
        && str_of(body, "email") == want.email
        && time("created_at") == Some(want.created_at)
        && time("updated_at") == Some(want.updated_at);
    if !same {
        Failure::new(&reply.request)
            .expected(format!(
                "the student as stored: {{\"id\": {}, \"name\": {:?}, \"cohort\": {:?}, \"email\": {:?}, \"created_at\": \"{}\", \"updated_at\": \"{}\"}}",
                want.id,
                want.name,
                want.cohort,
                want.email,
                want.created_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                want.updated_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ))
            .got(body.to_string())
            .hint("Answer with Json(student), the Student the directory returned: every field, named as in the struct.")
            .fail();
    }
}

/// Fails unless `reply` has one of `statuses` and a JSON error body
/// `{"error": "..."}` with something in it.
fn expect_error(reply: &Reply, statuses: &[u16], what: &str, hint: &str) {
    let message = reply.error_message().filter(|m| !m.trim().is_empty());
    if !statuses.contains(&reply.status) || message.is_none() {
        let want: Vec<String> = statuses.iter().map(u16::to_string).collect();
        let hint = if statuses.contains(&reply.status) {
            "Every error body is JSON: {\"error\": \"what went wrong\"}, with content-type: application/json. \
             Build it in one place, ApiError's IntoResponse: (status, Json(json!({\"error\": message})))."
        } else {
            hint
        };
        Failure::new(&reply.request)
            .expected(format!("{} ({what}) with a JSON body {{\"error\": \"...\"}}", want.join(" or ")))
            .got(reply.describe())
            .hint(hint)
            .fail();
    }
}

/// Fails unless the error message names `field` and no other field.
fn expect_names_field(reply: &Reply, field: &str) {
    let message = reply.error_message().unwrap_or_default();
    let others: Vec<&str> =
        ["name", "cohort", "email", "id", "limit", "after"].into_iter().filter(|f| *f != field).collect();
    let names = |f: &str| {
        message.match_indices(f).any(|(at, _)| {
            let before = message[..at].chars().next_back();
            let after = message[at + f.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    let wrong: Vec<&str> = others.into_iter().filter(|f| names(f)).collect();
    if !names(field) || !wrong.is_empty() {
        Failure::new(&reply.request)
            .expected(format!("an error that names the field at fault, `{field}`, and only it"))
            .got(format!("{{\"error\": {message:?}}}"))
            .hint(
                "The client needs to know which field to fix. axum's rejection text names it \
                 (`missing field `email``, `name: invalid type`); your own checks should too: \
                 ApiError::Invalid { field: \"email\", .. }.",
            )
            .fail();
    }
}

/// The students and next_after of a page, or a failure saying the page is
/// not `{"students": [...], "next_after": ...}`.
fn read_page(reply: &Reply) -> (Vec<Value>, Option<i64>) {
    let body = reply.expect_json("a page: {\"students\": [...], \"next_after\": id or null}");
    let students = body.get("students").and_then(Value::as_array).cloned();
    let next = body.get("next_after");
    match (students, next) {
        (Some(s), Some(Value::Null)) => (s, None),
        (Some(s), Some(n)) if n.is_i64() => (s, n.as_i64()),
        _ => Failure::new(&reply.request)
            .expected("{\"students\": [...], \"next_after\": an id, or null on the last page}")
            .got(reply.describe())
            .hint("Answer Json(Page { students, next_after }).")
            .fail(),
    }
}

/// Fails if a page request read more rows than one page and the one after
/// it: the database must do the paging, not Rust.
fn expect_paged_in_sql(reply: &Reply, sent: &Traffic, limit: i64) {
    let read = sent.rows_returned();
    if read > (limit + 1) as u64 {
        Failure::new(&reply.request)
            .expected(format!("at most {} rows read from the database (a page, and one more)", limit + 1))
            .got(format!("{read} rows read"))
            .hint("Let PostgreSQL cut the page: WHERE id > $1 ORDER BY id LIMIT $2, not every row sliced in Rust.")
            .sent(sent)
            .fail();
    }
}

fn db_error(e: sqlx::Error) -> ! {
    Failure::new("the check's own SQL").got(e.to_string()).hint("This is not your code: run the checks again.").fail()
}
