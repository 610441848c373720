//! The course as `exercises/info.toml` describes it, and where it lives.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default time an exercise's build-and-check run may take, in seconds.
const DEFAULT_TIME_LIMIT: u64 = 120;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub slug: String,
    pub title: String,
    /// The book section that teaches it, relative to `book/src`.
    pub book: String,
    /// Globs (relative to the exercise) of the files a student may edit.
    pub editable: Vec<String>,
    #[serde(default = "one")]
    pub points: u32,
    #[serde(default)]
    pub hints: Vec<String>,
    /// Seconds the whole run (build and checks) may take.
    #[serde(default)]
    pub time_limit: Option<u64>,
}

fn one() -> u32 {
    1
}

impl Exercise {
    pub fn time_limit(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.time_limit.unwrap_or(DEFAULT_TIME_LIMIT))
    }

    /// Whether `rel` (a path relative to the exercise, with `/`) is a file
    /// the student may edit.
    pub fn is_editable(&self, rel: &str) -> bool {
        self.editable.iter().any(|g| glob_match(g, rel))
    }
}

/// Why the course could not be read, or an exercise not found.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    #[error(
        "no course here: {} has no exercises/info.toml above it.\n\
         Run the checker inside your clone of the workbook repository.",
        start.display()
    )]
    NotFound { start: PathBuf },

    #[error("reading {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },

    #[error("{} is not valid: {message}", path.display())]
    Invalid { path: PathBuf, message: String },

    #[error("{}", unknown_exercise(slug, closest.as_deref()))]
    UnknownExercise { slug: String, closest: Option<String> },

    #[error("the course has no exercises")]
    Empty,
}

fn unknown_exercise(slug: &str, closest: Option<&str>) -> String {
    let mut msg = format!("there is no exercise named `{slug}`.");
    if let Some(c) = closest {
        msg.push_str(&format!(" Did you mean `{c}`?"));
    }
    msg.push_str("\nRun `cargo checker list` to see them all.");
    msg
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoFile {
    exercises: Vec<Exercise>,
}

/// The whole course: its root directory and its exercises in order.
#[derive(Debug, Clone)]
pub struct Course {
    pub root: PathBuf,
    pub exercises: Vec<Exercise>,
}

impl Course {
    /// Finds the course from `start` upwards (the directory holding
    /// `exercises/info.toml`) and reads it.
    pub fn discover(start: &Path) -> Result<Course, CourseError> {
        let root = start
            .ancestors()
            .find(|d| d.join("exercises/info.toml").is_file())
            .ok_or_else(|| CourseError::NotFound { start: start.to_path_buf() })?;
        Course::load(root)
    }

    pub fn load(root: &Path) -> Result<Course, CourseError> {
        let path = root.join("exercises/info.toml");
        let text = std::fs::read_to_string(&path).map_err(|error| CourseError::Read { path: path.clone(), error })?;
        let info: InfoFile =
            toml::from_str(&text).map_err(|e| CourseError::Invalid { path: path.clone(), message: e.to_string() })?;
        Ok(Course { root: root.to_path_buf(), exercises: info.exercises })
    }

    pub fn exercise_dir(&self, ex: &Exercise) -> PathBuf {
        self.root.join("exercises").join(&ex.slug)
    }

    pub fn solution_dir(&self, ex: &Exercise) -> PathBuf {
        self.root.join("solutions").join(&ex.slug)
    }

    /// `path` relative to the course root when it is inside it, for messages.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    pub fn target_dir(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| self.root.join("target"))
    }

    /// The checker's own state under `target/workbook`.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join("target").join("workbook")
    }

    pub fn index_of(&self, slug: &str) -> Option<usize> {
        self.exercises.iter().position(|e| e.slug == slug)
    }

    /// Looks an exercise up by slug, suggesting the closest one on a typo.
    pub fn find(&self, slug: &str) -> Result<&Exercise, CourseError> {
        if let Some(ex) = self.exercises.iter().find(|e| e.slug == slug) {
            return Ok(ex);
        }
        let closest = self
            .exercises
            .iter()
            .map(|e| (strsim::jaro_winkler(slug, &e.slug), &e.slug))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(score, _)| *score > 0.7)
            .map(|(_, s)| s.clone());
        Err(CourseError::UnknownExercise { slug: slug.to_owned(), closest })
    }

    /// The exercises named by `slugs` in that order, or all of them when
    /// `slugs` is empty.
    pub fn select(&self, slugs: &[String]) -> Result<Vec<Exercise>, CourseError> {
        if slugs.is_empty() {
            return Ok(self.exercises.clone());
        }
        slugs.iter().map(|s| self.find(s).cloned()).collect()
    }

    /// Every editable file of an exercise directory, as paths relative to
    /// it, sorted.
    pub fn editable_files(&self, ex: &Exercise, dir: &Path) -> Vec<String> {
        let mut out = relative_files(dir);
        out.retain(|rel| ex.is_editable(rel));
        out
    }
}

/// Every regular file under `dir`, as sorted paths relative to it with
/// `/` separators. A top-level `target/` or `.git/` is skipped, and so are symlinks:
/// a submission must not point a build at files outside itself.
pub fn relative_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let (Ok(ft), Ok(rel)) = (entry.file_type(), path.strip_prefix(base)) else { continue };
            if ft.is_dir() {
                let top_level_skip = dir == base && matches!(entry.file_name().to_str(), Some("target" | ".git"));
                if !top_level_skip {
                    walk(base, &path, out);
                }
            } else if ft.is_file() {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Matches `*` (within a path segment), `**` (any number of segments) and
/// literal text: all `info.toml` globs need.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(s: &str) -> Vec<&str> {
        s.split('/').filter(|p| !p.is_empty()).collect()
    }
    fn seg_match(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg_match(&p[1..], s) || (!s.is_empty() && seg_match(p, &s[1..])),
            (Some(a), Some(b)) if a == b => seg_match(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn go(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(a), Some(b)) => seg_match(a.as_bytes(), b.as_bytes()) && go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(&segs(pattern), &segs(path))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn relative_files_lists_nested_files_but_not_the_top_level_target() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["src/lib.rs", "src/target/x.rs", "target/debug/y", "migrations/1_a.up.sql"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        assert_eq!(super::relative_files(dir.path()), ["migrations/1_a.up.sql", "src/lib.rs", "src/target/x.rs"]);
    }

    #[test]
    fn globs_match_what_info_toml_means() {
        assert!(glob_match("src/**", "src/lib.rs"));
        assert!(glob_match("src/**", "src/a/b.rs"));
        assert!(!glob_match("src/**", "tests/checks.rs"));
        assert!(!glob_match("src/**", "Cargo.toml"));
        assert!(glob_match("migrations/*.sql", "migrations/1_a.up.sql"));
        assert!(!glob_match("migrations/*.sql", "migrations/x/1_a.up.sql"));
        assert!(!glob_match("src/**", "srcx/lib.rs"));
    }
}
