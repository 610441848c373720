//! `checker run [EX]`: build and check one exercise once.

use super::Ctx;
use crate::cli::Format;
use crate::exit::Code;
use crate::report::terminal;

pub async fn execute(ctx: &Ctx, slug: Option<&str>, format: Format) -> anyhow::Result<Code> {
    let ex = ctx.exercise_or_current(slug)?;
    let run = ctx.run_in_place(&ex, format == Format::Human).await?;
    ctx.record(&run)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&run)?),
        Format::Human => terminal::run(&mut std::io::stdout().lock(), &ctx.course, &ex, &run)?,
    }
    Ok(if run.passed() { Code::Passed } else { Code::ChecksFailed })
}
