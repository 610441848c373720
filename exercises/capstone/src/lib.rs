//! Exercise `capstone`: the course enrollment service.
//!
//! The product brief is the chapter "Capstone: the enrollment service";
//! it says what the service answers. How you build it is yours: the
//! checks only talk HTTP to [`app`], read the catalog, and watch the SQL
//! on the wire where a lesson needs it. Your migrations go in
//! `migrations/` (after the given `0001_catalogue`), your seeds in
//! `seeds/`, your code here and in any modules you add.
//!
//! Try it by hand with `cargo checker serve capstone`.

use axum::Router;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The options of the service's pool (module 12). The checks and
/// `cargo checker serve` build the pool from these, with the database's
/// URL.
pub fn pool_options() -> PgPoolOptions {
    todo!(
        "PgPoolOptions::new() with max_connections (5 to 20), an acquire_timeout of at most 5 s, and an after_connect that sets statement_timeout"
    )
}

/// The whole service: every route of the brief, with `pool` as state.
pub fn app(pool: PgPool) -> Router {
    let _ = pool;
    todo!("Router::new() with the brief's routes, .with_state(pool)")
}
