//! Where a check's time goes, for `checker dev bench`: when the checker
//! names a directory in [`var::TIMINGS_DIR`](crate::report::var::TIMINGS_DIR),
//! each check writes there when it started, when its database was ready,
//! when its body ended, when its database was gone, and every span it
//! spent applying or reverting migrations. Clock times (microseconds since
//! the Unix epoch), so the checker can lay them beside its own.
//!
//! Without the variable nothing is recorded beyond a few clock reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One check's phases, as clock times in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTimes {
    pub check: String,
    pub started: u64,
    /// The check's database exists and its pool is set up.
    pub created: u64,
    /// The body returned, failed or ran out of time.
    pub body_ended: u64,
    /// The database is dropped.
    pub dropped: u64,
    /// Spans spent applying or reverting migrations, inside the body.
    pub migrations: Vec<Span>,
}

/// Now, in microseconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A start and an end, in microseconds.
pub type Span = (u64, u64);

/// Migration spans by the URL of the database they ran on; each check
/// takes its own database's out when it ends.
static MIGRATIONS: Mutex<Option<HashMap<String, Vec<Span>>>> = Mutex::new(None);

fn wanted() -> Option<PathBuf> {
    std::env::var_os(crate::report::var::TIMINGS_DIR).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Times `fut` as migration work on the database at `url`.
pub(crate) async fn migrating<T>(url: &str, fut: impl Future<Output = T>) -> T {
    if wanted().is_none() {
        return fut.await;
    }
    let start = now();
    let out = fut.await;
    let span = (start, now());
    let mut map = MIGRATIONS.lock().unwrap_or_else(|p| p.into_inner());
    map.get_or_insert_with(HashMap::new).entry(url.to_owned()).or_default().push(span);
    out
}

/// The migration spans recorded on `url`, removed from the record.
pub(crate) fn take_migrations(url: &str) -> Vec<Span> {
    let mut map = MIGRATIONS.lock().unwrap_or_else(|p| p.into_inner());
    map.as_mut().and_then(|m| m.remove(url)).unwrap_or_default()
}

/// Writes `times` where the checker asked, if it asked.
pub(crate) fn write(times: &CheckTimes) {
    let Some(dir) = wanted() else { return };
    let file = dir.join(format!("{}.json", times.check.replace("::", "__")));
    if let Ok(json) = serde_json::to_vec(times) {
        let _ = std::fs::write(file, json);
    }
}

/// Every check's times written into `dir`.
pub fn read_all(dir: &Path) -> Vec<CheckTimes> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect()
}
