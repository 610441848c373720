//! One invocation's view of the course: the course itself, the server its
//! checks run on (made ready once), database names no other run shares,
//! the student's progress, and running an exercise (in place, or with
//! another copy's editable files laid over it).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use tokio::sync::OnceCell;

use crate::course::{Course, CourseError, Exercise};
use crate::db::admin::Admin;
use crate::db::checkdbs::{self, CheckRole, Prepared, Target};
use crate::db::{DbError, Server};
use crate::events::{Events, Subject};
use crate::progress::{self, Progress};
use crate::runner::{self, ExerciseRun, RunError, RunRequest, limits, overlay};

pub struct Session {
    pub course: Course,
    /// Whether output is coloured (cargo's diagnostics follow it too).
    pub color: bool,
    /// `--database-url`, when given.
    pub db_flag: Option<String>,
    server: OnceCell<Server>,
    /// The role that owns this process's check databases, made on first use.
    role: OnceCell<CheckRole>,
    /// The embedded server's in-memory tablespace for check databases.
    fast_tablespace: OnceLock<Option<String>>,
    runs: AtomicU32,
    /// Databases made ahead for the next in-place run (watch mode makes
    /// them once a verdict is out, so a save waits for none).
    spare: Mutex<Option<Spare>>,
}

/// Check databases made ahead of a run of one exercise, named with the
/// prefix that run will use.
struct Spare {
    slug: String,
    prefix: String,
    prepared: Prepared,
}

impl Session {
    pub fn new(course: Course, color: bool, db_flag: Option<String>) -> Session {
        Session {
            course,
            color,
            db_flag,
            server: OnceCell::new(),
            role: OnceCell::new(),
            fast_tablespace: OnceLock::new(),
            runs: AtomicU32::new(0),
            spare: Mutex::new(None),
        }
    }

