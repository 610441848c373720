//! What crosses the process boundary between a check and the checker, in
//! one place: the verdict (and, for a failure, the report) each check
//! sends, the names of the environment variables the checker sets for the
//! check process, and how each is read. The support crate sends verdicts
//! and reads the variables; the checker sets the variables and reads the
//! verdicts. Both compile this module, so the two sides cannot drift apart.
//!
//! Verdicts travel on a pipe the checker creates before the check process
//! starts ([`var::VERDICT_FD`]), never on stdout: what the code under test
//! prints is shown to the student, and never counted.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The environment variables the checker sets for a check process.
pub mod var {
    /// The number of the file descriptor the harness writes each check's
    /// [`Verdict`](super::Verdict) to: a pipe the checker opened before
    /// any code under test ran, whose other end only the checker reads.
    pub const VERDICT_FD: &str = "WORKBOOK_VERDICT_FD";
    /// The prefix of every database the run creates (the checker drops
    /// them all when the run ends).
    pub const DB_PREFIX: &str = "WORKBOOK_DB_PREFIX";
    /// Seconds one check may take before it is stopped as hanging.
    pub const CHECK_TIMEOUT: &str = "WORKBOOK_CHECK_TIMEOUT";
    /// The seed of the run's generated data, to replay a run.
    pub const SEED: &str = "WORKBOOK_SEED";
    /// The tablespace check databases are created in (the checker's
    /// embedded server keeps them in memory).
    pub const TABLESPACE: &str = "WORKBOOK_TABLESPACE";
    /// The file naming the database the checker made for each check
    /// ([`CheckDatabases`](super::CheckDatabases)). When it is set, the
    /// checks create no database of their own, and the check process holds
    /// no URL but theirs.
    pub const CHECK_DBS: &str = "WORKBOOK_CHECK_DBS";
    /// The directory each check writes its phase times into
    /// ([`crate::timing`]), when `checker dev bench` asks.
    pub const TIMINGS_DIR: &str = "WORKBOOK_TIMINGS_DIR";
}

/// How long one check may run when [`var::CHECK_TIMEOUT`] does not say.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// How a check failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An expectation was not met.
    #[default]
    Failed,
    /// The code under test panicked (a `todo!()`, an `unwrap()` on an error).
    Panicked,
    /// The check passed its time limit.
    TimedOut,
}

impl Kind {
    /// The name the report file and the checker's JSON output use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Failed => "failed",
            Kind::Panicked => "panicked",
            Kind::TimedOut => "timed_out",
        }
    }
}

/// How a check failed, in the words a student needs to fix it: what was
/// called, what was expected, what came back, the SQL the student's code
/// sent, a hint, and where a panic happened. Checks build one with
/// [`Failure`](crate::Failure), the checker renders it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub kind: Kind,
    /// What the check did: the call or query whose result was wrong.
    #[serde(default)]
    pub called: String,
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub got: Option<String>,
    /// A printout of the SQL the student's code sent, when the check
    /// recorded it.
    #[serde(default)]
    pub sql: Option<String>,
    /// A nudge specific to this failure; the exercise's own hints come
    /// from `info.toml`.
    #[serde(default)]
    pub hint: Option<String>,
    /// Where a panic happened, as `file:line:column`.
    #[serde(default)]
    pub location: Option<String>,
}

/// What the harness says about one check when it ends: passed, or failed
/// with how. One JSON object per line on the verdict pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub check: String,
    pub passed: bool,
    #[serde(default)]
    pub report: Option<Report>,
}

/// How many bytes of verdicts the checker reads from one check process:
/// far more than any real run sends (a report is a few KiB), and a bound
/// on what a flood costs.
pub const VERDICTS_CAP: usize = 8 * 1024 * 1024;

/// The pipe the checker gave this process, opened on first use (through
/// `/proc/self/fd`, so no raw descriptor is taken over).
fn verdict_pipe() -> Option<&'static Mutex<std::fs::File>> {
    static PIPE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    PIPE.get_or_init(|| {
        let fd: u32 = std::env::var(var::VERDICT_FD).ok()?.trim().parse().ok()?;
        let file = std::fs::OpenOptions::new().append(true).open(format!("/proc/self/fd/{fd}")).ok()?;
        Some(Mutex::new(file))
    })
    .as_ref()
}

/// Opens the verdict pipe now, before any code under test runs in this
/// process (the harness calls it first thing in every check).
pub fn open_verdict_pipe() {
    let _ = verdict_pipe();
}

