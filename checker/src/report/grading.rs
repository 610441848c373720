//! What an instructor watches while grading: which server, a progress bar
//! with a line per graded student, then the table of points.

use std::io;
use std::time::Duration;

use colored::Colorize;
use indicatif::{ProgressBar, ProgressStyle};

use crate::events::{Event, Reporter};
use crate::grade::formats::StudentResult;

/// The progress bar (on a terminal) and a line per student on stderr.
#[derive(Default)]
pub struct GradeProgress {
    bar: Option<ProgressBar>,
}

impl Reporter for GradeProgress {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::GradingStarted { submissions, exercises, server, jobs, sandbox } => {
                if !sandbox.on {
                    eprintln!("{} {}", "WARNING: grading WITHOUT a sandbox:".red().bold(), sandbox.detail);
                } else if !sandbox.full {
                    eprintln!("{} {}", "WARNING: grading with only PART of the sandbox:".red().bold(), sandbox.detail);
                }
                eprintln!(
                    "Grading {submissions} submission(s) x {exercises} exercise(s) on {server}, {jobs} at a time."
                );
                if sandbox.on && sandbox.full {
                    eprintln!("Sandbox: {}.", sandbox.detail);
                }
                let bar = ProgressBar::new(*submissions as u64);
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                        .expect("a valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(200));
                self.bar = Some(bar);
            }
            Event::SubmissionStarted { student } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("grading {student}"));
                }
            }
            Event::SubmissionGraded { result } => {
                let line = format!("  graded {:<24} {:>4} / {}", result.student, result.total(), result.max());
                match &self.bar {
                    Some(bar) if !bar.is_hidden() => {
                        bar.inc(1);
                        bar.println(line);
                    }
                    Some(bar) => {
                        bar.inc(1);
                        eprintln!("{line}");
                    }
                    None => eprintln!("{line}"),
                }
            }
            Event::GradingFinished { .. } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The table of points on stdout, and where the files went.
pub struct GradeTable {
    pub out_dir: String,
}

impl Reporter for GradeTable {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        use std::io::Write;
        let Event::GradingFinished { results, slugs, elapsed_ms } = event else { return Ok(()) };
        let mut out = io::stdout().lock();
        for line in table(results, slugs) {
            writeln!(out, "{line}")?;
        }
        writeln!(
            out,
            "\nGraded {} submission(s) in {:.1} s. Wrote {}: grades.csv, feedback/, gradescope/, junit/, classroom/.",
            results.len(),
            *elapsed_ms as f64 / 1000.0,
            self.out_dir
        )
    }
}

/// A row per student, a column per exercise, the total.
fn table(results: &[StudentResult], slugs: &[String]) -> Vec<String> {
    let width = results.iter().map(|r| r.student.len()).max().unwrap_or(7).max(7);
    let mut header = format!("{:<width$}", "student");
    for s in slugs {
        header.push_str(&format!("  {s:>w$}", w = s.len().max(5)));
    }
    header.push_str("  total");
    let mut lines = vec![header.bold().to_string()];
    for r in results {
        let mut line = format!("{:<width$}", r.student);
        for s in slugs {
            let cell = r
                .exercises
                .iter()
                .find(|e| &e.slug == s)
                .map_or("-".to_owned(), |e| format!("{}/{}", e.points, e.max_points));
            line.push_str(&format!("  {cell:>w$}", w = s.len().max(5)));
        }
        let total = format!("{}/{}", r.total(), r.max());
        line.push_str(&format!("  {}", if r.total() == r.max() { total.green() } else { total.normal() }));
        lines.push(line);
    }
    lines
}
