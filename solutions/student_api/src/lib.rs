//! Exercise `student_api`: the student directory over HTTP.
//!
//! Read the chapter "Serving it over HTTP" first. The directory's SQL is in
//! `directory.rs` (given, except `page`); the errors and their statuses are
//! in `error.rs`; the routes and handlers are here. The checks call
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
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
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
        .fallback(|uri: Uri| async move { ApiError::NoRoute(uri.path().to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
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
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Invalid {
            field: "limit",
            problem: format!("must be from 1 to {MAX_LIMIT}, not {limit}"),
        });
    }
    // One row more than the page: if it comes, there is a next page.
    let mut students = directory::page(&pool, query.after, limit + 1).await?;
    let more = students.len() as i64 > limit;
    students.truncate(limit as usize);
    let next_after = if more { students.last().map(|s| s.id) } else { None };
    Ok(Json(Page { students, next_after }))
}

async fn get_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Student>, ApiError> {
    let Path(id) = id?;
    let student = directory::find(&pool, id).await?.ok_or(ApiError::NotFound(id))?;
    Ok(Json(student))
}

async fn create_student(
    State(pool): State<PgPool>,
    body: Result<Json<NewStudent>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) = body?;
    validate(&new)?;
    let student = directory::create(&pool, &new).await?;
    let location = format!("/students/{}", student.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(student)))
}

async fn replace_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<NewStudent>, JsonRejection>,
) -> Result<Json<Student>, ApiError> {
    let Path(id) = id?;
    let Json(changes) = body?;
    validate(&changes)?;
    let student = directory::update(&pool, id, &changes).await?.ok_or(ApiError::NotFound(id))?;
    Ok(Json(student))
}

async fn delete_student(
    State(pool): State<PgPool>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    if directory::delete(&pool, id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound(id)) }
}

/// The rules JSON's types cannot say: no blank name or cohort, and an
/// email with something on both sides of one `@`.
fn validate(new: &NewStudent) -> Result<(), ApiError> {
    if new.name.trim().is_empty() {
        return Err(ApiError::Invalid { field: "name", problem: "must not be blank".into() });
    }
    if new.cohort.trim().is_empty() {
        return Err(ApiError::Invalid { field: "cohort", problem: "must not be blank".into() });
    }
    let valid_email = matches!(new.email.split_once('@'), Some((user, domain))
        if !user.is_empty() && !domain.is_empty() && !domain.contains('@') && !new.email.contains(char::is_whitespace));
    if !valid_email {
        return Err(ApiError::Invalid { field: "email", problem: format!("{:?} is not an email address", new.email) });
    }
    Ok(())
}
