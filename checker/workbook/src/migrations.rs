//! Applying and reverting a directory of sqlx migrations, with failures
//! that name the file, PostgreSQL's message and the line and column it
//! points at.
//!
//! The work itself is sqlx's `Migrator`, so a migration behaves here as it
//! will in the student's own program. Every run gets a connection of its
//! own that is closed afterwards: a `Migrator` run that fails keeps its
//! session's advisory lock, and the next run on that session would wait
//! for the lock forever.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sqlx::migrate::{Migrate, MigrateError as SqlxError, Migrator};
use sqlx::postgres::{PgConnection, PgDatabaseError, PgErrorPosition};
use sqlx::{Connection, Row};

use crate::failure::Failure;

/// One migration on disk: its up file and, if there is one, its down file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The number before the first `_` of the file name; migrations run in
    /// its order.
    pub version: i64,
    /// The rest of the name, underscores as spaces, as sqlx records it.
    pub description: String,
    pub up: PathBuf,
    pub down: Option<PathBuf>,
}

/// A migration as `_sqlx_migrations` remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
    /// SHA-384 of the up file's text when it was applied.
    pub checksum: Vec<u8>,
    pub success: bool,
}

/// Which of a migration's two files was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// A place in a migration file, from PostgreSQL's error position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The text of that line, to show under the message.
    pub text: String,
}

/// What PostgreSQL said about a statement it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub message: String,
    /// The SQLSTATE, e.g. `42601` for a syntax error.
    pub code: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub position: Option<Position>,
}

/// Why migrations could not be applied or reverted.
#[derive(Debug)]
#[non_exhaustive]
pub enum MigrationError {
    /// The directory, or a file name in it, is not a set of migrations.
    Source { dir: PathBuf, message: String },
    /// PostgreSQL refused the SQL in `file`; nothing of that file is kept.
    Sql { file: PathBuf, direction: Direction, error: SqlError },
    /// The up file of an applied migration has changed since it was
    /// applied.
    Modified { version: i64, file: PathBuf },
    /// The database applied a migration whose file is gone.
    Missing { version: i64 },
    /// Reverting needs a down file, and this migration has none.
    NoDown { version: i64, up: PathBuf },
    /// A migration failed half-way in an earlier run and was recorded so.
    Dirty { version: i64 },
    /// The database itself failed: unreachable, or a statement outside any
    /// migration file.
    Database(sqlx::Error),
}

impl std::error::Error for MigrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MigrationError::Database(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::Source { dir, message } => {
                write!(f, "{}: {message}", shown(dir))
            }
            MigrationError::Sql { file, direction: _, error } => {
                write!(f, "{}", shown(file))?;
                if let Some(p) = &error.position {
                    write!(f, ":{}:{}", p.line, p.column)?;
                }
                write!(f, ": {}", error.message)?;
                if let Some(code) = &error.code {
                    write!(f, " (SQLSTATE {code})")?;
                }
                if let Some(p) = &error.position {
                    let gutter = p.line.to_string().len();
                    write!(f, "\n {:gutter$} |\n {} | {}", "", p.line, p.text)?;
                    // The caret sits under the column PostgreSQL named; tabs
                    // before it are kept so it lines up in a terminal.
                    let pad: String = p
                        .text
                        .chars()
                        .take(p.column.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    write!(f, "\n {:gutter$} | {pad}^", "")?;
                }
                if let Some(d) = &error.detail {
                    write!(f, "\ndetail: {d}")?;
                }
                if let Some(h) = &error.hint {
                    write!(f, "\nhint: {h}")?;
                }
                Ok(())
            }
            MigrationError::Modified { version, file } => write!(
                f,
                "migration {version} ({}) was applied to this database, and its file has changed since",
                shown(file)
            ),
            MigrationError::Missing { version } => write!(
                f,
                "migration {version} was applied to this database, but no file in the migrations directory has that version"
            ),
            MigrationError::NoDown { version, up } => {
                write!(f, "migration {version} ({}) has no down file, so it cannot be reverted", shown(up))
            }
            MigrationError::Dirty { version } => {
                write!(f, "migration {version} failed part-way in an earlier run and is marked unfinished")
            }
            MigrationError::Database(e) => write!(f, "{e}"),
        }
    }
}

