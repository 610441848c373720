//! The support library for the course's checks.
//!
//! A check is an ordinary `#[test]` whose body runs through [`check`]: it
//! gets a fresh database of its own, dropped afterwards whatever happens, a
//! time limit, and failures ([`Failure`]) that say what was called, what
//! was expected, what came back and where the book explains it. The
//! checker reads those failures back as structured reports.

mod admin;
pub mod catalog;
mod check;
pub mod data;
pub mod env;
pub mod exercise;
mod failure;
pub mod migrations;
pub mod report;
pub mod rows;
pub mod seeds;
pub mod source;
pub mod steps;
pub mod timing;
pub mod wire;

pub use admin::{CHECK_PREFIX, TABLESPACE_ENV, admin_url, dotenv_value, redact, url_for_database};
pub use check::{Db, check};
pub use failure::{Failure, expect_eq};
pub use report::{Kind, Report};

/// Waits for `fut` at most `limit`; `None` if it did not finish in time.
pub async fn timeout<F: std::future::Future>(limit: std::time::Duration, fut: F) -> Option<F::Output> {
    tokio::time::timeout(limit, fut).await.ok()
}
