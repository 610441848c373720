//! Listings for the chapter "CRUD: a student directory". They work on a
//! course catalogue (`courses`), next to the exercise's `students`, so the
//! exercise itself is left for the reader.
//!
//! The table they expect:
//!
//! ```sql
//! CREATE TABLE courses (
//!     id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!     code       text NOT NULL UNIQUE,
//!     title      text NOT NULL,
//!     credits    integer NOT NULL,
//!     created_at timestamptz NOT NULL DEFAULT now(),
//!     updated_at timestamptz NOT NULL DEFAULT now()
//! );
//! ```

use sqlx::PgPool;
use sqlx::types::chrono::{DateTime, Utc};

// ANCHOR: model
/// One row of `courses`. `FromRow` lets sqlx build it from a row, matching
/// columns to fields by name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Course {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub credits: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a caller decides about a course; the database decides the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCourse {
    pub code: String,
    pub title: String,
    pub credits: i32,
}
// ANCHOR_END: model

// ANCHOR: error
/// Why a catalogue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("course code {0} is already in use")]
    CodeTaken(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
// ANCHOR_END: error

// ANCHOR: read
/// Every course, by code.
pub async fn all_courses(pool: &PgPool) -> Result<Vec<Course>, CatalogError> {
    let courses = sqlx::query_as::<_, Course>(
        "SELECT id, code, title, credits, created_at, updated_at FROM courses ORDER BY code",
    )
    .fetch_all(pool)
    .await?;
    Ok(courses)
}

/// The course with this code, if there is one.
pub async fn course_by_code(pool: &PgPool, code: &str) -> Result<Option<Course>, CatalogError> {
    let course = sqlx::query_as::<_, Course>(
        "SELECT id, code, title, credits, created_at, updated_at FROM courses WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(pool)
    .await?;
    Ok(course)
}
// ANCHOR_END: read

// ANCHOR: unsafe_read
/// DON'T: the code is pasted into the SQL text. A code containing a quote
/// breaks the statement, and a crafted one rewrites it.
pub async fn course_by_code_pasted(pool: &PgPool, code: &str) -> Result<Vec<Course>, CatalogError> {
    let sql = format!("SELECT id, code, title, credits, created_at, updated_at FROM courses WHERE code = '{code}'");
    let courses = sqlx::query_as::<_, Course>(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    Ok(courses)
}
// ANCHOR_END: unsafe_read

// ANCHOR: create
/// Adds a course and returns it as stored, id and timestamps included.
pub async fn add_course(pool: &PgPool, new: &NewCourse) -> Result<Course, CatalogError> {
    sqlx::query_as::<_, Course>(
        "INSERT INTO courses (code, title, credits) VALUES ($1, $2, $3)
         RETURNING id, code, title, credits, created_at, updated_at",
    )
    .bind(&new.code)
    .bind(&new.title)
    .bind(new.credits)
    .fetch_one(pool)
    .await
    .map_err(|e| code_taken_or(e, &new.code))
}
// ANCHOR_END: create

// ANCHOR: unique_violation
/// PostgreSQL's SQLSTATE for "a unique index refused this row".
const UNIQUE_VIOLATION: &str = "23505";

/// Turns a unique violation into `CodeTaken`; any other error stays a
/// database error.
fn code_taken_or(e: sqlx::Error, code: &str) -> CatalogError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            CatalogError::CodeTaken(code.to_owned())
        }
        _ => CatalogError::Database(e),
    }
}
// ANCHOR_END: unique_violation

// ANCHOR: update
/// Gives the course with this id a new title, bumping `updated_at`;
/// `None` if there is no such course.
pub async fn rename_course(pool: &PgPool, id: i64, title: &str) -> Result<Option<Course>, CatalogError> {
    let course = sqlx::query_as::<_, Course>(
        "UPDATE courses SET title = $2, updated_at = now()
         WHERE id = $1
         RETURNING id, code, title, credits, created_at, updated_at",
    )
    .bind(id)
    .bind(title)
    .fetch_optional(pool)
    .await?;
    Ok(course)
}
// ANCHOR_END: update

// ANCHOR: delete
/// Removes every course with fewer credits than `min`; returns how many
/// went.
pub async fn drop_small_courses(pool: &PgPool, min: i32) -> Result<u64, CatalogError> {
    let done = sqlx::query("DELETE FROM courses WHERE credits < $1").bind(min).execute(pool).await?;
    Ok(done.rows_affected())
}
// ANCHOR_END: delete

// ANCHOR: caller
/// What a caller does with a typed error: each case gets its own answer.
pub async fn offer_course(pool: &PgPool, new: &NewCourse) -> String {
    match add_course(pool, new).await {
        Ok(course) => format!("added {} as course #{}", course.code, course.id),
        Err(CatalogError::CodeTaken(code)) => format!("{code} exists already: pick another code"),
        Err(CatalogError::Database(e)) => format!("the catalogue is unavailable: {e}"),
    }
}
// ANCHOR_END: caller

// ANCHOR: first_row
/// The course with the fewest credits (ties broken by code), if there are
/// courses at all. The SQL says which row comes first and asks for one:
/// `fetch_optional` and `fetch_one` would take the first of any number of
/// rows and silently drop the rest.
pub async fn lightest_course(pool: &PgPool) -> Result<Option<Course>, CatalogError> {
    let course = sqlx::query_as::<_, Course>(
        "SELECT id, code, title, credits, created_at, updated_at FROM courses
         ORDER BY credits, code
         LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(course)
}
// ANCHOR_END: first_row

// ANCHOR: static_sql
/// How a listing of courses may be sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Code,
    Credits,
}

/// Every course, in the order the caller picked. Each arm of the `match`
/// is a string literal, so `sql` is a `&'static str` and `query_as` takes
/// it as it is: choosing between fixed statements needs no `AssertSqlSafe`.
pub async fn courses_sorted(pool: &PgPool, by: SortBy) -> Result<Vec<Course>, CatalogError> {
    let sql = match by {
        SortBy::Code => "SELECT id, code, title, credits, created_at, updated_at FROM courses ORDER BY code",
        SortBy::Credits => {
            "SELECT id, code, title, credits, created_at, updated_at FROM courses ORDER BY credits, code"
        }
    };
    Ok(sqlx::query_as::<_, Course>(sql).fetch_all(pool).await?)
}
// ANCHOR_END: static_sql

// ANCHOR: error_kinds
/// What kind of failure an `sqlx::Error` is, in the words a log line or an
/// HTTP status would need.
pub fn kind_of(e: &sqlx::Error) -> &'static str {
    match e {
        // The server received the statement and refused it: a constraint,
        // a syntax error, a missing table. It has a SQLSTATE.
        sqlx::Error::Database(_) => "refused by the server",
        // The statement never reached a server that could answer it.
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => "server unreachable",
        // The statement ran, and the rows did not fit what the code asked.
        sqlx::Error::RowNotFound | sqlx::Error::ColumnNotFound(_) | sqlx::Error::ColumnDecode { .. } => {
            "rows did not fit the code"
        }
        _ => "other",
    }
}
// ANCHOR_END: error_kinds
