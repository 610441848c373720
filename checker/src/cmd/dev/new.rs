//! `checker dev new SLUG`: scaffold an exercise (see [`crate::scaffold`]).

use colored::Colorize;

use crate::cmd::UsageError;
use crate::exit::Code;
use crate::scaffold::{self, ScaffoldError};
use crate::session::Session;

pub fn execute(session: &Session, slug: &str, title: Option<&str>) -> anyhow::Result<Code> {
    let files = scaffold::create(&session.course, slug, title).map_err(|e| match e {
        ScaffoldError::BadSlug(_) | ScaffoldError::Exists(_) => anyhow::Error::from(UsageError(e.to_string())),
        other => other.into(),
    })?;
    outln!("{} exercise `{slug}`:", "Created".green().bold());
    for path in &files {
        outln!("  {}", path.display());
    }
    outln!("  exercises/info.toml (entry appended)\n  book/src/SUMMARY.md (link appended)");
    outln!("Write the checks, the starter and the solution, then prove them with `cargo checker dev check {slug}`.");
    Ok(Code::Passed)
}
