//! Every way a request can fail, and the one place each becomes a status
//! and a JSON body: `{"error": "what went wrong"}`.
//!
//! Handlers return `Result<_, ApiError>` and use `?`; the `From` impls
//! below turn the directory's errors and axum's rejections (a body that is
//! not JSON, a path or query value that is not a number) into `ApiError`,
//! so no handler decides a status code for an error by itself.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::directory::DirectoryError;

/// Why a request failed. The variants are given; what each answers is
/// yours to write, in `into_response` below.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (not JSON, a missing field, a value
    /// of the wrong type, a path or query value that does not parse).
    #[error("{0}")]
    BadRequest(String),
    /// 400: well-formed, but a value breaks a rule; names the field.
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    /// 404: no student has this id.
    #[error("no student with id {0}")]
    NotFound(i64),
    /// 404: no route matches the path.
    #[error("no route for {0}")]
    NoRoute(String),
    /// 405: the path exists, the method does not.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// 409: another student has this email.
    #[error("email {0} is already taken")]
    EmailTaken(String),
    /// 415: the body was not sent as `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 503 when the database cannot be reached, 500 for anything else it
    /// reports. The client gets a short message; the details go to the
    /// server's log, not to whoever sent the request.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let _ = (StatusCode::OK, Json(json!({})));
        todo!(
            "pick the status for each variant (503 for a Database error that is sqlx::Error::Io, PoolTimedOut or PoolClosed), then (status, Json(json!({{\"error\": message}}))).into_response()"
        )
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        let _ = e;
        todo!("EmailTaken(email) becomes ApiError::EmailTaken(email); Database(e) becomes ApiError::Database(e)")
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let _ = rejection;
        todo!(
            "MissingJsonContentType becomes UnsupportedMediaType, anything else BadRequest, both with rejection.body_text(), which names the field"
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        let _ = rejection;
        todo!("BadRequest(format!(\"id: {{}}\", rejection.body_text())): the only path parameter is the id")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let _ = rejection;
        todo!("BadRequest(rejection.body_text()), which names the parameter (limit or after)")
    }
}
