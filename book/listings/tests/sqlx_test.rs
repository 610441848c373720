//! The chapter "Seeds" shows sqlx's own test attribute, `#[sqlx::test]`,
//! with fixtures. This file keeps that listing compiling. Its test is
//! ignored by a plain `cargo test`, because `#[sqlx::test]` reads
//! `DATABASE_URL` when it runs (the course's own tests find their server
//! without it) and keeps the database of a failed test on the server. Run
//! it by hand with
//!
//! ```sh
//! DATABASE_URL="$(cargo checker db url)" cargo test -p listings --test sqlx_test -- --ignored
//! ```

// ANCHOR: sqlx_test
/// A fresh database for this test alone: no migrations (this crate has
/// none), then `tests/fixtures/schema.sql`, `currencies.sql` and
/// `shops.sql`, in that order. It is dropped when the test passes.
#[sqlx::test(migrations = false, fixtures("schema", "currencies", "shops"))]
#[ignore = "needs DATABASE_URL: see the top of this file"]
async fn the_main_shop_prices_in_euros(pool: sqlx::PgPool) -> sqlx::Result<()> {
    let code: String = sqlx::query_scalar(
        "SELECT c.code FROM shops s JOIN currencies c ON c.id = s.currency_id WHERE s.slug = 'main'",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(code, "EUR");
    Ok(())
}
// ANCHOR_END: sqlx_test
