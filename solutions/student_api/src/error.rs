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

/// Why a request failed.
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

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::EmailTaken(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Database(e) if unreachable(e) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Errors that say "no database right now" rather than "the database
/// refused this": worth a retry later, hence 503.
fn unreachable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Protocol(_))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Database(e) => {
                // The full error is for the operator, not the client.
                eprintln!("database error: {e}");
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    "the database is unavailable; try again shortly".to_owned()
                } else {
                    "internal error".to_owned()
                }
            }
            other => other.to_string(),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::EmailTaken(email) => ApiError::EmailTaken(email),
            DirectoryError::Database(e) => ApiError::Database(e),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(r) => ApiError::UnsupportedMediaType(r.body_text()),
            // Syntax errors, missing fields and wrong types: axum's text
            // names the field (`name: invalid type: integer ...`).
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(format!("id: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}
