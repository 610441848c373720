//! Overlay workspaces: a generated Cargo workspace under
//! `target/workbook/overlay/` holding copies of exercises, with the course's
//! manifests, checks and lockfile, and only the *editable* files taken from
//! somewhere else (a solution, a fixture, a student's submission).
//!
//! It shares the course's target dir, so dependencies compile once for
//! every overlay. Cargo names a path package's artifacts after its path
//! *relative to the workspace root*, so each overlay keeps its crates
//! under `<name>/<slug>`: at `exercises/<slug>` every overlay's crate and
//! the course's own would share one set of artifacts and overwrite each
//! other's binaries.

use std::path::{Path, PathBuf};

use super::RunError;
use crate::course::{Course, Exercise, relative_files};

/// A generated workspace and what went into it.
#[derive(Debug)]
pub struct Overlay {
    pub root: PathBuf,
    name: String,
    /// Files in the source that are not editable and differ from (or are
    /// missing in) the course's copy, as `<slug>/<path>`: what a grader
    /// reports as ignored.
    pub ignored: Vec<String>,
}

impl Overlay {
    pub fn crate_dir(&self, ex: &Exercise) -> PathBuf {
        self.root.join(&self.name).join(&ex.slug)
    }
}

/// Creates (or recreates) `name` with the given exercises, each taking its
/// editable files from `source(ex)` when that directory exists (and keeping
/// the starter's otherwise).
/// `name` must be a plain directory name, unique among overlays in use at
/// the same time (it is also what keeps their artifacts apart).
pub fn create(
    course: &Course,
    name: &str,
    exercises: &[&Exercise],
    source: impl Fn(&Exercise) -> Option<PathBuf>,
) -> Result<Overlay, RunError> {
    let root = course.work_dir().join("overlay").join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(RunError::io(format!("clearing {}", root.display())))?;
    }
    let crates = root.join(name);
    std::fs::create_dir_all(&crates).map_err(RunError::io(format!("creating {}", crates.display())))?;
    write_manifest(course, &root, name, exercises)?;
    std::fs::copy(course.root.join("Cargo.lock"), root.join("Cargo.lock"))
        .map_err(RunError::io("copying Cargo.lock"))?;

    let mut ignored = Vec::new();
    for ex in exercises {
        let from = course.exercise_dir(ex);
        let to = root.join(name).join(&ex.slug);
        copy_tree(&from, &to)?;
        // A submission's folder that is a symbolic link would lay files
        // from anywhere on the grader's machine into the build.
        let Some(src) = source(ex).filter(|d| real_dir(d) && d.parent().is_none_or(real_dir)) else { continue };
        ignored.extend(refused_files(&src).into_iter().map(|what| format!("{}/{what}", ex.slug)));
        // Editable files come from the source only: a starter file the
        // source deleted is deleted here too.
        for rel in course.editable_files(ex, &to) {
            std::fs::remove_file(to.join(&rel)).map_err(RunError::io(format!("removing the starter's {rel}")))?;
        }
        for rel in relative_files(&src) {
            if too_big(&src.join(&rel)) {
                continue; // named by refused_files
            }
            if ex.is_editable(&rel) {
                let dest = to.join(&rel);
                create_parent(&dest)?;
                std::fs::copy(src.join(&rel), &dest).map_err(RunError::io(format!("copying {rel}")))?;
            } else if !same_file(&src.join(&rel), &from.join(&rel)) {
                // Not editable, and not the course's copy: an edited check,
                // a new build script, a changed manifest. It is not used.
                ignored.push(format!("{}/{rel}", ex.slug));
            }
        }
    }
    Ok(Overlay { root, name: name.to_owned(), ignored })
}

/// The course's root manifest, narrowed to these exercises, with path
/// dependencies made absolute so they still point at the course.
fn write_manifest(course: &Course, root: &Path, name: &str, exercises: &[&Exercise]) -> Result<(), RunError> {
    let text = std::fs::read_to_string(course.root.join("Cargo.toml")).map_err(RunError::io("reading Cargo.toml"))?;
    let mut doc: toml::Table =
        toml::from_str(&text).map_err(|e| RunError::Workspace(format!("parsing Cargo.toml: {e}")))?;
    let ws = doc
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .ok_or_else(|| RunError::Workspace("Cargo.toml has no [workspace]".into()))?;
    let members: Vec<toml::Value> =
        exercises.iter().map(|e| toml::Value::String(format!("{name}/{}", e.slug))).collect();
    ws.insert("members".into(), toml::Value::Array(members));
    ws.remove("default-members");
    ws.remove("exclude");
    if let Some(deps) = ws.get_mut("dependencies").and_then(|d| d.as_table_mut()) {
        for (_, dep) in deps.iter_mut() {
            if let Some(path) = dep.as_table_mut().and_then(|t| t.get_mut("path"))
                && let Some(p) = path.as_str()
            {
                *path = toml::Value::String(course.root.join(p).to_string_lossy().into_owned());
            }
        }
    }
    let header = "# Generated by the checker from the course's Cargo.toml; do not edit.\n";
    let text = toml::to_string(&doc).map_err(|e| RunError::Workspace(format!("writing Cargo.toml: {e}")))?;
    std::fs::write(root.join("Cargo.toml"), format!("{header}{text}")).map_err(RunError::io("writing Cargo.toml"))
}

fn create_parent(file: &Path) -> Result<(), RunError> {
    let dir = file.parent().expect("a file has a parent");
    std::fs::create_dir_all(dir).map_err(RunError::io(format!("creating {}", dir.display())))
}

/// Copies every file under `from` to the same relative path under `to`.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), RunError> {
    for rel in relative_files(from) {
        let dest = to.join(&rel);
        create_parent(&dest)?;
        std::fs::copy(from.join(&rel), &dest)
            .map_err(RunError::io(format!("copying {}", from.join(&rel).display())))?;
    }
    Ok(())
}

/// The largest file taken from a submission: far above any source file or
/// migration, and what one file may cost the grader in memory.
pub const MAX_FILE: u64 = 1024 * 1024;

/// Whether `path` is a directory itself, not a symbolic link to one.
pub fn real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn too_big(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.len() > MAX_FILE)
}

/// What in a submission's folder is refused, as `<path> (why)`: symbolic
/// links (they would point the build at the grader's own files) and files
/// over [`MAX_FILE`].
pub fn refused_files(dir: &Path) -> Vec<String> {
    let mut refused = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).into_iter().flatten() {
        let Ok(rel) = entry.path().strip_prefix(dir) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if entry.file_type().is_symlink() {
            refused.push(format!("{rel} (a symbolic link: refused)"));
        } else if entry.file_type().is_file() && entry.metadata().is_ok_and(|m| m.len() > MAX_FILE) {
            refused.push(format!("{rel} (over {} KiB: refused)", MAX_FILE / 1024));
        }
    }
    refused
}

/// Whether two files hold the same bytes (false if either is unreadable,
/// a symbolic link, or over [`MAX_FILE`]: neither is read whole then).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let size = |p: &Path| std::fs::symlink_metadata(p).ok().filter(|m| m.is_file()).map(|m| m.len());
    match (size(a), size(b)) {
        (Some(x), Some(y)) if x == y && x <= MAX_FILE => {}
        _ => return false,
    }
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
