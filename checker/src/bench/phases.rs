//! One save taken apart: where the time from an edit to a verdict goes.
//!
//! The build is `cargo test -p EX --test checks --no-run`, as the runner
//! runs it, with a `RUSTC_WRAPPER` (a shell script in a temporary
//! directory) that writes down when each rustc of the exercise's own
//! crates starts and ends, and hands rustc a linker that is `cc` wrapped
//! the same way. Cargo does not count the wrapper in its fingerprints, but
//! it does re-ask rustc for its version and settings when the wrapper
//! comes or goes (over a second on a loaded machine), so every cargo the
//! benchmark starts, watch mode's included, runs with the same wrapper
//! ([`Wrappers::env`]); for crates other than the exercise's it only
//! `exec`s rustc. Then:
//! - linking: the linker's own wall time;
//! - compiling: the rest of the exercise's rustc time;
//! - cargo: the build's wall time outside any rustc (start, resolving,
//!   freshness checks, scheduling).
//!
//! The check binary runs through the runner's own [`execute`] with
//! [`var::TIMINGS_DIR`] set, so every check writes its phases
//! ([`workbook::timing`]): creating its database, migrations, the body,
//! dropping. Checks run on parallel threads, so each instant of the run is
//! shared evenly between the phases active at it ([`share`]); the columns
//! add up to the run's wall time. What no check covers is the binary's
//! start (spawning, listing the checks, the harness) and its end (exit,
//! reading reports, sweeping the run's databases).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use workbook::report::var;
use workbook::timing::{self, CheckTimes};

use super::{BenchError, bench_target, io};
use crate::course::Exercise;
use crate::runner::{ExecOptions, Status, execute, limits};
use crate::session::Session;

/// A span of clock time in microseconds, and the phase it belongs to.
type Span = (u64, u64, usize);

/// One save's build, in ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildTimes {
    pub cargo: u64,
    pub compile: u64,
    pub link: u64,
}

/// One run of the check binary, in ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRunTimes {
    pub start: u64,
    pub create: u64,
    pub migrate: u64,
    pub body: u64,
    pub drop: u64,
    pub end: u64,
    pub checks: usize,
}

/// The two wrapper scripts and the log they write.
pub struct Wrappers {
    _dir: tempfile::TempDir,
    rustc: PathBuf,
    log: PathBuf,
}