/// A path as a student should see it: relative to the current directory
/// when it is under it (cargo runs checks in the exercise's directory).
pub(crate) fn shown(path: &Path) -> String {
    let rel = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    rel.unwrap_or_else(|| path.to_path_buf()).display().to_string()
}

/// A check failure that explains `e`, which happened while `doing` (for
/// example "applying the migrations in migrations/").
pub fn failure(doing: impl Into<String>, e: &MigrationError) -> Failure {
    let exercise = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<exercise>".to_owned());
    let f = Failure::new(doing).got(e.to_string());
    match e {
        MigrationError::Sql { direction: Direction::Up, .. } => {
            f.expected("every up migration applies cleanly to an empty database").hint(format!(
                "PostgreSQL stopped at the line and column shown: fix the SQL there. A migration that fails \
                 leaves nothing behind, so you can try again by hand with `cargo checker migrate {exercise} up`."
            ))
        }
        MigrationError::Sql { direction: Direction::Down, .. } => {
            f.expected("every down migration undoes its up cleanly, right after the up ran").hint(
                "A down may only drop what its up created, in reverse order: first what depends on \
                 something (indexes, tables), then what they depended on (types, functions).",
            )
        }
        MigrationError::NoDown { .. } => {
            f.expected("a .down.sql file next to every .up.sql, with the same version and description").hint(
                "Without a down file nobody can undo this migration: sqlx silently skips it. Create the \
                 .down.sql file and write in it the SQL that undoes the up (DROP what the up CREATEd).",
            )
        }
        MigrationError::Source { .. } => {
            f.expected("migration files named <version>_<description>.up.sql and .down.sql").hint(format!(
                "`cargo checker migrate {exercise} new <description>` creates a correctly named, timestamped pair."
            ))
        }
        MigrationError::Modified { .. } | MigrationError::Missing { .. } | MigrationError::Dirty { .. } => f
            .expected("a database whose applied migrations match the files")
            .hint("This should not happen in a fresh check database; run the checks again."),
        MigrationError::Database(_) => f.expected("a database to migrate"),
    }
}

