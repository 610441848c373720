//! Listings for the chapter "Seeds": reference data seeded from Rust so it
//! is safe to run again, and a test fixture, which is the opposite kind of
//! data. They use a shop's currencies, not the exercise's tables.

// ANCHOR: seed_currencies
use sqlx::PgConnection;

/// The currencies every shop database needs. Safe to run at every start:
/// a currency that is already there is left alone. Returns how many rows
/// it added.
pub async fn seed_currencies(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    for (code, name) in [("EUR", "Euro"), ("GBP", "Pound sterling"), ("JPY", "Yen")] {
        let done = sqlx::query("INSERT INTO currencies (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING")
            .bind(code)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        // 1 when the row went in, 0 when ON CONFLICT skipped it.
        added += done.rows_affected();
    }
    Ok(added)
}
// ANCHOR_END: seed_currencies

// ANCHOR: fixture
/// A shop made up for one test. The test picks a slug no other test
/// uses, and the shop disappears with the test's database.
pub async fn shop_fixture(conn: &mut PgConnection, slug: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO shops (slug, currency_id)
         SELECT $1, id FROM currencies WHERE code = 'EUR'
         RETURNING id",
    )
    .bind(slug)
    .fetch_one(conn)
    .await
}
// ANCHOR_END: fixture

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;
    use workbook::{check, data};

    const SCHEMA: &str = "
        CREATE TABLE currencies (
            id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            code text NOT NULL UNIQUE,
            name text NOT NULL
        );
        CREATE TABLE shops (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            slug        text NOT NULL UNIQUE,
            currency_id bigint NOT NULL REFERENCES currencies (id)
        );";

    #[test]
    fn seeding_twice_adds_the_currencies_once() {
        check(async |db| {
            let mut conn = PgConnection::connect(db.url()).await.unwrap();
            sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
            assert_eq!(seed_currencies(&mut conn).await.unwrap(), 3);
            assert_eq!(seed_currencies(&mut conn).await.unwrap(), 0);
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM currencies").fetch_one(&mut conn).await.unwrap();
            assert_eq!(n, 3);
            let slug = data::word(8);
            let id = shop_fixture(&mut conn, &slug).await.unwrap();
            let code: String = sqlx::query_scalar(
                "SELECT c.code FROM shops s JOIN currencies c ON c.id = s.currency_id WHERE s.id = $1",
            )
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(code, "EUR");
            conn.close().await.unwrap();
        });
    }
}
