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

/// Turns a unique violation into `EmailTaken(email)`.
fn taken(e: sqlx::Error, email: &str) -> MemberError {
    match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => MemberError::EmailTaken(email.to_owned()),
        _ => MemberError::Database(e),
    }
}

/// Registers a member. `EmailTaken` when a live member has the email; a
/// deleted member's email is free.
pub async fn register(pool: &PgPool, new: &NewMember) -> Result<Member, MemberError> {
    sqlx::query_as(
        "INSERT INTO members (email, name) VALUES ($1, $2) RETURNING id, email, name, joined_at, deleted_at",
    )
    .bind(&new.email)
    .bind(&new.name)
    .fetch_one(pool)
    .await
    .map_err(|e| taken(e, &new.email))
}

/// The live member with this id; `None` if there is none, or they are
/// deleted.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, joined_at, deleted_at FROM members WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The live member with this email, if any (deleted members who had it
/// are not).
pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, name, joined_at, deleted_at FROM members WHERE email = $1 AND deleted_at IS NULL",
    )
    .bind(email)
    .fetch_optional(pool)
    .await
}

/// Every live member, by id.
pub async fn list(pool: &PgPool) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, joined_at, deleted_at FROM members WHERE deleted_at IS NULL ORDER BY id")
        .fetch_all(pool)
        .await
}

/// How many live members there are, counted by the database.
pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM members WHERE deleted_at IS NULL").fetch_one(pool).await
}

/// The live members with at least one address in `city`, by id, each once.
pub async fn members_in_city(pool: &PgPool, city: &str) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.id, m.email, m.name, m.joined_at, m.deleted_at
         FROM members m
         WHERE m.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM addresses a WHERE a.member_id = m.id AND a.city = $1)
         ORDER BY m.id",
    )
    .bind(city)
    .fetch_all(pool)
    .await
}

/// The member with this id, deleted or not (Sequelize's `paranoid: false`).
pub async fn find_with_deleted(pool: &PgPool, id: i64) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, joined_at, deleted_at FROM members WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Every member, deleted or not, by id.
pub async fn list_with_deleted(pool: &PgPool) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, joined_at, deleted_at FROM members ORDER BY id").fetch_all(pool).await
}

/// Soft-deletes a live member: sets `deleted_at` to now and keeps the row.
/// `false` when there is no live member with this id (a deleted member
/// keeps the time they were first deleted).
pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE members SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Brings a deleted member back (`deleted_at` cleared) and returns them; a
/// live member comes back unchanged; `None` when no row has this id.
/// `EmailTaken` when a live member has registered the email meanwhile, and
/// then nothing changes.
pub async fn restore(pool: &PgPool, id: i64) -> Result<Option<Member>, MemberError> {
    // The email is only known once the row is read; the UPDATE is what
    // decides, so read it back after a unique violation.
    let restored = sqlx::query_as::<_, Member>(
        "UPDATE members SET deleted_at = NULL WHERE id = $1 RETURNING id, email, name, joined_at, deleted_at",
    )
    .bind(id)
    .fetch_optional(pool)
    .await;
    match restored {
        Ok(member) => Ok(member),
        Err(e) => {
            let email: Option<String> =
                sqlx::query_scalar("SELECT email FROM members WHERE id = $1").bind(id).fetch_optional(pool).await?;
            Err(taken(e, &email.unwrap_or_default()))
        }
    }
}

/// Deletes the member's row for real (Sequelize's `destroy({ force: true })`),
/// deleted or not. Their addresses go with it (ON DELETE CASCADE); their
/// orders stay, with no member. `false` when no row has this id.
pub async fn force_delete(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM members WHERE id = $1").bind(id).execute(pool).await?;
    Ok(done.rows_affected() == 1)
}

/// Erases a member, deleted or not, on request (GDPR's right to erasure):
/// their row and their addresses go, and their orders stay for the
/// accounts with the personal data in them (`ship_name`, `ship_address`)
/// set to NULL. All of it in one transaction: if any step fails, nothing
/// is erased. `false` when no row has this id.
pub async fn purge(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Orders first: once the member row is gone, ON DELETE SET NULL has
    // cut the link and their orders can no longer be found.
    sqlx::query("UPDATE orders SET ship_name = NULL, ship_address = NULL WHERE member_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM addresses WHERE member_id = $1").bind(id).execute(&mut *tx).await?;
    let done = sqlx::query("DELETE FROM members WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
