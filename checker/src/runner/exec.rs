//! Running a compiled check binary: its own process group, databases and
//! report directory; a time limit and an output cap; cleanup however it
//! ends.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use workbook::report::{self, Kind, Report, Verdicts, var};

use super::limits::{memory_limit_mb, test_threads};
use super::{CheckResult, RunError, Status, parse, spawn};
use crate::db::admin::Admin;
use crate::db::checkdbs::{Prepared, Target};
use crate::db::{Origin, Server};
use crate::sandbox;
use crate::sys;

#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub executable: PathBuf,
    pub crate_dir: PathBuf,
    pub db: Target,
    pub db_prefix: String,
    pub time_limit: Duration,
    pub check_time_limit: Duration,
    pub output_cap: usize,
    pub env: Vec<(String, String)>,
    /// Run only this check (grading re-runs a check alone to learn what it
    /// earns when a flood, a spin or a crash stopped the whole binary).
    pub only: Option<String>,
    /// The sandbox the check process runs in, when grading.
    pub sandbox: Option<crate::sandbox::Context>,
}

pub struct Executed {
    pub checks: Vec<CheckResult>,
    pub truncated: bool,
    /// The process ended (an abort, running out of memory, a signal)
    /// before every check reported.
    pub crashed: bool,
}

/// Why a check never reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    TimedOut,
    Truncated,
    OutOfMemory,
    Crashed,
}

/// Runs the check binary with databases made for it now.
pub async fn execute(opts: &ExecOptions) -> Result<Executed, RunError> {
    execute_prepared(opts, None).await
}

