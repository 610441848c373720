//! One file per subcommand, each with an `execute` function; this module
//! holds what they share: the course, the chosen server, and running one
//! exercise with progress recorded.

pub mod bench;
pub mod db;
pub mod dev;
pub mod hint;
pub mod list;
pub mod migrate;
pub mod next;
pub mod reset;
pub mod run;
pub mod seed;
pub mod serve;
pub mod verify;
pub mod watch;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::course::{Course, Exercise};
use crate::db::Server;
use crate::db::admin::Admin;
use crate::exit::{Code, Failure};
use crate::progress::{self, Progress};
use crate::runner::{self, ExerciseRun, RunRequest};

/// Output a runaway check may print before it is stopped.
pub const OUTPUT_CAP: usize = 1024 * 1024;

pub struct Ctx {
    pub course: Course,
    pub color: bool,
    pub db_flag: Option<String>,
    server: OnceCell<Server>,
    /// The embedded server's in-memory tablespace for check databases.
    fast_tablespace: std::sync::OnceLock<Option<String>>,
    runs: AtomicU32,
}

impl Ctx {
    pub fn new(course: Course, color: bool, db_flag: Option<String>) -> Ctx {
        Ctx {
            course,
            color,
            db_flag,
            server: OnceCell::new(),
            fast_tablespace: std::sync::OnceLock::new(),
            runs: AtomicU32::new(0),
        }
    }

    /// The server checks run on, made ready once per process: reachable,
    /// allowed to create databases, and rid of a crashed run's leftovers.
    pub async fn server(&self) -> Result<&Server, Failure> {
        self.server
            .get_or_try_init(|| async {
                let server = crate::db::resolve(&self.course, self.db_flag.as_deref()).await?;
                let mut admin = Admin::connect(&server).await?;
                admin.require_createdb(&server).await?;
                if server.is_local() {
                    admin.sweep_crashed_runs().await?;
                }
                admin.close().await;
                let fast = if server.origin == crate::db::Origin::Embedded {
                    crate::db::fast::ensure(&server.url).await
                } else {
                    None
                };
                let _ = self.fast_tablespace.set(fast);
                Ok(server)
            })
            .await
    }

    /// An exercise's sandbox database (for psql, migrate and seed by
    /// hand), created on first use; returns its URL.
    pub async fn sandbox_url(&self, slug: &str) -> Result<String, Failure> {
        let server = self.server().await?.clone();
        let mut admin = Admin::connect(&server).await?;
        let url = admin.sandbox(&server, slug).await?;
        admin.close().await;
        Ok(url)
    }

    /// The embedded server's in-memory tablespace, once the server is
    /// ready and if it has one.
    pub fn fast_tablespace(&self) -> Option<&str> {
        self.fast_tablespace.get().and_then(Option::as_deref)
    }

    /// Environment for check processes: where to create their databases.
    pub fn check_env(&self) -> Vec<(String, String)> {
        crate::db::fast::check_env(self.fast_tablespace()).into_iter().collect()
    }

    /// A database-name prefix no other run shares.
    pub fn new_prefix(&self) -> String {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        format!("{}{}_r{n}", crate::db::admin::CHECK_PREFIX, std::process::id())
    }

    pub fn progress(&self) -> (Progress, Option<String>) {
        Progress::load(&progress::path(&self.course))
    }

    pub fn save_progress(&self, p: &Progress) -> anyhow::Result<()> {
        let path = progress::path(&self.course);
        p.save(&path).map_err(|e| anyhow::anyhow!("saving progress to {}: {e}", path.display()))
    }

    /// Resolves an optional exercise argument: the named one, else the
    /// current one.
    pub fn exercise_or_current(&self, slug: Option<&str>) -> Result<Exercise, Failure> {
        match slug {
            Some(s) => self.course.find(s).cloned(),
            None => {
                let (p, _) = self.progress();
                p.current(&self.course).cloned().ok_or_else(|| Failure::usage("the course has no exercises"))
            }
        }
    }

    /// Builds and checks one exercise in place, stopping cleanly on Ctrl-C.
    /// `show_build`: a slow build says what it is doing (on a terminal).
    pub async fn run_in_place(&self, ex: &Exercise, show_build: bool) -> anyhow::Result<ExerciseRun> {
        let server = self.server().await?.clone();
        let req = RunRequest {
            slug: ex.slug.clone(),
            workspace: self.course.root.clone(),
            crate_dir: self.course.exercise_dir(ex),
            target_dir: self.course.target_dir(),
            admin_url: server.url.clone(),
            db_prefix: self.new_prefix(),
            time_limit: run_time_limit(ex),
            check_time_limit: check_time_limit(),
            output_cap: OUTPUT_CAP,
            color: self.color,
            env: self.check_env(),
            show_build,
        };
        interruptible(&req).await
    }

    /// Records a run's verdict in the progress file.
    pub fn record(&self, run: &ExerciseRun) -> anyhow::Result<()> {
        let (mut p, _) = self.progress();
        let changed = if run.passed() { p.done.insert(run.slug.clone()) } else { p.done.remove(&run.slug) };
        if changed {
            self.save_progress(&p)?;
        }
        Ok(())
    }
}

/// Runs `req`; on Ctrl-C the check processes are killed (their group
/// guard), the run's databases dropped, and the command exits 130.
pub async fn interruptible(req: &RunRequest) -> anyhow::Result<ExerciseRun> {
    tokio::select! {
        result = runner::run_exercise(req) => return result,
        _ = tokio::signal::ctrl_c() => {}
    }
    // The run's future is dropped by now, and with it the guard that kills
    // the check processes: dropping the databases any earlier would race
    // checks that were still creating theirs.
    runner::drop_run_databases(&req.admin_url, &req.db_prefix).await;
    Err(Failure {
        code: Code::Interrupted,
        message: "interrupted: stopped the checks and dropped their databases".into(),
    }
    .into())
}

/// Seconds a whole exercise run may take: `WORKBOOK_RUN_TIMEOUT`, else the
/// exercise's own `time_limit`.
pub fn run_time_limit(ex: &Exercise) -> Duration {
    env_secs("WORKBOOK_RUN_TIMEOUT").unwrap_or_else(|| ex.time_limit())
}

/// Seconds one check may take before it is reported as hanging:
/// `WORKBOOK_CHECK_TIMEOUT`, else 10.
pub fn check_time_limit() -> Duration {
    env_secs("WORKBOOK_CHECK_TIMEOUT").unwrap_or(Duration::from_secs(10))
}

fn env_secs(key: &str) -> Option<Duration> {
    std::env::var(key).ok()?.parse::<f64>().ok().filter(|s| *s > 0.0).map(Duration::from_secs_f64)
}
