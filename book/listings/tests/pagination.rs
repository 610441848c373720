//! Runs the listings of the chapter "Pagination and counting" against a
//! live server: the total counts customers whatever their orders, the page
//! is of customers, and a cursor keeps its microseconds, so paging events
//! by keyset returns each exactly once even when they share a timestamp.

use chrono::{DateTime, TimeDelta, Utc};
use listings::pagination::{Cursor, customers_with_orders, events_after};
use workbook::check;

#[test]
fn the_total_and_the_page_count_customers_not_orders() {
    check(async |db| {
        let pool = db.pool();
        sqlx::raw_sql(
            "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
             CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                  customer_id bigint NOT NULL REFERENCES customers (id), status text NOT NULL);
             INSERT INTO customers VALUES (1, 'Ada'), (2, 'Bram'), (3, 'Cora'), (4, 'Ada');
             INSERT INTO orders (customer_id, status) VALUES
                 (1, 'paid'), (1, 'paid'), (1, 'paid'), (2, 'paid'), (3, 'cancelled'), (4, 'paid'), (4, 'paid');",
        )
        .execute(pool)
        .await
        .unwrap();
        let (total, page) = customers_with_orders(pool, "paid", 2, 0).await.unwrap();
        assert_eq!(total, 3, "three customers have paid orders, in seven orders");
        let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 4], "two customers, both named Ada, in id order");
        let (total, page) = customers_with_orders(pool, "paid", 2, 2).await.unwrap();
        assert_eq!((total, page.len()), (3, 1));
        let (total, page) = customers_with_orders(pool, "paid", 2, 10).await.unwrap();
        assert_eq!((total, page.len()), (3, 0), "a page past the end still knows the total");
    });
}

#[test]
fn a_cursor_keeps_microseconds_and_keyset_pages_keep_ties() {
    check(async |db| {
        let pool = db.pool();
        sqlx::raw_sql(
            "CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamptz NOT NULL, message text NOT NULL)",
        )
        .execute(pool)
        .await
        .unwrap();
        let at = DateTime::from_timestamp(1_718_000_000, 0).unwrap() + TimeDelta::microseconds(123_457);
        // Seven events, three of them at the same microsecond.
        let events: Vec<(i64, DateTime<Utc>)> = vec![
            (7, at + TimeDelta::seconds(2)),
            (3, at + TimeDelta::seconds(1)),
            (9, at),
            (5, at),
            (2, at),
            (8, at - TimeDelta::seconds(1)),
            (1, at - TimeDelta::seconds(2)),
        ];
        for (id, t) in &events {
            sqlx::query("INSERT INTO events VALUES ($1, $2, 'x')").bind(id).bind(t).execute(pool).await.unwrap();
        }
        let cursor = Cursor { at, id: 9 };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor), "{}", cursor.encode());
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode("12:x"), None);

        // Walk in pages of two: every event once, ties included.
        let mut seen = Vec::new();
        let mut after = Cursor { at: at + TimeDelta::days(1), id: 0 };
        loop {
            let page = events_after(pool, Cursor::decode(&after.encode()).unwrap(), 2).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Cursor { at: last.happened_at, id: last.id };
            seen.extend(page.iter().map(|e| e.id));
        }
        assert_eq!(seen, [7, 3, 9, 5, 2, 8, 1]);
    });
}
