//! A new exercise from the templates in `checker/templates/new-exercise/`
//! (`checker dev new`): a crate that compiles and fails its one check, a
//! solution that passes it, a book section, and the entries in
//! `exercises/info.toml` and `book/src/SUMMARY.md`, so `dev check` finds it
//! everywhere it looks.

use std::path::PathBuf;

use crate::course::Course;

/// The templates, with `{{slug}}` and `{{title}}` to fill in.
const MANIFEST: &str = include_str!("../templates/new-exercise/Cargo.toml.tmpl");
const STARTER: &str = include_str!("../templates/new-exercise/starter.rs.tmpl");
const SOLUTION: &str = include_str!("../templates/new-exercise/solution.rs.tmpl");
const CHECKS: &str = include_str!("../templates/new-exercise/checks.rs.tmpl");
const CHAPTER: &str = include_str!("../templates/new-exercise/chapter.md.tmpl");
const INFO_ENTRY: &str = include_str!("../templates/new-exercise/info-entry.toml.tmpl");

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("`{0}` is not a valid slug: use lowercase letters, digits and _")]
    BadSlug(String),
    #[error("an exercise named `{0}` already exists")]
    Exists(String),
    #[error("writing {}: {error}", path.display())]
    Write { path: PathBuf, error: std::io::Error },
}

/// Creates exercise `slug` (titled `title`, else the slug in words);
/// returns the files it created, relative to the course root.
pub fn create(course: &Course, slug: &str, title: Option<&str>) -> Result<Vec<PathBuf>, ScaffoldError> {
    if slug.is_empty() || !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(ScaffoldError::BadSlug(slug.to_owned()));
    }
    if course.index_of(slug).is_some() || course.root.join("exercises").join(slug).exists() {
        return Err(ScaffoldError::Exists(slug.to_owned()));
    }
    let root = &course.root;
    let title = title.map_or_else(|| slug.replace('_', " "), str::to_owned);
    let fill = |template: &str| template.replace("{{slug}}", slug).replace("{{title}}", &title);
    let ex = PathBuf::from("exercises").join(slug);
    let files: Vec<(PathBuf, String)> = vec![
        (ex.join("Cargo.toml"), fill(MANIFEST)),
        (ex.join("src/lib.rs"), fill(STARTER)),
        (ex.join("tests/checks.rs"), fill(CHECKS)),
        (PathBuf::from("solutions").join(slug).join("src/lib.rs"), fill(SOLUTION)),
        (PathBuf::from("book/src").join(slug).join("index.md"), fill(CHAPTER)),
    ];
    for (rel, text) in &files {
        let path = root.join(rel);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("a file has a parent"))?;
            std::fs::write(&path, text)
        };
        write().map_err(|error| ScaffoldError::Write { path: path.clone(), error })?;
    }
    append(&root.join("exercises/info.toml"), &fill(INFO_ENTRY))?;
    append(&root.join("book/src/SUMMARY.md"), &format!("- [{title}]({slug}/index.md)\n"))?;
    Ok(files.into_iter().map(|(rel, _)| rel).collect())
}

/// Appends `text` on a line of its own.
fn append(path: &std::path::Path, text: &str) -> Result<(), ScaffoldError> {
    let io = |error| ScaffoldError::Write { path: path.to_path_buf(), error };
    let mut old = std::fs::read_to_string(path).map_err(io)?;
    if !old.is_empty() && !old.ends_with('\n') && !text.starts_with('\n') {
        old.push('\n');
    }
    old.push_str(text);
    std::fs::write(path, old).map_err(io)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_placeholder_is_one_the_scaffold_fills() {
        for t in [super::MANIFEST, super::STARTER, super::SOLUTION, super::CHECKS, super::CHAPTER, super::INFO_ENTRY] {
            let left = t.replace("{{slug}}", "").replace("{{title}}", "");
            assert!(!left.contains("{{"), "an unknown placeholder in:\n{t}");
        }
    }
}
