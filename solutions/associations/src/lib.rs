//! Exercise `associations`: load parents with their children in a bounded
//! number of statements.
//!
//! Read the chapter "Associations and eager loading" in the book first.
//! The schema is in `migrations/0001_blog.up.sql`: start there, with the
//! foreign keys and their indexes. Then write the loaders below; each one's
//! comment says how many statements it may send, and the checks count
//! them. `cargo checker` re-runs the checks every time you save.

use std::collections::HashMap;

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

/// One row of `users LEFT JOIN posts`: the post's columns are NULL for a
/// user with no posts.
#[derive(sqlx::FromRow)]
struct UserPostRow {
    user_id: i64,
    user_name: String,
    post_id: Option<i64>,
    post_title: Option<String>,
}

/// Every user, in id order, each with their posts, in ONE statement: a
/// join. Users with no posts are included, with an empty `posts`.
pub async fn users_with_posts_joined(pool: &PgPool) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    let rows: Vec<UserPostRow> = sqlx::query_as(
        "SELECT u.id AS user_id, u.name AS user_name, p.id AS post_id, p.title AS post_title
         FROM users u
         LEFT JOIN posts p ON p.user_id = u.id
         ORDER BY u.id, p.id",
    )
    .fetch_all(pool)
    .await?;

    let mut out: Vec<UserWithPosts> = Vec::new();
    for row in rows {
        // Rows come sorted by user: a new id starts a new entry.
        if out.last().is_none_or(|last| last.user.id != row.user_id) {
            out.push(UserWithPosts { user: User { id: row.user_id, name: row.user_name }, posts: Vec::new() });
        }
        if let (Some(id), Some(title), Some(entry)) = (row.post_id, row.post_title, out.last_mut()) {
            entry.posts.push(Post { id, user_id: row.user_id, title });
        }
    }
    Ok(out)
}

/// The users whose ids are in `ids`, in id order, each with their posts,
/// in TWO statements: one for the users, one for all of their posts.
pub async fn users_with_posts_batched(pool: &PgPool, ids: &[i64]) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    let users: Vec<User> =
        sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1) ORDER BY id").bind(ids).fetch_all(pool).await?;
    with_posts(pool, users).await
}

/// Every user, in id order, with their posts and the comments they wrote,
/// in at most THREE statements, and without sending more rows than it
/// loads: never one row per (post, comment) pair.
pub async fn users_with_posts_and_comments(pool: &PgPool) -> Result<Vec<UserWithPostsAndComments>, sqlx::Error> {
    let users: Vec<User> = sqlx::query_as("SELECT id, name FROM users ORDER BY id").fetch_all(pool).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let posts: Vec<Post> = sqlx::query_as("SELECT id, user_id, title FROM posts WHERE user_id = ANY($1) ORDER BY id")
        .bind(&ids)
        .fetch_all(pool)
        .await?;
    let comments: Vec<Comment> =
        sqlx::query_as("SELECT id, post_id, user_id, body FROM comments WHERE user_id = ANY($1) ORDER BY id")
            .bind(&ids)
            .fetch_all(pool)
            .await?;

    let mut posts_by_user = group(posts, |p| p.user_id);
    let mut comments_by_user = group(comments, |c| c.user_id.unwrap_or_default());
    Ok(users
        .into_iter()
        .map(|user| UserWithPostsAndComments {
            posts: posts_by_user.remove(&user.id).unwrap_or_default(),
            comments: comments_by_user.remove(&user.id).unwrap_or_default(),
            user,
        })
        .collect())
}

/// The users who wrote at least one post tagged `tag`, in id order, each
/// with ALL of their posts (not only the tagged ones), in at most TWO
/// statements.
pub async fn users_with_a_post_tagged(pool: &PgPool, tag: &str) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    // The tag filters which users qualify; it must not filter their posts,
    // so it lives in a subquery rather than in the join that loads them.
    let users: Vec<User> = sqlx::query_as(
        "SELECT u.id, u.name
         FROM users u
         WHERE EXISTS (
             SELECT 1
             FROM posts p
             JOIN post_tags pt ON pt.post_id = p.id
             JOIN tags t ON t.id = pt.tag_id
             WHERE p.user_id = u.id AND t.name = $1
         )
         ORDER BY u.id",
    )
    .bind(tag)
    .fetch_all(pool)
    .await?;
    with_posts(pool, users).await
}

/// The posts of user `user_id`, in id order, each with its tags in name
/// order (a post with no tags has an empty `tags`), in at most TWO
/// statements.
pub async fn posts_with_tags(pool: &PgPool, user_id: i64) -> Result<Vec<PostWithTags>, sqlx::Error> {
    let posts: Vec<Post> = sqlx::query_as("SELECT id, user_id, title FROM posts WHERE user_id = $1 ORDER BY id")
        .bind(user_id)
        .fetch_all(pool)
        .await?;
    let post_ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let links: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT pt.post_id, t.id, t.name
         FROM post_tags pt
         JOIN tags t ON t.id = pt.tag_id
         WHERE pt.post_id = ANY($1)
         ORDER BY t.name",
    )
    .bind(&post_ids)
    .fetch_all(pool)
    .await?;

    let mut tags_by_post = group(links, |(post_id, _, _)| *post_id);
    Ok(posts
        .into_iter()
        .map(|post| PostWithTags {
            tags: tags_by_post
                .remove(&post.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, id, name)| Tag { id, name })
                .collect(),
            post,
        })
        .collect())
}

/// Loads the posts of `users` in one statement and hands each user theirs.
async fn with_posts(pool: &PgPool, users: Vec<User>) -> Result<Vec<UserWithPosts>, sqlx::Error> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let posts: Vec<Post> = sqlx::query_as("SELECT id, user_id, title FROM posts WHERE user_id = ANY($1) ORDER BY id")
        .bind(&ids)
        .fetch_all(pool)
        .await?;
    let mut by_user = group(posts, |p| p.user_id);
    Ok(users
        .into_iter()
        .map(|user| UserWithPosts { posts: by_user.remove(&user.id).unwrap_or_default(), user })
        .collect())
}

/// Groups `items` by `key`, keeping their order within each group.
fn group<T>(items: Vec<T>, key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut groups: HashMap<i64, Vec<T>> = HashMap::new();
    for item in items {
        groups.entry(key(&item)).or_default().push(item);
    }
    groups
}
