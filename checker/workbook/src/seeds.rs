//! Seeds: rows an application needs in every database (default cohorts,
//! an admin account), kept like migrations as pairs of
//! `<version>_<name>.up.sql` / `.down.sql` files in a `seeds/` directory.
//!
//! The engine records every seed it ran in `_workbook_seeds`, with a
//! checksum of its up file. `up` runs the seeds not run yet, in version
//! order, and runs a seed again when its file changed since (so a seed must
//! be safe to run on top of itself: `ON CONFLICT`). `down` runs the down
//! files of the recorded seeds, newest first. Each call is one transaction,
//! so seeding happens completely or not at all (a `-- no-transaction`
//! line in a seed changes nothing: seeds are rows). The checker's
//! `seed EX up|down` and the `seeds` exercise's checks both use this code.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sqlx::migrate::{MigrationType, Migrator};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::migrations::{self, SqlError};

/// The table that records which seeds ran.
pub const TABLE: &str = "_workbook_seeds";

/// One seed: an up file that inserts rows and a down file that removes
/// exactly those rows.
#[derive(Debug, Clone)]
pub struct Seed {
    pub version: i64,
    pub description: String,
    pub up_sql: String,
    pub down_sql: String,
    checksum: Vec<u8>,
}

impl Seed {
    /// The up file's name, e.g. `1_default_cohorts.up.sql`.
    pub fn up_file(&self) -> String {
        format!("{}_{}.up.sql", self.version, self.description.replace(' ', "_"))
    }

    /// The down file's name.
    pub fn down_file(&self) -> String {
        format!("{}_{}.down.sql", self.version, self.description.replace(' ', "_"))
    }
}

/// What happened to one seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedAction {
    /// Never run before: its up file ran.
    Ran,
    /// Its up file changed since it ran: it ran again.
    RanAgain,
    /// Already run, and unchanged: skipped.
    Unchanged,
    /// Its down file ran.
    Reverted,
}

/// One line of a seeding report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOutcome {
    pub version: i64,
    pub description: String,
    pub action: SeedAction,
}

impl fmt::Display for SeedOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.action {
            SeedAction::Ran => "ran",
            SeedAction::RanAgain => "ran again (its file changed)",
            SeedAction::Unchanged => "unchanged, skipped",
            SeedAction::Reverted => "reverted",
        };
        write!(f, "{}_{}: {what}", self.version, self.description.replace(' ', "_"))
    }
}

/// Where a seed stands in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedState {
    Pending,
    Applied,
    /// Applied, but its up file changed since: the next `up` runs it again.
    Changed,
    /// Recorded as applied, but its files are gone from the directory.
    Missing,
}

/// A seed and where it stands, for `seed status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedStatus {
    pub version: i64,
    pub description: String,
    pub state: SeedState,
}

/// A database brought to a ready state: the migrations that ran, then the
/// seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    pub migrations_applied: Vec<i64>,
    pub seeds: Vec<SeedOutcome>,
}

/// Why seeding failed. Messages read well after "failed to ".
#[derive(Debug)]
pub enum SeedError {
    /// The seeds directory could not be read or holds a malformed file.
    Read { dir: PathBuf, message: String },
    /// An up file without its down file, or the other way round.
    Unpaired { dir: PathBuf, file: String },
    /// The database has no migrations applied: seeds fill tables that
    /// migrations create, so they come second.
    NotMigrated,
    /// A recorded seed's files are gone, so it cannot be undone.
    Missing { version: i64 },
    /// A seed's SQL failed; PostgreSQL's message and where it points.
    Sql { file: String, error: SqlError },
    /// A migration failed during [`fresh`].
    Migrate { dir: PathBuf, message: String },
    /// Talking to the database failed outside any seed's SQL.
    Database(sqlx::Error),
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedError::Read { dir, message } => write!(f, "read the seeds in {}: {message}", dir.display()),
            SeedError::Unpaired { dir, file } => write!(
                f,
                "pair {} in {}: every seed needs an .up.sql and a .down.sql file with the same version and name",
                file,
                dir.display()
            ),
            SeedError::NotMigrated => f.write_str(
                "seed a database with no migrations applied: run the migrations first (seeds fill the tables they create)",
            ),
            SeedError::Missing { version } => write!(
                f,
                "undo seed {version}: it is recorded in {TABLE} but its files are gone; restore them to undo it"
            ),
            SeedError::Sql { file, error } => {
                write!(f, "run {file}")?;
                if let Some(p) = &error.position {
                    write!(f, ", line {}", p.line)?;
                }
                write!(f, ": {}", error.message)?;
                if let Some(d) = &error.detail {
                    write!(f, " ({d})")?;
                }
                if let Some(p) = &error.position {
                    write!(f, "\n    {} | {}", p.line, p.text.trim_end())?;
                }
                Ok(())
            }
            SeedError::Migrate { dir, message } => write!(f, "migrate with {}: {message}", dir.display()),
            SeedError::Database(e) => write!(f, "talk to the database: {e}"),
        }
    }
}

