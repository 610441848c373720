//! Exercise `soft_delete`: members who are deleted and still there.
//!
//! Read the chapter "Soft deletes" in the book first. Start in
//! `migrations/0001_members.up.sql` (two TODOs: the `deleted_at` column and
//! the index that keeps emails unique among live members), then write the
//! functions below. `cargo checker` re-runs the checks every time you save.
//!
//! The rule that runs through all of them: a member whose `deleted_at` is
//! set is gone for every ordinary read (find, list, count, the join), and
//! only the `_with_deleted` variants show them. Every value reaches
//! PostgreSQL as a bind parameter (`$1`, `$2`, ...).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One row of `members`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Member {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub joined_at: DateTime<Utc>,
    /// `None` while the member is live.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What a caller chooses about a new member; the database fills in the
/// rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub email: String,
    pub name: String,
}

/// Why registering or restoring a member failed.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// A live member already has this email (PostgreSQL's unique violation,
    /// SQLSTATE `23505`, from the partial index).
    #[error("a live member already has the email {0}")]
    EmailTaken(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Registers a member. `EmailTaken` when a live member has the email; a
/// deleted member's email is free.
pub async fn register(pool: &PgPool, new: &NewMember) -> Result<Member, MemberError> {
    let _ = (pool, new);
    todo!(
        "INSERT ... RETURNING the five columns; a unique violation (SQLSTATE 23505) becomes MemberError::EmailTaken(new.email.clone())"
    )
}

/// The live member with this id; `None` if there is none, or they are
/// deleted.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Member>, sqlx::Error> {
    let _ = (pool, id);
    todo!("SELECT the five columns WHERE id = $1 AND the member is not deleted; fetch_optional")
}

/// The live member with this email, if any (deleted members who had it
/// are not).
pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<Member>, sqlx::Error> {
    let _ = (pool, email);
    todo!("like find, by email: deleted members who had this email are not an answer")
}

/// Every live member, by id.
pub async fn list(pool: &PgPool) -> Result<Vec<Member>, sqlx::Error> {
    let _ = pool;
    todo!("the live members only, ORDER BY id")
}

/// How many live members there are, counted by the database.
pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let _ = pool;
    todo!("let the database count: SELECT count(*) ... over the live members, one row back")
}

/// The live members with at least one address in `city`, by id, each once.
pub async fn members_in_city(pool: &PgPool, city: &str) -> Result<Vec<Member>, sqlx::Error> {
    let _ = (pool, city);
    todo!(
        "live members WHERE EXISTS (an address of theirs in $1), ORDER BY id: a JOIN would list a member once per address"
    )
}

/// The member with this id, deleted or not (Sequelize's `paranoid: false`).
pub async fn find_with_deleted(pool: &PgPool, id: i64) -> Result<Option<Member>, sqlx::Error> {
    let _ = (pool, id);
    todo!("find without the filter on deleted_at")
}

/// Every member, deleted or not, by id.
pub async fn list_with_deleted(pool: &PgPool) -> Result<Vec<Member>, sqlx::Error> {
    let _ = pool;
    todo!("every row, ORDER BY id")
}

/// Soft-deletes a live member: sets `deleted_at` to now and keeps the row.
/// `false` when there is no live member with this id (a deleted member
/// keeps the time they were first deleted).
pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let _ = (pool, id);
    todo!("UPDATE ... SET deleted_at = now() for a live member only; true when one row changed")
}

/// Brings a deleted member back (`deleted_at` cleared) and returns them; a
/// live member comes back unchanged; `None` when no row has this id.
/// `EmailTaken` when a live member has registered the email meanwhile, and
/// then nothing changes.
pub async fn restore(pool: &PgPool, id: i64) -> Result<Option<Member>, MemberError> {
    let _ = (pool, id);
    todo!(
        "UPDATE ... SET deleted_at = NULL ... RETURNING; a unique violation means a live member has the email now: EmailTaken(that email)"
    )
}

/// Deletes the member's row for real (Sequelize's `destroy({ force: true })`),
/// deleted or not. Their addresses go with it (ON DELETE CASCADE); their
/// orders stay, with no member. `false` when no row has this id.
pub async fn force_delete(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let _ = (pool, id);
    todo!("DELETE FROM members, deleted or not; true when one row went")
}

/// Erases a member, deleted or not, on request (GDPR's right to erasure):
/// their row and their addresses go, and their orders stay for the
/// accounts with the personal data in them (`ship_name`, `ship_address`)
/// set to NULL. All of it in one transaction: if any step fails, nothing
/// is erased. `false` when no row has this id.
pub async fn purge(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let _ = (pool, id);
    todo!(
        "one transaction (pool.begin()): erase the personal data in orders while you can still find them, delete the addresses and the member, commit"
    )
}
