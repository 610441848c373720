//! The student directory of the CRUD chapter, given (with `Serialize` and
//! `Deserialize` added, so students travel as JSON), plus one function for
//! you to write: [`page`].
//!
//! Nothing here knows about HTTP. The handlers in `lib.rs` call these
//! functions and turn their answers and errors into responses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// One row of the `students` table, and the JSON a client receives:
/// `{"id": 7, "name": "...", "cohort": "...", "email": "...",
/// "created_at": "2025-01-31T09:30:00.123456Z", "updated_at": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Student {
    pub id: i64,
    pub name: String,
    pub cohort: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a client sends to create or replace a student:
/// `{"name": "...", "cohort": "...", "email": "..."}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewStudent {
    pub name: String,
    pub cohort: String,
    pub email: String,
}

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Another student already has this email (SQLSTATE 23505).
    #[error("a student with email {0} already exists")]
    EmailTaken(String),
    /// Anything else the database reported, a lost connection included.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The student with this id, or `None`.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Student>, DirectoryError> {
    let student = sqlx::query_as::<_, Student>(
        "SELECT id, name, cohort, email, created_at, updated_at FROM students WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(student)
}

/// Inserts a student and returns it as stored.
pub async fn create(pool: &PgPool, new: &NewStudent) -> Result<Student, DirectoryError> {
    sqlx::query_as::<_, Student>(
        "INSERT INTO students (name, cohort, email) VALUES ($1, $2, $3)
         RETURNING id, name, cohort, email, created_at, updated_at",
    )
    .bind(&new.name)
    .bind(&new.cohort)
    .bind(&new.email)
    .fetch_one(pool)
    .await
    .map_err(|e| email_taken_or(e, &new.email))
}

/// Replaces a student's name, cohort and email and bumps `updated_at`;
/// `None` if there is no such student.
pub async fn update(pool: &PgPool, id: i64, changes: &NewStudent) -> Result<Option<Student>, DirectoryError> {
    sqlx::query_as::<_, Student>(
        "UPDATE students SET name = $2, cohort = $3, email = $4, updated_at = now()
         WHERE id = $1
         RETURNING id, name, cohort, email, created_at, updated_at",
    )
    .bind(id)
    .bind(&changes.name)
    .bind(&changes.cohort)
    .bind(&changes.email)
    .fetch_optional(pool)
    .await
    .map_err(|e| email_taken_or(e, &changes.email))
}

/// Deletes a student; `true` if there was one.
pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, DirectoryError> {
    let done = sqlx::query("DELETE FROM students WHERE id = $1").bind(id).execute(pool).await?;
    Ok(done.rows_affected() == 1)
}

fn email_taken_or(e: sqlx::Error, email: &str) -> DirectoryError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            DirectoryError::EmailTaken(email.to_owned())
        }
        _ => DirectoryError::Database(e),
    }
}

/// One page of the listing: at most `limit` students whose id is greater
/// than `after` (from the first student when `after` is `None`), in id
/// order. This is keyset paging (see the chapter "Pagination and
/// counting"): the page starts after the last row the client saw.
pub async fn page(pool: &PgPool, after: Option<i64>, limit: i64) -> Result<Vec<Student>, DirectoryError> {
    let _ = (pool, after, limit);
    todo!(
        "SELECT every column FROM students WHERE id > $1 ORDER BY id LIMIT $2; bind after.unwrap_or(i64::MIN), then limit"
    )
}