impl Wrappers {
    /// Wrappers that time the rustc runs of `slug`'s crates (its library and
    /// its `checks` test) and their links.
    pub fn new(slug: &str) -> Result<Wrappers, BenchError> {
        let dir = tempfile::Builder::new().prefix("workbook-bench-").tempdir().map_err(io("creating a temp dir"))?;
        let log = dir.path().join("log");
        // Named like a C compiler: rustc picks the linker's flavour from
        // its name.
        let linker = dir.path().join("timed-cc");
        let rustc = dir.path().join("timed-rustc");
        let write = |path: &Path, text: String| -> Result<(), BenchError> {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(path, text).map_err(io("writing a wrapper script"))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io("making it executable"))
        };
        let log_q = shell_quote(&log);
        write(
            &linker,
            format!(
                "#!/bin/sh\ns=$(date +%s%6N)\ncc \"$@\"\nrc=$?\necho \"link - $s $(date +%s%6N)\" >> {log_q}\nexit $rc\n"
            ),
        )?;
        write(
            &rustc,
            format!(
                "#!/bin/sh\nname=\nprev=\nfor a in \"$@\"; do [ \"$prev\" = --crate-name ] && name=$a; prev=$a; done\n\
                 case \"$name\" in {slug}|checks) ;; *) exec \"$@\" ;; esac\n\
                 s=$(date +%s%6N)\n\"$@\" -C linker={}\nrc=$?\necho \"rustc $name $s $(date +%s%6N)\" >> {log_q}\nexit $rc\n",
                shell_quote(&linker)
            ),
        )?;
        Ok(Wrappers { _dir: dir, rustc, log })
    }

    /// The environment every cargo of the benchmark runs with.
    pub fn env(&self) -> [(&'static str, &Path); 1] {
        [("RUSTC_WRAPPER", self.rustc.as_path())]
    }

    fn take_log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// Builds the checks of `slug` in `scratch` as the runner does, timed;
/// returns the times and the check binary.
pub fn timed_build(
    session: &Session,
    scratch: &Path,
    slug: &str,
    w: &Wrappers,
) -> Result<(BuildTimes, PathBuf), BenchError> {
    let _ = w.take_log();
    let from = timing::now();
    let out = Command::new(crate::runner::cargo_path())
        .current_dir(scratch)
        .env("CARGO_TARGET_DIR", bench_target(session))
        .envs(w.env())
        .env_remove("RUSTFLAGS")
        .args(["test", "--package", slug, "--test", "checks", "--no-run", "--message-format", "json"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(io("running cargo"))?;
    let to = timing::now();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exe = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "checks")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from));
    let Some(exe) = exe.filter(|_| out.status.success()) else {
        return Err(BenchError::Watch(format!("{slug}'s checks did not build in the scratch copy")));
    };

    let (mut rustc, mut links) = (Vec::new(), Vec::new());
    for line in w.take_log().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(s), Some(e)) = (f.get(2).and_then(|s| s.parse().ok()), f.get(3).and_then(|s| s.parse().ok())) else {
            continue;
        };
        if f[0] == "link" { links.push((s, e)) } else { rustc.push((s, e)) }
    }
    // Phases: 0 cargo, 1 compiling, 2 linking.
    let mut spans: Vec<Span> = links.iter().map(|&(s, e)| (s, e, 2)).collect();
    for r in rustc {
        spans.extend(subtract(r, &links).into_iter().map(|(s, e)| (s, e, 1)));
    }
    let shares = share(from, to, &spans, 3, |_| 0);
    Ok((BuildTimes { cargo: ms(shares[0]), compile: ms(shares[1]), link: ms(shares[2]) }, exe))
}

/// Runs the check binary `exe` of `ex` as the runner does, with every
/// check recording its phases; all of them must pass.
pub async fn timed_checks(
    session: &Session,
    ex: &Exercise,
    crate_dir: &Path,
    exe: PathBuf,
) -> Result<CheckRunTimes, BenchError> {
    let dir = tempfile::Builder::new().prefix("workbook-timings-").tempdir().map_err(io("creating a temp dir"))?;
    let mut env = session.check_env();
    env.push((var::TIMINGS_DIR.to_owned(), dir.path().display().to_string()));
    let db = session.db_target().await.map_err(|e| BenchError::Watch(format!("preparing the check databases: {e}")))?;
    let opts = ExecOptions {
        executable: exe,
        crate_dir: crate_dir.to_path_buf(),
        db,
        sandbox: None,
        db_prefix: session.new_prefix(),
        time_limit: limits::run_time_limit(ex),
        check_time_limit: limits::check_time_limit(),
        output_cap: limits::OUTPUT_CAP,
        env,
        only: None,
    };
    let from = timing::now();
    let executed = execute(&opts).await.map_err(|e| BenchError::Watch(format!("running {}'s checks: {e}", ex.slug)))?;
    let to = timing::now();
    if let Some(c) = executed.checks.iter().find(|c| c.status != Status::Passed) {
        return Err(BenchError::Watch(format!("{}'s solution failed {} in the scratch copy", ex.slug, c.name)));
    }
    let times = timing::read_all(dir.path());
    Ok(split_checks(from, to, &times))
}

/// Phases: 0 start, 1 create, 2 migrate, 3 body, 4 drop, 5 end.
fn split_checks(from: u64, to: u64, times: &[CheckTimes]) -> CheckRunTimes {
    let mut spans: Vec<Span> = Vec::new();
    for t in times {
        spans.push((t.started, t.created, 1));
        spans.extend(t.migrations.iter().map(|&(s, e)| (s, e, 2)));
        spans.extend(subtract((t.created, t.body_ended), &t.migrations).into_iter().map(|(s, e)| (s, e, 3)));
        spans.push((t.body_ended, t.dropped, 4));
    }
    let last = times.iter().map(|t| t.dropped).max().unwrap_or(to);
    let s = share(from, to, &spans, 6, |at| if at >= last { 5 } else { 0 });
    CheckRunTimes {
        start: ms(s[0]),
        create: ms(s[1]),
        migrate: ms(s[2]),
        body: ms(s[3]),
        drop: ms(s[4]),
        end: ms(s[5]),
        checks: times.len(),
    }
}

