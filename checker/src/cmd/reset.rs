//! `checker reset EX`: put an exercise's editable files back to the
//! starter, after copying the student's versions to a backup.
//!
//! The starter is the exercise as the course shipped it: the newest commit
//! touching the exercise that the student did not author (their commits
//! carry their `user.email`). A course cloned without committing, or a
//! GitHub Classroom repository, both resolve to the course's own commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use colored::Colorize;

use super::Ctx;
use crate::course::Exercise;
use crate::exit::Failure;

pub fn execute(ctx: &Ctx, slug: &str) -> anyhow::Result<()> {
    let ex = ctx.course.find(slug)?.clone();
    let root = &ctx.course.root;
    let rel_dir = format!("exercises/{}", ex.slug);
    let commit = starter_commit(root, &rel_dir)?;

    let dir = ctx.course.exercise_dir(&ex);
    let current = ctx.course.editable_files(&ex, &dir);
    let starter = starter_files(root, &commit, &rel_dir, &ex)?;
    let unchanged = current.len() == starter.len()
        && starter.iter().all(|(rel, bytes)| std::fs::read(dir.join(rel)).is_ok_and(|now| &now == bytes));

    // Back up every editable file first: nothing is lost, whatever follows.
    let backup = if unchanged || current.is_empty() { None } else { Some(back_up(root, &ex.slug, &dir, &current)?) };

    for rel in &current {
        if !starter.iter().any(|(r, _)| r == rel) {
            std::fs::remove_file(dir.join(rel))?;
        }
    }
    for (rel, bytes) in &starter {
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().expect("a file has a parent"))?;
        std::fs::write(&to, bytes)?;
    }
    println!("{} {} is back to its starter ({} files).", "Reset:".green().bold(), ex.slug, starter.len());
    match backup {
        Some(b) => println!("Your version is saved in {}.", display_rel(root, &b)),
        None if current.is_empty() => println!("It had no files of yours; there was nothing to back up."),
        None => println!("Your files were already the starter's; there was nothing to back up."),
    }
    Ok(())
}

/// Copies `files` (relative to `dir`) to a new directory under
/// `.workbook/backups`, never one an earlier reset wrote.
fn back_up(root: &Path, slug: &str, dir: &Path, files: &[String]) -> anyhow::Result<PathBuf> {
    let parent = root.join(".workbook/backups");
    std::fs::create_dir_all(&parent)?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut n = 1;
    let backup = loop {
        let name = if n == 1 { format!("{slug}-{stamp}") } else { format!("{slug}-{stamp}-{n}") };
        let candidate = parent.join(name);
        // create_dir (not _all) fails if it exists: two resets in one second get two folders.
        match std::fs::create_dir(&candidate) {
            Ok(()) => break candidate,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "creating the backup folder {}: {e}. Your files are untouched.",
                    candidate.display()
                ));
            }
        }
    };
    for rel in files {
        let to = backup.join(rel);
        std::fs::create_dir_all(to.parent().expect("a file has a parent"))?;
        std::fs::copy(dir.join(rel), &to)
            .map_err(|e| anyhow::anyhow!("backing up {rel}: {e}. Your files are untouched."))?;
    }
    Ok(backup)
}

fn display_rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, Failure> {
    let out =
        Command::new("git").current_dir(root).args(args).output().map_err(|e| {
            Failure::env(format!("reset needs git, which could not run: {e}. Your files are untouched."))
        })?;
    if !out.status.success() {
        return Err(Failure::env(format!(
            "git {} failed: {}\nreset needs a git clone of the course to find the starter. Your files are untouched.",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// The newest commit touching `rel_dir` that the student did not author.
fn starter_commit(root: &Path, rel_dir: &str) -> Result<String, Failure> {
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
        .ok_or_else(|| {
            Failure::env(format!(
                "no commit of {rel_dir} by the course was found in git history, so there is no starter to go back to. Your files are untouched."
            ))
        })
}

/// The editable files of the exercise at `commit`, as (relative path, bytes).
fn starter_files(root: &Path, commit: &str, rel_dir: &str, ex: &Exercise) -> Result<Vec<(String, Vec<u8>)>, Failure> {
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
