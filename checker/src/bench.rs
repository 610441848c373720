//! The measurements behind `checker dev bench`: the figures the course
//! promises, taken on this machine.
//!
//! - creating and dropping a check database (median and worst of 20);
//! - a `SELECT 1` round trip straight to the server and through the wire
//!   relay (median of 500 each), and starting and stopping a relay;
//! - watch mode on one exercise (`connect`, or `--exercise EX`), warm:
//!   from saving its `src/lib.rs` to the verdict (median and worst of 10
//!   saves), in a scratch copy of the course with the exercise solved, so
//!   the student's files are never touched;
//! - how many dependencies a check rebuilt after an edit (should be 0).
//!
//! Each measurement is a function of its own, so a new phase (issue #20:
//! time per phase, template databases) is one more function here and one
//! more line in the command.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use crate::session::Session;

/// Why a measurement could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{doing}: {error}")]
    Io { doing: String, error: std::io::Error },
    #[error("{doing}: {error}")]
    Db { doing: &'static str, error: sqlx::Error },
    #[error("{0}")]
    Watch(String),
}

fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let doing = doing.into();
    move |error| BenchError::Io { doing, error }
}

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> BenchError {
    move |error| BenchError::Db { doing, error }
}

pub fn median(v: &[u128]) -> u128 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or(0)
}

pub fn worst(v: &[u128]) -> u128 {
    v.iter().copied().max().unwrap_or(0)
}

pub async fn database_times(
    url: &str,
    tablespace: Option<&str>,
    n: usize,
) -> Result<(Vec<u128>, Vec<u128>), BenchError> {
    let place = tablespace.map(|t| format!(r#" TABLESPACE "{t}""#)).unwrap_or_default();
    let mut conn = PgConnection::connect(url).await.map_err(db("connecting to the server"))?;
    let (mut create, mut drop) = (Vec::new(), Vec::new());
    for i in 0..n {
        let name = format!("{}{}_bench_{i}", crate::db::admin::CHECK_PREFIX, std::process::id());
        let t = Instant::now();
        conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}"{place}"#)))
            .await
            .map_err(db("creating a database"))?;
        create.push(t.elapsed().as_millis());
        let t = Instant::now();
        conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#)))
            .await
            .map_err(db("dropping a database"))?;
        drop.push(t.elapsed().as_millis());
    }
    conn.close().await.map_err(db("closing the connection"))?;
    Ok((create, drop))
}

/// What watching the wire costs a check: the round trip of `SELECT 1`
/// straight to the server and through a [`workbook::wire::Relay`] (which
/// decodes and records both directions), `n` of each, in microseconds;
/// and starting plus stopping a relay, 20 times.
pub struct RelayTimes {
    pub direct: Vec<u128>,
    pub relayed: Vec<u128>,
    pub start_stop: Vec<u128>,
}

pub async fn relay_times(url: &str, n: usize) -> Result<RelayTimes, BenchError> {
    use workbook::wire::{Relay, Upstream};
    let upstream = Upstream::of_url(url).map_err(|e| BenchError::Watch(format!("reading the server's URL: {e}")))?;
    let relay = Relay::start(upstream.clone()).map_err(io("starting a wire relay"))?;
    let mut direct = PgConnection::connect(url).await.map_err(db("connecting to the server"))?;
    let mut relayed =
        PgConnection::connect(&relay.url_for(url)).await.map_err(db("connecting through the wire relay"))?;
    let mut times = RelayTimes { direct: Vec::new(), relayed: Vec::new(), start_stop: Vec::new() };
    for _ in 0..n {
        for (conn, into) in [(&mut direct, &mut times.direct), (&mut relayed, &mut times.relayed)] {
            let t = Instant::now();
            conn.execute("SELECT 1").await.map_err(db("a round trip"))?;
            into.push(t.elapsed().as_micros());
        }
    }
    let seen = relay.everything().await.len();
    if seen < n {
        return Err(BenchError::Watch(format!("the relay recorded {seen} statements of the {n} sent through it")));
    }
    direct.close().await.map_err(db("closing the connection"))?;
    relayed.close().await.map_err(db("closing the connection"))?;
    drop(relay);
    for _ in 0..20 {
        let t = Instant::now();
        drop(Relay::start(upstream.clone()).map_err(io("starting a wire relay"))?);
        times.start_stop.push(t.elapsed().as_micros());
    }
    Ok(times)
}

/// A copy of the course (no target, no git) with `slug` solved (every
/// editable file of its solution), and watch mode pointed at it. Its
/// crates sit at the same relative paths as the course's, so it builds in
/// a target dir of its own (kept between benchmarks; the first is cold).
pub fn scratch_course(session: &Session, slug: &str) -> Result<PathBuf, BenchError> {
    let root = &session.course.root;
    let scratch = session.course.work_dir().join("bench").join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&scratch);
    copy_dir(root, &scratch, root).map_err(io(format!("copying the course to {}", scratch.display())))?;
    crate::runner::overlay::copy_tree(&root.join("solutions").join(slug), &scratch.join("exercises").join(slug))
        .map_err(|e| BenchError::Watch(format!("solving {slug} in the scratch copy: {e:#}")))?;
    // Watch mode works on the current exercise.
    let state = scratch.join(".workbook");
    std::fs::create_dir_all(&state).map_err(io("creating the scratch state dir"))?;
    std::fs::write(state.join("progress.json"), format!("{{\"current\": \"{slug}\"}}"))
        .map_err(io("pointing watch mode at the exercise"))?;
    Ok(scratch)
}

