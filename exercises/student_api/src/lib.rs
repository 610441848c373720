//! Exercise `student_api`: the student directory over HTTP.
//!
//! Read the chapter "Serving it over HTTP" first. The directory's SQL is in
//! `directory.rs` (given, except `page`); the errors and their statuses are
//! in `error.rs`; the routes and handlers are here. Each `todo!()` says
//! what to write. The checks call
//! [`app`] with a pool, serve the router on 127.0.0.1 and send it real
//! HTTP requests. Try it yourself with `cargo checker serve student_api`.
//!
//! The API a client can rely on (every error body is
//! `{"error": "message"}` with `content-type: application/json`):
//!
//! | request | success | errors |
//! |---|---|---|
//! | `GET /students?limit=N&after=ID` | 200 `{"students": [...], "next_after": ID or null}` | 400 (limit not 1 to 100, after not a number) |
//! | `GET /students/{id}` | 200, the student | 400 (id not a number), 404 |
//! | `POST /students` | 201, the student, `Location: /students/{id}` | 400, 409 (email taken), 415 (not JSON) |
//! | `PUT /students/{id}` | 200, the student as replaced | 400, 404, 409, 415 |
//! | `DELETE /students/{id}` | 204, no body | 400, 404 |
//!
//! Any route: 404 for a path with no route, 405 for a method the path does
//! not have, 503 (or 500) when the database fails. A 400 names the field at
//! fault: `name`, `cohort`, `email`, `id`, `limit` or `after`.

pub mod directory;
pub mod error;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::directory::{NewStudent, Student};
use crate::error::ApiError;

/// A page when the client does not ask for a size, and the most it may ask.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The whole API, with `pool` as its state: every handler that needs the
/// database gets it through `State`, so two apps built with two pools
/// never share one.
pub fn app(pool: PgPool) -> Router {
    Router::new()
        .route("/students", get(list_students).post(create_student))
        .route("/students/{id}", get(get_student).put(replace_student).delete(delete_student))
        // TODO: a .fallback(..) answering ApiError::NoRoute(uri.path()) and
        // a .method_not_allowed_fallback(..) answering ApiError::MethodNotAllowed,
        // or axum answers those with empty bodies.
        .with_state(pool)
}

/// `?limit=N&after=ID`: both optional.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub after: Option<i64>,
}

/// One page of students, and where the next one starts (`null` on the
/// last page).
#[derive(Debug, Serialize)]
pub struct Page {
    pub students: Vec<Student>,
    pub next_after: Option<i64>,
}

async fn list_students(
    State(pool): State<PgPool>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let _ = (pool, query);
    todo!(
        "open the query with ?, check 1 <= limit <= MAX_LIMIT (default DEFAULT_LIMIT), ask directory::page for limit + 1 rows, and set next_after only if more than limit came"
    )
}

async fn get_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Student>, ApiError> {
    let _ = (pool, id);
    todo!("open the id with ?, directory::find(&pool, id), and None becomes ApiError::NotFound(id)")
}

async fn create_student(
    State(pool): State<PgPool>,
    body: Result<Json<NewStudent>, JsonRejection>,
) -> Result<Response, ApiError> {
    let _ = (pool, body);
    todo!(
        "open the body with ?, validate it, directory::create, then answer 201 Created with a Location: /students/{{id}} header and the student (a tuple's .into_response())"
    )
}

async fn replace_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<NewStudent>, JsonRejection>,
) -> Result<Json<Student>, ApiError> {
    let _ = (pool, id, body, validate);
    todo!(
        "open id and body with ?, validate, then directory::update: the student as it is now, or ApiError::NotFound(id)"
    )
}

async fn delete_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let _ = (pool, id);
    todo!("directory::delete: true is 204 No Content, false is ApiError::NotFound(id)")
}

/// The rules JSON's types cannot say: no blank name or cohort, and an
/// email with something on both sides of one `@`.
fn validate(new: &NewStudent) -> Result<(), ApiError> {
    let _ = new;
    todo!(
        "ApiError::Invalid {{ field: \"name\", .. }} for a blank name; the same for cohort, and for an email that is not user@domain"
    )
}