/// Sends `verdict` to the checker, if it gave this process a pipe. One
/// `write` per line under a lock, so verdicts from parallel checks never
/// interleave.
pub fn send(verdict: &Verdict) {
    let Some(pipe) = verdict_pipe() else { return };
    let Ok(mut line) = serde_json::to_vec(verdict) else { return };
    line.push(b'\n');
    let mut pipe = pipe.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let _ = pipe.write_all(&line);
}

/// What the checker learned from a verdict pipe: each check's verdict.
/// A check with two verdicts that disagree counts as failed (something
/// other than the harness wrote one), and lines that are not verdicts are
/// counted, not trusted.
#[derive(Debug, Default)]
pub struct Verdicts {
    pub by_check: HashMap<String, Verdict>,
    pub malformed: usize,
    /// What the checker's trampoline said on the first line, before the
    /// check binary ran: `Some(Ok)` it started, `Some(Err(why))` its
    /// sandbox could not be set up. Only the first line counts, so code
    /// of the check binary's (which runs after it) cannot forge either.
    pub start: Option<Result<(), String>>,
}

/// The trampoline's first line on a verdict pipe when the sandbox is in
/// place and the check binary is about to start.
pub const STARTED: &str = "#started";
/// The trampoline's first line when its sandbox could not be set up,
/// followed by why.
pub const START_FAILED: &str = "#start-failed ";

/// Reads the bytes of a verdict pipe.
pub fn read_verdicts(bytes: &[u8]) -> Verdicts {
    let mut out = Verdicts::default();
    let mut lines = bytes.split(|b| *b == b'\n').peekable();
    if let Some(first) = lines.peek().map(|l| String::from_utf8_lossy(l).into_owned()) {
        if first == STARTED {
            out.start = Some(Ok(()));
            lines.next();
        } else if let Some(why) = first.strip_prefix(START_FAILED) {
            out.start = Some(Err(why.to_owned()));
            lines.next();
        }
    }
    for line in lines.filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_slice::<Verdict>(line) else {
            out.malformed += 1;
            continue;
        };
        match out.by_check.get_mut(&v.check) {
            Some(seen) if seen.passed != v.passed => {
                seen.passed = false;
                if seen.report.is_none() {
                    seen.report = v.report;
                }
            }
            Some(_) => {}
            None => {
                out.by_check.insert(v.check.clone(), v);
            }
        }
    }
    out
}

/// The databases the checker made for one check process: check name to
/// database, each owned by a role that may do nothing else on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDatabases {
    pub checks: BTreeMap<String, CheckDatabase>,
}

/// One check's database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDatabase {
    pub name: String,
    /// Signs in as the database's owner, to this database.
    pub url: String,
}

/// Where the checker puts the [`CheckDatabases`] file in a report
/// directory: a name no check's report file can have.
pub fn databases_file(dir: &Path) -> PathBuf {
    dir.join(".databases")
}

/// Writes `dbs` to `path`, readable by its owner only (it holds passwords).
pub fn write_databases(path: &Path, dbs: &CheckDatabases) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let json = serde_json::to_vec(dbs).map_err(std::io::Error::other)?;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(&json)
}

/// The [`CheckDatabases`] file [`var::CHECK_DBS`] names: `None` when the
/// variable is not set (the checks were started by hand), an error when it
/// is set and the file cannot be read.
pub fn given_databases() -> Option<Result<CheckDatabases, String>> {
    let path = std::env::var_os(var::CHECK_DBS).filter(|v| !v.is_empty()).map(PathBuf::from)?;
    let read = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice::<CheckDatabases>(&bytes).map_err(|e| e.to_string()));
    Some(read.map_err(|e| format!("reading the check databases from {}: {e}", path.display())))
}

/// The run's database prefix, if the checker set one.
pub fn db_prefix() -> Option<String> {
    std::env::var(var::DB_PREFIX).ok().filter(|p| !p.is_empty())
}

/// How long one check may run: [`var::CHECK_TIMEOUT`] in seconds (a
/// fraction is fine), else [`DEFAULT_CHECK_TIMEOUT`].
pub fn check_timeout() -> Duration {
    parse_seconds(std::env::var(var::CHECK_TIMEOUT).ok().as_deref()).unwrap_or(DEFAULT_CHECK_TIMEOUT)
}

/// Seconds as the checker writes them into [`var::CHECK_TIMEOUT`].
pub fn seconds_value(limit: Duration) -> String {
    limit.as_secs_f64().to_string()
}

/// A positive number of seconds, or `None`.
pub fn parse_seconds(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0).map(Duration::from_secs_f64)
}