    /// The server checks run on, made ready once per process: reachable,
    /// allowed to create databases, and rid of a crashed run's leftovers.
    pub async fn server(&self) -> Result<&Server, DbError> {
        self.server
            .get_or_try_init(|| async {
                let server = crate::db::resolve(&self.course, self.db_flag.as_deref()).await?;
                let mut admin = Admin::connect(&server).await?;
                admin.require_createdb(&server).await?;
                if server.is_local() {
                    admin.sweep_crashed_runs().await?;
                }
                admin.close().await;
                if server.is_local() {
                    checkdbs::sweep_roles(&server.url).await;
                }
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
    pub async fn sandbox_url(&self, slug: &str) -> Result<String, DbError> {
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

    /// Environment that makes a checker create check databases where this
    /// one does (the bench's watch process, on another URL).
    pub fn check_env(&self) -> Vec<(String, String)> {
        crate::db::fast::check_env(self.fast_tablespace()).into_iter().collect()
    }

    /// Where this session's check databases are made: on its server, owned
    /// by its role, in the in-memory tablespace when there is one (ours,
    /// or the one a parent checker named in `WORKBOOK_TABLESPACE`).
    pub async fn db_target(&self) -> Result<Target, DbError> {
        let server = self.server().await?.clone();
        let role = self.role.get_or_try_init(|| checkdbs::session_role(&server)).await?.clone();
        let tablespace = self.fast_tablespace().map(str::to_owned).or_else(workbook::report::tablespace);
        Ok(Target { admin_url: server.url, role, tablespace })
    }

    /// Ends the session: waits for the check databases still being
    /// dropped, then drops the session's role.
    pub async fn close(&self) {
        if let Some(spare) = self.take_spare() {
            spare.prepared.abandon();
        }
        checkdbs::finish_deferred().await;
        if let (Some(server), Some(role)) = (self.server.get(), self.role.get()) {
            checkdbs::drop_role(&server.url, role).await;
        }
    }

    /// A database-name prefix no other run shares.
    pub fn new_prefix(&self) -> String {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        format!("{}{}_r{n}", crate::db::admin::CHECK_PREFIX, std::process::id())
    }

    pub fn progress(&self) -> (Progress, Option<String>) {
        Progress::load(&progress::path(&self.course))
    }

    pub fn save_progress(&self, p: &Progress) -> std::io::Result<()> {
        let path = progress::path(&self.course);
        p.save(&path).map_err(|e| std::io::Error::new(e.kind(), format!("saving progress to {}: {e}", path.display())))
    }

    /// Resolves an optional exercise argument: the named one, else the
    /// current one.
    pub fn exercise_or_current(&self, slug: Option<&str>) -> Result<Exercise, CourseError> {
        match slug {
            Some(s) => self.course.find(s).cloned(),
            None => {
                let (p, _) = self.progress();
                p.current(&self.course).cloned().ok_or(CourseError::Empty)
            }
        }
    }

    /// What a run of `ex` in the workspace at `workspace` (crate at
    /// `crate_dir`) needs, on this session's server.
    async fn request(
        &self,
        ex: &Exercise,
        workspace: &Path,
        crate_dir: &Path,
        subject: Subject,
    ) -> Result<RunRequest, DbError> {
        let db = self.db_target().await?;
        Ok(RunRequest {
            slug: ex.slug.clone(),
            subject,
            workspace: workspace.to_path_buf(),
            crate_dir: crate_dir.to_path_buf(),
            target_dir: self.course.target_dir(),
            db,
            db_prefix: self.new_prefix(),
            time_limit: limits::run_time_limit(ex),
            check_time_limit: limits::check_time_limit(),
            output_cap: limits::OUTPUT_CAP,
            color: self.color,
            env: Vec::new(),
            sandbox: None,
        })
    }

    /// Builds and checks one exercise in place, stopping cleanly on Ctrl-C.
    pub async fn run_in_place(&self, ex: &Exercise, events: &Events) -> Result<ExerciseRun, RunError> {
        let mut req = self.request(ex, &self.course.root, &self.course.exercise_dir(ex), Subject::InPlace).await?;
        let ready = match self.take_spare() {
            Some(spare) if spare.slug == ex.slug => {
                req.db_prefix = spare.prefix;
                Some(spare.prepared)
            }
            Some(other) => {
                other.prepared.abandon();
                None
            }
            None => None,
        };
        runner::interruptible(&req, events, ready).await
    }

    /// Starts making the databases the next in-place run of `ex` will use,
    /// so that run waits for none (watch mode calls this after each
    /// verdict). They are dropped when the session closes unused.
    pub async fn prepare_next_run(&self, ex: &Exercise) -> Result<(), DbError> {
        let req = self.request(ex, &self.course.root, &self.course.exercise_dir(ex), Subject::InPlace).await?;
        let prepared = runner::prepare(&req);
        let spare = Spare { slug: ex.slug.clone(), prefix: req.db_prefix, prepared };
        if let Some(old) = self.spare.lock().unwrap_or_else(|p| p.into_inner()).replace(spare) {
            old.prepared.abandon();
        }
        Ok(())
    }

    fn take_spare(&self) -> Option<Spare> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Runs `ex` in an overlay named `name` whose editable files come from
    /// `dir`; returns the run and the files of `dir` that were not used.
    pub async fn run_overlay(
        &self,
        ex: &Exercise,
        dir: &Path,
        name: &str,
        subject: Subject,
        events: &Events,
    ) -> Result<(ExerciseRun, Vec<String>), RunError> {
        self.server().await?;
        let ov = overlay::create(&self.course, name, &[ex], |_| Some(dir.to_path_buf()))?;
        let req = self.request(ex, &ov.root, &ov.crate_dir(ex), subject).await?;
        let run = runner::interruptible(&req, events, None).await;
        let _ = std::fs::remove_dir_all(&ov.root);
        Ok((run?, ov.ignored))
    }

    /// Records a run's verdict in the progress file.
    pub fn record(&self, run: &ExerciseRun) -> std::io::Result<()> {
        let (mut p, _) = self.progress();
        let changed = if run.passed() { p.done.insert(run.slug.clone()) } else { p.done.remove(&run.slug) };
        if changed {
            self.save_progress(&p)?;
        }
        Ok(())
    }
}
