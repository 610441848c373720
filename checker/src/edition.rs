//! The student edition of a course: the repository students receive (a
//! GitHub Classroom template, a zip), which is the course without its
//! answer key. The instructor's copy keeps `solutions/` and `dev check`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::course::Course;

/// What is never copied into an edition, at the course's top level: the
/// answers, build output, local state and settings, version control.
const LEFT_OUT: [&str; 5] = ["solutions", "target", ".git", ".workbook", ".env"];

/// Where the grading workflow goes in an edition made `--classroom`.
pub const WORKFLOW: &str = ".github/workflows/classroom.yml";

/// Writes the student edition of `course` into `out` (which must not exist
/// or be empty, and must be outside the course); with `classroom`, the
/// GitHub Classroom grading workflow too. Returns how many files it wrote.
pub fn write(course: &Course, out: &Path, classroom: bool) -> anyhow::Result<usize> {
    if out.exists() && std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?.next().is_some() {
        bail!("{} is not empty: give a new folder for the student edition", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = out.canonicalize().with_context(|| format!("resolving {}", out.display()))?;
    let root = course.root.canonicalize().with_context(|| format!("resolving {}", course.root.display()))?;
    if out.starts_with(&root) {
        bail!("{} is inside the course; give a folder outside it", out.display());
    }
    let mut written = 0;
    let walk = walkdir::WalkDir::new(&root).follow_links(false).into_iter().filter_entry(|e| {
        let top =
            e.depth() == 1 && e.file_name().to_str().is_some_and(|n| LEFT_OUT.contains(&n) || n.starts_with("target"));
        !top
    });
    for entry in walk {
        let entry = entry.context("walking the course")?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(&root).expect("walked from the root");
        copy(entry.path(), &out.join(rel))?;
        written += 1;
    }
    if classroom {
        let workflow = root.join("checker/templates/github-classroom/classroom.yml");
        copy(&workflow, &out.join(WORKFLOW))?;
        written += 1;
    }
    Ok(written)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    let dir: PathBuf = to.parent().expect("a file has a parent").to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    Ok(())
}

/// The message for a command that needs the answers, in an edition that
/// has none.
pub fn no_solutions(what: &str) -> String {
    format!(
        "this edition of the course has no solutions/ (it is the student edition); {what} needs the instructor's copy"
    )
}
