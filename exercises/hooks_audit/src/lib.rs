//! Exercise `hooks_audit`: the work every write must do, on every path.
//!
//! Read the chapter "Hooks and audit trails" in the book first. An ORM runs
//! hooks (`beforeCreate`, `afterUpdate`, ...) around its writes; here the
//! hooks are functions you write and call yourself, and the checks try
//! every path a write can take:
//!
//! - a password reaches PostgreSQL only as an Argon2id hash, on a single
//!   create, a bulk create and an update; the plaintext never travels;
//! - every create, update and delete writes one `audit_log` row in the
//!   same transaction as the change, so both happen or neither does;
//! - writes that never run your code (raw SQL, `ON DELETE CASCADE`) are
//!   audited by the trigger you write in `migrations/0001_users.up.sql`.
//!
//! `cargo checker` re-runs the checks every time you save.

use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One row of `users`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub team_id: i64,
    pub email: String,
    pub name: String,
    /// An Argon2id PHC string, `$argon2id$v=19$m=...`.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller gives to create a user: the password in plain text, which
/// must never be stored or sent to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub team_id: i64,
    pub email: String,
    pub name: String,
    pub password: String,
}

/// The fields an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub email: Option<String>,
    pub name: Option<String>,
    /// A new password, in plain text.
    pub password: Option<String>,
}

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Another user has this email (SQLSTATE `23505`).
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    /// Anything else the database reported, a failed audit insert included.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The hasher every password in this exercise goes through: Argon2id, at a
/// cost low enough that the checks hash dozens of passwords in a few
/// milliseconds. Production uses far more memory and time: see the chapter.
pub fn hasher() -> Argon2<'static> {
    // 1 MiB of memory, one pass, one lane.
    let params = Params::new(1024, 1, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh random salt, as a PHC string.
pub fn hash_password(password: &str) -> String {
    let _ = password;
    todo!(
        "hasher().hash_password(password.as_bytes()) (with the trait argon2::password_hash::PasswordHasher in \
         scope) makes a fresh salt and returns a PasswordHash: .to_string() is the PHC string to store"
    )
}

/// Whether `password` is the one `hash` was made from. A malformed hash
/// verifies nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let _ = (password, hash);
    todo!(
        "parse with argon2::password_hash::phc::PasswordHash::new(hash) (an Err verifies nothing), then \
         hasher().verify_password(password.as_bytes(), &parsed).is_ok() with PasswordVerifier in scope"
    )
}

/// Creates a user, storing a hash of the password, and audits it as done
/// by `actor`.
pub async fn create_user(pool: &PgPool, actor: &str, new: &NewUser) -> Result<User, UserError> {
    let _ = (pool, actor, new);
    todo!(
        "hash first, in Rust; then one transaction: mark it with set_config('audit.by_app', 'on', true), \
         INSERT the user with the hash ... RETURNING the row, INSERT its audit_log row, commit"
    )
}

/// Creates many users at once, all or none, each password hashed, one
/// audit row per user; returned in the order given. `EmailTaken` names the
/// first of the batch's emails that another user already has.
///
/// This version is fast (one INSERT for the whole batch) and its check
/// still fails. Run the checks, read why, then fix it.
pub async fn create_users(pool: &PgPool, actor: &str, new: &[NewUser]) -> Result<Vec<User>, UserError> {
    let _ = actor;
    let users = sqlx::query_as(
        "INSERT INTO users (team_id, email, name, password_hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
         RETURNING id, team_id, email, name, password_hash, created_at, updated_at",
    )
    .bind(new.iter().map(|n| n.team_id).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.email.clone()).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.name.clone()).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.password.clone()).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    Ok(users)
}

/// Changes the fields `changes` sets; a new password is hashed, and with no
/// new password the stored hash stays exactly as it is. `None` when there
/// is no such user.
pub async fn update_user(
    pool: &PgPool,
    actor: &str,
    id: i64,
    changes: &UserChanges,
) -> Result<Option<User>, UserError> {
    let _ = (pool, actor, id, changes);
    todo!(
        "hash a new password only if there is one; in one marked transaction read the row as it is (SELECT \
         ... FOR UPDATE, as JSON without password_hash), UPDATE with coalesce($n, column) for each field, \
         audit with the before and after, commit"
    )
}

/// Deletes a user and audits it; `false` when there is no such user.
pub async fn delete_user(pool: &PgPool, actor: &str, id: i64) -> Result<bool, UserError> {
    let _ = (pool, actor, id);
    todo!("in one marked transaction: read the row as it is (FOR UPDATE), DELETE it, audit with that before, commit")
}

/// The user with this email if `password` is theirs; `None` for an unknown
/// email or a wrong password. The password is checked here, in Rust: it
/// never travels to the database.
pub async fn authenticate(pool: &PgPool, email: &str, password: &str) -> Result<Option<User>, sqlx::Error> {
    let _ = (pool, email, password);
    todo!("SELECT the user by email only, then verify_password(password, &user.password_hash) here, in Rust")
}
