//! The course's book (`book/`): built with mdBook as a library into
//! `target/book`, and the `page.md#anchor` references that info.toml,
//! hints and reports make into its source, `book/src`.

pub mod anchors;
pub mod serve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::course::{Course, Exercise};

/// Why the book could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("load the book in {}: {message}", dir.display())]
    Load { dir: PathBuf, message: String },
    #[error("build the book into {}: {message}", dir.display())]
    Build { dir: PathBuf, message: String },
}

/// The book's root (where `book.toml` is).
pub fn source_dir(course: &Course) -> PathBuf {
    course.root.join("book")
}

/// Where `checker book` builds it: `target/book`.
///
/// The chapters link into the repository relative to their source file
/// (`../../../exercises/pooling/src/lib.rs` from `book/src/pooling/`), so
/// the links work on a forge's file view. mdBook copies such links into
/// the HTML unchanged, so they only resolve in a build that sits exactly
/// as deep below the course root as `book/src`. `target/book` does, and
/// unlike mdBook's default `book/book` it needs no `.gitignore` entry, is
/// removed by `cargo clean`, and keeps build output out of the sources.
/// (`target/workbook/book`, one level deeper, sent every such link to a
/// missing `target/exercises/…`.) book.toml names the same directory, so
/// `mdbook build book` agrees.
pub fn build_dir(course: &Course) -> PathBuf {
    course.root.join("target").join("book")
}

/// Builds the book into `out`, as `mdbook build` would; returns its first
/// page.
pub fn build_into(course: &Course, out: &Path) -> Result<PathBuf, BookError> {
    let dir = source_dir(course);
    let mut book = mdbook_driver::MDBook::load(&dir)
        .map_err(|e| BookError::Load { dir: dir.clone(), message: format!("{e:#}") })?;
    book.config.build.build_dir = out.to_path_buf();
    book.build().map_err(|e| BookError::Build { dir: out.to_path_buf(), message: format!("{e:#}") })?;
    Ok(out.join("index.html"))
}

/// Builds the book into [`build_dir`]; returns its first page.
pub fn build(course: &Course) -> Result<PathBuf, BookError> {
    build_into(course, &build_dir(course))
}

/// How a report shows a section: the path of its source from the course
/// root, anchor included (`book/src/connect/index.md#a-pool`).
pub fn shown(section: &str) -> String {
    format!("book/src/{section}")
}

/// Where a link to a section leads: its page in the built book when the
/// book has been built, else its Markdown source.
pub fn url(course: &Course, section: &str) -> String {
    let (page, anchor) = split(section);
    let built = build_dir(course).join(Path::new(page).with_extension("html"));
    if built.is_file() {
        let mut url = file_url(&built);
        if let Some(a) = anchor {
            url.push('#');
            url.push_str(a);
        }
        url
    } else {
        file_url(&course.root.join("book/src").join(page))
    }
}

/// `file://` URL of an absolute path, with the bytes a URL cannot hold
/// escaped.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", url_path(&path.to_string_lossy()))
}

/// `path` as the path of a URL: every byte but letters, digits, `/` and
/// `-_.~` escaped.
pub fn url_path(path: &str) -> String {
    let mut url = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => url.push(b as char),
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    url
}

/// `page.md#anchor` as (page, anchor).
pub fn split(section: &str) -> (&str, Option<&str>) {
    match section.split_once('#') {
        Some((page, anchor)) => (page, Some(anchor)),
        None => (section, None),
    }
}

/// Checks `page.md#anchor` references against the book's source, reading
/// each page once.
pub struct Sections {
    src: PathBuf,
    pages: BTreeMap<String, Option<Vec<String>>>,
}

impl Sections {
    pub fn new(course: &Course) -> Self {
        Sections { src: course.root.join("book/src"), pages: BTreeMap::new() }
    }

    /// What is wrong with `section` (relative to `book/src`), if anything:
    /// no such page, or no heading with that anchor.
    pub fn problem(&mut self, section: &str) -> Option<String> {
        let (page, anchor) = split(section);
        let src = &self.src;
        let ids = self
            .pages
            .entry(page.to_owned())
            .or_insert_with(|| std::fs::read_to_string(src.join(page)).ok().map(|t| anchors::heading_ids(&t)));
        let Some(ids) = ids else { return Some(format!("{section}: there is no page book/src/{page}")) };
        let anchor = anchor?;
        if ids.iter().any(|id| id == anchor) {
            return None;
        }
        let closest = ids
            .iter()
            .map(|id| (strsim::jaro_winkler(anchor, id), id))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(score, _)| *score > 0.8)
            .map(|(_, id)| format!(" (did you mean #{id}?)"))
            .unwrap_or_default();
        Some(format!("{section}: book/src/{page} has no heading with the anchor #{anchor}{closest}"))
    }
}

