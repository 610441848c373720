//! `checker dev check|try|bench|new`: the course author's tools, one file
//! each.

mod bench;
mod check;
mod new;
mod try_answer;

use crate::cli::DevCommand;
use crate::exit::Code;
use crate::session::Session;

pub async fn execute(session: &Session, cmd: &DevCommand) -> anyhow::Result<Code> {
    match cmd {
        DevCommand::Check { exercises } => check::execute(session, exercises).await,
        DevCommand::Try { exercise, dir, over_solution, format } => {
            try_answer::execute(session, exercise, dir, *over_solution, *format).await
        }
        DevCommand::Bench { saves, exercises } => bench::execute(session, *saves, exercises).await,
        DevCommand::New { slug, title } => new::execute(session, slug, title.as_deref()),
        DevCommand::Edition { out, classroom } => {
            let n = crate::edition::write(&session.course, out, *classroom)?;
            outln!("Wrote the student edition to {} ({n} files, no solutions/).", out.display());
            Ok(Code::Passed)
        }
    }
}
