//! Compiling an exercise's checks with cargo, reading its JSON messages:
//! the path of the check binary, or the compiler's own words.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tokio::io::AsyncReadExt;
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

/// `cargo test -p <slug> --test checks --no-run`, as JSON.
pub async fn build_checks(
    workspace: &Path,
    slug: &str,
    target_dir: &Path,
    color: bool,
    limit: Duration,
) -> anyhow::Result<BuildOutput> {
    let format = if color { "json-diagnostic-rendered-ansi" } else { "json" };
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
    let mut stderr = child.stderr.take().context("cargo's stderr")?;
    let read = async {
        let mut out = String::new();
        let mut err = String::new();
        let (a, b) = tokio::join!(stdout.read_to_string(&mut out), stderr.read_to_string(&mut err));
        a?;
        b?;
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
                if let Some(d) = msg.message {
                    if d.level == "error" {
                        if let Some(r) = d.rendered {
                            diagnostics.push_str(&r);
                        }
                    }
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
        Some(executable) if status.success() => Ok(BuildOutput::Built { executable }),
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

/// The cargo that runs us (`cargo checker`), else the one on PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}
