//! Grading: a folder of submissions in, a grade per student out.
//!
//! Each submission is one student's copy of the course repository. Only
//! the files `info.toml` marks editable are taken from it; they are laid
//! into an overlay workspace with the course's manifests, checks and
//! lockfile, built against the shared target dir (dependencies compile
//! once per grading run) and checked under the submission's own database
//! role, with a time limit and an output cap. Nothing a submission does
//! reaches another submission's grade.
//!
//! By job: [`submissions`] finds the submissions and reads the roster,
//! this module schedules them on `--jobs` slots, [`score`] turns runs into
//! points (re-running checks a crash stopped), [`formats`] writes what
//! platforms read, and [`server`] is the database they all run on. The
//! engine emits events; the command's reporters write the files.

mod error;
pub mod files;
pub mod formats;
pub mod score;
pub mod server;
pub mod submissions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::course::{Course, Exercise, relative_files};
use crate::db::checkdbs::{CheckRole, Target};
use crate::events::{Event, Events, SandboxState, Subject};
use crate::runner::{self, BuildOutput, RunRequest, limits, overlay};
use crate::session::Session;
pub use error::GradeError;
use formats::StudentResult;
use server::GradingServer;
pub use submissions::{Submission, find_submissions};

/// What to grade, and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// A folder with one subfolder per student.
    pub submissions: PathBuf,
    /// A CSV naming each folder's student.
    pub roster: Option<PathBuf>,
    /// Only these exercises (all when empty).
    pub only: Vec<String>,
    /// Submissions checked at once (at least 1).
    pub jobs: usize,
    /// How long each exercise of a submission may take.
    pub timeout: Duration,
    /// Sandbox the submissions' code (the default), or not (`--no-sandbox`,
    /// to measure what the sandbox costs).
    pub sandbox: bool,
    /// Refuse to grade where the machine cannot sandbox.
    pub require_sandbox: bool,
}

/// Whether this grading run can sandbox, as the options ask.
fn sandbox_state(opts: &GradeOptions) -> Result<SandboxState, GradeError> {
    if !opts.sandbox {
        if opts.require_sandbox {
            return Err(GradeError::NoSandbox("--no-sandbox was given".into()));
        }
        return Ok(SandboxState {
            on: false,
            full: false,
            landlock_abi: None,
            detail: "--no-sandbox: submissions' code runs with the grader's own rights".into(),
        });
    }
    let root = crate::sys::effective_uid() == 0;
    match crate::sandbox::probe() {
        Ok(support) => {
            let state = describe(&support, root);
            if !state.full && opts.require_sandbox {
                return Err(GradeError::NoSandbox(state.detail));
            }
            Ok(state)
        }
        Err(why) if opts.require_sandbox => Err(GradeError::NoSandbox(why)),
        Err(why) => Ok(SandboxState {
            on: false,
            full: false,
            landlock_abi: None,
            detail: format!("{why}; submissions' code runs with the grader's own rights (--require-sandbox refuses)"),
        }),
    }
}

/// The sandbox a kernel's Landlock gives, in words. Run as root, each check
/// process is a uid of its own, which cannot signal or trace the grader or
/// another submission's processes: that stands in for signal scoping.
fn describe(support: &crate::sandbox::Support, root: bool) -> SandboxState {
    let uid = if root { ", each check process as a separate uid" } else { "" };
    let abi = support.abi;
    if support.missing.is_empty() {
        return SandboxState {
            on: true,
            full: true,
            landlock_abi: Some(abi),
            detail: format!("Landlock ABI {abi} (files, TCP ports, signals), a cleared environment{uid}"),
        };
    }
    let full = support.ports() && (support.signals() || root);
    let missing = support.missing.join(", ");
    let detail = if full {
        format!(
            "Landlock ABI {abi} (files, TCP ports), a cleared environment{uid} (which stands in for the {missing} \
             this kernel lacks)"
        )
    } else {
        format!(
            "PARTIAL: Landlock ABI {abi} enforces file rules{ports}, a cleared environment{uid}; this kernel lacks \
             {missing}, so a submission's code {can} (--require-sandbox refuses)",
            ports = if support.ports() { " and TCP ports" } else { "" },
            can = match (support.ports(), support.signals() || root) {
                (false, false) => "can reach any local TCP port and signal the grader",
                (false, true) => "can reach any local TCP port",
                _ => "can signal the grader",
            },
        )
    };
    SandboxState { on: true, full, landlock_abi: Some(abi), detail }
}

/// What every submission is graded against: the course's exercises and
/// the checks each one has (listed from the course's own build).
struct Plan {
    course: Course,
    exercises: Vec<Exercise>,
    checks: BTreeMap<String, Vec<String>>,
    timeout: Duration,
    /// The throwaway cluster's in-memory tablespace for check databases.
    tablespace: Option<String>,
    sandbox: SandboxState,
}

