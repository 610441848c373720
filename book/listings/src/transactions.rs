//! Listings for the chapter "Transactions and locking". They sell theatre
//! seats, next to the exercise's bank, so the exercise is left for the
//! reader: `shows` counts the seats left, `bookings` says who holds which.
//!
//! The tables they expect:
//!
//! ```sql
//! CREATE TABLE shows (
//!     id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!     title      text    NOT NULL,
//!     seats_left integer NOT NULL,
//!     version    integer NOT NULL DEFAULT 0
//! );
//! CREATE TABLE bookings (
//!     id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!     show_id bigint  NOT NULL REFERENCES shows (id),
//!     member  text    NOT NULL,
//!     seats   integer NOT NULL
//! );
//! ```

use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};

// ANCHOR: error
/// Why a booking did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("show {0} does not exist")]
    NoSuchShow(i64),
    #[error("only {left} seats left")]
    SoldOut { left: i32 },
    #[error("{member} already holds {held} seats; the limit is {limit}")]
    OverLimit { member: String, held: i64, limit: i64 },
    #[error("gave up after {0} attempts")]
    TooManyConflicts(u32),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
// ANCHOR_END: error

// ANCHOR: book
/// Books `seats` seats of `show` for `member`: both writes or neither.
pub async fn book(pool: &PgPool, show: i64, member: &str, seats: i32) -> Result<i64, BookingError> {
    let mut tx = pool.begin().await?;
    // FOR UPDATE: anyone else booking this show waits here until we commit.
    let left: i32 = sqlx::query_scalar("SELECT seats_left FROM shows WHERE id = $1 FOR UPDATE")
        .bind(show)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(BookingError::NoSuchShow(show))?;
    if left < seats {
        // Returning drops `tx`: the transaction rolls back.
        return Err(BookingError::SoldOut { left });
    }
    sqlx::query("UPDATE shows SET seats_left = seats_left - $2, version = version + 1 WHERE id = $1")
        .bind(show)
        .bind(seats)
        .execute(&mut *tx)
        .await?;
    let booking: i64 =
        sqlx::query_scalar("INSERT INTO bookings (show_id, member, seats) VALUES ($1, $2, $3) RETURNING id")
            .bind(show)
            .bind(member)
            .bind(seats)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(booking)
}
// ANCHOR_END: book

// ANCHOR: dropped
/// Takes the seats and writes the booking, then changes its mind: no
/// commit, no rollback, the transaction is simply dropped.
pub async fn book_and_forget(pool: &PgPool, show: i64, member: &str, seats: i32) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE shows SET seats_left = seats_left - $2 WHERE id = $1")
        .bind(show)
        .bind(seats)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO bookings (show_id, member, seats) VALUES ($1, $2, $3)")
        .bind(show)
        .bind(member)
        .bind(seats)
        .execute(&mut *tx)
        .await?;
    Ok(())
    // `tx` goes out of scope here. Its Drop queues a ROLLBACK, which is
    // sent before the connection is used again.
}
// ANCHOR_END: dropped

// ANCHOR: managed
/// The same booking as a managed transaction: the closure's Ok commits,
/// its Err rolls back. The closure must own what it uses, hence the
/// `to_owned`.
pub async fn book_managed(conn: &mut PgConnection, show: i64, member: &str, seats: i32) -> Result<i64, BookingError> {
    let member = member.to_owned();
    conn.transaction(move |tx| {
        Box::pin(async move {
            let left: i32 = sqlx::query_scalar("SELECT seats_left FROM shows WHERE id = $1 FOR UPDATE")
                .bind(show)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(BookingError::NoSuchShow(show))?;
            if left < seats {
                return Err(BookingError::SoldOut { left });
            }
            sqlx::query("UPDATE shows SET seats_left = seats_left - $2 WHERE id = $1")
                .bind(show)
                .bind(seats)
                .execute(&mut **tx)
                .await?;
            let id: i64 =
                sqlx::query_scalar("INSERT INTO bookings (show_id, member, seats) VALUES ($1, $2, $3) RETURNING id")
                    .bind(show)
                    .bind(&member)
                    .bind(seats)
                    .fetch_one(&mut **tx)
                    .await?;
            Ok(id)
        })
    })
    .await
}
// ANCHOR_END: managed

// ANCHOR: optimistic
/// Saves a show's new title, if nobody changed the show since the editor
/// loaded it at `version`: the new version, or `None` when they must
/// reload and try again.
pub async fn retitle(pool: &PgPool, show: i64, version: i32, title: &str) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE shows SET title = $3, version = version + 1
         WHERE id = $1 AND version = $2
         RETURNING version",
    )
    .bind(show)
    .bind(version)
    .bind(title)
    .fetch_optional(pool)
    .await
}
// ANCHOR_END: optimistic

// ANCHOR: retry
/// How many times `serializable` runs `work` before it gives up.
pub const ATTEMPTS: u32 = 5;

/// Runs `work` in a SERIALIZABLE transaction and commits it; when
/// PostgreSQL aborts it with a serialization failure (SQLSTATE 40001),
/// runs it again in a new transaction, at most `ATTEMPTS` times.
pub async fn serializable<T>(
    pool: &PgPool,
    mut work: impl AsyncFnMut(&mut PgConnection) -> Result<T, BookingError>,
) -> Result<T, BookingError> {
    for attempt in 1..=ATTEMPTS {
        let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await?;
        // The failure can come from any statement, or from COMMIT itself.
        let done = match work(&mut tx).await {
            Ok(value) => tx.commit().await.map(|()| value).map_err(BookingError::from),
            Err(e) => Err(e),
        };
        match done {
            Err(BookingError::Database(e)) if is_serialization_failure(&e) => {
                // A short pause, longer each time, so two transactions that
                // collided do not collide again in step.
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5)).await;
            }
            other => return other,
        }
    }
    Err(BookingError::TooManyConflicts(ATTEMPTS))
}

fn is_serialization_failure(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).as_deref() == Some("40001")
}
// ANCHOR_END: retry

// ANCHOR: limit
/// Books seats unless the member would then hold more than `limit` seats
/// across all shows: a rule over many rows, which no single row lock
/// protects, so it runs at SERIALIZABLE.
pub async fn book_within_limit(
    pool: &PgPool,
    show: i64,
    member: &str,
    seats: i32,
    limit: i64,
) -> Result<i64, BookingError> {
    serializable(pool, async |conn: &mut PgConnection| {
        let held: i64 = sqlx::query_scalar("SELECT coalesce(sum(seats), 0)::bigint FROM bookings WHERE member = $1")
            .bind(member)
            .fetch_one(&mut *conn)
            .await?;
        if held + i64::from(seats) > limit {
            return Err(BookingError::OverLimit { member: member.to_owned(), held, limit });
        }
        sqlx::query("UPDATE shows SET seats_left = seats_left - $2 WHERE id = $1")
            .bind(show)
            .bind(seats)
            .execute(&mut *conn)
            .await?;
        let id = sqlx::query_scalar("INSERT INTO bookings (show_id, member, seats) VALUES ($1, $2, $3) RETURNING id")
            .bind(show)
            .bind(member)
            .bind(seats)
            .fetch_one(&mut *conn)
            .await?;
        Ok(id)
    })
    .await
}
// ANCHOR_END: limit
