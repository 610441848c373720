//! Seeding a student's sandbox database: `checker seed EX up|down|status`
//! and the fresh start (migrate, then seed).
//!
//! The engine is `workbook::seeds`, the same code the `seeds` exercise's
//! checks run, so what a student sees by hand is what the checks judge.
//! This module only picks the directories of an exercise and words the
//! outcome for a terminal.

use std::path::{Path, PathBuf};

pub use workbook::seeds::{Fresh, SeedAction, SeedError, SeedOutcome, SeedState, SeedStatus};

/// The directory an exercise keeps its seeds in.
pub fn seeds_dir(exercise_dir: &Path) -> PathBuf {
    exercise_dir.join("seeds")
}

/// The directory an exercise keeps its migrations in.
pub fn migrations_dir(exercise_dir: &Path) -> PathBuf {
    exercise_dir.join("migrations")
}

/// Creates a timestamped seed pair in `seeds_dir`, named like a
/// migration, so it runs after every seed already there.
pub fn new(seeds_dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), crate::migrate::MigrateError> {
    crate::migrate::new_pair(
        seeds_dir,
        name,
        "seed",
        &|name| {
            format!(
                "-- Seed: {name}.\n-- INSERT the rows every database needs. It must be safe to run again on a\n\
                 -- database that has them already (ON CONFLICT ... DO NOTHING), and must\n\
                 -- never write an id: look related rows up by a unique value.\n"
            )
        },
        "-- Undo the seed: DELETE exactly the rows its up file inserts, found by the\n\
         -- unique values it gave them, and never a row someone else created.\n",
    )
}

/// Runs every pending (or changed) seed in `seeds_dir` on the database at
/// `url`, in one transaction.
pub async fn up(url: &str, seeds_dir: &Path) -> Result<Vec<SeedOutcome>, SeedError> {
    workbook::seeds::up(url, seeds_dir).await
}

/// Undoes every seed recorded on the database at `url`, newest first, in
/// one transaction.
pub async fn down(url: &str, seeds_dir: &Path) -> Result<Vec<SeedOutcome>, SeedError> {
    workbook::seeds::down(url, seeds_dir).await
}

/// Where each seed stands on the database at `url`.
pub async fn status(url: &str, seeds_dir: &Path) -> Result<Vec<SeedStatus>, SeedError> {
    workbook::seeds::status(url, seeds_dir).await
}

/// The fresh start: applies every pending migration in `migrations_dir`,
/// then runs every pending seed in `seeds_dir`.
pub async fn fresh(url: &str, migrations_dir: &Path, seeds_dir: &Path) -> Result<Fresh, SeedError> {
    workbook::seeds::fresh(url, migrations_dir, seeds_dir).await
}

/// One line per seed, for the terminal: `1_default_cohorts: ran`.
pub fn describe(outcomes: &[SeedOutcome]) -> String {
    if outcomes.is_empty() {
        return "no seeds to run".to_owned();
    }
    outcomes.iter().map(|o| format!("  {o}\n")).collect()
}

/// One line per seed for `seed status`.
pub fn describe_status(statuses: &[SeedStatus]) -> String {
    if statuses.is_empty() {
        return "no seeds in this exercise".to_owned();
    }
    statuses
        .iter()
        .map(|s| {
            let state = match s.state {
                SeedState::Pending => "pending",
                SeedState::Applied => "applied",
                SeedState::Changed => "applied, file changed since (the next `up` runs it again)",
                SeedState::Missing => "applied, but its files are gone",
            };
            format!("  {}_{}: {state}\n", s.version, s.description.replace(' ', "_"))
        })
        .collect()
}

/// What to try next after `e`, for the line under the error.
pub fn next_step(e: &SeedError, exercise: &str) -> String {
    match e {
        SeedError::NotMigrated => format!(
            "Apply the migrations first: `cargo checker migrate {exercise} up`, or migrate and seed in one go with the fresh start."
        ),
        SeedError::Sql { .. } => format!(
            "Fix the SQL at that line; nothing of this run was kept, so run `cargo checker seed {exercise} up` again."
        ),
        SeedError::Unpaired { .. } => {
            "Every seed is a pair: <version>_<name>.up.sql and <version>_<name>.down.sql.".to_owned()
        }
        SeedError::Missing { .. } => {
            "Restore the seed's files (git can bring them back), then run down again.".to_owned()
        }
        SeedError::Migrate { .. } => format!("Run `cargo checker migrate {exercise} up` to see the failing migration."),
        SeedError::Read { .. } | SeedError::Database(_) => {
            "Check that the database is running: `cargo checker db status`.".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_lists_each_seed_on_its_own_line() {
        let text = describe(&[
            SeedOutcome { version: 1, description: "default cohorts".into(), action: SeedAction::Ran },
            SeedOutcome { version: 2, description: "admin user".into(), action: SeedAction::Unchanged },
        ]);
        assert_eq!(text, "  1_default_cohorts: ran\n  2_admin_user: unchanged, skipped\n");
        assert_eq!(describe(&[]), "no seeds to run");
    }

    #[test]
    fn next_step_for_an_unmigrated_database_names_the_migrate_command() {
        let hint = next_step(&SeedError::NotMigrated, "seeds");
        assert!(hint.contains("cargo checker migrate seeds up"), "{hint}");
    }
}
