//! Listings for the chapter "Raw SQL". They work on a small sports league
//! (teams, their players, and the points each player scored in a season),
//! next to the exercise's blog, so the exercise is left for the reader.
//!
//! The tables they expect:
//!
//! ```sql
//! CREATE TABLE teams (
//!     id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!     name text NOT NULL
//! );
//! CREATE TABLE scores (
//!     id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!     team_id bigint  NOT NULL REFERENCES teams (id),
//!     player  text    NOT NULL,
//!     season  integer NOT NULL,
//!     points  bigint  NOT NULL
//! );
//! ```

use sqlx::PgPool;

// ANCHOR: standings
/// One line of the league table.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Standing {
    pub team_id: i64,
    pub name: String,
    pub points: i64,
    pub place: i64,
}

/// The raw query lives in its own file, next to the function that runs
/// it: an editor highlights it as SQL, and `psql -f` can run it as it is.
const STANDINGS: &str = include_str!("raw_sql/standings.sql");

/// The league table for `season`.
pub async fn standings(pool: &PgPool, season: i32) -> Result<Vec<Standing>, sqlx::Error> {
    sqlx::query_as(STANDINGS).bind(season).fetch_all(pool).await
}
// ANCHOR_END: standings

// ANCHOR: uncast
/// The same sums without the cast: `sum` of a bigint column is a
/// `numeric`, which does not fit the struct's `i64`.
pub async fn standings_uncast(pool: &PgPool, season: i32) -> Result<Vec<Standing>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id AS team_id, t.name, sum(s.points) AS points, 1::bigint AS place
         FROM teams t JOIN scores s ON s.team_id = t.id AND s.season = $1
         GROUP BY t.id",
    )
    .bind(season)
    .fetch_all(pool)
    .await
}
// ANCHOR_END: uncast

// ANCHOR: sort
/// A player's line in a team's list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlayerLine {
    pub player: String,
    pub points: i64,
}

/// Why a list could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot sort by {0:?}")]
    BadSort(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A team's players in `season`, sorted as the caller asks: by `player`
/// or `points`, `asc` or `desc`.
pub async fn players(
    pool: &PgPool,
    team: i64,
    season: i32,
    sort: &str,
    direction: &str,
) -> Result<Vec<PlayerLine>, ListError> {
    // What the caller sent picks one of these; only our own strings ever
    // reach the SQL.
    let column = match sort {
        "player" => "player",
        "points" => "points",
        _ => return Err(ListError::BadSort(sort.to_owned())),
    };
    let order = match direction {
        "asc" => "ASC",
        "desc" => "DESC",
        _ => return Err(ListError::BadSort(direction.to_owned())),
    };
    let sql =
        format!("SELECT player, points FROM scores WHERE team_id = $1 AND season = $2 ORDER BY {column} {order}, id");
    // AssertSqlSafe: we promise sqlx that this string, built at run time,
    // holds nothing a caller wrote.
    let lines = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team).bind(season).fetch_all(pool).await?;
    Ok(lines)
}
// ANCHOR_END: sort

// ANCHOR: bound
/// The points of one player, the value sent beside the SQL.
pub async fn points_of(pool: &PgPool, player: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT sum(points)::bigint FROM scores WHERE player = $1").bind(player).fetch_one(pool).await
}
// ANCHOR_END: bound

// ANCHOR: replaced
/// The same, the way `replacements` work: the value is escaped (quotes
/// doubled) and written into the SQL text, which the server then parses.
pub async fn points_of_replaced(pool: &PgPool, player: &str) -> Result<Option<i64>, sqlx::Error> {
    let quoted = format!("'{}'", player.replace('\'', "''"));
    let sql = format!("SELECT sum(points)::bigint FROM scores WHERE player = {quoted}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await
}
// ANCHOR_END: replaced
