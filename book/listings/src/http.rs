//! Listings for the chapter "Serving it over HTTP": the course catalogue
//! of the CRUD chapter ([`crate::crud`]) behind axum routes, so the
//! exercise's student directory is left for the reader.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use crate::crud::{self, CatalogError, Course, NewCourse};

// ANCHOR: router
/// The catalogue's routes. The pool is the router's state: each handler
/// that asks for `State<PgPool>` gets a clone of it (a pool is a handle;
/// cloning it shares the same connections).
pub fn catalogue_app(pool: PgPool) -> Router {
    Router::new()
        .route("/courses", post(create_course))
        .route("/courses/{code}", get(get_course))
        .fallback(|uri: Uri| async move { ApiError::NoRoute(uri.path().to_owned()) })
        .with_state(pool)
}
// ANCHOR_END: router

// ANCHOR: json
/// A course as a client sees it. The database's model stays free to
/// change; this is the contract.
#[derive(Debug, Serialize)]
pub struct CourseJson {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub credits: i32,
}

impl From<Course> for CourseJson {
    fn from(c: Course) -> Self {
        CourseJson { id: c.id, code: c.code, title: c.title, credits: c.credits }
    }
}

/// What a client sends to add a course.
#[derive(Debug, Deserialize)]
pub struct NewCourseJson {
    pub code: String,
    pub title: String,
    pub credits: i32,
}
// ANCHOR_END: json

// ANCHOR: handlers
/// `GET /courses/{code}`: 200 with the course, or 404.
async fn get_course(
    State(pool): State<PgPool>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CourseJson>, ApiError> {
    let Path(code) = code?;
    let course = crud::course_by_code(&pool, &code).await?.ok_or(ApiError::NotFound(code))?;
    Ok(Json(course.into()))
}

/// `POST /courses`: 201 with the course and where it lives.
async fn create_course(
    State(pool): State<PgPool>,
    body: Result<Json<NewCourseJson>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) = body?;
    // ANCHOR: validation
    if !(1..=30).contains(&new.credits) {
        return Err(ApiError::Invalid { field: "credits", problem: "must be from 1 to 30".into() });
    }
    // ANCHOR_END: validation
    let course = crud::add_course(&pool, &NewCourse { code: new.code, title: new.title, credits: new.credits }).await?;
    let location = format!("/courses/{}", course.code);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(CourseJson::from(course))))
}
// ANCHOR_END: handlers

// ANCHOR: error
/// Every way a catalogue request fails. `IntoResponse` below is the only
/// place that picks a status code for an error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    #[error("no course with code {0}")]
    NotFound(String),
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("course code {0} is already in use")]
    CodeTaken(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::CodeTaken(_) => StatusCode::CONFLICT,
            ApiError::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &self {
            // The details are for the server's log, not for the client.
            ApiError::Database(e) => {
                eprintln!("database error: {e}");
                "the catalogue is unavailable".to_owned()
            }
            other => other.to_string(),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::CodeTaken(code) => ApiError::CodeTaken(code),
            CatalogError::Database(e) => ApiError::Database(e),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}
// ANCHOR_END: error

// ANCHOR: serve
/// Serves the catalogue on `port` of 127.0.0.1 until the process ends.
pub async fn serve(database_url: &str, port: u16) -> std::io::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(database_url)
        .map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, catalogue_app(pool)).await
}
// ANCHOR_END: serve

/// Something slow that has nothing to do with the database: a call to
/// another service, a file upload, a template.
pub async fn slow_unrelated_work() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

// ANCHOR: held_transaction
/// DON'T: the transaction (and the row lock `FOR UPDATE` took) is held
/// across an await that has nothing to do with it. Every other request for
/// this course waits, and a connection of the pool is out, for as long as
/// the slow call takes.
pub async fn retitle_holding_the_lock(pool: &PgPool, code: &str, title: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT id FROM courses WHERE code = $1 FOR UPDATE").bind(code).execute(&mut *tx).await?;
    slow_unrelated_work().await;
    sqlx::query("UPDATE courses SET title = $2, updated_at = now() WHERE code = $1")
        .bind(code)
        .bind(title)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// DO: the slow work first, then a transaction that only talks to the
/// database, begun and committed in one stretch.
pub async fn retitle_briefly(pool: &PgPool, code: &str, title: &str) -> Result<(), sqlx::Error> {
    slow_unrelated_work().await;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT id FROM courses WHERE code = $1 FOR UPDATE").bind(code).execute(&mut *tx).await?;
    sqlx::query("UPDATE courses SET title = $2, updated_at = now() WHERE code = $1")
        .bind(code)
        .bind(title)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
// ANCHOR_END: held_transaction