/// Runs the check binary, with the databases `prepared` (started before the
/// build) when given; they are dropped in the background once the checks
/// are done.
pub async fn execute_prepared(opts: &ExecOptions, prepared: Option<Prepared>) -> Result<Executed, RunError> {
    let names = match &opts.only {
        Some(name) => vec![name.clone()],
        None => match list_checks(opts).await {
            Ok(names) => names,
            Err(e) => {
                if let Some(prepared) = prepared {
                    prepared.abandon();
                }
                return Err(e);
            }
        },
    };
    let prepared = prepared.unwrap_or_else(|| Prepared::start(&opts.db, &opts.db_prefix, names.len()));
    let (databases, made) = match prepared.assign(&names).await {
        Ok(assigned) => assigned,
        Err(e) => {
            drop_run_databases(&opts.db.admin_url, &opts.db_prefix).await;
            return Err(e.into());
        }
    };
    // The verdict pipe exists before the check process does: its write end
    // is the only way a check's outcome reaches us (see workbook::report).
    let (verdicts_rx, verdicts_tx) = spawn::verdict_pipe().map_err(RunError::io("creating the verdict pipe"))?;
    let verdicts = spawn::read_verdicts(verdicts_rx).map_err(RunError::io("reading the verdict pipe"))?;

    let memory_bytes = memory_limit_mb() * 1024 * 1024;
    let memory_mb = memory_limit_mb();
    let uid = opts.sandbox.as_ref().and_then(|ctx| ctx.check_uid(&opts.crate_dir, &opts.executable));
    // The databases file goes where only the check process can read it:
    // its private temporary directory, owned by its uid, when it is
    // sandboxed; otherwise a fresh directory no one else can predict or
    // write into (mode 700).
    let private = || -> std::io::Result<(Option<tempfile::TempDir>, tempfile::TempDir, PathBuf)> {
        let tmp = match &opts.sandbox {
            Some(_) => Some(sandbox::private_tmp(uid)?),
            None => None,
        };
        let dir = tempfile::Builder::new().prefix("workbook-dbs-").tempdir()?;
        let file = report::databases_file(tmp.as_ref().map_or(dir.path(), |t| t.path()));
        report::write_databases(&file, &databases)?;
        if let Some(uid) = uid {
            sandbox::give_to(&std::fs::File::open(&file)?, uid)?;
            // The harness reopens its end through /proc/self/fd, which
            // checks the pipe's owner like a file's.
            sandbox::give_to(&verdicts_tx, uid)?;
        }
        Ok((tmp, dir, file))
    };
    let (tmp, dbs_dir, databases_file) = match private() {
        Ok(made_here) => made_here,
        Err(error) => {
            made.drop_later();
            return Err(RunError::Io { doing: "preparing the check's private files".into(), error });
        }
    };
    let policy = opts.sandbox.as_ref().zip(tmp.as_ref()).map(|(ctx, tmp)| {
        ctx.check_policy(&opts.crate_dir, &opts.executable, tmp.path(), sandbox::url_port(&opts.db.admin_url))
    });
    let mut cmd = spawn::check_command(&opts.executable, memory_bytes, policy.as_ref())
        .map_err(RunError::io(format!("starting {}", opts.executable.display())))?;
    if let Some(tmp) = &tmp {
        cmd.env("HOME", tmp.path()).env("TMPDIR", tmp.path()).env("PATH", "/usr/bin:/bin");
    }
    cmd.current_dir(&opts.crate_dir)
        .args(["--test-threads", &test_threads().to_string(), "--color", "never"])
        .args(opts.only.iter().flat_map(|name| [name.as_str(), "--exact"]))
        // The checks' databases, and no other URL: not the checker's.
        .env_remove("DATABASE_URL")
        .env_remove(var::DB_PREFIX)
        .env_remove(var::TABLESPACE)
        .env(var::CHECK_DBS, &databases_file)
        .env(var::CHECK_TIMEOUT, report::seconds_value(opts.check_time_limit))
        .env("CARGO_MANIFEST_DIR", &opts.crate_dir)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .envs(opts.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    spawn::give_verdict_pipe(&mut cmd, verdicts_tx);
    let spawned = cmd.spawn();
    // Our copy of the write end goes now: the pipe ends when the check
    // process (and whatever it started) is gone.
    drop(cmd);
    let mut child = spawned.map_err(RunError::io(format!("starting {}", opts.executable.display())))?;
    let pgid = child.id();
    let tracked = spawn::track(pgid);
    spawn::limit_spawned(pgid, memory_bytes);
    let _group = sys::GroupGuard(pgid);
    let stdout = child.stdout.take().expect("the check binary's stdout is piped");
    let stderr = child.stderr.take().expect("the check binary's stderr is piped");

    let cap = opts.output_cap;
    // Either pipe passing the cap stops the whole group at once: waiting
    // for the other pipe to close would wait on the flood itself.
    let collect = async {
        let (out, err) = tokio::join!(read_capped(stdout, cap, pgid), read_capped(stderr, cap, pgid));
        (out, err)
    };
    let mut timed_out = false;
    let ((out, out_over), (err, err_over)) = match tokio::time::timeout(opts.time_limit, collect).await {
        Ok(v) => v,
        Err(_) => {
            timed_out = true;
            ((String::new(), false), (String::new(), false))
        }
    };
    let truncated = out_over || err_over;
    if (timed_out || truncated)
        && let Some(pgid) = pgid
    {
        sys::kill_group(pgid);
    }
    // Reap it (and kill any straggler in its group) before cleaning up.
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    if let Some(pgid) = pgid {
        sys::kill_group(pgid);
    }
    drop(tracked);
    // Whatever it started that left the group: by its uid when it ran as
    // one of its own, and as orphans handed to us when grading reaps.
    if let Some(uid) = uid {
        sys::kill_uid(uid);
    }
    spawn::reap_escaped();
    let mut output = out;
    if timed_out {
        // What it printed before the limit was lost with the pipe; the
        // checks with no result are the ones that hung.
        output.clear();
    }

    let verdicts = spawn::collect_verdicts(verdicts).await;
    // Sandboxed, the trampoline's first line says whether the check binary
    // started in its sandbox; nothing at all means the trampoline died first.
    if policy.is_some() {
        match verdicts.start.clone() {
            Some(Ok(())) => {}
            Some(Err(why)) => return Err(RunError::Sandbox(format!("starting the check process: {why}"))),
            None => return Err(RunError::Sandbox("the check process ended before its sandbox was in place".into())),
        }
    }
    let parsed = parse::libtest(&output);
    let stop = if timed_out {
        Stop::TimedOut
    } else if truncated {
        Stop::Truncated
    } else if err.contains("memory allocation of") {
        // Rust's words when an allocation fails (here: at the limit).
        Stop::OutOfMemory
    } else {
        Stop::Crashed
    };
    let mut crashed = false;
    let mut checks = Vec::with_capacity(names.len());
    for name in names {
        // The verdict pipe decides; stdout only explains. A check the
        // harness never reported on failed, whatever was printed for it.
        let verdict = verdicts.by_check.get(&name);
        let status = match verdict {
            Some(v) if v.passed => Status::Passed,
            Some(_) => Status::Failed,
            None if timed_out => Status::TimedOut,
            None => Status::Failed,
        };
        let mut detail = None;
        let mut text = String::new();
        if status != Status::Passed {
            detail = verdict.and_then(|v| v.report.clone());
            text = parsed.outputs.get(&name).cloned().unwrap_or_default();
            if verdict.is_none() {
                detail = Some(if parsed.statuses.get(&name) == Some(&Status::Passed) {
                    forged(&verdicts)
                } else {
                    crashed |= matches!(stop, Stop::OutOfMemory | Stop::Crashed);
                    unfinished(stop, opts, memory_mb)
                });
            }
        }
        checks.push(CheckResult { name, status, detail, output: text });
    }
    drop(dbs_dir);
    drop(tmp);
    made.drop_later();
    Ok(Executed { checks, truncated, crashed })
}

/// The check names, in the binary's order.
async fn list_checks(opts: &ExecOptions) -> Result<Vec<String>, RunError> {
    list(&opts.executable, &opts.crate_dir).await
}

/// The names of the checks in a check binary, in its order.
pub async fn list(executable: &std::path::Path, crate_dir: &std::path::Path) -> Result<Vec<String>, RunError> {
    let listing =
        Command::new(executable).current_dir(crate_dir).arg("--list").stdin(Stdio::null()).kill_on_drop(true).output();
    let out = tokio::time::timeout(Duration::from_secs(30), listing)
        .await
        .map_err(|_| RunError::ListTimeout(executable.to_path_buf()))?
        .map_err(RunError::io(format!("listing the checks in {}", executable.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_owned).collect())
}

fn unfinished(stop: Stop, opts: &ExecOptions, memory_mb: u64) -> Report {
    let (got, hint) = match stop {
        Stop::TimedOut => (
            format!("still running when the {} s limit was reached", opts.time_limit.as_secs()),
            "Something never finishes: an infinite loop, or waiting on a lock or connection that never comes.",
        ),
        Stop::Truncated => (
            format!("stopped after printing more than {} KiB", opts.output_cap / 1024),
            "Remove the printing loop; checks are judged on results, not output.",
        ),
        Stop::OutOfMemory => (
            format!("the check process ran out of memory (its limit is {memory_mb} MiB) before this check reported"),
            "Something keeps allocating: a loop that pushes to a Vec or String without end, or fetch_all on a query that should be limited.",
        ),
        Stop::Crashed => (
            "the check process ended before this check reported".to_owned(),
            "Something crashed the whole process (an abort or stack overflow).",
        ),
    };
    Report {
        kind: if stop == Stop::TimedOut { Kind::TimedOut } else { Kind::Failed },
        called: "the check".into(),
        expected: Some("to finish and report".into()),
        got: Some(got),
        hint: Some(hint.into()),
        ..Report::default()
    }
}

/// A check whose output says `ok` but whose harness never reported it:
/// something printed the line, or the process ended before the check did.
fn forged(verdicts: &Verdicts) -> Report {
    let mut got = "the output claimed this check passed, but the check harness never reported it".to_owned();
    if verdicts.malformed > 0 {
        got.push_str(&format!("; {} line(s) on the verdict channel were not verdicts", verdicts.malformed));
    }
    Report {
        kind: Kind::Failed,
        called: "the check".into(),
        expected: Some("a verdict from the check harness".into()),
        got: Some(got),
        hint: Some(
            "Checks are judged by the harness, never by what is printed: printing `test ... ok` or exiting \
             early earns nothing."
                .into(),
        ),
        ..Report::default()
    }
}

/// Reads a pipe to the end, keeping at most `cap` bytes; returns whether
/// there was more. Past the cap it stops reading, so the caller kills the
/// process instead of draining gigabytes.
async fn read_capped<R: AsyncRead + Unpin>(mut r: R, cap: usize, pgid: Option<u32>) -> (String, bool) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > cap {
                    if let Some(pgid) = pgid {
                        sys::kill_group(pgid);
                    }
                    buf.truncate(cap);
                    return (String::from_utf8_lossy(&buf).into_owned(), true);
                }
            }
        }
    }
    (String::from_utf8_lossy(&buf).into_owned(), false)
}

/// Drops every database the run created, whether its checks cleaned up or
/// were killed mid-way.
pub async fn drop_run_databases(admin_url: &str, prefix: &str) {
    let server = Server { url: admin_url.to_owned(), origin: Origin::Env };
    if let Ok(mut admin) = Admin::connect(&server).await {
        let prefix = format!("{prefix}_");
        // A killed check may have left a CREATE DATABASE running on the
        // server; the database it makes only shows once that commits.
        admin.wait_for_creates(&prefix, Duration::from_secs(5)).await;
        let _ = admin.drop_with_prefix(&prefix).await;
        admin.close().await;
    }
}
