//! Turning the engine's events into what people and programs read: the
//! terminal report for students, JSON for scripts, the build spinner.
//! Writers are generic over `Write` so tests capture them; colour is
//! decided once, in [`color`].

pub mod color;
pub mod grading;
pub mod json;
pub mod link;
pub mod output;
pub mod progress;
pub mod terminal;

use std::io::{self, Write};

use colored::Colorize;

use crate::course::Course;
use crate::events::{Event, Reporter};
use crate::runner::{ExerciseRun, Outcome};

/// The terminal report of each run, printed when the run finishes.
pub struct TerminalRuns<'c, W: Write> {
    course: &'c Course,
    out: W,
}

impl<'c, W: Write> TerminalRuns<'c, W> {
    pub fn new(course: &'c Course, out: W) -> Self {
        TerminalRuns { course, out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Reporter for TerminalRuns<'_, W> {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        if let Event::RunFinished { run, .. } = event
            && let Ok(ex) = self.course.find(&run.slug)
        {
            terminal::run(&mut self.out, link::Refs::new(self.course), ex, run)?;
            self.out.flush()?;
        }
        Ok(())
    }
}

/// Every finished run, as the stable JSON types, for printing at the end.
#[derive(Default)]
pub struct JsonRuns(pub Vec<json::Run>);

impl Reporter for JsonRuns {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        if let Event::RunFinished { run, .. } = event {
            self.0.push(json::Run::from(run.as_ref()));
        }
        Ok(())
    }
}

/// `verify`'s progress on stderr: `checking connect ... passes`.
pub struct VerifyLines;

impl Reporter for VerifyLines {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::ExerciseStarted { slug, .. } => {
                eprint!("{} {slug} ... ", "checking".dimmed());
            }
            Event::RunFinished { run, .. } => eprintln!("{}", verdict(run)),
            _ => {}
        }
        Ok(())
    }
}

/// One exercise's run in a few words, coloured.
pub fn verdict(run: &ExerciseRun) -> colored::ColoredString {
    match &run.outcome {
        Outcome::CompileError { .. } => "does not compile".red(),
        Outcome::TimedOut { .. } => "timed out".red(),
        Outcome::Checked if run.passed() => "passes".green(),
        Outcome::Checked => format!("{} of {} checks pass", run.passed_count(), run.checks.len()).yellow(),
    }
}

/// `dev check`'s line per exercise: `connect   starter: fails as it
/// should  solution: passes`, written as each run finishes.
pub struct DevCheckLines;

impl Reporter for DevCheckLines {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        use crate::events::Subject;
        let mut out = io::stdout().lock();
        match event {
            Event::ExerciseStarted { slug, subject: Subject::InPlace } => write!(out, "{slug:<22}")?,
            Event::RunFinished { subject: Subject::InPlace, run } => {
                let problem = crate::audit::starter_problem(run);
                write!(out, " starter: {}", problem_or(&problem, "fails as it should"))?;
            }
            Event::RunFinished { subject: Subject::Solution, run } => {
                let problem = crate::audit::solution_problem(run);
                writeln!(out, "  solution: {}", problem_or(&problem, "passes"))?;
            }
            _ => return Ok(()),
        }
        out.flush()
    }
}

fn problem_or(problem: &Option<String>, ok: &str) -> colored::ColoredString {
    match problem {
        None => ok.green(),
        Some(_) => "PROBLEM".red().bold(),
    }
}
