//! `checker dev try EX DIR`: run an exercise's checks with the files of
//! DIR laid over its starter (or, with `--over-solution`, over its
//! solution), to test a wrong answer or a solution.

use std::path::Path;

use colored::Colorize;

use crate::cli::Format;
use crate::cmd::UsageError;
use crate::events::{Reporter, Subject, drive};
use crate::exit::Code;
use crate::report::{JsonRuns, TerminalRuns};
use crate::runner::overlay;
use crate::session::Session;

pub async fn execute(
    session: &Session,
    slug: &str,
    dir: &Path,
    over_solution: bool,
    format: Format,
) -> anyhow::Result<Code> {
    if over_solution && !session.course.has_solutions() {
        return Err(crate::cmd::UsageError(crate::edition::no_solutions("dev try --over-solution")).into());
    }
    let ex = session.course.find(slug)?.clone();
    if !dir.is_dir() {
        return Err(UsageError(format!("{} is not a directory", dir.display())).into());
    }
    let dir = dir.canonicalize()?;
    // Named after the directory: the same one reuses its build artifacts.
    let name =
        format!("try-{}-{:016x}", ex.slug, crate::hash::fnv1a(dir.as_os_str().as_encoded_bytes().iter().copied()));
    // With --over-solution the answer tried is the solution with DIR's
    // files laid over it, so a wrong-answer fixture holds only what it breaks.
    let merged = session.course.work_dir().join("merged").join(&name);
    let source = if over_solution {
        if merged.exists() {
            std::fs::remove_dir_all(&merged)?;
        }
        for layer in [session.course.solution_dir(&ex), dir.clone()] {
            overlay::copy_tree(&layer, &merged)?;
        }
        merged.clone()
    } else {
        dir.clone()
    };
    let mut json = JsonRuns::default();
    let mut human = TerminalRuns::new(&session.course, std::io::stdout());
    let reporter: &mut dyn Reporter = if format == Format::Json { &mut json } else { &mut human };
    let subject = Subject::Dir(dir.clone());
    let (result, printed) =
        drive(reporter, async |events| session.run_overlay(&ex, &source, &name, subject, &events).await).await;
    if over_solution {
        let _ = std::fs::remove_dir_all(&merged);
    }
    let (run, ignored) = result?;
    printed?;
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&json.0[0])?),
        Format::Human => {
            for f in ignored {
                outln!("  {} {f} (not an editable file)", "ignored:".yellow());
            }
        }
    }
    Ok(crate::cmd::verdict(run.passed()))
}
