//! Exercise `connect`: open a connection pool to PostgreSQL.
//!
//! Read the chapter "Connect: a pool from DATABASE_URL" (book/src/connect) first. Each
//! `todo!()` below says what to write; `cargo checker` re-runs the checks
//! every time you save.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Why a pool could not be opened. Each variant is a different mistake with
/// a different fix, so callers can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not set; put the server's URL in it, e.g. in .env")]
    MissingUrl,
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    #[error("could not reach the database server: {0}")]
    Unreachable(#[source] sqlx::Error),
}

/// Reads the database URL from the `DATABASE_URL` environment variable.
pub fn database_url() -> Result<String, ConnectError> {
    std::env::var("DATABASE_URL").map_err(|_| ConnectError::MissingUrl)
}

/// Opens a pool to the database named by `DATABASE_URL`.
pub async fn connect() -> Result<PgPool, ConnectError> {
    connect_to(&database_url()?).await
}

/// Opens a pool to `url`, giving up within a few seconds if the server does
/// not answer.
pub async fn connect_to(url: &str) -> Result<PgPool, ConnectError> {
    let options = PgConnectOptions::from_str(url).map_err(ConnectError::InvalidUrl)?;
    PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await
        .map_err(ConnectError::Unreachable)
}

/// Proves the pool can run a query: `SELECT 1` must come back as 1.
pub async fn health_check(pool: &PgPool) -> Result<(), sqlx::Error> {
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(pool).await?;
    debug_assert_eq!(one, 1);
    Ok(())
}
