//! The documented exit codes, and the one place errors are mapped to them.
//!
//! "The student's checks failed" (1) is kept apart from "the checker could
//! not do its job" (2 for a usage mistake, 3 for the environment: no
//! database, no cargo).

use std::fmt;

/// Exit codes, as `--help` documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Passed = 0,
    ChecksFailed = 1,
    Usage = 2,
    Environment = 3,
    Interrupted = 130,
}

/// An error that ends the command, with the code it exits with.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { code: Code::Usage, message: message.into() }
    }

    pub fn env(message: impl Into<String>) -> Failure {
        Failure { code: Code::Environment, message: message.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Maps any error to its exit code: our own [`Failure`] carries one;
/// anything else reaching the top is the environment's fault.
pub fn code_of(err: &anyhow::Error) -> Code {
    err.downcast_ref::<Failure>().map_or(Code::Environment, |f| f.code)
}
