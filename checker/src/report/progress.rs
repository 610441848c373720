//! What a build is doing, for a student waiting on it: a spinner naming
//! the crate being compiled (on a terminal, and only after a moment, so a
//! warm build draws nothing), and in any case a note when cargo waits for
//! another cargo command's lock on the build directory, which otherwise
//! looks like a hang.

use std::io;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::events::{BuildStep, Event, Reporter};

/// Shows build progress on stderr from the events of runs.
#[derive(Default)]
pub struct BuildSpinner {
    bar: Option<ProgressBar>,
    waiting_said: bool,
}

const WAITING: &str =
    "waiting for another cargo command to finish with the build directory (a build in another terminal?)";

impl Reporter for BuildSpinner {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::ExerciseStarted { slug, .. } => {
                // Hidden when stderr is not a terminal; shown only after a
                // moment, so a warm build (under a second) draws nothing.
                let bar = ProgressBar::hidden();
                bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("a valid template"));
                bar.set_message(format!("building {slug}'s checks"));
                let shown = bar.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    if !shown.is_finished() {
                        shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                        shown.enable_steady_tick(Duration::from_millis(120));
                    }
                });
                self.waiting_said = false;
                self.bar = Some(bar);
            }
            Event::BuildProgress { step, .. } => {
                let Some(bar) = &self.bar else { return Ok(()) };
                match step {
                    BuildStep::WaitingForLock => {
                        if !self.waiting_said {
                            self.waiting_said = true;
                            bar.suspend(|| eprintln!("{WAITING}"));
                        }
                        bar.set_message(WAITING);
                    }
                    BuildStep::Compiling { krate, dependency: false } => bar.set_message(format!("compiling {krate}")),
                    BuildStep::Compiling { krate, dependency: true } => {
                        bar.set_message(format!("compiling {krate} (a dependency: compiled once, then reused)"))
                    }
                }
            }
            Event::Built { .. } | Event::RunFinished { .. } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Drop for BuildSpinner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
