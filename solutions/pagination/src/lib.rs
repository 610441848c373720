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
    // Count users, not rows of a join: EXISTS asks about each user once,
    // however many posts they wrote.
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*)
         FROM users u
         WHERE EXISTS (SELECT 1 FROM posts p WHERE p.user_id = u.id AND p.topic = $1)",
    )
    .bind(topic)
    .fetch_one(pool)
    .await?;

    // LIMIT and OFFSET apply to this query, whose rows are users: a page
    // of 10 is 10 users, whatever their post counts. `id` breaks ties
    // between equal names, so every user has one place in the order.
    let users: Vec<User> = sqlx::query_as(
        "SELECT u.id, u.name
         FROM users u
         WHERE EXISTS (SELECT 1 FROM posts p WHERE p.user_id = u.id AND p.topic = $1)
         ORDER BY u.name, u.id
         LIMIT $2 OFFSET $3",
    )
    .bind(topic)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;

    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let posts: Vec<Post> = sqlx::query_as(
        "SELECT id, user_id, topic, title, created_at
         FROM posts
         WHERE user_id = ANY($1) AND topic = $2
         ORDER BY id",
    )
    .bind(&ids)
    .bind(topic)
    .fetch_all(pool)
    .await?;

    let mut by_user: std::collections::HashMap<i64, Vec<Post>> = std::collections::HashMap::new();
    for post in posts {
        by_user.entry(post.user_id).or_default().push(post);
    }
    let users = users
        .into_iter()
        .map(|user| UserWithPosts { posts: by_user.remove(&user.id).unwrap_or_default(), user })
        .collect();
    Ok(UsersPage { total, users })
}

/// A page of the feed: every post, newest first (`created_at` descending,
/// then `id` descending), `limit` at a time. `after` is `None` for the
/// first page, then the `next` of the page before.
pub async fn feed(pool: &PgPool, after: Option<&str>, limit: i64) -> Result<FeedPage, PageError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(PageError::InvalidLimit(limit));
    }
    // A cursor comes back from a client: decode it before any SQL is sent,
    // and send its parts as bind parameters.
    let after = after.map(decode_cursor).transpose()?;

    // One row more than the page: if it comes back, there is a next page.
    let mut posts: Vec<Post> = match after {
        None => {
            sqlx::query_as(
                "SELECT id, user_id, topic, title, created_at
                 FROM posts
                 ORDER BY created_at DESC, id DESC
                 LIMIT $1",
            )
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        }
        Some((created_at, id)) => {
            // The row comparison holds for exactly the posts after the
            // cursor in (created_at, id) order, ties on created_at included,
            // and the index on (created_at, id) can seek straight to it.
            sqlx::query_as(
                "SELECT id, user_id, topic, title, created_at
                 FROM posts
                 WHERE (created_at, id) < ($1, $2)
                 ORDER BY created_at DESC, id DESC
                 LIMIT $3",
            )
            .bind(created_at)
            .bind(id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        }
    };

    let more = posts.len() as i64 > limit;
    posts.truncate(limit as usize);
    let next = match posts.last() {
        Some(last) if more => Some(encode_cursor(last)),
        _ => None,
    };
    Ok(FeedPage { posts, next })
}

/// The position of `post` in the feed: its timestamp to the microsecond
/// (what PostgreSQL stores) and its id.
fn encode_cursor(post: &Post) -> String {
    format!("{}:{}", post.created_at.timestamp_micros(), post.id)
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, i64), PageError> {
    let invalid = || PageError::InvalidCursor(cursor.to_owned());
    let (micros, id) = cursor.split_once(':').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let id: i64 = id.parse().map_err(|_| invalid())?;
    let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((created_at, id))
}
