//! Listings for the chapter "Connect: a pool from DATABASE_URL". They show
//! the building blocks (one connection, the parts of a URL, a setting read
//! from the environment, a pool, typed errors) on problems next to the
//! exercise, so the exercise itself is left for the reader.

// ANCHOR: one_connection
use sqlx::{Connection, PgConnection};

/// Opens one connection, asks the server which PostgreSQL it runs, and
/// hangs up.
pub async fn server_version(url: &str) -> Result<String, sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    let version: String = sqlx::query_scalar("SELECT version()").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(version)
}
// ANCHOR_END: one_connection

// ANCHOR: url_parts
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

/// What a connection URL says, read without connecting to anything.
#[derive(Debug, PartialEq)]
pub struct UrlParts {
    pub user: String,
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
}

pub fn url_parts(url: &str) -> Result<UrlParts, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    Ok(UrlParts {
        user: options.get_username().to_owned(),
        host: options.get_host().to_owned(),
        port: options.get_port(),
        database: options.get_database().map(str::to_owned),
    })
}
// ANCHOR_END: url_parts

// ANCHOR: settings_error
/// Why a setting read from the environment is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{name} is not set")]
    Missing { name: &'static str },
    #[error("{name} must be a whole number, not {value:?}")]
    NotANumber { name: &'static str, value: String },
}
// ANCHOR_END: settings_error

// ANCHOR: report_pool_size
/// How many connections the nightly report may hold: `REPORT_POOL_SIZE`.
pub fn report_pool_size() -> Result<u32, SettingsError> {
    let name = "REPORT_POOL_SIZE";
    let value = std::env::var(name).map_err(|_| SettingsError::Missing { name })?;
    value.trim().parse().map_err(|_| SettingsError::NotANumber { name, value })
}
// ANCHOR_END: report_pool_size

// ANCHOR: report_pool
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// A small pool for a nightly report. It opens nothing yet: the first
/// query opens the first connection.
pub fn report_pool(options: PgConnectOptions, size: u32) -> PgPool {
    PgPoolOptions::new().max_connections(size).acquire_timeout(Duration::from_secs(2)).connect_lazy_with(options)
}
// ANCHOR_END: report_pool

// ANCHOR: open_sessions
/// How many connections to this database the server has open right now,
/// counting the one that asks.
pub async fn open_sessions(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetch_one(pool).await
}
// ANCHOR_END: open_sessions

// ANCHOR: report_error
/// Why the nightly report could not run: a bad setting or a database
/// problem, each with the error underneath as its source.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report is misconfigured: {0}")]
    Settings(#[from] SettingsError),
    #[error("the report's query failed: {0}")]
    Database(#[source] sqlx::Error),
}

/// Runs the report: how many sessions the database has while it runs.
pub async fn sessions_report(options: PgConnectOptions) -> Result<i64, ReportError> {
    let size = report_pool_size()?; // SettingsError becomes ReportError through #[from]
    let pool = report_pool(options, size);
    let sessions = open_sessions(&pool).await.map_err(ReportError::Database)?;
    pool.close().await;
    Ok(sessions)
}
// ANCHOR_END: report_error
