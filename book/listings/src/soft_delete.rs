//! Listings for the chapter "Soft deletes". They work on a shop's
//! `accounts` and `invoices`, next to the exercise's members, so the
//! exercise itself is left for the reader.
//!
//! The tables they expect are [`SCHEMA`], the ones the chapter builds.

use sqlx::PgPool;
use sqlx::types::chrono::{DateTime, Utc};

/// The chapter's tables, as its SQL creates them.
pub const SCHEMA: &str = "
CREATE TABLE accounts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    name       text NOT NULL,
    deleted_at timestamptz
);
CREATE UNIQUE INDEX accounts_email_live_key ON accounts (email) WHERE deleted_at IS NULL;
CREATE TABLE invoices (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint REFERENCES accounts (id) ON DELETE SET NULL,
    total_cents  bigint NOT NULL,
    billing_name text
);";

// ANCHOR: model
/// One row of `accounts`: `deleted_at` is `None` while the account is open.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub deleted_at: Option<DateTime<Utc>>,
}
// ANCHOR_END: model

// ANCHOR: scope
/// An open account: the default scope, `deleted_at IS NULL`, is part of
/// the query.
pub async fn find_account(pool: &PgPool, id: i64) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, deleted_at FROM accounts WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Open or closed: Sequelize's `paranoid: false`, a different function
/// with a different name, so nobody leaves the filter out by accident.
pub async fn find_account_with_deleted(pool: &PgPool, id: i64) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, deleted_at FROM accounts WHERE id = $1").bind(id).fetch_optional(pool).await
}
// ANCHOR_END: scope

// ANCHOR: close
/// Closes an open account, keeping the row. `false` when there is no open
/// account with this id: closing twice keeps the first closing time.
pub async fn close_account(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE accounts SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
// ANCHOR_END: close

// ANCHOR: reopen
/// Why an account could not be reopened.
#[derive(Debug, thiserror::Error)]
pub enum ReopenError {
    #[error("an open account already uses {0}")]
    EmailTaken(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Reopens a closed account. The partial unique index decides whether its
/// email is still free; the UPDATE only has to listen.
pub async fn reopen_account(pool: &PgPool, id: i64) -> Result<Option<Account>, ReopenError> {
    let reopened =
        sqlx::query_as("UPDATE accounts SET deleted_at = NULL WHERE id = $1 RETURNING id, email, name, deleted_at")
            .bind(id)
            .fetch_optional(pool)
            .await;
    match reopened {
        Ok(account) => Ok(account),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {
            let email = sqlx::query_scalar("SELECT email FROM accounts WHERE id = $1").bind(id).fetch_one(pool).await?;
            Err(ReopenError::EmailTaken(email))
        }
        Err(e) => Err(e.into()),
    }
}
// ANCHOR_END: reopen

// ANCHOR: erase
/// Erases an account on request: the copies of personal data in its
/// invoices first (while the link still finds them), then the row. One
/// transaction: if any statement fails, nothing is erased.
pub async fn erase_account(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE invoices SET billing_name = NULL WHERE account_id = $1").bind(id).execute(&mut *tx).await?;
    let done = sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
// ANCHOR_END: erase

// ANCHOR: on_one_connection
use sqlx::PgConnection;

/// The erasure's two statements, on whichever connection the caller
/// hands in: a transaction's, or one borrowed from the pool.
pub async fn erase_on(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    // `conn` is a `&mut PgConnection`. Passing it as it is would move it
    // into the first `execute`; `&mut *conn` lends it for one statement.
    sqlx::query("UPDATE invoices SET billing_name = NULL WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
    let done = sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// The erasure as one transaction, its statements written elsewhere.
pub async fn erase_account_again(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A `Transaction` derefs to its `PgConnection`, so `&mut tx` becomes
    // the `&mut PgConnection` that `erase_on` asks for.
    let erased = erase_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(erased)
}
// ANCHOR_END: on_one_connection
