//! Running an exercise's migrations one version at a time, the way a
//! deploy does, so a check can fill tables and look around between steps.
//!
//! [`crate::migrations`] applies everything pending; this module stops at
//! a version. Every step opens a connection of its own and closes it
//! afterwards: sqlx's migrator keeps its session advisory lock when a
//! migration fails, and a pooled connection still holding that lock would
//! make the next migration on the database wait forever.

use std::path::{Path, PathBuf};

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{Connection, PgConnection};

use crate::migrations::{self, Direction, MigrationError, MigrationFile};

/// An exercise's migrations, read once from their directory.
pub struct Steps {
    dir: PathBuf,
    files: Vec<MigrationFile>,
    migrator: Migrator,
}

impl Steps {
    /// Reads the migrations in `dir`.
    pub async fn read(dir: impl AsRef<Path>) -> Result<Steps, MigrationError> {
        let dir = dir.as_ref().to_path_buf();
        let files = migrations::files(&dir)?;
        let migrator = Migrator::new(dir.as_path())
            .await
            .map_err(|e| MigrationError::Source { dir: dir.clone(), message: e.to_string() })?;
        Ok(Steps { dir, files, migrator })
    }

    /// Reads the migrations in `dir`, failing the check if they cannot be
    /// read.
    pub async fn load(dir: impl AsRef<Path>) -> Steps {
        match Steps::read(dir.as_ref()).await {
            Ok(steps) => steps,
            Err(e) => migrations::failure(format!("reading the migrations in {}", dir.as_ref().display()), &e).fail(),
        }
    }

    /// The migrations, oldest first.
    pub fn files(&self) -> &[MigrationFile] {
        &self.files
    }

    /// The migration with `version`, if there is one.
    pub fn file(&self, version: i64) -> Option<&MigrationFile> {
        self.files.iter().find(|f| f.version == version)
    }

    /// The directory the migrations were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies every migration up to and including `version` that is not
    /// applied yet, on a connection of its own.
    pub async fn up_to(&self, url: &str, version: i64) -> Result<(), MigrationError> {
        crate::timing::migrating(url, async {
            let conn = PgConnection::connect(url).await.map_err(MigrationError::Database)?;
            self.up_to_on(conn, version).await
        })
        .await
    }

    /// Like [`Steps::up_to`], on a connection the caller opened (to learn
    /// its backend pid first, say). The connection is closed afterwards.
    pub async fn up_to_on(&self, mut conn: PgConnection, version: i64) -> Result<(), MigrationError> {
        let result = self.migrator.run_to(version, &mut conn).await;
        // Closing ends the session, and with it any advisory lock a failed
        // run left behind.
        let _ = conn.close().await;
        result.map_err(|e| self.explain(e))
    }

    /// Reverts every applied migration newer than `version`, newest first.
    /// A migration with no down file is an error here, not skipped.
    pub async fn down_to(&self, url: &str, version: i64) -> Result<(), MigrationError> {
        migrations::down_to(url, &self.dir, version).await.map(drop)
    }

    fn explain(&self, error: MigrateError) -> MigrationError {
        match error {
            MigrateError::ExecuteMigration(err, version) => match self.file(version) {
                Some(file) => {
                    let text = std::fs::read_to_string(&file.up).unwrap_or_default();
                    MigrationError::Sql {
                        error: migrations::sql_error(&err, &text),
                        file: file.up.clone(),
                        direction: Direction::Up,
                    }
                }
                None => MigrationError::Database(err),
            },
            MigrateError::Execute(err) => MigrationError::Database(err),
            MigrateError::Dirty(version) => MigrationError::Dirty { version },
            MigrateError::VersionMissing(version) => MigrationError::Missing { version },
            other => MigrationError::Database(sqlx::Error::Migrate(Box::new(other))),
        }
    }
}

/// Every row of `table` as JSON text, ordered by that text. A JSON object
/// lists its keys in a fixed order, so a column that was dropped and added
/// back (at the end of the table, as `ALTER TABLE` must) still compares
/// equal.
pub async fn table_rows(pool: &sqlx::PgPool, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(r#"SELECT to_jsonb(t)::text FROM "{table}" t ORDER BY 1"#);
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await
}
