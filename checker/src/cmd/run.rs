//! `checker run [EX]`: build and check one exercise once.

use crate::cli::Format;
use crate::events::drive;
use crate::exit::Code;
use crate::report::progress::BuildSpinner;
use crate::report::{JsonRuns, TerminalRuns};
use crate::session::Session;

pub async fn execute(session: &Session, slug: Option<&str>, format: Format) -> anyhow::Result<Code> {
    let ex = session.exercise_or_current(slug)?;
    let run = match format {
        Format::Human => {
            let mut shown = (BuildSpinner::default(), TerminalRuns::new(&session.course, std::io::stdout()));
            let (run, printed) = drive(&mut shown, async |events| session.run_in_place(&ex, &events).await).await;
            let run = run?;
            session.record(&run)?;
            printed?;
            run
        }
        Format::Json => {
            let mut json = JsonRuns::default();
            let (run, _) = drive(&mut json, async |events| session.run_in_place(&ex, &events).await).await;
            let run = run?;
            session.record(&run)?;
            outln!("{}", serde_json::to_string_pretty(&json.0[0])?);
            run
        }
    };
    Ok(super::verdict(run.passed()))
}
