//! `checker grade SUBMISSIONS`: grade a class (see [`crate::grade`]); the
//! reporters show progress and the table, and write the files.

use std::time::Duration;

use crate::cli::GradeArgs;
use crate::cmd::UsageError;
use crate::events::drive;
use crate::exit::Code;
use crate::grade::files::GradeFiles;
use crate::grade::{self, GradeOptions};
use crate::report::grading::{GradeProgress, GradeTable};
use crate::session::Session;

pub async fn execute(session: &Session, args: &GradeArgs) -> anyhow::Result<Code> {
    if args.jobs == 0 {
        return Err(UsageError("--jobs must be at least 1".into()).into());
    }
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| anyhow::anyhow!("creating {}: {e}", out.display()))?;
    let opts = GradeOptions {
        submissions: args.submissions.clone(),
        roster: args.roster.clone(),
        only: args.only.clone(),
        jobs: args.jobs,
        timeout: Duration::from_secs(args.timeout),
        sandbox: !args.no_sandbox,
        require_sandbox: args.require_sandbox,
    };
    // Files first: the table says they were written.
    let mut reporters =
        (GradeProgress::default(), (GradeFiles::new(out), GradeTable { out_dir: out.display().to_string() }));
    let (graded, shown) = drive(&mut reporters, async |events| grade::grade(session, &opts, &events).await).await;
    let graded = graded?;
    shown?;
    // Points that say nothing about the work: the instructor must know.
    let failed: Vec<String> = graded
        .iter()
        .flat_map(|s| {
            s.exercises.iter().filter(|e| e.grader_error.is_some()).map(|e| format!("{}/{}", s.student, e.slug))
        })
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "error: {} exercise(s) could not be graded because the sandbox could not be set up on this machine \
             (their 0 says nothing about the work; grades.json says why under grader_error): {}. Grade them again.",
            failed.len(),
            failed.join(", ")
        );
        return Ok(Code::Environment);
    }
    Ok(Code::Passed)
}
