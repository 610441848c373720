//! Exercise `eager_loading`: load parents with their children in a
//! bounded number of statements.
//!
//! Read the chapter "Eager loading without N+1" in the book first. The
//! blog's schema is given, foreign keys and all, in
//! `migrations/0001_blog.up.sql`. Write the loaders below; each one's
//! comment says how many statements it may send, and the checks count
//! them. `cargo checker` re-runs the checks every time you save.

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

/// A user with every post they wrote, in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithPosts {
    pub user: User,
    pub posts: Vec<Post>,
}

/// A user with two collections: the posts they wrote and the comments they
/// wrote (on anyone's posts), each in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithPostsAndComments {
    pub user: User,
    pub posts: Vec<Post>,
    pub comments: Vec<Comment>,
}

/// A post with its tags, in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostWithTags {
    pub post: Post,
    pub tags: Vec<Tag>,
}

/// Every user, in id order, each with their posts, in ONE statement: a
/// join. Users with no posts are included, with an empty `posts`.
pub async fn users_with_posts_joined(pool: &PgPool) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    let _ = pool;
    todo!(
        "one SELECT of users LEFT JOIN posts, ORDER BY user id then post id; read it into a row struct \
         whose post columns are Option (NULL for a user with no posts), then fold the rows into one entry per user"
    )
}

/// The users whose ids are in `ids`, in id order, each with their posts,
/// in TWO statements: one for the users, one for all of their posts.
///
/// This version returns the right answer, and its check still fails. Run
/// the checks, read why, then rewrite it.
pub async fn users_with_posts_batched(pool: &PgPool, ids: &[i64]) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    let users: Vec<User> =
        sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1) ORDER BY id").bind(ids).fetch_all(pool).await?;
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        let posts: Vec<Post> = sqlx::query_as("SELECT id, user_id, title FROM posts WHERE user_id = $1 ORDER BY id")
            .bind(user.id)
            .fetch_all(pool)
            .await?;
        out.push(UserWithPosts { user, posts });
    }
    Ok(out)
}

/// Every user, in id order, with their posts and the comments they wrote,
/// in at most THREE statements, and without sending more rows than it
/// loads: never one row per (post, comment) pair.
pub async fn users_with_posts_and_comments(pool: &PgPool) -> Result<Vec<UserWithPostsAndComments>, sqlx::Error> {
    let _ = pool;
    todo!(
        "one statement per collection: the users, then their posts, then their comments, each with WHERE user_id = ANY($1)"
    )
}

/// The users who wrote at least one post tagged `tag`, in id order, each
/// with ALL of their posts (not only the tagged ones), in at most TWO
/// statements.
pub async fn users_with_a_post_tagged(pool: &PgPool, tag: &str) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    let _ = (pool, tag);
    todo!("choose the users with WHERE EXISTS (a post of theirs with that tag), then load all of their posts")
}

/// The posts of user `user_id`, in id order, each with its tags in name
/// order (a post with no tags has an empty `tags`), in at most TWO
/// statements.
pub async fn posts_with_tags(pool: &PgPool, user_id: i64) -> Result<Vec<PostWithTags>, sqlx::Error> {
    let _ = (pool, user_id);
    todo!("the user's posts, then the tags of all of them at once: post_tags JOIN tags WHERE post_id = ANY($1)")
}
