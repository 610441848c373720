//! Compiling an exercise's checks with cargo, reading its JSON messages:
//! the path of the check binary, or the compiler's own words.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::exit::Failure;

pub enum BuildOutput {
    Built { executable: PathBuf },
    Failed { diagnostics: String },
    TimedOut,
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    message: Option<Diagnostic>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    profile: Option<Profile>,
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
}

#[derive(Deserialize)]
struct Profile {
    test: bool,
}

/// `cargo test -p <slug> --test checks --no-run`, as JSON. With
/// `show_status`, a long build says what it is doing on stderr.
pub async fn build_checks(
    workspace: &Path,
    crate_dir: &Path,
    slug: &str,
    target_dir: &Path,
    color: bool,
    limit: Duration,
    show_status: bool,
) -> anyhow::Result<BuildOutput> {
    let format = if color { "json-diagnostic-rendered-ansi" } else { "json" };
    let fresh = super::fresh::before_build(workspace, crate_dir, target_dir);
    let mut cmd = Command::new(cargo());
    cmd.current_dir(workspace)
        .args(["test", "--package", slug, "--test", "checks", "--no-run", "--message-format", format])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Failure::env(format!(
            "could not run cargo ({e}). Install Rust from https://rustup.rs and run the checker from a shell where `cargo` works."
        ))
    })?;
    let mut stdout = child.stdout.take().context("cargo's stdout")?;
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let mut status_line = show_status.then(|| BuildStatus::new(slug));
    let read = async {
        let mut out = String::new();
        let read_err = async {
            let mut err = String::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Some(line) = lines.next_line().await? {
                if let Some(s) = status_line.as_mut() {
                    s.cargo_said(&line);
                }
                err.push_str(&line);
                err.push('\n');
            }
            std::io::Result::Ok(err)
        };
        let (a, err) = tokio::join!(stdout.read_to_string(&mut out), read_err);
        a?;
        let err = err?;
        let status = child.wait().await?;
        anyhow::Ok((out, err, status))
    };
    let Ok(result) = tokio::time::timeout(limit, read).await else {
        return Ok(BuildOutput::TimedOut);
    };
    let (out, err, status) = result.context("running cargo")?;

    let mut diagnostics = String::new();
    let mut executable = None;
    for line in out.lines() {
        let Ok(msg) = serde_json::from_str::<Message>(line) else { continue };
        match msg.reason.as_str() {
            "compiler-message" => {
                if let Some(d) = msg.message
                    && d.level == "error"
                    && let Some(r) = d.rendered
                {
                    diagnostics.push_str(&r);
                }
            }
            "compiler-artifact" => {
                let is_checks = msg.target.as_ref().is_some_and(|t| t.name == "checks");
                if is_checks && msg.profile.as_ref().is_some_and(|p| p.test) {
                    executable = msg.executable.or(executable);
                }
            }
            "build-finished" if msg.success == Some(false) && diagnostics.is_empty() => {
                diagnostics.push_str(err.trim());
            }
            _ => {}
        }
    }
    match executable {
        Some(executable) if status.success() => {
            super::fresh::after_build(&fresh);
            Ok(BuildOutput::Built { executable })
        }
        _ => {
            if diagnostics.trim().is_empty() {
                // Not a compile error: cargo itself failed (a broken
                // manifest, a missing package). Show its words.
                diagnostics = err.trim().to_owned();
            }
            Ok(BuildOutput::Failed { diagnostics })
        }
    }
}

/// What a build is doing, for a student waiting on it: a spinner naming
/// the crate being compiled (on a terminal), and in any case a note when
/// cargo waits for another cargo command's lock on the build directory,
/// which otherwise looks like a hang.
struct BuildStatus {
    bar: ProgressBar,
    slug: String,
    waiting_said: bool,
}

impl BuildStatus {
    fn new(slug: &str) -> BuildStatus {
        // Hidden when stderr is not a terminal; shown only after a moment,
        // so a warm build (under a second) draws nothing.
        let bar = ProgressBar::hidden();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("a valid template"));
        bar.set_message(format!("building {slug}'s checks"));
        let shown = bar.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        BuildStatus { bar, slug: slug.to_owned(), waiting_said: false }
    }

    fn cargo_said(&mut self, line: &str) {
        let line = line.trim_start();
        if line.starts_with("Blocking waiting for file lock") {
            let note =
                "waiting for another cargo command to finish with the build directory (a build in another terminal?)";
            if !self.waiting_said {
                self.waiting_said = true;
                self.bar.suspend(|| eprintln!("{note}"));
            }
            self.bar.set_message(note);
        } else if let Some(what) = line.strip_prefix("Compiling ") {
            let name = what.split_whitespace().next().unwrap_or(what);
            let message = if name == self.slug {
                format!("compiling {name}")
            } else {
                format!("compiling {name} (a dependency: compiled once, then reused)")
            };
            self.bar.set_message(message);
        }
    }
}

impl Drop for BuildStatus {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The cargo that runs us (`cargo checker`), else the one on PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}