fn copy_dir(from: &Path, to: &Path, root: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let p = e.path();
        let name = e.file_name();
        if from == root && matches!(name.to_str(), Some("target" | ".git" | ".workbook")) {
            continue;
        }
        if e.file_type()?.is_dir() {
            copy_dir(&p, &to.join(&name), root)?;
        } else if e.file_type()?.is_file() {
            std::fs::copy(&p, to.join(&name))?;
        }
    }
    Ok(())
}

/// Builds the exercise's checks twice around an edit, and lists every
/// package other than the exercise that cargo did not find fresh the
/// second time.
pub fn rebuilt_dependencies(session: &Session, scratch: &Path, slug: &str) -> Result<Vec<String>, BenchError> {
    let build = || -> Result<String, BenchError> {
        let out = Command::new(crate::runner::cargo_path())
            .current_dir(scratch)
            .env("CARGO_TARGET_DIR", bench_target(session))
            .args(["test", "-p", slug, "--test", "checks", "--no-run", "--message-format", "json"])
            .stderr(Stdio::null())
            .output()
            .map_err(io("running cargo"))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    build()?;
    touch(&scratch.join("exercises").join(slug).join("src/lib.rs"), 0).map_err(io("editing the exercise"))?;
    let out = build()?;
    let mut rebuilt = Vec::new();
    for line in out.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if v["reason"] == "compiler-artifact" && v["fresh"] == false {
            let id = v["package_id"].as_str().unwrap_or("").to_owned();
            if !id.contains(&format!("exercises/{slug}")) {
                rebuilt.push(id);
            }
        }
    }
    Ok(rebuilt)
}

/// Appends a comment, as a save in an editor would change the file.
fn touch(file: &Path, n: usize) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(file)?;
    writeln!(f, "// bench edit {n}")?;
    Ok(())
}

pub fn watch_times(
    session: &Session,
    scratch: &Path,
    url: &str,
    saves: usize,
    slug: &str,
) -> Result<Vec<u128>, BenchError> {
    let exe = std::env::current_exe().map_err(io("finding the checker binary"))?;
    let mut child = Command::new(exe)
        .current_dir(scratch)
        .env("CARGO_TARGET_DIR", bench_target(session))
        .env("WORKBOOK_STATE_DIR", scratch.join(".workbook"))
        .env("NO_COLOR", "1")
        // As the embedded default would: check databases where ours go.
        .envs(session.check_env())
        .args(["--database-url", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(io("starting watch mode"))?;
    let stdout = child.stdout.take().expect("watch mode's stdout is piped");
    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("checks pass") || line.contains("does not compile") {
                let _ = tx.send((Instant::now(), line));
            }
        }
    });
    let wait = |rx: &mpsc::Receiver<(Instant, String)>| -> Result<(Instant, String), BenchError> {
        rx.recv_timeout(Duration::from_secs(300))
            .map_err(|_| BenchError::Watch("watch mode gave no verdict within 300 s".into()))
    };
    wait(&rx)?; // the first check, cold
    let lib = scratch.join("exercises").join(slug).join("src/lib.rs");
    let mut times = Vec::new();
    for i in 0..saves + 2 {
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        touch(&lib, i + 1).map_err(io("editing the exercise"))?;
        let (at, line) = wait(&rx)?;
        if !line.contains("All") {
            return Err(BenchError::Watch(format!("the solved exercise did not pass: {line}")));
        }
        if i >= 2 {
            times.push(at.duration_since(t).as_millis());
        }
    }
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "q");
    }
    let _ = child.wait();
    Ok(times)
}

fn bench_target(session: &Session) -> PathBuf {
    session.course.work_dir().join("bench-target")
}
