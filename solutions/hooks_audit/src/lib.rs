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

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

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
    hasher().hash_password(password.as_bytes()).expect("Argon2 with valid parameters does not fail").to_string()
}

/// Whether `password` is the one `hash` was made from. A malformed hash
/// verifies nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn taken(e: sqlx::Error, email: &str) -> UserError {
    match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => UserError::EmailTaken(email.to_owned()),
        _ => UserError::Database(e),
    }
}

/// The start of every audited write: this transaction's changes are
/// audited here, so the trigger stays quiet.
async fn audited_by_app(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('audit.by_app', 'on', true)").execute(tx).await?;
    Ok(())
}

/// The "after" hook: one audit row per id, on the same connection (and so
/// in the same transaction) as the change. `before` is JSON text; `after`
/// is read from the table as the row is now, without its password hash
/// (NULL once the row is deleted).
async fn audit(
    tx: &mut PgConnection,
    actor: &str,
    action: &str,
    ids: &[i64],
    before: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor, action, table_name, row_id, before, after)
         SELECT $1, $2, 'users', i.id, $3::jsonb, to_jsonb(u) - 'password_hash'
         FROM unnest($4::bigint[]) WITH ORDINALITY AS i (id, n)
         LEFT JOIN users u ON u.id = i.id
         ORDER BY i.n",
    )
    .bind(actor)
    .bind(action)
    .bind(before)
    .bind(ids)
    .execute(tx)
    .await?;
    Ok(())
}

/// The row as JSON text without its password hash, locked until the
/// transaction ends so nobody changes it between this read and the write.
async fn snapshot(tx: &mut PgConnection, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT (to_jsonb(u) - 'password_hash')::text FROM users u WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await
}

/// Creates a user, storing a hash of the password, and audits it as done
/// by `actor`.
pub async fn create_user(pool: &PgPool, actor: &str, new: &NewUser) -> Result<User, UserError> {
    let hash = hash_password(&new.password);
    let mut tx = pool.begin().await?;
    audited_by_app(&mut tx).await?;
    let user: User = sqlx::query_as(
        "INSERT INTO users (team_id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         RETURNING id, team_id, email, name, password_hash, created_at, updated_at",
    )
    .bind(new.team_id)
    .bind(&new.email)
    .bind(&new.name)
    .bind(&hash)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, &new.email))?;
    audit(&mut tx, actor, "create", &[user.id], None).await?;
    tx.commit().await?;
    Ok(user)
}

/// Creates many users at once, all or none, each password hashed, one
/// audit row per user; returned in the order given. `EmailTaken` names the
/// first of the batch's emails that another user already has.
pub async fn create_users(pool: &PgPool, actor: &str, new: &[NewUser]) -> Result<Vec<User>, UserError> {
    // The trap seed 002 warns about: a bulk insert that skips the per-row
    // hook. Every row goes through hash_password here.
    let hashes: Vec<String> = new.iter().map(|n| hash_password(&n.password)).collect();
    let emails: Vec<String> = new.iter().map(|n| n.email.clone()).collect();
    let mut tx = pool.begin().await?;
    audited_by_app(&mut tx).await?;
    let inserted: Result<Vec<User>, sqlx::Error> = sqlx::query_as(
        "INSERT INTO users (team_id, email, name, password_hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
         RETURNING id, team_id, email, name, password_hash, created_at, updated_at",
    )
    .bind(new.iter().map(|n| n.team_id).collect::<Vec<_>>())
    .bind(&emails)
    .bind(new.iter().map(|n| n.name.clone()).collect::<Vec<_>>())
    .bind(&hashes)
    .fetch_all(&mut *tx)
    .await;
    let mut users = match inserted {
        Ok(users) => users,
        Err(e) => {
            tx.rollback().await?;
            let first: Option<String> = sqlx::query_scalar(
                "SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS b (e, n)
                 WHERE EXISTS (SELECT 1 FROM users WHERE email = b.e) ORDER BY n LIMIT 1",
            )
            .bind(&emails)
            .fetch_optional(pool)
            .await?;
            return Err(taken(e, &first.unwrap_or_default()));
        }
    };
    users.sort_by_key(|u| emails.iter().position(|e| *e == u.email));
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    audit(&mut tx, actor, "create", &ids, None).await?;
    tx.commit().await?;
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
    let hash = changes.password.as_deref().map(hash_password);
    let mut tx = pool.begin().await?;
    audited_by_app(&mut tx).await?;
    let Some(before) = snapshot(&mut tx, id).await? else { return Ok(None) };
    let user: User = sqlx::query_as(
        "UPDATE users SET email = coalesce($2, email), name = coalesce($3, name),
                          password_hash = coalesce($4, password_hash), updated_at = now()
         WHERE id = $1
         RETURNING id, team_id, email, name, password_hash, created_at, updated_at",
    )
    .bind(id)
    .bind(&changes.email)
    .bind(&changes.name)
    .bind(&hash)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, changes.email.as_deref().unwrap_or_default()))?;
    audit(&mut tx, actor, "update", &[id], Some(&before)).await?;
    tx.commit().await?;
    Ok(Some(user))
}

/// Deletes a user and audits it; `false` when there is no such user.
pub async fn delete_user(pool: &PgPool, actor: &str, id: i64) -> Result<bool, UserError> {
    let mut tx = pool.begin().await?;
    audited_by_app(&mut tx).await?;
    let Some(before) = snapshot(&mut tx, id).await? else { return Ok(false) };
    sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
    audit(&mut tx, actor, "delete", &[id], Some(&before)).await?;
    tx.commit().await?;
    Ok(true)
}

/// The user with this email if `password` is theirs; `None` for an unknown
/// email or a wrong password. The password is checked here, in Rust: it
/// never travels to the database.
pub async fn authenticate(pool: &PgPool, email: &str, password: &str) -> Result<Option<User>, sqlx::Error> {
    let user: Option<User> = sqlx::query_as(
        "SELECT id, team_id, email, name, password_hash, created_at, updated_at FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(user.filter(|u| verify_password(password, &u.password_hash)))
}
