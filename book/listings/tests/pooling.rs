//! Runs the listings of the chapter "Connection pools" against a live
//! server, through the check's relay: the setting made in after_connect is
//! on every connection and the one made through the pool on one; the
//! hand-written BEGIN leaves a connection idle in transaction and the
//! Transaction does not; and the messages the chapter quotes are the ones
//! sqlx produces.

use std::time::Duration;

use listings::pooling::{quiet_options, reporting_pool, reporting_pool_set_once, reserve_seat, reserve_seat_leaky};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use workbook::{Db, check};

const CHAPTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/pooling/index.md");

/// Fails unless the chapter shows `text` word for word.
#[track_caller]
fn chapter_quotes(text: &str) {
    let chapter = std::fs::read_to_string(CHAPTER).expect("reading the pooling chapter");
    assert!(chapter.contains(text), "book/src/pooling/index.md should quote exactly:\n{text}");
}

/// `lock_timeout` on each of two connections held at once.
async fn lock_timeouts(pool: &PgPool) -> Vec<String> {
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    let mut out = Vec::new();
    for conn in [&mut a, &mut b] {
        out.push(sqlx::query_scalar("SHOW lock_timeout").fetch_one(&mut **conn).await.unwrap());
    }
    out
}

#[test]
fn after_connect_sets_every_connection_and_a_set_through_the_pool_sets_one() {
    check(async |db| {
        let pool = reporting_pool(&db.app_url()).await.unwrap();
        assert_eq!(lock_timeouts(&pool).await, ["2s", "2s"]);
        let named: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'nightly-report'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(named, 2);
        pool.close().await;

        let pool = reporting_pool_set_once(&db.app_url()).await.unwrap();
        let mut got = lock_timeouts(&pool).await;
        got.sort();
        assert_eq!(got, ["0", "2s"], "one connection has the setting, the other the default");
        pool.close().await;
    });
}

async fn seats(db: &Db) {
    sqlx::raw_sql(
        "CREATE TABLE seats (id bigint PRIMARY KEY, taken_by text);
         INSERT INTO seats VALUES (1, 'Ada'), (2, NULL);",
    )
    .execute(db.pool())
    .await
    .unwrap();
}

async fn idle_in_transaction(db: &Db) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

/// Waits until every connection of `pool` is back in it.
async fn settle(pool: &PgPool) {
    for _ in 0..200 {
        if pool.num_idle() as u32 == pool.size() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[test]
fn a_hand_written_begin_leaks_on_the_early_return_and_a_transaction_does_not() {
    check(async |db| {
        seats(&db).await;
        let pool = PgPoolOptions::new().max_connections(2).connect(&db.app_url()).await.unwrap();
        assert!(!reserve_seat(&pool, 1, "Bram").await.unwrap(), "seat 1 is taken");
        settle(&pool).await;
        assert!(db.wire().left_in_transaction().await.is_empty());
        assert_eq!(idle_in_transaction(&db).await, 0);

        assert!(!reserve_seat_leaky(&pool, 1, "Bram").await.unwrap());
        settle(&pool).await;
        let leaked = db.wire().left_in_transaction().await;
        assert_eq!(leaked.len(), 1, "the early return left its transaction open");
        assert_eq!(idle_in_transaction(&db).await, 1, "and the server sees it idle in transaction");
        pool.close().await;
    });
}

#[test]
fn an_exhausted_pool_and_a_cancelled_statement_say_what_the_chapter_shows() {
    check(async |db| {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_millis(100))
            .connect(db.url())
            .await
            .unwrap();
        let held = pool.acquire().await.unwrap();
        let err = pool.acquire().await.unwrap_err();
        assert!(matches!(err, sqlx::Error::PoolTimedOut));
        chapter_quotes(&err.to_string());
        drop(held);

        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("SET statement_timeout = '50ms'").execute(&mut *conn).await.unwrap();
        let err = sqlx::query("SELECT pg_sleep(1)").execute(&mut *conn).await.unwrap_err();
        let code = err.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("57014"));
        // sqlx adds the line of PostgreSQL's source that raised it, which
        // differs between versions: the chapter quotes one and says so.
        let shown = err.to_string();
        let (message, line) = shown.rsplit_once(" at line ").expect("sqlx names the server's source line");
        assert!(line.parse::<u32>().is_ok(), "{shown}");
        chapter_quotes(&format!("{message} at line "));
    });
}

#[test]
fn quiet_logging_options_connect_and_run_slow_statements() {
    check(async |db| {
        let options = quiet_options(db.url()).unwrap();
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let slept: String = sqlx::query_scalar("SELECT pg_sleep(0.3)::text").fetch_one(&pool).await.unwrap();
        assert_eq!(slept, "");
        pool.close().await;
        assert!(quiet_options("postgres://localhost:notaport/x").is_err(), "the URL is still parsed");
    });
}
