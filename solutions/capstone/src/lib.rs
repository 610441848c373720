//! Exercise `capstone`: the course enrollment service.
//!
//! The product brief is the chapter "Capstone: the enrollment service";
//! it says what the service answers. How you build it is yours: the
//! checks only talk HTTP to [`app`], read the catalog, and watch the SQL
//! on the wire where a lesson needs it. Your migrations go in
//! `migrations/` (after the given `0001_catalogue`), your seeds in
//! `seeds/`, your code here and in any modules you add.

pub mod error;

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

use crate::error::{ApiError, is_unique_violation};

/// The pool a server needs (module 12): enough connections for
/// concurrent requests and no more than the database can spare, a short
/// wait for one before answering 503, and a statement timeout on every
/// connection so no query holds one for ever.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(3)).after_connect(|conn, _meta| {
        Box::pin(async move {
            conn.execute("SET statement_timeout = '5s'").await?;
            Ok(())
        })
    })
}

/// The whole service.
pub fn app(pool: PgPool) -> Router {
    Router::new()
        .route("/students", post(create_student))
        .route("/students/{id}", get(get_student).delete(delete_student))
        .route("/courses", get(list_courses))
        .route("/courses/{code}", get(get_course))
        .route("/courses/{code}/enrollments", post(enroll))
        .route("/courses/{code}/enrollments/{student_id}", delete(withdraw))
        .route("/audit", get(audit))
        .fallback(|uri: Uri| async move { ApiError::NotFound(format!("no route for {}", uri.path())) })
        .method_not_allowed_fallback(|| async { ApiError::BadRequest("method not allowed here".into()) })
        .with_state(pool)
}

// ---------------------------------------------------------------------------
// Students

#[derive(Debug, Deserialize)]
struct NewStudent {
    name: String,
    email: String,
}

#[derive(Debug, Serialize)]
struct StudentJson {
    id: i64,
    name: String,
    email: String,
    /// The codes of the courses the student is enrolled in, in code order.
    courses: Vec<String>,
}

async fn create_student(
    State(pool): State<PgPool>,
    body: Result<Json<NewStudent>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) = body?;
    if new.name.trim().is_empty() {
        return Err(ApiError::BadRequest("name: must not be blank".into()));
    }
    if !matches!(new.email.split_once('@'), Some((u, d)) if !u.is_empty() && !d.is_empty()) {
        return Err(ApiError::BadRequest(format!("email: {:?} is not an email address", new.email)));
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO students (name, email) VALUES ($1, $2) RETURNING id")
        .bind(&new.name)
        .bind(&new.email)
        .fetch_one(&pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict(format!("email {} is already taken", new.email))
            } else {
                ApiError::Database(e)
            }
        })?;
    let student = StudentJson { id, name: new.name, email: new.email, courses: Vec::new() };
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/students/{id}"))], Json(student)))
}

async fn get_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<StudentJson>, ApiError> {
    let Path(id) = id?;
    let (name, email): (String, String) =
        sqlx::query_as("SELECT name, email FROM students WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(&pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no student with id {id}")))?;
    let courses = sqlx::query_scalar(
        "SELECT c.code FROM enrollments e JOIN courses c ON c.id = e.course_id WHERE e.student_id = $1 ORDER BY c.code",
    )
    .bind(id)
    .fetch_all(&pool)
    .await?;
    Ok(Json(StudentJson { id, name, email, courses }))
}

/// A soft delete (module 7): the row stays, marked; the student leaves
/// every course, and the trail says so, all in one transaction.
async fn delete_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    let mut tx = pool.begin().await?;
    let marked = sqlx::query("UPDATE students SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if marked.rows_affected() == 0 {
        return Err(ApiError::NotFound(format!("no student with id {id}")));
    }
    sqlx::query(
        "WITH gone AS (DELETE FROM enrollments WHERE student_id = $1 RETURNING course_id)
         INSERT INTO audit_log (action, student_id, course_code)
         SELECT 'withdrawn', $1, c.code FROM gone JOIN courses c ON c.id = gone.course_id ORDER BY c.code",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO audit_log (action, student_id) VALUES ('student_deleted', $1)")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Courses

#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct CourseJson {
    code: String,
    title: String,
    seats: i32,
    /// Live students enrolled.
    enrolled: i64,
}

#[derive(Debug, Serialize)]
struct CoursePage {
    courses: Vec<CourseJson>,
    /// How many courses there are in all, on every page.
    total: i64,
}

