//! Exercise `raw_sql`: the queries an ORM cannot write for you.
//!
//! Read the chapter "Raw SQL" in the book first. The schema is given in
//! `migrations/0001_blog.up.sql`. Each function below is ONE statement you
//! write by hand: a window function, a recursive query, an aggregate
//! mapped onto a struct, a sort chosen by the caller, a LATERAL join. Map
//! the rows onto the structs with `sqlx::FromRow` (add it to their derives)
//! and `sqlx::query_as`, and send every value as a bind parameter. The
//! checks generate new data on every run, plant ties, a date on the edge
//! of the window and a loop in the org chart, and attack the search with
//! SQL of their own. `cargo checker` re-runs them every time you save.

use sqlx::PgPool;
use sqlx::types::chrono::{DateTime, Utc};

// The checks build these types to compare with what your functions
// return: keep their names and fields as they are (adding derives is fine).

/// A row of `authors`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Author {
    pub id: i64,
    pub name: String,
}

/// A row of `posts`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Post {
    pub id: i64,
    pub author_id: i64,
    pub title: String,
    pub likes: i32,
    pub published_at: DateTime<Utc>,
}

/// One of an author's top posts, with its rank among that author's posts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RankedPost {
    pub author_id: i64,
    pub post_id: i64,
    pub title: String,
    pub likes: i32,
    /// 1 for the most liked; tied posts share a rank.
    pub rank: i64,
}

/// Someone below a manager in the org chart.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Report {
    pub id: i64,
    pub name: String,
    /// Whom they report to directly.
    pub manager_id: i64,
    /// 1 for a direct report, 2 for a report's report, and so on.
    pub depth: i32,
}

/// An author and what they have published.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthorStats {
    pub author_id: i64,
    pub name: String,
    /// How many posts they have written (0 for none).
    pub posts: i64,
    /// The likes of all their posts together (0 for none).
    pub total_likes: i64,
    /// When their newest post was published; `None` if they have none.
    pub last_published: Option<DateTime<Utc>>,
}

/// An author with some of their posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorWithPosts {
    pub author: Author,
    pub posts: Vec<Post>,
}

/// Why `search_posts` refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A sort column or direction that is not on the list; it carries the
    /// value refused.
    #[error("cannot sort by {0:?}: not a column or direction on the list")]
    BadSort(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Each author's `n` most liked posts among those published in
/// `[since, until)` (`since` included, `until` not), ranked with `RANK()`:
/// most likes first, tied posts share a rank, and the next rank counts the
/// posts before it (likes 9, 7, 7, 4 rank 1, 2, 2, 4). Keep every post
/// whose rank is `n` or better, so a tie at the edge keeps all the tied
/// posts. Rank only the posts inside the window. Ordered by author_id,
/// then rank, then post_id. Dates and `n` are bind parameters.
pub async fn top_posts(
    pool: &PgPool,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    n: i64,
) -> Result<Vec<RankedPost>, sqlx::Error> {
    sqlx::query_as(
        "SELECT author_id, post_id, title, likes, rank
         FROM (SELECT author_id, id AS post_id, title, likes,
                      rank() OVER (PARTITION BY author_id ORDER BY likes DESC) AS rank
               FROM posts
               WHERE published_at >= $1 AND published_at < $2) AS ranked
         WHERE rank <= $3
         ORDER BY author_id, rank, post_id",
    )
    .bind(since)
    .bind(until)
    .bind(n)
    .fetch_all(pool)
    .await
}

/// Everyone who reports to employee `manager`, directly or through others,
/// each once, with the depth at which they do: ordered by depth, then id.
/// The data has a loop (a chain of managers that comes back to where it
/// started): the query must stop there, and `manager` is never in their
/// own list.
pub async fn reports_of(pool: &PgPool, manager: i64) -> Result<Vec<Report>, sqlx::Error> {
    // `path` holds every id on the way down, starting with the manager's:
    // a row whose id is already on it would close a loop, so it is not
    // followed (and the manager never appears as their own report).
    sqlx::query_as(
        "WITH RECURSIVE chain (id, name, manager_id, depth, path) AS (
             SELECT id, name, manager_id, 1, ARRAY[$1::bigint, id]
             FROM employees
             WHERE manager_id = $1 AND id <> $1
           UNION ALL
             SELECT e.id, e.name, e.manager_id, c.depth + 1, c.path || e.id
             FROM employees e
             JOIN chain c ON e.manager_id = c.id
             WHERE e.id <> ALL (c.path)
         )
         SELECT id, name, manager_id, depth FROM chain ORDER BY depth, id",
    )
    .bind(manager)
    .fetch_all(pool)
    .await
}

