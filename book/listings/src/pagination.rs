//! Listings for the chapter "Pagination and counting". They page a shop's
//! customers (counted right, limited by customer) and a log of events (by
//! keyset, with a cursor that keeps its microseconds). The exercise asks
//! the same of users, posts and a feed, so it is left for the reader.

// ANCHOR: customers_page
use sqlx::PgPool;

/// A row of `customers`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Customer {
    pub id: i64,
    pub name: String,
}

/// The customers with at least one order in `status`, by name then id: how
/// many there are in all, and the `limit` of them after `offset`.
pub async fn customers_with_orders(
    pool: &PgPool,
    status: &str,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<Customer>), sqlx::Error> {
    // One question per customer: EXISTS is true or false once, however
    // many orders match.
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*)
         FROM customers c
         WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = $1)",
    )
    .bind(status)
    .fetch_one(pool)
    .await?;
    // The rows of this query are customers, so LIMIT counts customers.
    let page: Vec<Customer> = sqlx::query_as(
        "SELECT c.id, c.name
         FROM customers c
         WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = $1)
         ORDER BY c.name, c.id
         LIMIT $2 OFFSET $3",
    )
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    Ok((total, page))
}
// ANCHOR_END: customers_page

// ANCHOR: cursor
use chrono::{DateTime, Utc};

/// Where a page of events ended: the sort key of its last row, both parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    /// The text handed to the client: microseconds since 1970, and the id.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.at.timestamp_micros(), self.id)
    }

    /// The cursor in `text`, or `None` if it is not one of ours. A cursor
    /// comes back from outside: decode it before any SQL is sent.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (micros, id) = text.split_once(':')?;
        let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some(Cursor { at, id: id.parse().ok()? })
    }
}
// ANCHOR_END: cursor

// ANCHOR: events_after
/// A row of `events`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub happened_at: DateTime<Utc>,
    pub message: String,
}

/// The `limit` events after `after` in the log's order, newest first.
pub async fn events_after(pool: &PgPool, after: Cursor, limit: i64) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, happened_at, message
         FROM events
         WHERE (happened_at, id) < ($1, $2)
         ORDER BY happened_at DESC, id DESC
         LIMIT $3",
    )
    .bind(after.at)
    .bind(after.id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
// ANCHOR_END: events_after
