//! Events: what the engine says while it works, and the reporters that
//! turn them into what people and programs read.
//!
//! A run, `verify`, `dev check` and grading emit [`Event`]s into an
//! [`Events`] handle; a [`Reporter`] consumes them as they come (the
//! terminal display, the JSON output, every grading format). The engine
//! never prints: what a student sees is decided by whichever reporter the
//! command chose.

use std::io;
use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::grade::formats::StudentResult;
use crate::runner::{CheckResult, ExerciseRun};

/// Which copy of an exercise a run checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The exercise as it stands in the course (the student's own files,
    /// or the starter in a course author's clone).
    InPlace,
    /// The reference solution laid over the starter.
    Solution,
    /// Files from a directory laid over the starter (`dev try`).
    Dir(PathBuf),
    /// A student's submission, being graded.
    Student(String),
}

/// What the build of an exercise is doing, for a student waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStep {
    /// Cargo compiles a crate: the exercise itself, or a dependency
    /// (compiled once, then reused).
    Compiling { krate: String, dependency: bool },
    /// Cargo waits for another cargo command's lock on the build directory.
    WaitingForLock,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    Ok,
    CompileError,
    TimedOut,
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub enum Event {
    /// An exercise run begins (its build first).
    ExerciseStarted { slug: String, subject: Subject },
    /// The build of a run is doing something worth telling.
    BuildProgress { slug: String, step: BuildStep },
    /// The build of a run is over.
    Built { slug: String, subject: Subject, result: Built, build_ms: u64 },
    /// One check has its verdict.
    CheckFinished { slug: String, subject: Subject, check: CheckResult },
    /// The whole run is over: every check, and how the run ended.
    RunFinished { subject: Subject, run: Box<ExerciseRun> },
    /// Grading begins.
    GradingStarted { submissions: usize, exercises: usize, server: String, jobs: usize, sandbox: SandboxState },
    /// A submission is being graded.
    SubmissionStarted { student: String },
    /// A submission has its grade.
    SubmissionGraded { result: Box<StudentResult> },
    /// Grading is over: every grade, in order.
    GradingFinished { results: Vec<StudentResult>, slugs: Vec<String>, elapsed_ms: u64 },
}

/// Where the engine sends its events. Cloned freely (grading hands one
/// to every job); with no reporter listening, events are dropped.
#[derive(Debug, Clone, Default)]
pub struct Events(Option<mpsc::UnboundedSender<Event>>);

impl Events {
    /// Events nobody listens to.
    pub fn ignored() -> Events {
        Events(None)
    }

    pub fn emit(&self, event: Event) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
    }
}

/// Something that turns events into output.
pub trait Reporter {
    fn on(&mut self, event: &Event) -> io::Result<()>;
}

/// Several reporters, each seeing every event in order.
impl<A: Reporter, B: Reporter> Reporter for (A, B) {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        self.0.on(event)?;
        self.1.on(event)
    }
}

/// Ignores everything.
impl Reporter for () {
    fn on(&mut self, _: &Event) -> io::Result<()> {
        Ok(())
    }
}

/// Keeps every event, for tests and for commands that look back at them.
impl Reporter for Vec<Event> {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        self.push(event.clone());
        Ok(())
    }
}

/// Runs `work`, feeding the events it emits to `reporter` as they come.
/// Returns what `work` returned, and the first error the reporter met
/// (a closed pipe, say): the work is never cut short by its display.
pub async fn drive<T>(reporter: &mut dyn Reporter, work: impl AsyncFnOnce(Events) -> T) -> (T, io::Result<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let produce = async move { work(Events(Some(tx))).await };
    let consume = async {
        let mut first_error = Ok(());
        while let Some(event) = rx.recv().await {
            if first_error.is_ok() {
                first_error = reporter.on(&event);
            }
        }
        first_error
    };
    tokio::join!(produce, consume)
}

/// Whether grading sandboxes the submissions' code, and how (or why not).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SandboxState {
    /// Whether submissions' code ran in a sandbox at all.
    pub on: bool,
    /// Whether it was the whole sandbox the docs describe (false: none, or
    /// an older kernel's part of it; `detail` says what is missing).
    pub full: bool,
    /// The Landlock ABI enforced, when on.
    pub landlock_abi: Option<i32>,
    pub detail: String,
}
