//! Listings for the chapter "Evolving a schema that holds data": the
//! order sqlx applies migrations in, and applying them up to a version on
//! a connection of their own. The tests also pin the exact error sqlx
//! gives for an edited migration, which the chapter quotes.

// ANCHOR: planned_order
use std::path::Path;

use sqlx::migrate::{MigrateError, Migrator};

/// The up migrations in `dir`, in the order sqlx applies them.
pub async fn planned_order(dir: &Path) -> Result<Vec<String>, MigrateError> {
    let migrator = Migrator::new(dir).await?;
    Ok(migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| format!("{} {}", m.version, m.description))
        .collect())
}
// ANCHOR_END: planned_order

// ANCHOR: migrate_to
use sqlx::{Connection, PgConnection};

/// Applies the migrations in `dir` up to and including `version`, on a
/// connection used for nothing else.
pub async fn migrate_to(url: &str, dir: &Path, version: i64) -> Result<(), MigrateError> {
    let migrator = Migrator::new(dir).await?;
    let mut conn = PgConnection::connect(url).await?;
    let result = migrator.run_to(version, &mut conn).await;
    // sqlx takes a lock on this session while it migrates, and a run
    // that fails does not give it back. Ending the session does.
    let _ = conn.close().await;
    result
}
// ANCHOR_END: migrate_to

// ANCHOR: migrate_all
/// Applies every pending migration in `dir`, on a connection of its own.
/// An edited migration stops the run where sqlx meets it, not before the
/// run starts: pending migrations with smaller versions are applied first.
pub async fn migrate_all(url: &str, dir: &Path) -> Result<(), MigrateError> {
    let migrator = Migrator::new(dir).await?;
    let mut conn = PgConnection::connect(url).await?;
    let result = migrator.run(&mut conn).await;
    let _ = conn.close().await;
    result
}
// ANCHOR_END: migrate_all

#[cfg(test)]
mod tests {
    use super::*;
    use workbook::check;

    /// A directory of migration files of this test's own. (Not named by
    /// `workbook::data`: each test thread draws the same words from the
    /// run's seed, and two tests running at once shared one directory.)
    fn scratch(files: &[(&str, &str)]) -> std::path::PathBuf {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wb-listing-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn versions_are_ordered_as_numbers_not_as_text() {
        let dir = scratch(&[
            ("10_add_prices.up.sql", ""),
            ("9_create_products.up.sql", ""),
            ("20250301120000_add_stock.up.sql", ""),
        ]);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let order = rt.block_on(planned_order(&dir)).unwrap();
        assert_eq!(order, ["9 create products", "10 add prices", "20250301120000 add stock"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_edited_migration_stops_the_run_after_older_pending_ones_ran() {
        check(async |db| {
            let dir = scratch(&[
                ("1_create_products.up.sql", "CREATE TABLE products (id bigint PRIMARY KEY);"),
                ("3_add_stock.up.sql", "ALTER TABLE products ADD COLUMN stock integer;"),
            ]);
            migrate_all(db.url(), &dir).await.unwrap();
            // A branch brings version 2; someone also edits the applied 3.
            std::fs::write(dir.join("2_add_price.up.sql"), "ALTER TABLE products ADD COLUMN price numeric;").unwrap();
            std::fs::write(dir.join("3_add_stock.up.sql"), "ALTER TABLE products ADD COLUMN stock bigint;").unwrap();
            let err = migrate_all(db.url(), &dir).await.unwrap_err();
            assert!(matches!(err, MigrateError::VersionMismatch(3)), "{err:?}");
            let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(db.pool())
                .await
                .unwrap();
            assert_eq!(applied, [1, 2, 3], "2 was applied before the run stopped at the edited 3");
            let price: Option<String> = sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns WHERE column_name = 'price'",
            )
            .fetch_optional(db.pool())
            .await
            .unwrap();
            assert_eq!(price.as_deref(), Some("price"));
            std::fs::remove_dir_all(dir).unwrap();
        });
    }

    #[test]
    fn migrate_to_stops_at_the_version_and_an_edited_file_is_refused() {
        check(async |db| {
            let dir = scratch(&[
                ("1_create_products.up.sql", "CREATE TABLE products (id bigint PRIMARY KEY);"),
                ("2_add_price.up.sql", "ALTER TABLE products ADD COLUMN price numeric;"),
            ]);
            migrate_to(db.url(), &dir, 1).await.unwrap();
            let price: Option<String> = sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns WHERE column_name = 'price'",
            )
            .fetch_optional(db.pool())
            .await
            .unwrap();
            assert_eq!(price, None, "version 2 must not run yet");

            std::fs::write(dir.join("1_create_products.up.sql"), "CREATE TABLE products (id int PRIMARY KEY);")
                .unwrap();
            let err = migrate_to(db.url(), &dir, 2).await.unwrap_err();
            // The chapter quotes this message word for word.
            assert_eq!(err.to_string(), "migration 1 was previously applied but has been modified");

            // The failed run's lock went with its session: the next run
            // on the same database does not hang.
            std::fs::write(dir.join("1_create_products.up.sql"), "CREATE TABLE products (id bigint PRIMARY KEY);")
                .unwrap();
            migrate_to(db.url(), &dir, 2).await.unwrap();
            std::fs::remove_dir_all(dir).unwrap();
        });
    }
}
