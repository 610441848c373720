//! `checker verify`: check every exercise in order and record the result.

use crate::cli::Format;
use crate::events::{Events, Reporter, drive};
use crate::exit::Code;
use crate::report::{JsonRuns, VerifyLines};
use crate::runner::ExerciseRun;
use crate::session::Session;

pub async fn execute(session: &Session, format: Format) -> anyhow::Result<Code> {
    let mut json = JsonRuns::default();
    let mut lines = VerifyLines;
    let reporter: &mut dyn Reporter = if format == Format::Json { &mut json } else { &mut lines };
    let (runs, _) = drive(reporter, async |events| check_all(session, &events).await).await;
    let runs = runs?;
    let passed = runs.iter().filter(|r| r.passed()).count();
    if format == Format::Json {
        outln!("{}", serde_json::to_string_pretty(&json.0)?);
    } else {
        outln!("{passed} of {} exercises pass.", runs.len());
    }
    Ok(super::verdict(passed == runs.len()))
}

async fn check_all(session: &Session, events: &Events) -> anyhow::Result<Vec<ExerciseRun>> {
    let mut runs = Vec::new();
    for ex in &session.course.exercises {
        let run = session.run_in_place(ex, events).await?;
        session.record(&run)?;
        runs.push(run);
    }
    Ok(runs)
}
