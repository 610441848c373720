//! The command line's side: one file per subcommand, each a thin
//! `execute` that turns arguments into calls on the engine and picks the
//! reporters that show the result. [`execute`] dispatches; the errors
//! defined here are the ones only the command line makes.

/// `println!` that returns the error instead of panicking: a closed pipe
/// (`checker list | head -1`) then ends the command quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `print!`, the same way.
macro_rules! outl {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

pub mod book;
pub mod db;
pub mod dev;
pub mod grade;
pub mod hint;
pub mod list;
pub mod migrate;
pub mod next;
pub mod reset;
pub mod run;
pub mod seed;
pub mod serve;
pub mod verify;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::exit::Code;
use crate::session::Session;

/// A mistake in how the checker was called (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An engine error with the command's own wording around it (what to do
/// next): shown as `message`, exiting as `error` would.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Explained {
    pub message: String,
    pub error: anyhow::Error,
}

/// Runs the command `cli` names in `session`'s course.
pub async fn execute(session: &Session, cli: &Cli) -> anyhow::Result<Code> {
    Ok(match &cli.command {
        None => watch::execute(session, cli.manual).await?,
        Some(Command::List { format }) => list::execute(session, *format)?,
        Some(Command::Run { exercise, format }) => run::execute(session, exercise.as_deref(), *format).await?,
        Some(Command::Hint { exercise }) => hint::execute(session, exercise.as_deref())?,
        Some(Command::Reset { exercise }) => reset::execute(session, exercise)?,
        Some(Command::Verify { format }) => verify::execute(session, *format).await?,
        Some(Command::Next) => next::execute(session)?,
        Some(Command::Db(cmd)) => db::execute(session, cmd).await?,
        Some(Command::Dev(cmd)) => dev::execute(session, cmd).await?,
        Some(Command::Migrate { exercise, action }) => migrate::execute(session, exercise, action).await?,
        Some(Command::Seed { exercise, action }) => seed::execute(session, exercise, action).await?,
        Some(Command::Serve { exercise, port }) => serve::execute(session, exercise, *port).await?,
        Some(Command::Grade(args)) => grade::execute(session, args).await?,
        Some(Command::Book { open, serve, port }) => book::execute(session, *open, serve.then_some(*port)).await?,
    })
}

/// Code 1 when any check failed, else 0.
pub fn verdict(passed: bool) -> Code {
    if passed { Code::Passed } else { Code::ChecksFailed }
}