/// A page of the catalogue by code, with a total (module 11). The
/// catalogue is small and browsed by page number, so LIMIT/OFFSET and a
/// count fit here; the count is of courses, taken apart from the join
/// that counts enrollments.
async fn list_courses(
    State(pool): State<PgPool>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<CoursePage>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(10);
    let offset = query.offset.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit: must be from 1 to 100, not {limit}")));
    }
    if offset < 0 {
        return Err(ApiError::BadRequest(format!("offset: must not be negative, not {offset}")));
    }
    let courses = sqlx::query_as::<_, CourseJson>(
        "SELECT c.code, c.title, c.seats, count(e.student_id) AS enrolled
         FROM courses c LEFT JOIN enrollments e ON e.course_id = c.id
         GROUP BY c.id
         ORDER BY c.code
         LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM courses").fetch_one(&pool).await?;
    Ok(Json(CoursePage { courses, total }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct Member {
    id: i64,
    name: String,
}

#[derive(Debug, Serialize)]
struct CourseDetail {
    #[serde(flatten)]
    course: CourseJson,
    students: Vec<Member>,
}

async fn get_course(
    State(pool): State<PgPool>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CourseDetail>, ApiError> {
    let Path(code) = code?;
    let course = sqlx::query_as::<_, CourseJson>(
        "SELECT c.code, c.title, c.seats, count(e.student_id) AS enrolled
         FROM courses c LEFT JOIN enrollments e ON e.course_id = c.id
         WHERE c.code = $1
         GROUP BY c.id",
    )
    .bind(&code)
    .fetch_optional(&pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no course {code}")))?;
    let students = sqlx::query_as::<_, Member>(
        "SELECT s.id, s.name FROM enrollments e
         JOIN courses c ON c.id = e.course_id
         JOIN students s ON s.id = e.student_id
         WHERE c.code = $1 ORDER BY s.id",
    )
    .bind(&code)
    .fetch_all(&pool)
    .await?;
    Ok(Json(CourseDetail { course, students }))
}

// ---------------------------------------------------------------------------
// Enrollments

#[derive(Debug, Deserialize)]
struct EnrollRequest {
    student_id: i64,
}

#[derive(Debug, Serialize)]
struct Enrollment {
    student_id: i64,
    course: String,
}

/// Takes a seat (module 9). The course's row is locked first, so two
/// requests for its last seat take turns: the second counts after the
/// first has inserted. The audit row is part of the same transaction
/// (module 8): no enrollment without its entry, and no entry without it.
async fn enroll(
    State(pool): State<PgPool>,
    code: Result<Path<String>, PathRejection>,
    body: Result<Json<EnrollRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Path(code) = code?;
    let Json(request) = body?;
    let student_id = request.student_id;
    let mut tx = pool.begin().await?;
    let (course_id, seats): (i64, i32) = sqlx::query_as("SELECT id, seats FROM courses WHERE code = $1 FOR UPDATE")
        .bind(&code)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no course {code}")))?;
    let live: Option<i64> = sqlx::query_scalar("SELECT id FROM students WHERE id = $1 AND deleted_at IS NULL")
        .bind(student_id)
        .fetch_optional(&mut *tx)
        .await?;
    if live.is_none() {
        return Err(ApiError::NotFound(format!("no student with id {student_id}")));
    }
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM enrollments WHERE course_id = $1")
        .bind(course_id)
        .fetch_one(&mut *tx)
        .await?;
    // Under the course's lock, nobody else can enroll in it meanwhile.
    let already: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM enrollments WHERE student_id = $1 AND course_id = $2)")
            .bind(student_id)
            .bind(course_id)
            .fetch_one(&mut *tx)
            .await?;
    if already {
        return Err(ApiError::Conflict(format!("student {student_id} is already enrolled in {code}")));
    }
    if taken >= i64::from(seats) {
        return Err(ApiError::Conflict(format!("{code} is full: all {seats} seats are taken")));
    }
    sqlx::query("INSERT INTO enrollments (student_id, course_id) VALUES ($1, $2)")
        .bind(student_id)
        .bind(course_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO audit_log (action, student_id, course_code) VALUES ('enrolled', $1, $2)")
        .bind(student_id)
        .bind(&code)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let location = format!("/courses/{code}/enrollments/{student_id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(Enrollment { student_id, course: code })))
}

async fn withdraw(
    State(pool): State<PgPool>,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((code, student_id)) = path?;
    let mut tx = pool.begin().await?;
    let gone = sqlx::query(
        "DELETE FROM enrollments e USING courses c
         WHERE c.id = e.course_id AND c.code = $1 AND e.student_id = $2",
    )
    .bind(&code)
    .bind(student_id)
    .execute(&mut *tx)
    .await?;
    if gone.rows_affected() == 0 {
        return Err(ApiError::NotFound(format!("student {student_id} is not enrolled in {code}")));
    }
    sqlx::query("INSERT INTO audit_log (action, student_id, course_code) VALUES ('withdrawn', $1, $2)")
        .bind(student_id)
        .bind(&code)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// The audit trail

#[derive(Debug, Serialize, sqlx::FromRow)]
struct AuditEntry {
    action: String,
    student_id: i64,
    course: Option<String>,
}

#[derive(Debug, Serialize)]
struct Trail {
    entries: Vec<AuditEntry>,
}

async fn audit(State(pool): State<PgPool>) -> Result<Json<Trail>, ApiError> {
    let entries =
        sqlx::query_as::<_, AuditEntry>("SELECT action, student_id, course_code AS course FROM audit_log ORDER BY id")
            .fetch_all(&pool)
            .await?;
    Ok(Json(Trail { entries }))
}