/// The `book/src/….md#anchor` references in a text (a hint), relative to
/// `book/src`.
pub fn references_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("book/src/") {
        let rest = &text[at + "book/src/".len()..];
        let len = rest.find(|c: char| !(c.is_alphanumeric() || "_-./#".contains(c))).unwrap_or(rest.len());
        let reference = rest[..len].trim_end_matches('.');
        if split(reference).0.ends_with(".md") {
            out.push(reference);
        }
    }
    out
}

/// What is wrong with the book references of an exercise: its sections
/// map and its hints must name real pages and headings.
pub fn exercise_problems(sections: &mut Sections, ex: &Exercise) -> Vec<String> {
    let s = &ex.slug;
    let mut problems = Vec::new();
    for (check, section) in &ex.sections {
        if let Some(p) = sections.problem(section) {
            problems.push(format!("{s}: the section of {check}, {p}"));
        }
        if split(section).1.is_none() {
            problems.push(format!("{s}: the section of {check}, {section}, names a page but no heading (#anchor)"));
        }
    }
    for (i, hint) in ex.hints.iter().enumerate() {
        for reference in references_in(hint) {
            if let Some(p) = sections.problem(reference) {
                problems.push(format!("{s}: hint {}: {p}", i + 1));
            }
        }
    }
    problems
}

/// Every check of `checks` (an exercise's check names, from a run) needs a
/// section, and every entry of the map a check.
pub fn coverage_problems(ex: &Exercise, checks: &[String]) -> Vec<String> {
    let s = &ex.slug;
    let mut problems = Vec::new();
    for check in checks.iter().filter(|c| !ex.sections.contains_key(*c)) {
        problems.push(format!(
            "{s}: check {check} has no section: add `{check} = \"page.md#anchor\"` to its [exercises.sections] in exercises/info.toml"
        ));
    }
    for check in ex.sections.keys().filter(|k| !checks.contains(k)) {
        problems.push(format!("{s}: [exercises.sections] names {check}, which is not one of its checks"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_prose() {
        let hint = "Read book/src/connect/index.md#a-pool. Then (book/src/seeds/index.md) and book/src/x/y.rs.";
        assert_eq!(references_in(hint), ["connect/index.md#a-pool", "seeds/index.md"]);
    }

    #[test]
    fn missing_pages_anchors_and_checks_are_problems() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("book/src/ex")).unwrap();
        std::fs::write(root.path().join("book/src/ex/index.md"), "# Ex\n\n## Bind, never build\n").unwrap();
        let ex: Exercise = toml::from_str(
            r#"slug = "ex"
title = "t"
book = "ex/index.md"
editable = ["src/**"]
hints = ["See book/src/ex/index.md#bind-never-build, then book/src/ex/index.md#nope."]
[sections]
good = "ex/index.md#bind-never-build"
typo = "ex/index.md#bind-never-buld"
gone = "ex/other.md#x"
stale = "ex/index.md#ex""#,
        )
        .unwrap();
        let course = Course { root: root.path().to_path_buf(), exercises: vec![ex.clone()] };
        let checks: Vec<String> = ["good", "typo", "gone", "unmapped"].map(String::from).to_vec();
        let mut problems = exercise_problems(&mut Sections::new(&course), &ex);
        problems.extend(coverage_problems(&ex, &checks));
        let joined = problems.join("\n");
        assert_eq!(problems.len(), 5, "{joined}");
        assert!(joined.contains("typo, ex/index.md#bind-never-buld: book/src/ex/index.md has no heading with the anchor #bind-never-buld (did you mean #bind-never-build?)"), "{joined}");
        assert!(joined.contains("there is no page book/src/ex/other.md"), "{joined}");
        assert!(joined.contains("hint 1: ex/index.md#nope"), "{joined}");
        assert!(joined.contains("check unmapped has no section"), "{joined}");
        assert!(joined.contains("names stale, which is not one of its checks"), "{joined}");
    }

    #[test]
    fn a_section_links_to_the_built_page_once_there_is_one() {
        let root = tempfile::tempdir().unwrap();
        let course = Course { root: root.path().to_path_buf(), exercises: vec![] };
        let src = root.path().join("book/src/ex/index.md");
        assert_eq!(url(&course, "ex/index.md#a-b"), file_url(&src));
        let page = build_dir(&course).join("ex/index.html");
        std::fs::create_dir_all(page.parent().unwrap()).unwrap();
        std::fs::write(&page, "").unwrap();
        assert_eq!(url(&course, "ex/index.md#a-b"), format!("{}#a-b", file_url(&page)));
        assert_eq!(file_url(Path::new("/a b/c%.md")), "file:///a%20b/c%25.md");
    }
}