/// The relink floor: `cargo test --no-run -p EX` after an edit, in ms.
pub fn floor(session: &Session, scratch: &Path, slug: &str, edited: &Path, w: &Wrappers) -> Result<u64, BenchError> {
    super::touch(edited, 0).map_err(io("editing the exercise"))?;
    let t = Instant::now();
    let status = Command::new(crate::runner::cargo_path())
        .current_dir(scratch)
        .env("CARGO_TARGET_DIR", bench_target(session))
        .envs(w.env())
        .env_remove("RUSTFLAGS")
        .args(["test", "--no-run", "--quiet", "--package", slug])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(io("running cargo"))?;
    if !status.success() {
        return Err(BenchError::Watch(format!("cargo test --no-run -p {slug} failed in the scratch copy")));
    }
    Ok(t.elapsed().as_millis() as u64)
}

fn ms(us: u64) -> u64 {
    (us + 500) / 1000
}

/// `span` with every part that one of `holes` covers cut out.
fn subtract(span: (u64, u64), holes: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut holes: Vec<_> = holes.iter().filter(|h| h.0 < span.1 && h.1 > span.0).copied().collect();
    holes.sort_unstable();
    let mut out = Vec::new();
    let mut at = span.0;
    for (s, e) in holes {
        if s > at {
            out.push((at, s));
        }
        at = at.max(e);
    }
    if at < span.1 {
        out.push((at, span.1));
    }
    out
}

/// Shares the time from `from` to `to` between `n` phases: each instant
/// goes in equal parts to the phases of the spans active at it, or, when
/// none is, wholly to the phase `idle` names for it. The shares add up to
/// `to - from`.
fn share(from: u64, to: u64, spans: &[Span], n: usize, idle: impl Fn(u64) -> usize) -> Vec<u64> {
    let clip = |t: u64| t.clamp(from, to);
    let mut cuts: Vec<u64> = spans.iter().flat_map(|&(s, e, _)| [clip(s), clip(e)]).collect();
    cuts.extend([from, to]);
    cuts.sort_unstable();
    cuts.dedup();
    let mut shares = vec![0f64; n];
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let active: Vec<usize> = spans.iter().filter(|&&(s, e, _)| s <= a && e >= b && e > s).map(|s| s.2).collect();
        let len = (b - a) as f64;
        if active.is_empty() {
            shares[idle(a)] += len;
        } else {
            for p in &active {
                shares[*p] += len / active.len() as f64;
            }
        }
    }
    shares.into_iter().map(|s| s.round() as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_phases_share_the_time_and_the_shares_add_up() {
        // Two checks: one body 0..100, the other's create 50..150. Nothing
        // from 150 to 200.
        let spans = [(0, 100, 1), (50, 150, 2)];
        let s = share(0, 200, &spans, 3, |_| 0);
        assert_eq!(s, vec![50, 75, 75]);
        assert_eq!(s.iter().sum::<u64>(), 200);
    }

    #[test]
    fn holes_are_cut_out_of_a_span() {
        assert_eq!(subtract((0, 100), &[(10, 20), (15, 30), (90, 120)]), vec![(0, 10), (30, 90)]);
        assert_eq!(subtract((0, 100), &[]), vec![(0, 100)]);
        assert_eq!(subtract((0, 100), &[(0, 100)]), vec![]);
    }

    #[test]
    fn a_check_run_is_split_into_its_phases() {
        let t = CheckTimes {
            check: "c".into(),
            started: 1_000,
            created: 11_000,
            body_ended: 41_000,
            dropped: 51_000,
            migrations: vec![(11_000, 21_000)],
        };
        let r = split_checks(0, 61_000, &[t]);
        assert_eq!((r.start, r.create, r.migrate, r.body, r.drop, r.end), (1, 10, 10, 20, 10, 10));
    }
}