/// Grades every submission, emitting `GradingStarted`, a
/// `SubmissionStarted` and `SubmissionGraded` per student, and
/// `GradingFinished` with every grade; returns the grades in order. On
/// Ctrl-C the grading stops, its server is removed, and nothing is
/// finished.
pub async fn grade(session: &Session, opts: &GradeOptions, events: &Events) -> Result<Vec<StudentResult>, GradeError> {
    let started = Instant::now();
    let sandbox = sandbox_state(opts)?;
    let submissions = find_submissions(&opts.submissions, opts.roster.as_deref())?;
    let exercises = session.course.select(&opts.only)?;

    let grading_dir = session.course.work_dir().join(format!("grade-pg-{}", std::process::id()));
    sweep_old_clusters(&session.course).await;
    let server = GradingServer::start(grading_dir, session.db_flag.clone()).await?;
    events.emit(Event::GradingStarted {
        submissions: submissions.len(),
        exercises: exercises.len(),
        server: server.describe(),
        jobs: opts.jobs,
        sandbox: sandbox.clone(),
    });
    let result = tokio::select! {
        r = grade_all(session, &server, &submissions, exercises, opts, &sandbox, events) => r,
        _ = tokio::signal::ctrl_c() => Err(GradeError::Interrupted),
    };
    // The check databases still being dropped go before their server does.
    crate::db::checkdbs::finish_deferred().await;
    server.shutdown().await;
    let results = result?;
    let slugs: Vec<String> =
        results.first().map(|r| r.exercises.iter().map(|e| e.slug.clone()).collect()).unwrap_or_default();
    events.emit(Event::GradingFinished {
        results: results.clone(),
        slugs,
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    Ok(results)
}

async fn grade_all(
    session: &Session,
    server: &GradingServer,
    submissions: &[Submission],
    exercises: Vec<Exercise>,
    opts: &GradeOptions,
    sandbox: &SandboxState,
    events: &Events,
) -> Result<Vec<StudentResult>, GradeError> {
    let course = &session.course;
    // The course's own build first: it compiles the dependencies once for
    // every submission, and says which checks each exercise has.
    let mut checks = BTreeMap::new();
    for ex in &exercises {
        let crate_dir = course.exercise_dir(ex);
        let limit = Duration::from_secs(1800);
        let built = runner::build_checks(
            &course.root,
            &crate_dir,
            &ex.slug,
            &course.target_dir(),
            false,
            limit,
            &Events::ignored(),
            None,
        )
        .await?;
        let BuildOutput::Built { executable } = built else {
            return Err(GradeError::CourseDoesNotBuild { slug: ex.slug.clone() });
        };
        checks.insert(ex.slug.clone(), runner::list_checks(&executable, &crate_dir).await?);
    }
    let plan = Arc::new(Plan {
        course: course.clone(),
        exercises,
        checks,
        timeout: opts.timeout,
        tablespace: server.tablespace.clone(),
        sandbox: sandbox.clone(),
    });

    if sandbox.on {
        runner::spawn::start_reaping();
    }
    let slots = Arc::new(Semaphore::new(opts.jobs));
    let free_slots = Arc::new(std::sync::Mutex::new((0..opts.jobs).collect::<Vec<usize>>()));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, sub) in submissions.iter().cloned().enumerate() {
        let plan = plan.clone();
        let slots = slots.clone();
        let free_slots = free_slots.clone();
        let role = server.create_role(n, GradingServer::role_connection_limit(opts.jobs)).await?;
        let admin_url = server.url.clone();
        let prefix = session.new_prefix();
        let events = events.clone();
        tasks.spawn(async move {
            let _permit = slots.acquire_owned().await.expect("the semaphore is never closed");
            let slot = free_slots.lock().expect("slot list").pop().expect("a free slot per permit");
            events.emit(Event::SubmissionStarted { student: sub.student.clone() });
            let db = Target {
                admin_url,
                // Dropped by the grading run itself, once the submission is done.
                role: CheckRole { name: role.name.clone(), url: role.url.clone(), created: false },
                tablespace: plan.tablespace.clone(),
            };
            let result = grade_one(&plan, &sub, slot, &db, &prefix, &events).await;
            free_slots.lock().expect("slot list").push(slot);
            if let Ok(r) = &result {
                events.emit(Event::SubmissionGraded { result: Box::new(r.clone()) });
            }
            (n, role, result)
        });
    }
    let mut results: Vec<Option<StudentResult>> = vec![None; submissions.len()];
    while let Some(joined) = tasks.join_next().await {
        let (n, role, result) = joined.map_err(GradeError::Task)?;
        server.drop_role(&role).await;
        results[n] = Some(result?);
    }
    for slot in 0..opts.jobs {
        let _ = std::fs::remove_dir_all(course.work_dir().join("overlay").join(slot_name(slot)));
    }
    let mut results: Vec<StudentResult> = results.into_iter().flatten().collect();
    results.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(results)
}

/// Overlays are reused per job slot, so a grading run leaves at most
/// `--jobs` copies of each exercise's build behind, however many students.
fn slot_name(slot: usize) -> String {
    format!("grade-{}-slot-{slot}", std::process::id())
}

async fn grade_one(
    plan: &Plan,
    sub: &Submission,
    slot: usize,
    db: &Target,
    prefix: &str,
    events: &Events,
) -> Result<StudentResult, GradeError> {
    let exercises: Vec<&Exercise> = plan.exercises.iter().collect();
    let source = |ex: &Exercise| Some(sub.dir.join("exercises").join(&ex.slug));
    let ov = overlay::create(&plan.course, &slot_name(slot), &exercises, source)?;
    let mut ignored: Vec<String> = ov.ignored.iter().map(|f| format!("exercises/{f}")).collect();
    ignored.extend(changed_outside_exercises(&plan.course, &sub.dir));
    ignored.sort();

    let sandbox = plan.sandbox.on.then(|| crate::sandbox::Context {
        course_root: plan.course.root.clone(),
        overlay_root: ov.root.clone(),
        target_dir: plan.course.target_dir(),
        uid: (crate::sys::effective_uid() == 0).then(crate::sandbox::fresh_uid),
        abi: plan.sandbox.landlock_abi.unwrap_or(6),
    });
    let mut results = Vec::new();
    for (i, ex) in plan.exercises.iter().enumerate() {
        let names = &plan.checks[&ex.slug];
        let present = sub.dir.join("exercises").join(&ex.slug).is_dir();
        let db_prefix = format!("{prefix}e{i}");
        let req = RunRequest {
            slug: ex.slug.clone(),
            subject: Subject::Student(sub.student.clone()),
            workspace: ov.root.clone(),
            crate_dir: ov.crate_dir(ex),
            target_dir: plan.course.target_dir(),
            db: db.clone(),
            db_prefix: db_prefix.clone(),
            time_limit: plan.timeout,
            check_time_limit: limits::check_time_limit(),
            output_cap: limits::OUTPUT_CAP,
            color: false,
            // The same submission gets the same data on every grading run.
            env: vec![(workbook::report::var::SEED.to_owned(), score::stable_seed(&sub.student, &ex.slug).to_string())],
            sandbox: sandbox.clone(),
        };
        // Its databases are dropped in the background once the checks end,
        // and whatever is left with the submission's role.
        let mut run = runner::run_exercise(&req, events).await;
        if let Ok(run) = &mut run {
            score::rerun_alone(run, &req).await;
        }
        let mut result = score::score(ex, names, run);
        if !present {
            result.note = Some(format!(
                "exercises/{} is not in this submission: graded as the starter.\n{}",
                ex.slug,
                result.note.unwrap_or_default()
            ));
        }
        results.push(result);
    }
    Ok(StudentResult {
        student: sub.student.clone(),
        folder: sub.folder.clone(),
        exercises: results,
        ignored,
        sandbox: plan.sandbox.clone(),
    })
}

/// Files a submission changed outside `exercises/`: none of them is used.
fn changed_outside_exercises(course: &Course, sub: &Path) -> Vec<String> {
    let mut changed = Vec::new();
    let Ok(entries) = std::fs::read_dir(sub) else { return changed };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(name.as_str(), "exercises" | "target" | ".git" | ".workbook") {
            continue;
        }
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            changed.push(format!("{name} (a symbolic link: refused)"));
            continue;
        }
        let rels: Vec<String> = if overlay::real_dir(&path) {
            relative_files(&path).into_iter().map(|r| format!("{name}/{r}")).collect()
        } else {
            vec![name.clone()]
        };
        for rel in rels {
            if !overlay::same_file(&sub.join(&rel), &course.root.join(&rel)) {
                changed.push(rel);
            }
        }
    }
    changed
}

/// Throwaway clusters of grading runs that died without cleaning up.
async fn sweep_old_clusters(course: &Course) {
    let Ok(entries) = std::fs::read_dir(course.work_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("grade-pg-").and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !crate::sys::process_alive(pid) {
            let cluster = crate::db::embedded::Cluster::new(entry.path());
            let _ = tokio::task::spawn_blocking(move || cluster.destroy()).await;
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
