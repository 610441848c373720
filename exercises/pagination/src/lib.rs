//! Exercise `pagination`: totals that count the right thing, pages of
//! parents with their children, and a feed that pages by keyset.
//!
//! Read the chapter "Pagination and counting" in the book first. The
//! schema is in `migrations/0001_forum.up.sql`; the feed's index is yours
//! to add there. `cargo checker` re-runs the checks every time you save.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

// The checks build these types to compare with what your functions
// return: keep their names and fields as they are.

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// A row of `posts`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Post {
    pub id: i64,
    pub user_id: i64,
    pub topic: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
}

/// A user with some of their posts, in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithPosts {
    pub user: User,
    pub posts: Vec<Post>,
}

/// One page of a listing, and how many entries the whole listing has
/// (what Sequelize's `findAndCountAll` returns as `count` and `rows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersPage {
    pub total: i64,
    pub users: Vec<UserWithPosts>,
}

/// One page of the feed, and the cursor of the page after it: `None` when
/// no post comes after this page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPage {
    pub posts: Vec<Post>,
    pub next: Option<String>,
}

/// Why a feed page was refused.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The cursor is not one `feed` handed out: a client sent something
    /// else (by mistake or on purpose).
    #[error("not a feed cursor: {0:?}")]
    InvalidCursor(String),
    /// The page size is outside 1..=MAX_LIMIT.
    #[error("a page holds 1 to {MAX_LIMIT} posts, not {0}")]
    InvalidLimit(i64),
    #[error("the feed query failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// The largest page `feed` serves.
pub const MAX_LIMIT: i64 = 100;

/// The users who wrote at least one post on `topic`, ordered by name and
/// then id: `total` is how many there are in all, `users` the `limit` of
/// them after skipping `offset`, each with their posts on `topic` (and
/// only those), in id order.
pub async fn users_writing_about(
    pool: &PgPool,
    topic: &str,
    limit: i64,
    offset: i64,
) -> Result<UsersPage, sqlx::Error> {
    let _ = (pool, topic, limit, offset);
    todo!(
        "count the users (not the rows of a join) with a post on the topic; then a page of those users, \
         LIMIT and OFFSET on a query whose rows are users; then their posts on the topic, WHERE user_id = ANY($1)"
    )
}

/// A page of the feed: every post, newest first (`created_at` descending,
/// then `id` descending), `limit` at a time. `after` is `None` for the
/// first page, then the `next` of the page before.
pub async fn feed(pool: &PgPool, after: Option<&str>, limit: i64) -> Result<FeedPage, PageError> {
    let _ = (pool, after, limit);
    todo!(
        "refuse a bad limit or cursor before any SQL; then ORDER BY created_at DESC, id DESC with \
         WHERE (created_at, id) < ($1, $2) after the cursor, LIMIT one more than the page to learn whether there is a next"
    )
}
