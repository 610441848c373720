//! Proving the course (`checker dev check`): info.toml agrees with the
//! exercises, solutions and book; every starter compiles and fails with
//! messages; every solution passes; every book link into the repository
//! resolves. This module judges; the command runs and reports.

use crate::course::{Course, relative_files};
use crate::runner::{ExerciseRun, Outcome, Status};

/// A starter must compile, fail every check (an untouched starter scores
/// nothing), and say why for each failing check.
pub fn starter_problem(run: &ExerciseRun) -> Option<String> {
    match &run.outcome {
        Outcome::CompileError { diagnostics } => Some(format!("does not compile:\n{diagnostics}")),
        Outcome::TimedOut { .. } => Some("timed out".into()),
        Outcome::Checked if run.checks.is_empty() => Some("has no checks".into()),
        Outcome::Checked if run.passed() => Some("passes every check: there is nothing to do".into()),
        Outcome::Checked if run.passed_count() > 0 => {
            let passing: Vec<&str> =
                run.checks.iter().filter(|c| c.status == Status::Passed).map(|c| c.name.as_str()).collect();
            Some(format!(
                "passes {} check(s) untouched, so an empty submission would earn points: {}",
                passing.len(),
                passing.join(", ")
            ))
        }
        Outcome::Checked => {
            let silent: Vec<_> = run
                .checks
                .iter()
                .filter(|c| c.status != Status::Passed && c.detail.is_none() && c.output.trim().is_empty())
                .map(|c| c.name.clone())
                .collect();
            (!silent.is_empty()).then(|| format!("fails without a message in: {}", silent.join(", ")))
        }
    }
}

pub fn solution_problem(run: &ExerciseRun) -> Option<String> {
    match &run.outcome {
        Outcome::CompileError { diagnostics } => Some(format!("does not compile:\n{diagnostics}")),
        Outcome::TimedOut { .. } => Some("timed out".into()),
        Outcome::Checked if run.passed() => None,
        Outcome::Checked => {
            let failed: Vec<String> = run
                .checks
                .iter()
                .filter(|c| c.status != Status::Passed)
                .map(|c| {
                    let why = c.detail.as_ref().and_then(|d| d.got.clone()).unwrap_or_else(|| c.output.clone());
                    format!("{} ({})", c.name, why.lines().next().unwrap_or(""))
                })
                .collect();
            if failed.is_empty() { Some("has no checks".into()) } else { Some(format!("fails: {}", failed.join("; "))) }
        }
    }
}

/// info.toml agrees with the files on disk.
pub fn metadata_problems(course: &Course) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sections = crate::book::Sections::new(course);
    let mut seen = std::collections::HashSet::new();
    for ex in &course.exercises {
        let s = &ex.slug;
        if !seen.insert(s.clone()) {
            problems.push(format!("{s}: listed twice in exercises/info.toml"));
        }
        let dir = course.exercise_dir(ex);
        let manifest = dir.join("Cargo.toml");
        match std::fs::read_to_string(&manifest).ok().and_then(|t| t.parse::<toml::Table>().ok()) {
            None => problems.push(format!("{s}: {} is missing or not valid TOML", manifest.display())),
            Some(m) => {
                let name = m.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str());
                if name != Some(s.as_str()) {
                    problems.push(format!("{s}: its package name is {name:?}, not the slug"));
                }
            }
        }
        if !dir.join("tests/checks.rs").is_file() {
            problems.push(format!("{s}: tests/checks.rs is missing"));
        }
        for g in ex.invalid_globs() {
            problems.push(format!("{s}: the editable glob {g:?} is not a valid glob"));
        }
        if ex.editable.is_empty() {
            problems.push(format!("{s}: no editable files are declared"));
        } else if course.editable_files(ex, &dir).is_empty() {
            problems.push(format!("{s}: no starter file matches its editable globs {:?}", ex.editable));
        }
        if ex.hints.is_empty() {
            problems.push(format!("{s}: has no hints"));
        }
        problems.extend(crate::book::exercise_problems(&mut sections, ex));
        let files = relative_files(&course.solution_dir(ex));
        if files.is_empty() {
            problems.push(format!("{s}: solutions/{s}/ is missing or empty"));
        }
        for f in files.iter().filter(|f| !ex.is_editable(f)) {
            problems.push(format!(
                "{s}: solutions/{s}/{f} is not an editable file, so copying the solution over would not use it"
            ));
        }
        let section = course.root.join("book/src").join(&ex.book);
        match std::fs::read_to_string(&section) {
            Err(_) => problems.push(format!("{s}: its book section book/src/{} does not exist", ex.book)),
            Ok(text) => {
                if !text.contains(&format!("cargo checker run {s}")) {
                    problems
                        .push(format!("{s}: book/src/{} never says how to run it (`cargo checker run {s}`)", ex.book));
                }
            }
        }
        let summary = std::fs::read_to_string(course.root.join("book/src/SUMMARY.md")).unwrap_or_default();
        if !summary.contains(&format!("({})", ex.book)) {
            problems.push(format!("{s}: book/src/SUMMARY.md does not link its section {}", ex.book));
        }
    }
    if let Ok(entries) = std::fs::read_dir(course.root.join("exercises")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() && !course.exercises.iter().any(|x| x.slug == name) {
                problems.push(format!("exercises/{name}/ is not listed in exercises/info.toml"));
            }
        }
    }
    problems
}

/// Links from the book into the repository, and commands naming
/// exercises, point at things that exist.
pub fn book_problems(course: &Course) -> Vec<String> {
    let src = course.root.join("book/src");
    let files = relative_files(&src);
    let mut problems = Vec::new();
    for rel in files.iter().filter(|f| f.ends_with(".md")) {
        let path = src.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            for target in link_targets(line) {
                if target.contains("exercises/") || target.contains("solutions/") || target.contains("checker/") {
                    let file = target.split('#').next().unwrap_or(target);
                    let resolved = path.parent().expect("a file has a parent").join(file);
                    if !resolved.exists() {
                        problems.push(format!("book/src/{rel}:{}: link to {target} does not resolve", n + 1));
                    }
                }
            }
            let mut rest = line;
            while let Some(i) = rest.find("cargo checker run ") {
                rest = &rest[i + "cargo checker run ".len()..];
                let slug: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !slug.is_empty() && course.index_of(&slug).is_none() {
                    problems.push(format!("book/src/{rel}:{}: `cargo checker run {slug}` names no exercise", n + 1));
                }
            }
        }
    }
    problems
}

/// The targets of inline Markdown links `[text](target)` on a line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].trim());
            rest = &rest[end..];
        }
    }
    out
}
