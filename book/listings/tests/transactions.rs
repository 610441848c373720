//! Runs the listings of the chapter "Transactions and locking" against a
//! live server: a refused booking changes nothing, a dropped transaction
//! rolls back (and the wire shows the ROLLBACK sqlx sends for it), a stale
//! version is refused, and the SERIALIZABLE helper retries a real
//! serialization failure and stops a real write skew.

use std::cell::Cell;
use std::time::{Duration, Instant};

use listings::transactions::{
    BookingError, book, book_and_forget, book_managed, book_within_limit, retitle, serializable,
};
use sqlx::{Connection, PgConnection, PgPool};
use workbook::{Db, check};

const CHAPTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/transactions/index.md");

/// Fails unless the chapter shows `text` word for word.
#[track_caller]
fn chapter_quotes(text: &str) {
    let chapter = std::fs::read_to_string(CHAPTER).expect("reading the transactions chapter");
    assert!(chapter.contains(text), "book/src/transactions/index.md should quote exactly:\n{text}");
}

async fn theatre(pool: &PgPool) -> (i64, i64) {
    sqlx::raw_sql(
        "CREATE TABLE shows (
             id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             title      text    NOT NULL,
             seats_left integer NOT NULL,
             version    integer NOT NULL DEFAULT 0
         );
         CREATE TABLE bookings (
             id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             show_id bigint  NOT NULL REFERENCES shows (id),
             member  text    NOT NULL,
             seats   integer NOT NULL
         );
         INSERT INTO shows (title, seats_left) VALUES ('Hamlet', 10), ('Medea', 10);",
    )
    .execute(pool)
    .await
    .expect("creating the theatre");
    (1, 2)
}

async fn state(pool: &PgPool) -> (Vec<i32>, i64) {
    let left: Vec<i32> = sqlx::query_scalar("SELECT seats_left FROM shows ORDER BY id").fetch_all(pool).await.unwrap();
    let bookings: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings").fetch_one(pool).await.unwrap();
    (left, bookings)
}

/// Waits until some session of this database waits for a lock.
async fn until_someone_waits(db: &Db, done: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) && !done() {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND cardinality(pg_blocking_pids(pid)) > 0",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn a_booking_writes_both_rows_and_a_refusal_writes_neither() {
    check(async |db| {
        let pool = db.pool();
        let (hamlet, _) = theatre(pool).await;
        let id = book(pool, hamlet, "ada", 4).await.unwrap();
        assert_eq!(state(pool).await, (vec![6, 10], 1));
        assert!(id > 0);
        let err = book(pool, hamlet, "bob", 7).await.unwrap_err();
        assert!(matches!(err, BookingError::SoldOut { left: 6 }), "{err:?}");
        assert_eq!(err.to_string(), "only 6 seats left");
        assert_eq!(state(pool).await, (vec![6, 10], 1), "the refusal wrote nothing");
        assert!(matches!(book(pool, 99, "ada", 1).await, Err(BookingError::NoSuchShow(99))));
    });
}

#[test]
fn a_dropped_transaction_rolls_back_and_the_wire_shows_the_rollback() {
    check(async |db| {
        let (hamlet, _) = theatre(db.pool()).await;
        let ((), sent) =
            db.wire().during(async { book_and_forget(db.app_pool(), hamlet, "ada", 4).await.unwrap() }).await;
        // The queued ROLLBACK goes out when the connection is returned to
        // the pool, on a task of its own: give it a moment.
        let start = Instant::now();
        while !db.wire().left_in_transaction().await.is_empty() && start.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(state(db.pool()).await, (vec![10, 10], 0), "nothing of the dropped transaction stayed");
        let after = db.wire().everything().await;
        let verbs: Vec<String> = after.all().iter().map(|s| s.verb()).collect();
        assert_eq!(verbs, ["BEGIN", "UPDATE", "INSERT", "ROLLBACK"], "{}", after.describe(10));
        assert_eq!(sent.len(), 2, "the UPDATE and the INSERT");
        chapter_quotes("BEGIN, UPDATE, INSERT, ROLLBACK");
    });
}

#[test]
fn the_managed_form_commits_on_ok_and_rolls_back_on_err() {
    check(async |db| {
        let (hamlet, _) = theatre(db.pool()).await;
        let mut conn = PgConnection::connect(db.url()).await.unwrap();
        book_managed(&mut conn, hamlet, "ada", 3).await.unwrap();
        let err = book_managed(&mut conn, hamlet, "bob", 8).await.unwrap_err();
        assert!(matches!(err, BookingError::SoldOut { left: 7 }), "{err:?}");
        assert_eq!(state(db.pool()).await, (vec![7, 10], 1));
        conn.close().await.unwrap();
    });
}

