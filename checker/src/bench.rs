//! The measurements behind `checker dev bench`: the figures the course
//! promises, taken on this machine.
//!
//! - creating and dropping a check database (median and worst of 20);
//! - a `SELECT 1` round trip straight to the server and through the wire
//!   relay (median of 500 each), and starting and stopping a relay;
//! - watch mode on one exercise (`connect`, or `--exercise EX`), warm:
//!   from saving one of its editable files ([`edited_file`]) to the verdict (median and worst of 10
//!   saves), in a scratch copy of the course with the exercise solved, so
//!   the student's files are never touched;
//! - how many dependencies a check rebuilt after an edit (should be 0);
//! - per exercise, one save taken apart phase by phase ([`phases`]), and
//!   the relink floor: `cargo test --no-run -p EX` after the same edit.
//!
//! Each measurement is a function of its own, so a new phase is one more
//! function here and one more column in the command.

pub mod phases;

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
pub fn rebuilt_dependencies(
    session: &Session,
    scratch: &Path,
    slug: &str,
    edited: &Path,
    w: &phases::Wrappers,
) -> Result<Vec<String>, BenchError> {
    let build = || -> Result<String, BenchError> {
        let out = Command::new(crate::runner::cargo_path())
            .current_dir(scratch)
            .env("CARGO_TARGET_DIR", bench_target(session))
            .envs(w.env())
            .args(["test", "-p", slug, "--test", "checks", "--no-run", "--message-format", "json"])
            .stderr(Stdio::null())
            .output()
            .map_err(io("running cargo"))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    build()?;
    touch(edited, 0).map_err(io("editing the exercise"))?;
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

/// The file the benchmark saves: one the student edits in this exercise
/// (watch mode ignores the others), `src/lib.rs` when it is one, else the
/// first in path order (a drill, a migration, a seed).
pub fn edited_file(ex: &crate::course::Exercise, crate_dir: &Path) -> Result<PathBuf, BenchError> {
    let files: Vec<String> =
        crate::course::relative_files(crate_dir).into_iter().filter(|f| ex.is_editable(f)).collect();
    let pick = files.iter().find(|f| *f == "src/lib.rs").or_else(|| files.iter().min());
    pick.map(|f| crate_dir.join(f))
        .ok_or_else(|| BenchError::Watch(format!("{} has no editable file to save", ex.slug)))
}

/// Appends a comment, as a save in an editor would change the file.
fn touch(file: &Path, n: usize) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(file)?;
    let comment = if file.extension().is_some_and(|e| e == "sql") { "--" } else { "//" };
    writeln!(f, "\n{comment} bench edit {n}")?;
    Ok(())
}

pub fn watch_times(
    session: &Session,
    scratch: &Path,
    url: &str,
    saves: usize,
    edited: &Path,
    w: &phases::Wrappers,
) -> Result<Vec<u128>, BenchError> {
    let exe = std::env::current_exe().map_err(io("finding the checker binary"))?;
    let mut child = Command::new(exe)
        .current_dir(scratch)
        .env("CARGO_TARGET_DIR", bench_target(session))
        .envs(w.env())
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
    let timed = || -> Result<Vec<u128>, BenchError> {
        wait(&rx)?; // the first check, cold
        let mut times = Vec::new();
        for i in 0..saves + 2 {
            std::thread::sleep(Duration::from_millis(300));
            let t = Instant::now();
            touch(edited, i + 1).map_err(io("editing the exercise"))?;
            let (at, line) = wait(&rx)?;
            if !line.contains("All") {
                return Err(BenchError::Watch(format!("the solved exercise did not pass: {line}")));
            }
            if i >= 2 {
                times.push(at.duration_since(t).as_millis());
            }
        }
        Ok(times)
    };
    let times = timed();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "q");
    }
    if times.is_err() {
        // It gave no verdict: do not wait for it to read the `q`.
        let _ = child.kill();
    }
    let _ = child.wait();
    times
}

/// Every figure for one exercise, `saves` of each (after one unrecorded
/// warm-up save), taken in one scratch copy with the exercise solved.
#[derive(Debug, Default)]
pub struct ExerciseBench {
    /// Watch mode, save to verdict, ms.
    pub verdict: Vec<u64>,
    /// `cargo test --no-run -p EX` after an edit, ms.
    pub floor: Vec<u64>,
    pub builds: Vec<phases::BuildTimes>,
    pub runs: Vec<phases::CheckRunTimes>,
    /// Packages other than the exercise rebuilt after an edit.
    pub rebuilt: Vec<String>,
}

pub async fn exercise(
    session: &Session,
    ex: &crate::course::Exercise,
    url: &str,
    saves: usize,
) -> Result<ExerciseBench, BenchError> {
    let slug = ex.slug.as_str();
    let scratch = scratch_course(session, slug)?;
    let crate_dir = scratch.join("exercises").join(slug);
    let edited = edited_file(ex, &crate_dir)?;
    let wrappers = phases::Wrappers::new(slug)?;
    let rebuilt = rebuilt_dependencies(session, &scratch, slug, &edited, &wrappers)?;
    let mut b = ExerciseBench { rebuilt, ..ExerciseBench::default() };
    for i in 0..=saves {
        touch(&edited, i).map_err(io("editing the exercise"))?;
        let (build, exe) = phases::timed_build(session, &scratch, slug, &wrappers)?;
        let run = phases::timed_checks(session, ex, &crate_dir, exe).await?;
        let floor = phases::floor(session, &scratch, slug, &edited, &wrappers)?;
        if i > 0 {
            b.builds.push(build);
            b.runs.push(run);
            b.floor.push(floor);
        }
    }
    b.verdict = watch_times(session, &scratch, url, saves, &edited, &wrappers)?.into_iter().map(|t| t as u64).collect();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(b)
}

fn bench_target(session: &Session) -> PathBuf {
    session.course.work_dir().join("bench-target")
}
