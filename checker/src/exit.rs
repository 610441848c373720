//! The documented exit codes, and the one function that maps errors to
//! them.
//!
//! "The student's checks failed" (1) is a command's result, not an error:
//! commands return it. Errors are "the checker could not do its job": 2
//! for a usage mistake, 3 for the environment (no database, no cargo),
//! 130 for Ctrl-C. The engine's errors say what went wrong; only here is
//! that turned into a code.

use std::error::Error;

use crate::bench::BenchError;
use crate::cmd::{Explained, UsageError};
use crate::course::CourseError;
use crate::db::DbError;
use crate::db::embedded::EmbeddedError;
use crate::grade::GradeError;
use crate::migrate::MigrateError;
use crate::runner::RunError;
use crate::seed::SeedError;
use crate::starter::ResetError;

/// Exit codes, as `--help` documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Passed = 0,
    ChecksFailed = 1,
    Usage = 2,
    Environment = 3,
    Interrupted = 130,
}

/// The code an error ends the command with: that of the first error in
/// its chain the checker knows; anything else reaching the top is the
/// environment's fault.
pub fn code_of(err: &anyhow::Error) -> Code {
    err.chain().find_map(classify).unwrap_or(Code::Environment)
}

fn classify(err: &(dyn Error + 'static)) -> Option<Code> {
    if let Some(e) = err.downcast_ref::<Explained>() {
        return Some(code_of(&e.error));
    }
    if err.is::<UsageError>() {
        return Some(Code::Usage);
    }
    if let Some(e) = err.downcast_ref::<CourseError>() {
        return Some(match e {
            CourseError::Read { .. } => Code::Environment,
            CourseError::NotFound { .. }
            | CourseError::Invalid { .. }
            | CourseError::UnknownExercise { .. }
            | CourseError::Empty => Code::Usage,
        });
    }
    if let Some(e) = err.downcast_ref::<RunError>() {
        return Some(match e {
            RunError::Interrupted => Code::Interrupted,
            _ => Code::Environment,
        });
    }
    if let Some(e) = err.downcast_ref::<GradeError>() {
        return Some(grade_code(e));
    }
    if let Some(e) = err.downcast_ref::<MigrateError>() {
        return Some(match e {
            MigrateError::Database(_) | MigrateError::Io { .. } => Code::Environment,
            MigrateError::BadName { .. } => Code::Usage,
            // The student's SQL or files are at fault.
            _ => Code::ChecksFailed,
        });
    }
    if let Some(e) = err.downcast_ref::<SeedError>() {
        return Some(match e {
            SeedError::Database(_) => Code::Environment,
            _ => Code::ChecksFailed,
        });
    }
    if err.is::<DbError>() || err.is::<EmbeddedError>() || err.is::<ResetError>() || err.is::<BenchError>() {
        return Some(Code::Environment);
    }
    None
}

fn grade_code(e: &GradeError) -> Code {
    match e {
        GradeError::Interrupted => Code::Interrupted,
        GradeError::Submissions { .. }
        | GradeError::NoSubmissions { .. }
        | GradeError::Roster { .. }
        | GradeError::RosterHeader { .. }
        | GradeError::SameStudent { .. } => Code::Usage,
        GradeError::Course(e) => classify(e).unwrap_or(Code::Environment),
        GradeError::Run(e) => classify(e).unwrap_or(Code::Environment),
        GradeError::CourseDoesNotBuild { .. }
        | GradeError::NoSandbox(_)
        | GradeError::Io { .. }
        | GradeError::Db(_)
        | GradeError::Task(_) => Code::Environment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_has_its_documented_code() {
        let code = |e: anyhow::Error| code_of(&e);
        assert_eq!(code(CourseError::UnknownExercise { slug: "x".into(), closest: None }.into()), Code::Usage);
        assert_eq!(code(UsageError("--jobs must be at least 1".into()).into()), Code::Usage);
        assert_eq!(code(RunError::Interrupted.into()), Code::Interrupted);
        assert_eq!(code(GradeError::Interrupted.into()), Code::Interrupted);
        assert_eq!(code(RunError::Workspace("x".into()).into()), Code::Environment);
        assert_eq!(code(MigrateError::BadName { name: "2fast".into(), kind: "migration" }.into()), Code::Usage);
        assert_eq!(code(MigrateError::Dirty { database: "d".into(), version: 1 }.into()), Code::ChecksFailed);
        assert_eq!(code(anyhow::anyhow!("psql exited with 2")), Code::Environment);
        let explained =
            Explained { message: "m".into(), error: MigrateError::Dirty { database: "d".into(), version: 1 }.into() };
        assert_eq!(code(explained.into()), Code::ChecksFailed);
        let wrapped = anyhow::Error::from(RunError::Interrupted).context("running connect");
        assert_eq!(code(wrapped), Code::Interrupted);
    }
}
