//! `checker dev bench`: the figures the foundation promises, measured.
//!
//! - creating and dropping a check database (median and worst of 20);
//! - watch mode on one exercise (`connect`, or `--exercise EX`), warm:
//!   from saving its `src/lib.rs` to the verdict (median and worst of 10
//!   saves), in a scratch copy of the course with the exercise solved, so
//!   the student's files are never touched;
//! - how many dependencies a check rebuilt after an edit (should be 0).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};

use super::Ctx;
use crate::exit::Code;

pub async fn execute(ctx: &Ctx, saves: usize, exercise: &str) -> anyhow::Result<Code> {
    let ex = ctx.course.find(exercise)?.clone();
    let server = ctx.server().await?.clone();
    println!("server: {} ({})", crate::db::redact(&server.url), server.origin);

    match ctx.fast_tablespace() {
        Some(t) => println!("check databases: in memory (tablespace {t})"),
        None => println!("check databases: in the default tablespace"),
    }
    let (create, drop) = database_times(&server.url, ctx.fast_tablespace(), 20).await?;
    println!("create database: median {:>4} ms, worst {:>4} ms (20 runs)", median(&create), worst(&create));
    println!("drop database:   median {:>4} ms, worst {:>4} ms (20 runs)", median(&drop), worst(&drop));

    let scratch = scratch_course(ctx, &ex)?;
    let rebuilt = rebuilt_dependencies(ctx, &scratch, &ex.slug)?;
    println!("dependencies rebuilt by a check after an edit: {}", rebuilt.len());
    for r in &rebuilt {
        println!("  rebuilt: {r}");
    }

    let times = watch_times(ctx, &scratch, &server.url, saves, &ex.slug)?;
    println!(
        "watch mode, save to verdict on {} (warm): median {} ms, worst {} ms ({} saves)",
        ex.slug,
        median(&times),
        worst(&times),
        times.len()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(Code::Passed)
}

fn median(v: &[u128]) -> u128 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or(0)
}

fn worst(v: &[u128]) -> u128 {
    v.iter().copied().max().unwrap_or(0)
}

async fn database_times(url: &str, tablespace: Option<&str>, n: usize) -> anyhow::Result<(Vec<u128>, Vec<u128>)> {
    let place = tablespace.map(|t| format!(r#" TABLESPACE "{t}""#)).unwrap_or_default();
    let mut conn = PgConnection::connect(url).await.context("connecting to the server")?;
    let (mut create, mut drop) = (Vec::new(), Vec::new());
    for i in 0..n {
        let name = format!("{}{}_bench_{i}", crate::db::admin::CHECK_PREFIX, std::process::id());
        let t = Instant::now();
        conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}"{place}"#))).await?;
        create.push(t.elapsed().as_millis());
        let t = Instant::now();
        conn.execute(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))).await?;
        drop.push(t.elapsed().as_millis());
    }
    conn.close().await?;
    Ok((create, drop))
}

/// A copy of the course (no target, no git) with `ex` solved. Its
/// crates sit at the same relative paths as the course's, so it builds in
/// a target dir of its own (kept between benchmarks; the first is cold).
fn scratch_course(ctx: &Ctx, ex: &crate::course::Exercise) -> anyhow::Result<PathBuf> {
    let root = &ctx.course.root;
    let scratch = ctx.course.work_dir().join("bench").join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&scratch);
    copy_dir(root, &scratch, root)?;
    let solved = scratch.join("exercises").join(&ex.slug);
    crate::runner::overlay::copy_tree(&ctx.course.solution_dir(ex), &solved)
        .with_context(|| format!("solving {} in the scratch copy", ex.slug))?;
    // Watch mode works on the current exercise.
    let state = scratch.join(".workbook");
    std::fs::create_dir_all(&state)?;
    std::fs::write(state.join("progress.json"), serde_json::json!({ "current": ex.slug }).to_string())?;
    Ok(scratch)
}

fn copy_dir(from: &Path, to: &Path, root: &Path) -> anyhow::Result<()> {
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
fn rebuilt_dependencies(ctx: &Ctx, scratch: &Path, slug: &str) -> anyhow::Result<Vec<String>> {
    let build = || -> anyhow::Result<String> {
        let out = Command::new(crate::runner::cargo_path())
            .current_dir(scratch)
            .env("CARGO_TARGET_DIR", bench_target(ctx))
            .args(["test", "-p", slug, "--test", "checks", "--no-run", "--message-format", "json"])
            .stderr(Stdio::null())
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    build()?;
    touch(&scratch.join("exercises").join(slug).join("src/lib.rs"), 0)?;
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
fn touch(file: &Path, n: usize) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(file)?;
    writeln!(f, "// bench edit {n}")?;
    Ok(())
}

fn watch_times(ctx: &Ctx, scratch: &Path, url: &str, saves: usize, slug: &str) -> anyhow::Result<Vec<u128>> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .current_dir(scratch)
        .env("CARGO_TARGET_DIR", bench_target(ctx))
        .env("WORKBOOK_STATE_DIR", scratch.join(".workbook"))
        .env("NO_COLOR", "1")
        // As the embedded default would: check databases where ours go.
        .envs(ctx.check_env())
        .args(["--database-url", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting watch mode")?;
    let stdout = child.stdout.take().context("watch stdout")?;
    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("checks pass") || line.contains("does not compile") {
                let _ = tx.send((Instant::now(), line));
            }
        }
    });
    let wait = |rx: &mpsc::Receiver<(Instant, String)>| -> anyhow::Result<(Instant, String)> {
        rx.recv_timeout(Duration::from_secs(300)).context("watch mode gave no verdict within 300 s")
    };
    wait(&rx)?; // the first check, cold
    let lib = scratch.join("exercises").join(slug).join("src/lib.rs");
    let mut times = Vec::new();
    for i in 0..saves + 2 {
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        touch(&lib, i + 1)?;
        let (at, line) = wait(&rx)?;
        anyhow::ensure!(line.contains("All"), "the solved exercise did not pass: {line}");
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

fn bench_target(ctx: &Ctx) -> PathBuf {
    ctx.course.work_dir().join("bench-target")
}