impl std::error::Error for SeedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SeedError::Database(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for SeedError {
    fn from(e: sqlx::Error) -> Self {
        SeedError::Database(e)
    }
}

/// Reads the seeds in `dir`, oldest first. A missing directory holds no
/// seeds.
pub async fn read(dir: &Path) -> Result<Vec<Seed>, SeedError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    // Seeds are named like migrations, so sqlx's reader parses them.
    let files =
        Migrator::new(dir).await.map_err(|e| SeedError::Read { dir: dir.to_path_buf(), message: e.to_string() })?;
    let mut ups = Vec::new();
    let mut downs: HashMap<i64, (String, String)> = HashMap::new();
    for m in files.iter() {
        let description = m.description.to_string();
        match m.migration_type {
            MigrationType::ReversibleUp => ups.push(m.clone()),
            MigrationType::ReversibleDown => {
                downs.insert(m.version, (description, m.sql.as_str().to_owned()));
            }
            MigrationType::Simple => {
                return Err(SeedError::Unpaired {
                    dir: dir.to_path_buf(),
                    file: format!("{}_{}.sql", m.version, description.replace(' ', "_")),
                });
            }
        }
    }
    let mut seeds = Vec::new();
    for up in ups {
        let description = up.description.to_string();
        let Some((_, down_sql)) = downs.remove(&up.version) else {
            return Err(SeedError::Unpaired {
                dir: dir.to_path_buf(),
                file: format!("{}_{}.up.sql", up.version, description.replace(' ', "_")),
            });
        };
        seeds.push(Seed {
            version: up.version,
            description,
            up_sql: up.sql.as_str().to_owned(),
            down_sql,
            checksum: up.checksum.to_vec(),
        });
    }
    if let Some((version, (description, _))) = downs.into_iter().next() {
        return Err(SeedError::Unpaired {
            dir: dir.to_path_buf(),
            file: format!("{version}_{}.down.sql", description.replace(' ', "_")),
        });
    }
    Ok(seeds)
}

/// Runs the seeds in `dir` that have not run on the database at `url`, and
/// those whose up file changed since they ran.
pub async fn up(url: &str, dir: &Path) -> Result<Vec<SeedOutcome>, SeedError> {
    let seeds = read(dir).await?;
    let mut conn = PgConnection::connect(url).await?;
    let result = up_on(&mut conn, &seeds).await;
    let _ = conn.close().await;
    result
}

/// Runs the down file of every seed recorded on the database at `url`,
/// newest first, and forgets them.
pub async fn down(url: &str, dir: &Path) -> Result<Vec<SeedOutcome>, SeedError> {
    let seeds = read(dir).await?;
    let mut conn = PgConnection::connect(url).await?;
    let result = down_on(&mut conn, &seeds).await;
    let _ = conn.close().await;
    result
}

/// Where each seed in `dir` (and each recorded one whose files are gone)
/// stands on the database at `url`.
pub async fn status(url: &str, dir: &Path) -> Result<Vec<SeedStatus>, SeedError> {
    let seeds = read(dir).await?;
    let mut conn = PgConnection::connect(url).await?;
    let recorded = recorded(&mut conn).await;
    let _ = conn.close().await;
    let recorded = recorded?;
    let mut out: Vec<SeedStatus> = seeds
        .iter()
        .map(|s| SeedStatus {
            version: s.version,
            description: s.description.clone(),
            state: match recorded.get(&s.version) {
                None => SeedState::Pending,
                Some((_, sum)) if *sum == s.checksum => SeedState::Applied,
                Some(_) => SeedState::Changed,
            },
        })
        .collect();
    for (version, (description, _)) in &recorded {
        if !seeds.iter().any(|s| s.version == *version) {
            out.push(SeedStatus { version: *version, description: description.clone(), state: SeedState::Missing });
        }
    }
    out.sort_by_key(|s| s.version);
    Ok(out)
}

