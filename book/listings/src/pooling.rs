//! Listings for the chapter "Connection pools". A pool for a reporting job,
//! set up once with a setting on every connection (and the way that sets it
//! on one), and a seat reservation written twice: with a hand-written BEGIN
//! that leaks its transaction on an early return, and with sqlx's
//! Transaction, which cannot. The exercise's pool and handler are left for
//! the reader.

// ANCHOR: reporting_pool
use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A small pool for a nightly report. Every connection it opens is named
/// `nightly-report` in `pg_stat_activity`, and waits at most two seconds
/// for a lock.
pub async fn reporting_pool(url: &str) -> Result<PgPool, sqlx::Error> {
    // Startup parameters travel with every new connection.
    let options = PgConnectOptions::from_str(url)?.application_name("nightly-report");
    PgPoolOptions::new()
        .max_connections(2)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .idle_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_secs(30 * 60))
        // Runs once on each connection the pool opens, before it is lent.
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::query("SET lock_timeout = '2s'").execute(conn).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
}
// ANCHOR_END: reporting_pool

// ANCHOR: set_once
/// The same pool with the setting made once, through the pool: it lands on
/// whichever connection runs it, and no other.
pub async fn reporting_pool_set_once(url: &str) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("nightly-report");
    let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await?;
    sqlx::query("SET lock_timeout = '2s'").execute(&pool).await?;
    Ok(pool)
}
// ANCHOR_END: set_once

// ANCHOR: reserve_seat_leaky
/// Reserves seat `seat` for `who`; `false` when it is taken. Written with
/// BEGIN and COMMIT by hand: the early return and every `?` skip the
/// COMMIT, and the connection goes back to the pool inside the
/// transaction, with the seat's row still locked.
pub async fn reserve_seat_leaky(pool: &PgPool, seat: i64, who: &str) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query("BEGIN").execute(&mut *conn).await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT taken_by FROM seats WHERE id = $1 FOR UPDATE")
        .bind(seat)
        .fetch_one(&mut *conn)
        .await?;
    if taken.is_some() {
        return Ok(false); // leaks: nothing ends the transaction
    }
    sqlx::query("UPDATE seats SET taken_by = $2 WHERE id = $1").bind(seat).bind(who).execute(&mut *conn).await?;
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(true)
}
// ANCHOR_END: reserve_seat_leaky

// ANCHOR: reserve_seat
/// The same, with sqlx's Transaction: dropping it without a commit rolls
/// back, so every way out of the function ends the transaction.
pub async fn reserve_seat(pool: &PgPool, seat: i64, who: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT taken_by FROM seats WHERE id = $1 FOR UPDATE")
        .bind(seat)
        .fetch_one(&mut *tx)
        .await?;
    if taken.is_some() {
        return Ok(false); // tx is dropped here: ROLLBACK
    }
    sqlx::query("UPDATE seats SET taken_by = $2 WHERE id = $1").bind(seat).bind(who).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}
// ANCHOR_END: reserve_seat

// ANCHOR: quiet_logging
use log::LevelFilter;
use sqlx::ConnectOptions;

/// Connect options for production: no line per statement, a warning for
/// every statement slower than 250 ms. sqlx sends these through `tracing`
/// (target `sqlx::query`); a program sees them once it installs a
/// subscriber or a logger.
pub fn quiet_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(url)?
        .log_statements(LevelFilter::Off)
        .log_slow_statements(LevelFilter::Warn, Duration::from_millis(250)))
}
// ANCHOR_END: quiet_logging