/// The migrations in `dir`, oldest first, named as sqlx names them:
/// `<version>_<description>.up.sql` and `.down.sql`, or a plain
/// `<version>_<description>.sql` that cannot be reverted.
#[expect(clippy::result_large_err, reason = "one error per run; checks match on its variants by value")]
pub fn files(dir: &Path) -> Result<Vec<MigrationFile>, MigrationError> {
    let source_error = |message: String| MigrationError::Source { dir: dir.to_path_buf(), message };
    let entries = std::fs::read_dir(dir).map_err(|e| source_error(format!("cannot read the directory: {e}")))?;
    let mut ups: BTreeMap<i64, Vec<(String, PathBuf)>> = BTreeMap::new();
    let mut downs: BTreeMap<i64, Vec<PathBuf>> = BTreeMap::new();
    let mut names: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    names.sort();
    for (name, path) in names {
        // The same rule as sqlx: anything without `_` or not ending in .sql
        // is not a migration and is ignored.
        let Some((version, rest)) = name.split_once('_') else { continue };
        if !rest.ends_with(".sql") {
            continue;
        }
        let version: i64 = version.parse().map_err(|_| {
            source_error(format!(
                "{name:?} does not start with a version number; name migrations <version>_<description>.up.sql, \
                 for example with `cargo checker migrate <exercise> new <description>`"
            ))
        })?;
        if rest.ends_with(".down.sql") {
            downs.entry(version).or_default().push(path);
        } else {
            let desc = rest.strip_suffix(".up.sql").unwrap_or_else(|| rest.trim_end_matches(".sql"));
            ups.entry(version).or_default().push((desc.replace('_', " "), path));
        }
    }
    if let Some((version, list)) = ups.iter().find(|(_, l)| l.len() > 1) {
        let names: Vec<String> = list.iter().map(|(_, p)| file_name(p)).collect();
        return Err(source_error(format!(
            "{} migrations share version {version}: {}; every migration needs a version of its own",
            list.len(),
            names.join(", ")
        )));
    }
    for (version, list) in &downs {
        if list.len() > 1 {
            let names: Vec<String> = list.iter().map(|p| file_name(p)).collect();
            return Err(source_error(format!("two down files share version {version}: {}", names.join(", "))));
        }
        if !ups.contains_key(version) {
            return Err(source_error(format!(
                "{} has no matching up file (<version>_<description>.up.sql with version {version})",
                file_name(&list[0])
            )));
        }
    }
    Ok(ups
        .into_iter()
        .map(|(version, mut list)| {
            let (description, up) = list.remove(0);
            let down = downs.get_mut(&version).and_then(|d| d.pop());
            MigrationFile { version, description, up, down }
        })
        .collect())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Applies every pending migration in `dir` to the database at `url`,
/// oldest first, and returns the ones it applied.
///
/// Applied migrations whose up file changed since are refused
/// ([`MigrationError::Modified`]), as sqlx refuses them.
pub async fn up(url: &str, dir: &Path) -> Result<Vec<MigrationFile>, MigrationError> {
    apply(url, dir, None).await
}

/// Applies the pending migrations in `dir` up to and including version
/// `target`, and returns the ones it applied: one step of a deploy.
pub async fn up_to(url: &str, dir: &Path, target: i64) -> Result<Vec<MigrationFile>, MigrationError> {
    apply(url, dir, Some(target)).await
}

async fn apply(url: &str, dir: &Path, target: Option<i64>) -> Result<Vec<MigrationFile>, MigrationError> {
    crate::timing::migrating(url, apply_untimed(url, dir, target)).await
}

async fn apply_untimed(url: &str, dir: &Path, target: Option<i64>) -> Result<Vec<MigrationFile>, MigrationError> {
    let files = files(dir)?;
    let migrator = load(dir).await?;
    let mut conn = connect(url).await?;
    let result = run_up(&mut conn, &migrator, &files, target).await;
    finish(conn).await;
    result
}

/// What sqlx's `Migrator::run_to` does, step by step through the public
/// `Migrate` trait: its futures are `Send` (so these functions can run on
/// a spawned task, which `Migrator`'s `Acquire`-generic ones cannot), and
/// the caller learns which migrations ran.
async fn run_up(
    conn: &mut PgConnection,
    migrator: &Migrator,
    files: &[MigrationFile],
    target: Option<i64>,
) -> Result<Vec<MigrationFile>, MigrationError> {
    let explain = |e| explain(e, files, Direction::Up);
    let applied = start(conn, migrator).await.map_err(explain)?;
    let mut ran = Vec::new();
    for migration in migrator.iter().filter(|m| m.migration_type.is_up_migration()) {
        if target.is_some_and(|t| migration.version > t) {
            break;
        }
        match applied.get(&migration.version) {
            Some(sum) if *sum != *migration.checksum => {
                return Err(explain(SqlxError::VersionMismatch(migration.version)));
            }
            Some(_) => {}
            None => {
                conn.apply(TABLE, migration).await.map_err(explain)?;
                ran.extend(files.iter().find(|f| f.version == migration.version).cloned());
            }
        }
    }
    conn.unlock().await.map_err(explain)?;
    Ok(ran)
}

/// sqlx's bookkeeping table, as `Migrator` names it by default.
const TABLE: &str = "_sqlx_migrations";

/// The steps every run begins with, as in sqlx: take the advisory lock,
/// make sure the bookkeeping table exists, refuse a half-applied database
/// and applied migrations that have no file. Returns the applied versions
/// with their checksums.
async fn start(conn: &mut PgConnection, migrator: &Migrator) -> Result<BTreeMap<i64, Vec<u8>>, SqlxError> {
    conn.lock().await?;
    conn.ensure_migrations_table(TABLE).await?;
    if let Some(version) = conn.dirty_version(TABLE).await? {
        return Err(SqlxError::Dirty(version));
    }
    let applied = conn.list_applied_migrations(TABLE).await?;
    if let Some(gone) = applied.iter().find(|a| !migrator.version_exists(a.version)) {
        return Err(SqlxError::VersionMissing(gone.version));
    }
    Ok(applied.into_iter().map(|a| (a.version, a.checksum.into_owned())).collect())
}

/// Reverts every applied migration newer than `target`, newest first, and
/// returns the ones it reverted. `target` 0 reverts them all.
///
/// Unlike sqlx's `undo`, which silently skips a migration with no down
/// file, a missing down file is an error, and nothing is reverted.
pub async fn down_to(url: &str, dir: &Path, target: i64) -> Result<Vec<MigrationFile>, MigrationError> {
    crate::timing::migrating(url, async {
        let files = files(dir)?;
        let migrator = load(dir).await?;
        let mut conn = connect(url).await?;
        let result = revert(&mut conn, &migrator, &files, Some(target)).await;
        finish(conn).await;
        result
    })
    .await
}

/// Reverts the newest applied migration; `None` if none is applied.
pub async fn down_last(url: &str, dir: &Path) -> Result<Option<MigrationFile>, MigrationError> {
    crate::timing::migrating(url, async {
        let files = files(dir)?;
        let migrator = load(dir).await?;
        let mut conn = connect(url).await?;
        let result = revert(&mut conn, &migrator, &files, None).await;
        finish(conn).await;
        result.map(|mut reverted| reverted.pop())
    })
    .await
}

/// `target` None: only the newest applied migration.
async fn revert(
    conn: &mut PgConnection,
    migrator: &Migrator,
    files: &[MigrationFile],
    target: Option<i64>,
) -> Result<Vec<MigrationFile>, MigrationError> {
    let explain = |e| explain(e, files, Direction::Down);
    let applied = start(conn, migrator).await.map_err(explain)?;
    let versions: Vec<i64> = applied.keys().copied().collect();
    let target = match target {
        Some(t) => t,
        None => match versions.len() {
            0 => return Ok(Vec::new()),
            n if n >= 2 => versions[n - 2],
            _ => 0,
        },
    };
    // Every down file is found before any runs: sqlx's `undo` would skip a
    // migration without one and carry on, leaving the schema half-reverted.
    let mut reverting = Vec::new();
    for version in versions.iter().rev().filter(|v| **v > target) {
        let file = files.iter().find(|f| f.version == *version).ok_or(MigrationError::Missing { version: *version })?;
        let down = migrator.iter().find(|m| m.version == *version && m.migration_type.is_down_migration());
        match down {
            Some(down) if file.down.is_some() => reverting.push((file.clone(), down)),
            _ => return Err(MigrationError::NoDown { version: file.version, up: file.up.clone() }),
        }
    }
    for (_, down) in &reverting {
        conn.revert(TABLE, down).await.map_err(explain)?;
    }
    conn.unlock().await.map_err(explain)?;
    Ok(reverting.into_iter().map(|(file, _)| file).collect())
}

/// The migrations applied to the database at `url`, oldest first; empty
/// when it has never been migrated.
pub async fn applied(url: &str) -> Result<Vec<AppliedMigration>, MigrationError> {
    let mut conn = connect(url).await?;
    let result = applied_on(&mut conn).await;
    finish(conn).await;
    result
}

async fn applied_on(conn: &mut PgConnection) -> Result<Vec<AppliedMigration>, MigrationError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(MigrationError::Database)?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT version, description, checksum, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(MigrationError::Database)?;
    Ok(rows
        .iter()
        .map(|r| AppliedMigration {
            version: r.get("version"),
            description: r.get("description"),
            checksum: r.get("checksum"),
            success: r.get("success"),
        })
        .collect())
}

