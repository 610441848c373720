//! Runs the listings of the chapter "Serving it over HTTP": the catalogue
//! API over real TCP, its error bodies, and the claim that a transaction
//! held across an unrelated await keeps its lock for all that time.

use std::time::Duration;

use listings::http::{catalogue_app, retitle_briefly, retitle_holding_the_lock};
use serde_json::json;
use sqlx::PgPool;
use workbook::check;
use workbook_http::{Request, app_pool, serve};

async fn catalogue(pool: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE courses (
             id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             code       text NOT NULL UNIQUE,
             title      text NOT NULL,
             credits    integer NOT NULL,
             created_at timestamptz NOT NULL DEFAULT now(),
             updated_at timestamptz NOT NULL DEFAULT now()
         );
         INSERT INTO courses (code, title, credits) VALUES ('DB101', 'Databases', 5);",
    )
    .execute(pool)
    .await
    .expect("creating courses");
}

#[test]
fn the_catalogue_answers_with_the_statuses_the_chapter_lists() {
    check(async |db| {
        catalogue(db.pool()).await;
        let server = serve(catalogue_app(app_pool(&db)));
        let found = server.send(Request::get("/courses/DB101")).await;
        assert_eq!(found.status, 200, "{}", found.describe());
        assert_eq!(found.json().unwrap()["title"], "Databases");

        let web = json!({"code": "WEB201", "title": "Web services", "credits": 5});
        let made = server.send(Request::post("/courses").json(&web)).await;
        assert_eq!(made.status, 201, "{}", made.describe());
        assert_eq!(made.header("location"), Some("/courses/WEB201"));
        let again = server.send(Request::post("/courses").json(&web)).await;
        assert_eq!(
            (again.status, again.error_message().unwrap()),
            (409, "course code WEB201 is already in use".into())
        );

        let missing = server.send(Request::get("/courses/NOPE")).await;
        assert_eq!((missing.status, missing.error_message().unwrap()), (404, "no course with code NOPE".into()));
        let nowhere = server.send(Request::get("/teachers")).await;
        assert_eq!((nowhere.status, nowhere.error_message().unwrap()), (404, "no route for /teachers".into()));

        let wrong_type =
            server.send(Request::post("/courses").json(&json!({"code": "X1", "title": "X", "credits": "5"}))).await;
        assert_eq!(wrong_type.status, 400, "{}", wrong_type.describe());
        assert!(
            wrong_type.error_message().unwrap().contains("credits: invalid type: string"),
            "{}",
            wrong_type.describe()
        );
        let too_many =
            server.send(Request::post("/courses").json(&json!({"code": "X1", "title": "X", "credits": 99}))).await;
        assert_eq!((too_many.status, too_many.error_message().unwrap()), (400, "credits: must be from 1 to 30".into()));

        db.wire().cut();
        let down = server.send(Request::get("/courses/DB101")).await;
        assert_eq!((down.status, down.error_message().unwrap()), (503, "the catalogue is unavailable".into()));
        db.wire().restore();
        assert_eq!(server.send(Request::get("/courses/DB101")).await.status, 200);
    });
}

/// Whether an UPDATE of DB101 on the check's own connection gets its row
/// lock within 100 ms.
async fn can_update_now(pool: &PgPool) -> bool {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '100ms'").execute(&mut *tx).await.unwrap();
    let got = sqlx::query("UPDATE courses SET credits = credits WHERE code = 'DB101'").execute(&mut *tx).await;
    match got {
        Ok(_) => true,
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03") => false,
        Err(e) => panic!("{e}"),
    }
}

/// Waits until some session of this database sits idle inside a
/// transaction: the listing's transaction, parked at its slow await.
async fn wait_idle_in_transaction(pool: &PgPool) -> bool {
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if n > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

#[test]
fn a_transaction_held_across_an_unrelated_await_keeps_its_lock_all_the_while() {
    check(async |db| {
        catalogue(db.pool()).await;
        let app = app_pool(&db);
        let (done, locked) = tokio::join!(retitle_holding_the_lock(&app, "DB101", "Held"), async {
            assert!(wait_idle_in_transaction(db.pool()).await, "the transaction never parked");
            !can_update_now(db.pool()).await
        });
        done.unwrap();
        assert!(locked, "the row should stay locked while the handler awaits something else");

        let (done, free) = tokio::join!(retitle_briefly(&app, "DB101", "Brief"), can_update_now(db.pool()));
        done.unwrap();
        assert!(free, "doing the slow work first leaves the row free meanwhile");
    });
}
