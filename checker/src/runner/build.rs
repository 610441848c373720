//! Compiling an exercise's checks with cargo, reading its JSON messages:
//! the path of the check binary, or the compiler's own words.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use super::RunError;
use crate::events::{BuildStep, Event, Events};

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

/// `cargo test -p <slug> --test checks --no-run`, as JSON. What cargo says
/// it is doing (compiling a crate, waiting for another cargo's lock) goes
/// to `events` as it happens.
#[expect(clippy::too_many_arguments, reason = "each is one fact about the build; a struct would only rename them")]
pub async fn build_checks(
    workspace: &Path,
    crate_dir: &Path,
    slug: &str,
    target_dir: &Path,
    color: bool,
    limit: Duration,
    events: &Events,
    sandbox: Option<&crate::sandbox::Context>,
) -> Result<BuildOutput, RunError> {
    let format = if color { "json-diagnostic-rendered-ansi" } else { "json" };
    // A student's own run whose compiled files did not change (a saved
    // drill or migration) needs no cargo. Grading always builds.
    if sandbox.is_none()
        && let Some(executable) = super::fresh::still_built(workspace, crate_dir, slug, target_dir)
    {
        return Ok(BuildOutput::Built { executable });
    }
    let fresh = super::fresh::before_build(workspace, crate_dir, slug, target_dir);
    let (mut cmd, _tmp) = match sandbox {
        None => (Command::new(cargo()), None),
        Some(ctx) => {
            let (cmd, tmp) = sandboxed_cargo(ctx)?;
            (cmd, Some(tmp))
        }
    };
    cmd.current_dir(workspace)
        .args(["test", "--package", slug, "--test", "checks", "--no-run", "--message-format", format])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|error| RunError::NoCargo { error })?;
    let _tracked = super::spawn::track(child.id());
    let mut stdout = child.stdout.take().expect("cargo's stdout is piped");
    let stderr = child.stderr.take().expect("cargo's stderr is piped");
    let read = async {
        let mut out = String::new();
        let read_err = async {
            let mut err = String::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Some(line) = lines.next_line().await? {
                if let Some(step) = build_step(&line, slug) {
                    events.emit(Event::BuildProgress { slug: slug.to_owned(), step });
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
        std::io::Result::Ok((out, err, status))
    };
    let Ok(result) = tokio::time::timeout(limit, read).await else {
        return Ok(BuildOutput::TimedOut);
    };
    let (out, err, status) = result.map_err(RunError::io("running cargo"))?;
    // The trampoline could not set up the sandbox (cargo never ran, so this
    // is not the submission's doing): the grader's problem, not a 0.
    if sandbox.is_some()
        && status.code() == Some(3)
        && let Some(why) = err.lines().next().and_then(|l| l.strip_prefix(super::spawn::START_FAILED))
    {
        return Err(RunError::Sandbox(format!("starting the build: {why}")));
    }

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
            super::fresh::after_build(&fresh, &executable);
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

/// What a line of cargo's stderr says it is doing, when that is worth
/// telling a student who waits.
fn build_step(line: &str, slug: &str) -> Option<BuildStep> {
    let line = line.trim_start();
    if line.starts_with("Blocking waiting for file lock") {
        return Some(BuildStep::WaitingForLock);
    }
    let what = line.strip_prefix("Compiling ")?;
    let name = what.split_whitespace().next().unwrap_or(what);
    Some(BuildStep::Compiling { krate: name.to_owned(), dependency: name != slug })
}

/// Cargo in the build sandbox: the toolchain's own cargo and rustc (not
/// rustup's proxies, which would need all of rustup's home), an
/// environment with only what a build needs, and a private temporary
/// directory (returned: it lives as long as the build).
fn sandboxed_cargo(ctx: &crate::sandbox::Context) -> Result<(Command, tempfile::TempDir), RunError> {
    let tmp = crate::sandbox::private_tmp(None).map_err(RunError::io("creating the build's temporary directory"))?;
    let policy = ctx.build_policy(tmp.path());
    let sysroot = crate::sandbox::sysroot();
    let tool = |name: &str| sysroot.map(|s| s.join("bin").join(name)).filter(|p| p.is_file());
    let program = tool("cargo").unwrap_or_else(cargo);
    let mut cmd = super::spawn::check_command(&program, 0, Some(&policy)).map_err(RunError::io("starting cargo"))?;
    let mut path = std::ffi::OsString::new();
    if let Some(s) = sysroot {
        path.push(s.join("bin"));
        path.push(":");
    }
    path.push("/usr/bin:/bin");
    cmd.env("PATH", path).env("HOME", tmp.path()).env("TMPDIR", tmp.path());
    if let Some(rustc) = tool("rustc") {
        cmd.env("RUSTC", rustc);
    }
    if let Some(home) = crate::sandbox::cargo_home() {
        cmd.env("CARGO_HOME", home);
    }
    Ok((cmd, tmp))
}

/// The cargo that runs us (`cargo checker`), else the one on PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}
