//! `checker`: parse the command line, run the command, exit with the
//! documented code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use colored::Colorize;

use checker::cli::Cli;
use checker::course::Course;
use checker::db::{orphans, watchdog};
use checker::exit::{Code, code_of};
use checker::report::{color, link, output};
use checker::runner::spawn;
use checker::session::Session;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let args_are = |what: &str| std::env::args_os().nth(1).is_some_and(|a| a == what);
    if args.next().is_some_and(|a| a == spawn::TRAMPOLINE) {
        // Starting a check process (see runner::spawn): exec() only returns on failure.
        let error = spawn::trampoline(args.collect());
        eprintln!("{}{error}", spawn::START_FAILED);
        return ExitCode::from(Code::Environment as u8);
    }
    if args_are(watchdog::WATCHDOG) {
        // A server's watchdog (see db::watchdog), started by a checker.
        if let Some(dir) = std::env::args_os().nth(2) {
            watchdog::run(std::path::Path::new(&dir));
        }
        return ExitCode::SUCCESS;
    }
    spawn::enable_trampoline();
    watchdog::enable();
    // No embedded server outlives its course: stop those whose course is gone.
    orphans::sweep();
    let cli = Cli::parse();
    let color = color::apply(cli.color);
    link::set(link::wanted(cli.color));
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(Code::Environment as u8);
        }
    };
    let code = match runtime.block_on(dispatch(cli, color)) {
        Ok(code) => code,
        // A reader that went away (`checker list | head -1`) is not an error.
        Err(err) if output::is_closed_pipe(&err) => Code::Passed,
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
    let session = Session::new(course, color, cli.database_url.clone());
    let code = checker::cmd::execute(&session, &cli).await;
    // After the verdict: the check databases still being dropped, the role.
    session.close().await;
    code
}