/// The seed [`var::SEED`] asks to replay, if it is a number.
pub fn seed() -> Option<u64> {
    std::env::var(var::SEED).ok()?.trim().parse().ok()
}

/// The tablespace [`var::TABLESPACE`] names, if it is a plain identifier
/// (it is put into SQL unquoted-safe: letters, digits and `_` only).
pub fn tablespace() -> Option<String> {
    std::env::var(var::TABLESPACE).ok().filter(|t| is_plain_identifier(t))
}

fn is_plain_identifier(t: &str) -> bool {
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_round_trips_through_a_verdict_line() {
        let report = Report {
            kind: Kind::Panicked,
            called: "list(&pool)".into(),
            expected: Some("3 rows".into()),
            got: Some("2 rows".into()),
            sql: Some("SELECT * FROM students".into()),
            hint: Some("mind the join".into()),
            location: Some("src/lib.rs:3:5".into()),
        };
        let v = Verdict { check: "module::a_check".into(), passed: false, report: Some(report) };
        let mut bytes = serde_json::to_vec(&v).unwrap();
        bytes.extend_from_slice(b"\ntest module::a_check ... ok\n");
        let read = read_verdicts(&bytes);
        assert_eq!(read.by_check["module::a_check"], v);
        assert_eq!(read.malformed, 1, "a libtest line is not a verdict");
        assert!(!read.by_check.contains_key("another_check"));
    }

    #[test]
    fn two_verdicts_that_disagree_are_a_failure() {
        let pass = r#"{"check":"c","passed":true}"#;
        let fail = r#"{"check":"c","passed":false,"report":{"called":"x"}}"#;
        for text in [format!("{pass}\n{fail}\n"), format!("{fail}\n{pass}\n")] {
            let v = read_verdicts(text.as_bytes());
            assert!(!v.by_check["c"].passed, "{text}");
            assert_eq!(v.by_check["c"].report.as_ref().unwrap().called, "x");
        }
        let twice = read_verdicts(format!("{pass}\n{pass}\n").as_bytes());
        assert!(twice.by_check["c"].passed);
    }

    #[test]
    fn only_the_first_line_can_be_the_trampolines() {
        let pass = r#"{"check":"c","passed":true}"#;
        let started = read_verdicts(format!("{STARTED}\n{pass}\n{START_FAILED}forged\n").as_bytes());
        assert_eq!(started.start, Some(Ok(())));
        assert!(started.by_check["c"].passed);
        assert_eq!(started.malformed, 1, "a start line after the first is not the trampoline's");
        let failed = read_verdicts(format!("{START_FAILED}no landlock\n").as_bytes());
        assert_eq!(failed.start, Some(Err("no landlock".into())));
        let plain = read_verdicts(format!("{pass}\n").as_bytes());
        assert_eq!(plain.start, None);
        assert!(plain.by_check["c"].passed);
    }

    #[test]
    fn kinds_are_written_in_snake_case_and_missing_fields_default() {
        let r: Report = serde_json::from_str(r#"{"kind":"timed_out"}"#).unwrap();
        assert_eq!(r.kind, Kind::TimedOut);
        assert_eq!(r.sql, None);
        assert_eq!(serde_json::to_value(Kind::TimedOut).unwrap(), "timed_out");
        assert_eq!(Kind::Panicked.as_str(), "panicked");
    }

    #[test]
    fn seconds_must_be_positive_numbers() {
        assert_eq!(parse_seconds(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(parse_seconds(Some("0.5")), Some(Duration::from_millis(500)));
        for bad in [None, Some(""), Some("0"), Some("-1"), Some("ten"), Some("inf")] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
        assert_eq!(parse_seconds(Some(&seconds_value(Duration::from_millis(2500)))), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn the_databases_file_round_trips_and_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile_dir("wb-dbs");
        let mut dbs = CheckDatabases::default();
        dbs.checks
            .insert("m::a".into(), CheckDatabase { name: "wbchk_1_r0_0".into(), url: "postgres://r:p@h/x".into() });
        let file = databases_file(&dir);
        write_databases(&file, &dbs).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let back: CheckDatabases = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(back, dbs);
        assert!(write_databases(&file, &dbs).is_err(), "never written over");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{tag}-{}-{}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_plain_tablespace_names_are_used() {
        assert!(is_plain_identifier("workbook_fast"));
        assert!(!is_plain_identifier("x\" ; DROP"));
        assert!(!is_plain_identifier(""));
    }
}
