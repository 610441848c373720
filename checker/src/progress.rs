//! The student's progress: which exercises pass, which one is current, how
//! many hints were shown. Written atomically (write, sync, rename) so a
//! crash leaves the old file or the new one, never half of each; a file
//! that cannot be read anyway is kept aside, not lost.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::course::Course;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The exercise the watch loop works on.
    #[serde(default)]
    pub current: Option<String>,
    /// Exercises whose checks all passed.
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// How many hints of each exercise were shown.
    #[serde(default)]
    pub hints_shown: BTreeMap<String, usize>,
}

/// Where progress lives: `.workbook/progress.json` at the course root
/// (ignored by git, untouched by `cargo clean`).
/// `WORKBOOK_STATE_DIR` moves it (the test suite uses that).
pub fn path(course: &Course) -> PathBuf {
    match std::env::var_os("WORKBOOK_STATE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("progress.json"),
        _ => course.root.join(".workbook").join("progress.json"),
    }
}

impl Progress {
    /// Reads progress. A missing file is a fresh start; an unreadable one
    /// is moved aside and reported in the returned warning.
    pub fn load(path: &Path) -> (Progress, Option<String>) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Progress::default(), None),
            Err(e) => {
                return (
                    Progress::default(),
                    Some(format!("could not read {}: {e}; starting without it", path.display())),
                );
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(p) => (p, None),
            Err(e) => {
                let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
                let aside = path.with_extension(format!("json.corrupt-{stamp}"));
                let kept = std::fs::rename(path, &aside).is_ok();
                let mut msg = format!("your progress file {} was unreadable ({e}).", path.display());
                if kept {
                    msg.push_str(&format!(" It was kept as {}.", aside.display()));
                }
                msg.push_str(" Starting fresh: run `cargo checker verify` to mark what you have already solved.");
                (Progress::default(), Some(msg))
            }
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".progress.{}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// The current exercise: the one chosen last, else the first unsolved.
    pub fn current<'c>(&self, course: &'c Course) -> Option<&'c crate::course::Exercise> {
        if let Some(slug) = &self.current
            && let Some(ex) = course.exercises.iter().find(|e| &e.slug == slug)
        {
            return Some(ex);
        }
        course.exercises.iter().find(|e| !self.done.contains(&e.slug)).or_else(|| course.exercises.last())
    }

    /// The first unsolved exercise after `slug`, wrapping to earlier ones.
    pub fn next_after<'c>(&self, course: &'c Course, slug: &str) -> Option<&'c crate::course::Exercise> {
        let i = course.index_of(slug)?;
        let n = course.exercises.len();
        (1..n).map(|k| &course.exercises[(i + k) % n]).find(|e| !self.done.contains(&e.slug))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("progress.json");
        let mut prog = Progress::default();
        prog.done.insert("connect".into());
        prog.current = Some("seeds".into());
        prog.save(&p).unwrap();
        assert_eq!(Progress::load(&p), (prog, None));
    }

    #[test]
    fn a_corrupted_file_is_kept_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("progress.json");
        std::fs::write(&p, b"{\"done\": [\"conn").unwrap();
        let (prog, warning) = Progress::load(&p);
        assert_eq!(prog, Progress::default());
        let warning = warning.expect("a warning");
        assert!(warning.contains("kept as"), "{warning}");
        let kept: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(kept.iter().any(|n| n.to_string_lossy().contains("corrupt")), "{kept:?}");
    }
}