/// Brings the database at `url` to a ready state: every pending migration
/// in `migrations_dir`, then every pending seed in `seeds_dir`.
pub async fn fresh(url: &str, migrations_dir: &Path, seeds_dir: &Path) -> Result<Fresh, SeedError> {
    let seeds = read(seeds_dir).await?;
    let migrator = Migrator::new(migrations_dir)
        .await
        .map_err(|e| SeedError::Migrate { dir: migrations_dir.to_path_buf(), message: e.to_string() })?;
    // A connection of its own: a failed migration keeps sqlx's advisory
    // lock on its session, and closing the session is what releases it.
    let mut conn = PgConnection::connect(url).await?;
    let result = async {
        let before = applied_migrations(&mut conn).await?;
        migrator
            .run(&mut conn)
            .await
            .map_err(|e| SeedError::Migrate { dir: migrations_dir.to_path_buf(), message: e.to_string() })?;
        let after = applied_migrations(&mut conn).await?;
        let migrations_applied = after.into_iter().filter(|v| !before.contains(v)).collect();
        let seeds = up_on(&mut conn, &seeds).await?;
        Ok(Fresh { migrations_applied, seeds })
    }
    .await;
    let _ = conn.close().await;
    result
}

async fn applied_migrations(conn: &mut PgConnection) -> Result<Vec<i64>, SeedError> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *conn).await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&mut *conn).await?)
}

/// The seeds recorded as run: version to (description, checksum).
async fn recorded(conn: &mut PgConnection) -> Result<HashMap<i64, (String, Vec<u8>)>, SeedError> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('_workbook_seeds') IS NOT NULL").fetch_one(&mut *conn).await?;
    if !exists {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, Vec<u8>)> =
        sqlx::query_as("SELECT version, description, checksum FROM _workbook_seeds").fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|(v, d, c)| (v, (d, c))).collect())
}