/// SHA-384 of a migration's text, as sqlx stores it in `_sqlx_migrations`.
pub async fn checksums(dir: &Path) -> Result<BTreeMap<i64, Vec<u8>>, MigrationError> {
    let migrator = load(dir).await?;
    Ok(migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.checksum.to_vec()))
        .collect())
}

async fn load(dir: &Path) -> Result<Migrator, MigrationError> {
    Migrator::new(dir.to_path_buf())
        .await
        .map_err(|e| MigrationError::Source { dir: dir.to_path_buf(), message: e.to_string() })
}

async fn connect(url: &str) -> Result<PgConnection, MigrationError> {
    PgConnection::connect(url).await.map_err(MigrationError::Database)
}

/// Closes the session, which also drops any advisory lock a failed run
/// left behind on it.
async fn finish(conn: PgConnection) {
    let _ = conn.close().await;
}

fn explain(e: SqlxError, files: &[MigrationFile], direction: Direction) -> MigrationError {
    let file_of = |version: i64| files.iter().find(|f| f.version == version);
    match e {
        SqlxError::ExecuteMigration(err, version) => {
            let Some(file) = file_of(version) else { return MigrationError::Database(err) };
            let path = match direction {
                Direction::Up => file.up.clone(),
                Direction::Down => file.down.clone().unwrap_or_else(|| file.up.clone()),
            };
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            MigrationError::Sql { error: sql_error(&err, &text), file: path, direction }
        }
        SqlxError::VersionMismatch(version) => match file_of(version) {
            Some(f) => MigrationError::Modified { version, file: f.up.clone() },
            None => MigrationError::Missing { version },
        },
        SqlxError::VersionMissing(version) => MigrationError::Missing { version },
        SqlxError::Dirty(version) => MigrationError::Dirty { version },
        SqlxError::Execute(err) => MigrationError::Database(err),
        other => MigrationError::Database(sqlx::Error::Migrate(Box::new(other))),
    }
}

