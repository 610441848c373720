//! What can go wrong with the check server, worded for the person who
//! has to fix it: which setting the server came from, and what to do next.

use super::Origin;
use super::embedded::EmbeddedError;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "the database at {url} (from {origin}) did not answer within 10 s.\n\
         Check the host and port, or unset it to use the embedded server."
    )]
    Timeout { url: String, origin: Origin },

    #[error("could not connect to {url} (from {origin}): {text}\n{next}")]
    Connect { url: String, origin: Origin, text: String, next: &'static str },

    #[error(
        "the role `{who}` at {url} (from {origin}) may not create databases, and every check needs a fresh one.\n\
         Grant it with `ALTER ROLE {who} CREATEDB;` as a superuser, use another role, \
         or unset {origin} to use the embedded server."
    )]
    NoCreatedb { who: String, url: String, origin: Origin },

    /// A statement or connection failed while doing `doing`.
    #[error("{doing}: {error}")]
    Query { doing: String, error: sqlx::Error },

    #[error("the role at {url} is not a superuser: grading needs one, to make a role per submission")]
    NotSuperuser { url: String },

    #[error("refusing to drop {0}: the checker did not create it")]
    NotOurs(String),

    #[error("not a database name the checker makes: {0:?}")]
    BadName(String),

    /// The embedded server could not be found, started or stopped.
    #[error("failed to {0}")]
    Embedded(EmbeddedError),

    /// A background task of ours failed (it panicked or was cancelled).
    #[error("{doing}: {error}")]
    Task { doing: &'static str, error: tokio::task::JoinError },
}

impl DbError {
    pub(crate) fn query(doing: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DbError {
        let doing = doing.into();
        move |error| DbError::Query { doing, error }
    }
}

/// Runs a blocking job on the embedded server (init, start, stop) off the
/// async threads.
pub async fn blocking<T: Send + 'static>(
    doing: &'static str,
    job: impl FnOnce() -> Result<T, EmbeddedError> + Send + 'static,
) -> Result<T, DbError> {
    tokio::task::spawn_blocking(job).await.map_err(|error| DbError::Task { doing, error })?.map_err(DbError::Embedded)
}
