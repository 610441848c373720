//! Listings for the chapter "Hooks and audit trails". They work on a
//! shop's `customers` and their `audit_log`, next to the exercise's users,
//! so the exercise itself is left for the reader.
//!
//! The tables they expect are [`SCHEMA`].

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use sqlx::{Connection, PgPool};

/// The chapter's tables.
pub const SCHEMA: &str = "
CREATE TABLE customers (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL
);
CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor  text NOT NULL,
    action text NOT NULL,
    row_id bigint NOT NULL,
    after  jsonb
);";

// ANCHOR: hash
/// Argon2id at a cost a test suite can afford: 1 MiB and one pass. A
/// production login uses at least 19 MiB and two passes (OWASP's floor)
/// and is tuned so one hash takes tens of milliseconds on its servers.
fn hasher() -> Argon2<'static> {
    let params = Params::new(1024, 1, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string: algorithm, cost, a fresh random salt and the hash, all in
/// one text value, e.g. `$argon2id$v=19$m=1024,t=1,p=1$<salt>$<hash>`.
pub fn hash_password(password: &str) -> String {
    hasher().hash_password(password.as_bytes()).expect("valid parameters never fail").to_string()
}

/// Reads the cost and salt back out of the stored string, hashes the
/// attempt the same way, and compares.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}
// ANCHOR_END: hash

// ANCHOR: sign_up
/// Creates a customer: the "before create" hook hashes the password in
/// Rust, and the "after create" hook writes the audit row on the same
/// transaction, so both are committed or neither is.
pub async fn sign_up(pool: &PgPool, actor: &str, email: &str, password: &str) -> Result<i64, sqlx::Error> {
    let hash = hash_password(password);
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO customers (email, password_hash) VALUES ($1, $2) RETURNING id")
        .bind(email)
        .bind(&hash)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO audit_log (actor, action, row_id, after)
         SELECT $1, 'create', id, to_jsonb(c) - 'password_hash' FROM customers c WHERE id = $2",
    )
    .bind(actor)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}
// ANCHOR_END: sign_up

// ANCHOR: forgot
/// What a transaction and the pool beside it each see, step by step, when
/// a hook's query is sent through the pool instead of the transaction.
pub async fn forgotten_transaction(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut seen = Vec::new();
    let count = "SELECT count(*) FROM customers WHERE email = 'cora@shop.example'";

    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (email, password_hash) VALUES ('cora@shop.example', 'x') RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await?;
    let n: i64 = sqlx::query_scalar(count).fetch_one(&mut *tx).await?;
    seen.push(format!("the transaction sees {n} new customer"));

    // The hook's query, sent through the pool: another connection.
    let n: i64 = sqlx::query_scalar(count).fetch_one(pool).await?;
    seen.push(format!("the pool sees {n}"));

    // Asking for dirty reads does not get them in PostgreSQL.
    let mut other = pool.acquire().await?;
    let mut dirty = other.begin_with("BEGIN ISOLATION LEVEL READ UNCOMMITTED").await?;
    let n: i64 = sqlx::query_scalar(count).fetch_one(&mut *dirty).await?;
    seen.push(format!("the pool at READ UNCOMMITTED sees {n}"));
    dirty.rollback().await?;
    drop(other);

    // The hook's write commits on its own, at once.
    sqlx::query("INSERT INTO audit_log (actor, action, row_id) VALUES ('shop', 'create', $1)")
        .bind(id)
        .execute(pool)
        .await?;

    // And waits for the transaction's locks, which wait for the hook.
    sqlx::query("UPDATE customers SET password_hash = 'y' WHERE email = 'ada@shop.example'").execute(&mut *tx).await?;
    let mut conn = pool.acquire().await?;
    sqlx::query("SET lock_timeout = '200ms'").execute(&mut *conn).await?;
    let blocked = sqlx::query("UPDATE customers SET password_hash = 'z' WHERE email = 'ada@shop.example'")
        .execute(&mut *conn)
        .await;
    sqlx::query("RESET lock_timeout").execute(&mut *conn).await?;
    drop(conn);
    let answer = match blocked {
        Ok(_) => "it went through".to_owned(),
        Err(e) => e.as_database_error().map_or_else(|| e.to_string(), |d| d.message().to_owned()),
    };
    seen.push(format!("the pool, updating a row the transaction changed: {answer}"));

    tx.rollback().await?;
    let customers: i64 = sqlx::query_scalar(count).fetch_one(pool).await?;
    let audits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE row_id = $1").bind(id).fetch_one(pool).await?;
    seen.push(format!("after the rollback: {customers} customer, {audits} audit row about it"));
    Ok(seen)
}
// ANCHOR_END: forgot
