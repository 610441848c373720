//! Exercise `associations`: a small blog's tables, tied together with
//! foreign keys, and the three kinds of association read back in Rust.
//!
//! Read the chapter "Associations: foreign keys" in the book first. Start
//! in `migrations/0001_blog.up.sql`: every TODO there is a foreign key or
//! an index. Then write the four functions below, one per association.
//! `cargo checker` re-runs the checks every time you save.

use sqlx::PgPool;

// The checks build these types to compare with what your functions
// return: keep their names and fields as they are.

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// A row of `posts`; `user_id` is its author.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Post {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
}

/// A row of `comments`: on post `post_id`, written by `user_id` (`None`
/// once the author is deleted).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub user_id: Option<i64>,
    pub body: String,
}

/// A row of `tags`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tag {
    pub id: i64,
    pub name: String,
}

/// Belongs-to: the author of post `post_id`, or `None` when there is no
/// such post. One statement.
pub async fn author_of(pool: &PgPool, post_id: i64) -> Result<Option<User>, sqlx::Error> {
    // The post holds the key; the join follows it to the parent row.
    sqlx::query_as(
        "SELECT u.id, u.name
         FROM posts p
         JOIN users u ON u.id = p.user_id
         WHERE p.id = $1",
    )
    .bind(post_id)
    .fetch_optional(pool)
    .await
}

/// Has-many: the posts user `user_id` wrote, in id order (empty for a user
/// who wrote none).
pub async fn posts_by(pool: &PgPool, user_id: i64) -> Result<Vec<Post>, sqlx::Error> {
    sqlx::query_as("SELECT id, user_id, title FROM posts WHERE user_id = $1 ORDER BY id")
        .bind(user_id)
        .fetch_all(pool)
        .await
}

/// Many-to-many: the tags of post `post_id`, in name order (empty for a
/// post with none), read through the join table `post_tags`.
pub async fn tags_of(pool: &PgPool, post_id: i64) -> Result<Vec<Tag>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.name
         FROM post_tags pt
         JOIN tags t ON t.id = pt.tag_id
         WHERE pt.post_id = $1
         ORDER BY t.name",
    )
    .bind(post_id)
    .fetch_all(pool)
    .await
}

/// Puts tag `tag_id` on post `post_id`: `Ok(true)` when the link is new,
/// `Ok(false)` when the post already had that tag, and the database's
/// error when the post or the tag does not exist.
pub async fn tag_post(pool: &PgPool, post_id: i64, tag_id: i64) -> Result<bool, sqlx::Error> {
    // The primary key (post_id, tag_id) is the conflict; the foreign keys
    // still refuse a post or a tag that does not exist.
    let done = sqlx::query("INSERT INTO post_tags (post_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(post_id)
        .bind(tag_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
