//! How much a run may take: time, output, memory, parallel checks. Each
//! has a default and an environment variable that changes it (`--help`
//! lists them).

use std::time::Duration;

use crate::course::Exercise;

/// Output a runaway check may print before it is stopped.
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// How long a build may take. Apart from the checks' own limit: a build
/// waits for cargo's lock while another build runs, and a submission has
/// no build script to stall it (manifests are the course's).
pub const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Seconds a whole exercise run may take: `WORKBOOK_RUN_TIMEOUT`, else the
/// exercise's own `time_limit`.
pub fn run_time_limit(ex: &Exercise) -> Duration {
    env_secs("WORKBOOK_RUN_TIMEOUT").unwrap_or_else(|| ex.time_limit())
}

/// Seconds one check may take before it is reported as hanging:
/// `WORKBOOK_CHECK_TIMEOUT`, else 10; read as the support crate reads it.
pub fn check_time_limit() -> Duration {
    workbook::report::check_timeout()
}

fn env_secs(key: &str) -> Option<Duration> {
    workbook::report::parse_seconds(std::env::var(key).ok().as_deref())
}

/// Memory each check process may allocate: `WORKBOOK_CHECK_MEMORY_MB`
/// (0: no limit), else 1 GiB, ten times what the course's checks use.
pub fn memory_limit_mb() -> u64 {
    std::env::var("WORKBOOK_CHECK_MEMORY_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(1024)
}

/// How many checks run at once. They mostly wait on the server, so more
/// than the core count pays.
pub fn test_threads() -> usize {
    std::env::var("WORKBOOK_TEST_THREADS").ok().and_then(|s| s.parse().ok()).filter(|n| *n > 0).unwrap_or(8)
}