/// PostgreSQL's error, with its position (a character offset into the
/// text that was sent, which for a migration is the whole file) turned into
/// a line and column of `text`.
pub fn sql_error(err: &sqlx::Error, text: &str) -> SqlError {
    let Some(pg) = err.as_database_error().and_then(|d| d.try_downcast_ref::<PgDatabaseError>()) else {
        return SqlError { message: err.to_string(), code: None, detail: None, hint: None, position: None };
    };
    let position = match pg.position() {
        Some(PgErrorPosition::Original(offset)) => position_in(text, offset),
        _ => None,
    };
    SqlError {
        message: pg.message().to_owned(),
        code: Some(pg.code().to_owned()),
        detail: pg.detail().map(str::to_owned),
        hint: pg.hint().map(str::to_owned),
        position,
    }
}

/// Line and column of the `offset`-th character (1-based, as PostgreSQL
/// counts) of `text`.
pub fn position_in(text: &str, offset: usize) -> Option<Position> {
    let index = offset.checked_sub(1)?;
    let mut line_start = 0;
    let mut line = 1;
    for (i, (byte, ch)) in text.char_indices().enumerate() {
        if i == index {
            let column = text[line_start..byte].chars().count() + 1;
            let end = text[line_start..].find('\n').map_or(text.len(), |n| line_start + n);
            let text = text[line_start..end].trim_end_matches('\r').to_owned();
            return Some(Position { line, column, text });
        }
        if ch == '\n' {
            line += 1;
            line_start = byte + 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_characters_not_bytes() {
        let text = "-- é\nCREATE TABLE x (\n  naïve txet\n);\n";
        // "txet" is character 31 (1-based): 5 + 17 + 8 characters before it.
        let offset = text[..text.find("txet").unwrap()].chars().count() + 1;
        assert_eq!(offset, 31);
        let p = position_in(text, offset).unwrap();
        assert_eq!((p.line, p.column), (3, 9));
        assert_eq!(p.text, "  naïve txet");
        assert_eq!(position_in(text, 1).unwrap().line, 1);
        assert!(position_in(text, 0).is_none());
        assert!(position_in(text, 10_000).is_none());
    }

    #[test]
    fn files_pairs_up_and_down_and_rejects_strays() {
        let dir = std::env::temp_dir().join(format!("wb-migfiles-{}-{}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("2_add_index.up.sql"), "").unwrap();
        std::fs::write(dir.join("1_create_things.up.sql"), "").unwrap();
        std::fs::write(dir.join("1_create_things.down.sql"), "").unwrap();
        std::fs::write(dir.join("README.md"), "").unwrap();
        let found = files(&dir).unwrap();
        assert_eq!(found.iter().map(|f| f.version).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(found[0].description, "create things");
        assert!(found[0].down.is_some());
        assert!(found[1].down.is_none());

        std::fs::write(dir.join("3_orphan.down.sql"), "").unwrap();
        let err = files(&dir).unwrap_err().to_string();
        assert!(err.contains("3_orphan.down.sql has no matching up file"), "{err}");
        std::fs::remove_file(dir.join("3_orphan.down.sql")).unwrap();

        std::fs::write(dir.join("2_other.up.sql"), "").unwrap();
        let err = files(&dir).unwrap_err().to_string();
        assert!(err.contains("share version 2"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
