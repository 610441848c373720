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
//
// TODO: also derive `sqlx::FromRow`, so `sqlx::query_as` can build a
// Student from each row it reads (it matches columns to fields by name).
#[derive(Debug, Clone, PartialEq)]
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
    let _ = pool;
    todo!("SELECT every column FROM students ORDER BY name, id, with sqlx::query_as and fetch_all")
}

/// The student with this id, or `None` if there is none.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Student>, DirectoryError> {
    let _ = (pool, id);
    todo!("SELECT ... WHERE id = $1, bind the id, and use fetch_optional: no row is None")
}

/// Inserts a student and returns it as stored, with the id and timestamps
/// the database generated.
pub async fn create(pool: &PgPool, new: &NewStudent) -> Result<Student, DirectoryError> {
    let _ = (pool, new);
    todo!(
        "INSERT INTO students (name, cohort, email) VALUES ($1, $2, $3) RETURNING every column; map SQLSTATE 23505 to EmailTaken"
    )
}

/// Replaces the name, cohort and email of the student with this id and
/// sets its `updated_at` to now; returns the updated student, or `None`
/// if there is no such student.
pub async fn update(pool: &PgPool, id: i64, changes: &NewStudent) -> Result<Option<Student>, DirectoryError> {
    let _ = (pool, id, changes);
    todo!(
        "UPDATE students SET ..., updated_at = now() WHERE id = $1 RETURNING every column, with fetch_optional; map 23505 to EmailTaken"
    )
}

/// Deletes the student with this id; `true` if there was one to delete.
pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, DirectoryError> {
    let _ = (pool, id);
    todo!("DELETE FROM students WHERE id = $1 with execute; rows_affected() tells whether a row went")
}
