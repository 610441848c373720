//! `checker`: parse the command line, run the command, exit with the
//! documented code.

use std::process::ExitCode;

use clap::Parser;
use colored::Colorize;

use checker::cli::{Cli, Command};
use checker::cmd::{self, Ctx};
use checker::course::Course;
use checker::exit::{Code, code_of};
use checker::report::color;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = color::apply(cli.color);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(Code::Environment as u8);
        }
    };
    let code = match runtime.block_on(dispatch(cli, color)) {
        Ok(code) => code,
        Err(err) => {
            let code = code_of(&err);
            eprintln!("{} {err:#}", "error:".red().bold());
            code
        }
    };
    ExitCode::from(code as u8)
}

async fn dispatch(cli: Cli, color: bool) -> anyhow::Result<Code> {
    let cwd = std::env::current_dir()?;
    let course = Course::discover(&cwd)?;
    let ctx = Ctx::new(course, color, cli.database_url.clone());
    Ok(match &cli.command {
        None => cmd::watch::execute(&ctx, cli.manual).await?,
        Some(Command::List { format }) => {
            cmd::list::execute(&ctx, *format)?;
            Code::Passed
        }
        Some(Command::Run { exercise, format }) => cmd::run::execute(&ctx, exercise.as_deref(), *format).await?,
        Some(Command::Hint { exercise }) => {
            cmd::hint::execute(&ctx, exercise.as_deref())?;
            Code::Passed
        }
        Some(Command::Reset { exercise }) => {
            cmd::reset::execute(&ctx, exercise)?;
            Code::Passed
        }
        Some(Command::Verify { format }) => cmd::verify::execute(&ctx, *format).await?,
        Some(Command::Next) => {
            cmd::next::execute(&ctx)?;
            Code::Passed
        }
        Some(Command::Db(db)) => {
            cmd::db::execute(&ctx, db).await?;
            Code::Passed
        }
        Some(Command::Dev(dev)) => cmd::dev::execute(&ctx, dev).await?,
        Some(Command::Migrate { exercise, action }) => cmd::migrate::execute(&ctx, exercise, action).await?,
        Some(Command::Seed { exercise, action }) => cmd::seed::execute(&ctx, exercise, action).await?,
        Some(Command::Serve { exercise, port }) => cmd::serve::execute(&ctx, exercise, *port).await?,
        Some(Command::Grade(args)) => checker::grade::execute(&ctx, args).await?,
    })
}
