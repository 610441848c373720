//! Exercise `student_directory`: create, read, update and delete students.
//!
//! Read the chapter "CRUD: a student directory" in the book first. The
//! table is given (see `migrations/`); your work is the Rust below. Each
//! `todo!()` says what to write; `cargo checker` re-runs the checks every
//! time you save.
//!
//! Two rules the checks hold you to: every value reaches PostgreSQL as a
//! bind parameter (`$1`, `$2`, ...), never pasted into the SQL text; and a
//! missing student is `None` or `false`, not an error or a panic.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One row of the `students` table.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Student {
    pub id: i64,
    pub name: String,
    pub cohort: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller chooses about a student. The database fills in the rest:
/// the id and both timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStudent {
    pub name: String,
    pub cohort: String,
    pub email: String,
}

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Another student already has this email. PostgreSQL reports it as a
    /// unique violation, SQLSTATE `23505`; turn that error into this
    /// variant, carrying the email, so callers can match on it.
    #[error("a student with email {0} already exists")]
    EmailTaken(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Every student, ordered by name, and by id among students with the same
/// name.
pub async fn list(pool: &PgPool) -> Result<Vec<Student>, DirectoryError> {
    let students = sqlx::query_as::<_, Student>(
        "SELECT id, name, cohort, email, created_at, updated_at FROM students ORDER BY name, id",
    )
    .fetch_all(pool)
    .await?;
    Ok(students)
}

/// The student with this id, or `None` if there is none.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Student>, DirectoryError> {
    let student = sqlx::query_as::<_, Student>(
        "SELECT id, name, cohort, email, created_at, updated_at FROM students WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(student)
}

/// Inserts a student and returns it as stored, with the id and timestamps
/// the database generated.
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

/// Replaces the name, cohort and email of the student with this id and
/// sets its `updated_at` to now; returns the updated student, or `None`
/// if there is no such student.
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

/// Deletes the student with this id; `true` if there was one to delete.
pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, DirectoryError> {
    let done = sqlx::query("DELETE FROM students WHERE id = $1").bind(id).execute(pool).await?;
    Ok(done.rows_affected() == 1)
}

/// A unique violation (SQLSTATE 23505) can only come from the unique
/// index on email: the id is generated. Anything else stays a database
/// error.
fn email_taken_or(e: sqlx::Error, email: &str) -> DirectoryError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            DirectoryError::EmailTaken(email.to_owned())
        }
        _ => DirectoryError::Database(e),
    }
}