#[test]
fn a_stale_version_is_refused_and_the_current_one_moves_on() {
    check(async |db| {
        let pool = db.pool();
        let (hamlet, _) = theatre(pool).await;
        assert_eq!(retitle(pool, hamlet, 0, "Hamlet, Prince of Denmark").await.unwrap(), Some(1));
        // A second editor loaded the show at version 0 too.
        assert_eq!(retitle(pool, hamlet, 0, "The Tragedy of Hamlet").await.unwrap(), None);
        let title: String =
            sqlx::query_scalar("SELECT title FROM shows WHERE id = $1").bind(hamlet).fetch_one(pool).await.unwrap();
        assert_eq!(title, "Hamlet, Prince of Denmark", "the stale save changed nothing");
    });
}

#[test]
fn serializable_runs_the_work_again_after_a_serialization_failure() {
    check(async |db| {
        let (hamlet, _) = theatre(db.pool()).await;
        // Someone else takes a seat of Hamlet and holds the row until the
        // booking below has read and is waiting to write it.
        let mut other = db.pool().begin().await.unwrap();
        sqlx::query("UPDATE shows SET seats_left = seats_left - 1 WHERE id = $1")
            .bind(hamlet)
            .execute(&mut *other)
            .await
            .unwrap();
        let done = Cell::new(false);
        let call = async {
            let r = book_within_limit(db.app_pool(), hamlet, "ada", 2, 4).await;
            done.set(true);
            r
        };
        let release = async {
            until_someone_waits(&db, || done.get()).await;
            other.commit().await.unwrap();
        };
        let ((booked, ()), sent) = db.wire().during(async { tokio::join!(call, release) }).await;
        booked.unwrap();
        let begins = sent.all().iter().filter(|s| s.verb() == "BEGIN").count();
        let failures = sent.all().iter().filter(|s| s.error.as_ref().is_some_and(|e| e.code == "40001")).count();
        assert_eq!((begins, failures), (2, 1), "{}", sent.describe(20));
        let message = sent.all().iter().find_map(|s| s.error.as_ref()).map(|e| e.message.clone()).unwrap();
        assert_eq!(message, "could not serialize access due to concurrent update");
        chapter_quotes("could not serialize access due to concurrent update");
        assert_eq!(state(db.pool()).await, (vec![7, 10], 1));
    });
}

#[test]
fn serializable_stops_two_bookings_that_each_fit_the_limit_alone() {
    check(async |db| {
        let (hamlet, medea) = theatre(db.pool()).await;
        // Another booking for ada has read her total (0) and booked 3 seats
        // of Medea, not yet committed.
        let mut other = db.pool().begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        let held: i64 = sqlx::query_scalar("SELECT coalesce(sum(seats), 0)::bigint FROM bookings WHERE member = 'ada'")
            .fetch_one(&mut *other)
            .await
            .unwrap();
        assert_eq!(held, 0);
        sqlx::query("INSERT INTO bookings (show_id, member, seats) VALUES ($1, 'ada', 3)")
            .bind(medea)
            .execute(&mut *other)
            .await
            .unwrap();
        // This one sees 0 too, and books 3 of Hamlet: each is within 4.
        book_within_limit(db.pool(), hamlet, "ada", 3, 4).await.unwrap();
        let err = other.commit().await.unwrap_err();
        let pg = err.as_database_error().unwrap();
        assert_eq!(pg.code().as_deref(), Some("40001"));
        assert_eq!(pg.message(), "could not serialize access due to read/write dependencies among transactions");
        chapter_quotes("could not serialize access due to read/write dependencies among transactions");
        let total: i64 = sqlx::query_scalar("SELECT sum(seats)::bigint FROM bookings WHERE member = 'ada'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(total, 3, "only one of the two bookings stands");
    });
}

#[test]
fn serializable_gives_up_after_its_attempts() {
    check(async |db| {
        let (hamlet, _) = theatre(db.pool()).await;
        let runs = Cell::new(0);
        let result: Result<(), BookingError> = serializable(db.pool(), async |conn: &mut PgConnection| {
            runs.set(runs.get() + 1);
            sqlx::query("UPDATE shows SET seats_left = seats_left WHERE id = $1")
                .bind(hamlet)
                .execute(&mut *conn)
                .await?;
            // What PostgreSQL says when it cannot fit the transaction in.
            sqlx::query("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$")
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
        .await;
        assert!(matches!(result, Err(BookingError::TooManyConflicts(5))), "{result:?}");
        assert_eq!(runs.get(), 5);
    });
}
