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
    let _ = (pool, post_id);
    todo!("the user whose id is in the post's user_id: users JOIN posts ON posts.user_id = users.id, for one post")
}

/// Has-many: the posts user `user_id` wrote, in id order (empty for a user
/// who wrote none).
pub async fn posts_by(pool: &PgPool, user_id: i64) -> Result<Vec<Post>, sqlx::Error> {
    let _ = (pool, user_id);
    todo!("the posts whose user_id is this user's id")
}

/// Many-to-many: the tags of post `post_id`, in name order (empty for a
/// post with none), read through the join table `post_tags`.
pub async fn tags_of(pool: &PgPool, post_id: i64) -> Result<Vec<Tag>, sqlx::Error> {
    let _ = (pool, post_id);
    todo!("tags joined to the post_tags rows of this post")
}

/// Puts tag `tag_id` on post `post_id`: `Ok(true)` when the link is new,
/// `Ok(false)` when the post already had that tag, and the database's
/// error when the post or the tag does not exist.
pub async fn tag_post(pool: &PgPool, post_id: i64, tag_id: i64) -> Result<bool, sqlx::Error> {
    let _ = (pool, post_id, tag_id);
    todo!("one row in the join table post_tags; a pair that is already there is not an error")
}
