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
    /// The section that explains each check, by check name:
    /// `page.md#anchor`, relative to `book/src`.
    #[serde(default)]
    pub sections: std::collections::BTreeMap<String, String>,
    /// Seconds the whole run (build and checks) may take.
    #[serde(default)]
    pub time_limit: Option<u64>,
    /// `editable`, compiled on first use.
    #[serde(skip)]
    matcher: std::sync::OnceLock<globset::GlobSet>,
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
        self.matcher.get_or_init(|| editable_globs(&self.editable).0).is_match(rel)
    }

    /// The book section that explains `check`, relative to `book/src`:
    /// its entry in `sections`, or the exercise's own section.
    pub fn section_of(&self, check: &str) -> &str {
        self.sections.get(check).map_or(self.book.as_str(), String::as_str)
    }

    /// The editable globs that are not valid globs (they match nothing).
    pub fn invalid_globs(&self) -> Vec<String> {
        editable_globs(&self.editable).1
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

    /// Whether this copy holds the answers (the student edition does not).
    pub fn has_solutions(&self) -> bool {
        self.root.join("solutions").is_dir()
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

/// `*` matches within a path segment, `**` any number of segments: what
/// `info.toml` globs mean. Returns the set, and the globs that are invalid.
fn editable_globs(globs: &[String]) -> (globset::GlobSet, Vec<String>) {
    let mut set = globset::GlobSetBuilder::new();
    let mut invalid = Vec::new();
    for g in globs {
        match globset::GlobBuilder::new(g).literal_separator(true).build() {
            Ok(glob) => _ = set.add(glob),
            Err(_) => invalid.push(g.clone()),
        }
    }
    (set.build().unwrap_or_else(|_| globset::GlobSet::empty()), invalid)
}

/// Every regular file under `dir`, as sorted paths relative to it with
/// `/` separators. A top-level `target/` or `.git/` is skipped, and so are
/// symlinks: a submission must not point a build at files outside itself.
pub fn relative_files(dir: &Path) -> Vec<String> {
    let top_level_skip = |e: &walkdir::DirEntry| {
        e.depth() == 1 && e.file_type().is_dir() && matches!(e.file_name().to_str(), Some("target" | ".git"))
    };
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !top_level_skip(e))
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.path().strip_prefix(dir).ok().map(|rel| rel.to_string_lossy().replace('\\', "/")))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::Exercise;

    fn glob_match(glob: &str, path: &str) -> bool {
        let ex: Exercise =
            toml::from_str(&format!("slug = \"s\"\ntitle = \"t\"\nbook = \"b.md\"\neditable = [{glob:?}]")).unwrap();
        ex.is_editable(path)
    }

    #[test]
    fn relative_files_lists_nested_files_but_not_the_top_level_target() {
        let dir = tempfile::tempdir().unwrap();
        for f in
            ["src/lib.rs", "src/target/x.rs", "target/debug/y", ".git/HEAD", "migrations/1_a.up.sql", "a.rs", "a/b"]
        {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("src/passwd.rs")).unwrap();
        assert_eq!(
            super::relative_files(dir.path()),
            ["a.rs", "a/b", "migrations/1_a.up.sql", "src/lib.rs", "src/target/x.rs"]
        );
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
        assert!(glob_match("migrations/**/*.sql", "migrations/1_a.up.sql"));
    }
}