/// Every author, in id order, with how many posts they wrote, their likes
/// in total and when their newest post came out. Authors without posts are
/// in the list with 0, 0 and `None`.
pub async fn author_stats(pool: &PgPool) -> Result<Vec<AuthorStats>, sqlx::Error> {
    // Each alias is the name of a field of AuthorStats: FromRow matches
    // columns to fields by name. count(p.id) counts only real posts (a
    // LEFT JOIN gives an author with none one row of NULLs), and sum() of
    // no rows is NULL, hence the coalesce.
    sqlx::query_as(
        "SELECT a.id AS author_id, a.name, count(p.id) AS posts,
                coalesce(sum(p.likes), 0)::bigint AS total_likes, max(p.published_at) AS last_published
         FROM authors a
         LEFT JOIN posts p ON p.author_id = a.id
         GROUP BY a.id
         ORDER BY a.id",
    )
    .fetch_all(pool)
    .await
}

/// The posts whose title contains `text` (exactly those characters: a `%`
/// or `_` in it is a character like any other), sorted by the column
/// `sort` in the direction `direction`, ties broken by id (lowest first),
/// at most `limit` of them.
///
/// `sort` must be one of `"title"`, `"likes"`, `"published_at"`, and
/// `direction` one of `"asc"`, `"desc"`, exactly; anything else is
/// `Err(SearchError::BadSort(the value))`, and no SQL is sent. Column names
/// cannot be bind parameters, so match them against that list; `text` and
/// `limit` are bind parameters.
pub async fn search_posts(
    pool: &PgPool,
    text: &str,
    sort: &str,
    direction: &str,
    limit: i64,
) -> Result<Vec<Post>, SearchError> {
    // Identifiers cannot be bind parameters: only these fixed strings ever
    // reach the SQL text. Everything the caller typed stays a parameter.
    let column = match sort {
        "title" => "title",
        "likes" => "likes",
        "published_at" => "published_at",
        _ => return Err(SearchError::BadSort(sort.to_owned())),
    };
    let order = match direction {
        "asc" => "ASC",
        "desc" => "DESC",
        _ => return Err(SearchError::BadSort(direction.to_owned())),
    };
    let sql = format!(
        "SELECT id, author_id, title, likes, published_at FROM posts
         WHERE strpos(title, $1) > 0
         ORDER BY {column} {order}, id
         LIMIT $2"
    );
    let posts = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(text).bind(limit).fetch_all(pool).await?;
    Ok(posts)
}

/// Every author, in id order, with their `n` most recently published
/// posts, newest first (the same instant: higher id first), in ONE
/// statement. An author with no posts has an empty `posts`.
pub async fn latest_posts_per_author(pool: &PgPool, n: i64) -> Result<Vec<AuthorWithPosts>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        author_id: i64,
        name: String,
        post_id: Option<i64>,
        title: Option<String>,
        likes: Option<i32>,
        published_at: Option<DateTime<Utc>>,
    }
    // For each author, the subquery runs with that author's id: LIMIT
    // applies per author, which a plain join cannot do.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.id AS author_id, a.name, p.id AS post_id, p.title, p.likes, p.published_at
         FROM authors a
         LEFT JOIN LATERAL (
             SELECT id, title, likes, published_at
             FROM posts
             WHERE author_id = a.id
             ORDER BY published_at DESC, id DESC
             LIMIT $1
         ) p ON true
         ORDER BY a.id, p.published_at DESC, p.id DESC",
    )
    .bind(n)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<AuthorWithPosts> = Vec::new();
    for row in rows {
        if out.last().is_none_or(|last| last.author.id != row.author_id) {
            out.push(AuthorWithPosts { author: Author { id: row.author_id, name: row.name }, posts: Vec::new() });
        }
        if let (Some(id), Some(title), Some(likes), Some(published_at)) =
            (row.post_id, row.title, row.likes, row.published_at)
        {
            let author = out.last_mut().expect("pushed above");
            author.posts.push(Post { id, author_id: author.author.id, title, likes, published_at });
        }
    }
    Ok(out)
}
