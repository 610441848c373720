//! Exercise `connect`: open a connection pool to PostgreSQL.
//!
//! Read the chapter "Connect: a pool from DATABASE_URL" (book/src/connect) first. Each
//! `todo!()` below says what to write; `cargo checker` re-runs the checks
//! every time you save.

use sqlx::PgPool;

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
    todo!("read DATABASE_URL with std::env::var; a missing variable is ConnectError::MissingUrl")
}

/// Opens a pool to the database named by `DATABASE_URL`.
pub async fn connect() -> Result<PgPool, ConnectError> {
    todo!("get the URL from database_url() and pass it to connect_to")
}

/// Opens a pool to `url`, giving up within a few seconds if the server does
/// not answer.
pub async fn connect_to(url: &str) -> Result<PgPool, ConnectError> {
    let _ = url;
    todo!("parse url into PgConnectOptions (InvalidUrl), then connect a PgPoolOptions pool (Unreachable)")
}

/// Proves the pool can run a query: `SELECT 1` must come back as 1.
pub async fn health_check(pool: &PgPool) -> Result<(), sqlx::Error> {
    let _ = pool;
    todo!("run SELECT 1 on the pool and return its error, if any, with ?")
}
