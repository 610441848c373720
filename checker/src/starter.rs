//! Putting an exercise's editable files back to the starter, after copying
//! the student's versions to a backup (`checker reset EX`).
//!
//! The starter is the exercise as the course shipped it: the newest commit
//! touching the exercise that the student did not author (their commits
//! carry their `user.email`). A course cloned without committing, or a
//! GitHub Classroom repository, both resolve to the course's own commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::course::{Course, Exercise};

/// Why a reset did not happen; the student's files are untouched.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("reset needs git, which could not run: {error}. Your files are untouched.")]
    NoGit { error: std::io::Error },

    #[error(
        "git {args} failed: {stderr}\nreset needs a git clone of the course to find the starter. Your files are untouched."
    )]
    Git { args: String, stderr: String },

    #[error(
        "no commit of {rel_dir} by the course was found in git history, so there is no starter to go back to. \
         Your files are untouched."
    )]
    NoStarter { rel_dir: String },

    #[error("creating the backup folder {}: {error}. Your files are untouched.", path.display())]
    Backup { path: PathBuf, error: std::io::Error },

    #[error("backing up {rel}: {error}. Your files are untouched.")]
    BackupFile { rel: String, error: std::io::Error },

    #[error("writing the starter's {rel}: {error}. Your version is in the backup.")]
    Write { rel: String, error: std::io::Error },
}

/// What a reset did.
#[derive(Debug)]
pub struct Reset {
    /// How many files the starter has.
    pub files: usize,
    /// Where the student's files were copied, when there was anything to keep.
    pub backup: Option<PathBuf>,
    /// Whether the exercise had no editable files of the student's at all.
    pub had_none: bool,
}

/// Puts `ex` back to its starter, backing up the student's files first.
pub fn reset(course: &Course, ex: &Exercise) -> Result<Reset, ResetError> {
    let root = &course.root;
    let rel_dir = format!("exercises/{}", ex.slug);
    let commit = starter_commit(root, &rel_dir)?;

    let dir = course.exercise_dir(ex);
    let current = course.editable_files(ex, &dir);
    let starter = starter_files(root, &commit, &rel_dir, ex)?;
    let unchanged = current.len() == starter.len()
        && starter.iter().all(|(rel, bytes)| std::fs::read(dir.join(rel)).is_ok_and(|now| &now == bytes));

    // Back up every editable file first: nothing is lost, whatever follows.
    let backup = if unchanged || current.is_empty() { None } else { Some(back_up(root, &ex.slug, &dir, &current)?) };

    let write = |rel: &str, result: std::io::Result<()>| {
        result.map_err(|error| ResetError::Write { rel: rel.to_owned(), error })
    };
    for rel in &current {
        if !starter.iter().any(|(r, _)| r == rel) {
            write(rel, std::fs::remove_file(dir.join(rel)))?;
        }
    }
    for (rel, bytes) in &starter {
        let to = dir.join(rel);
        write(
            rel,
            std::fs::create_dir_all(to.parent().expect("a file has a parent"))
                .and_then(|()| std::fs::write(&to, bytes)),
        )?;
    }
    Ok(Reset { files: starter.len(), backup, had_none: current.is_empty() })
}

/// Copies `files` (relative to `dir`) to a new directory under
/// `.workbook/backups`, never one an earlier reset wrote.
fn back_up(root: &Path, slug: &str, dir: &Path, files: &[String]) -> Result<PathBuf, ResetError> {
    let parent = root.join(".workbook/backups");
    std::fs::create_dir_all(&parent).map_err(|error| ResetError::Backup { path: parent.clone(), error })?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut n = 1;
    let backup = loop {
        let name = if n == 1 { format!("{slug}-{stamp}") } else { format!("{slug}-{stamp}-{n}") };
        let candidate = parent.join(name);
        // create_dir (not _all) fails if it exists: two resets in one second get two folders.
        match std::fs::create_dir(&candidate) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(error) => return Err(ResetError::Backup { path: candidate, error }),
        }
    };
    for rel in files {
        let to = backup.join(rel);
        let copied = std::fs::create_dir_all(to.parent().expect("a file has a parent"))
            .and_then(|()| std::fs::copy(dir.join(rel), &to));
        copied.map_err(|error| ResetError::BackupFile { rel: rel.clone(), error })?;
    }
    Ok(backup)
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, ResetError> {
    let out = Command::new("git").current_dir(root).args(args).output().map_err(|error| ResetError::NoGit { error })?;
    if !out.status.success() {
        return Err(ResetError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

/// The newest commit touching `rel_dir` that the student did not author.
fn starter_commit(root: &Path, rel_dir: &str) -> Result<String, ResetError> {
    let me = Command::new("git")
        .current_dir(root)
        .args(["config", "user.email"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let log = git(root, &["log", "--format=%H %ae", "--", rel_dir])?;
    let log = String::from_utf8_lossy(&log);
    log.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(_, author)| me.is_empty() || *author != me)
        .map(|(hash, _)| hash.to_owned())
        .ok_or_else(|| ResetError::NoStarter { rel_dir: rel_dir.to_owned() })
}

/// The editable files of the exercise at `commit`, as (relative path, bytes).
fn starter_files(
    root: &Path,
    commit: &str,
    rel_dir: &str,
    ex: &Exercise,
) -> Result<Vec<(String, Vec<u8>)>, ResetError> {
    let listing = git(root, &["ls-tree", "-r", "--name-only", commit, "--", rel_dir])?;
    let prefix = format!("{rel_dir}/");
    let mut files = Vec::new();
    for path in String::from_utf8_lossy(&listing).lines() {
        let Some(rel) = path.strip_prefix(&prefix) else { continue };
        if ex.is_editable(rel) {
            let bytes = git(root, &["show", &format!("{commit}:{path}")])?;
            files.push((rel.to_owned(), bytes));
        }
    }
    Ok(files)
}