async fn up_on(conn: &mut PgConnection, seeds: &[Seed]) -> Result<Vec<SeedOutcome>, SeedError> {
    let mut tx = conn.begin().await?;
    let migrated: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *tx).await?;
    if !migrated {
        return Err(SeedError::NotMigrated);
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS _workbook_seeds (
            version     bigint PRIMARY KEY,
            description text NOT NULL,
            checksum    bytea NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *tx)
    .await?;
    // Two seeders at once would both see a seed as pending; the second
    // waits here until the first commits, then sees it recorded.
    sqlx::query("LOCK TABLE _workbook_seeds IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let recorded = recorded(&mut tx).await?;

    let mut outcomes = Vec::new();
    for seed in seeds {
        let action = match recorded.get(&seed.version) {
            Some((_, sum)) if *sum == seed.checksum => SeedAction::Unchanged,
            Some(_) => SeedAction::RanAgain,
            None => SeedAction::Ran,
        };
        if action != SeedAction::Unchanged {
            run_sql(&mut tx, &seed.up_sql, seed.up_file()).await?;
            sqlx::query(
                "INSERT INTO _workbook_seeds (version, description, checksum) VALUES ($1, $2, $3)
                 ON CONFLICT (version) DO UPDATE
                 SET description = EXCLUDED.description, checksum = EXCLUDED.checksum, applied_at = now()",
            )
            .bind(seed.version)
            .bind(&seed.description)
            .bind(&seed.checksum)
            .execute(&mut *tx)
            .await?;
        }
        outcomes.push(SeedOutcome { version: seed.version, description: seed.description.clone(), action });
    }
    tx.commit().await?;
    Ok(outcomes)
}

async fn down_on(conn: &mut PgConnection, seeds: &[Seed]) -> Result<Vec<SeedOutcome>, SeedError> {
    let mut tx = conn.begin().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('_workbook_seeds') IS NOT NULL").fetch_one(&mut *tx).await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query("LOCK TABLE _workbook_seeds IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _workbook_seeds ORDER BY version DESC").fetch_all(&mut *tx).await?;
    let mut outcomes = Vec::new();
    for version in versions {
        let Some(seed) = seeds.iter().find(|s| s.version == version) else {
            return Err(SeedError::Missing { version });
        };
        run_sql(&mut tx, &seed.down_sql, seed.down_file()).await?;
        sqlx::query("DELETE FROM _workbook_seeds WHERE version = $1").bind(version).execute(&mut *tx).await?;
        outcomes.push(SeedOutcome { version, description: seed.description.clone(), action: SeedAction::Reverted });
    }
    tx.commit().await?;
    Ok(outcomes)
}

async fn run_sql(conn: &mut PgConnection, sql: &str, file: String) -> Result<(), SeedError> {
    match sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(e) => Err(SeedError::Sql { file, error: migrations::sql_error(&e, sql) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;

    /// A seeds directory of its own under the system temp dir.
    fn scratch(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wb-seeds-{}-{}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    const MIGRATION: (&str, &str) = ("1_tags.up.sql", "CREATE TABLE tags (name text PRIMARY KEY)");
    const MIGRATION_DOWN: (&str, &str) = ("1_tags.down.sql", "DROP TABLE tags");

    async fn tags(db: &crate::Db) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM tags ORDER BY name").fetch_all(db.pool()).await.unwrap()
    }

    #[test]
    fn up_runs_each_seed_once_and_again_when_it_changes() {
        check(async |db| {
            let migrations = scratch(&[MIGRATION, MIGRATION_DOWN]);
            let seeds = scratch(&[
                ("1_red.up.sql", "INSERT INTO tags VALUES ('red') ON CONFLICT DO NOTHING"),
                ("1_red.down.sql", "DELETE FROM tags WHERE name = 'red'"),
            ]);
            let fresh = fresh(db.url(), &migrations, &seeds).await.unwrap();
            assert_eq!(fresh.migrations_applied, vec![1]);
            assert_eq!(fresh.seeds[0].action, SeedAction::Ran);
            assert_eq!(up(db.url(), &seeds).await.unwrap()[0].action, SeedAction::Unchanged);
            std::fs::write(
                seeds.join("1_red.up.sql"),
                "INSERT INTO tags VALUES ('red'), ('blue') ON CONFLICT DO NOTHING",
            )
            .unwrap();
            assert_eq!(status(db.url(), &seeds).await.unwrap()[0].state, SeedState::Changed);
            assert_eq!(up(db.url(), &seeds).await.unwrap()[0].action, SeedAction::RanAgain);
            assert_eq!(tags(&db).await, ["blue", "red"]);
            let undone = down(db.url(), &seeds).await.unwrap();
            assert_eq!(undone[0].action, SeedAction::Reverted);
            assert_eq!(tags(&db).await, ["blue"]);
            assert_eq!(status(db.url(), &seeds).await.unwrap()[0].state, SeedState::Pending);
            std::fs::remove_dir_all(migrations).unwrap();
            std::fs::remove_dir_all(seeds).unwrap();
        });
    }

    #[test]
    fn a_failing_seed_leaves_nothing_behind_and_names_its_line() {
        check(async |db| {
            let migrations = scratch(&[MIGRATION, MIGRATION_DOWN]);
            let seeds = scratch(&[
                ("1_a.up.sql", "INSERT INTO tags VALUES ('a')"),
                ("1_a.down.sql", "DELETE FROM tags WHERE name = 'a'"),
                ("2_b.up.sql", "-- two lines\nINSERT INTO tagz VALUES ('b')"),
                ("2_b.down.sql", "DELETE FROM tags WHERE name = 'b'"),
            ]);
            let err = fresh(db.url(), &migrations, &seeds).await.unwrap_err();
            match &err {
                SeedError::Sql { file, error } => {
                    assert_eq!(file, "2_b.up.sql");
                    assert_eq!(error.position.as_ref().map(|p| p.line), Some(2));
                    assert!(error.message.contains("tagz"), "{}", error.message);
                }
                other => panic!("expected a SQL error, got {other:?}"),
            }
            // The migrations committed; the seeds rolled back together.
            assert!(tags(&db).await.is_empty());
            std::fs::remove_dir_all(migrations).unwrap();
            std::fs::remove_dir_all(seeds).unwrap();
        });
    }

    #[test]
    fn seeding_an_unmigrated_database_is_refused() {
        check(async |db| {
            let seeds = scratch(&[("1_a.up.sql", "SELECT 1"), ("1_a.down.sql", "SELECT 1")]);
            assert!(matches!(up(db.url(), &seeds).await, Err(SeedError::NotMigrated)));
            std::fs::remove_dir_all(seeds).unwrap();
        });
    }

    #[test]
    fn an_up_file_without_a_down_file_is_refused() {
        let seeds = scratch(&[("3_x.up.sql", "SELECT 1")]);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let err = rt.block_on(read(&seeds)).unwrap_err();
        assert!(err.to_string().contains("3_x.up.sql"), "{err}");
        std::fs::remove_dir_all(seeds).unwrap();
    }
}
