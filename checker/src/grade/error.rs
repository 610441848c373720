//! Why grading could not be carried out (a submission's own failures are
//! its grade, not an error).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error(
        "cannot read the submissions folder {}: {error}; give a folder with one subfolder per student",
        dir.display()
    )]
    Submissions { dir: PathBuf, error: std::io::Error },

    #[error(
        "{} holds no submissions: it should hold one folder per student, each a copy of the course repository",
        dir.display()
    )]
    NoSubmissions { dir: PathBuf },

    #[error("cannot read the roster {}: {error}", path.display())]
    Roster { path: PathBuf, error: String },

    #[error(
        "the roster {} needs a header line naming a folder column (folder or github_username) and a student column \
         (student or identifier), e.g.\nfolder,student\nalice-repo,alice@example.edu",
        path.display()
    )]
    RosterHeader { path: PathBuf },

    #[error(
        "the roster gives folders {first} and {second} the same student id {student}; each student needs their own"
    )]
    SameStudent { first: String, second: String, student: String },

    #[error("the course's own {slug} does not build; run `cargo checker dev check {slug}` and fix the course first")]
    CourseDoesNotBuild { slug: String },

    #[error(
        "--require-sandbox: this machine cannot sandbox the submissions' code ({0}); grade on a Linux kernel with \
         Landlock ABI 6 or later (5.13+ with it enabled; 6.12+ for signal scoping)"
    )]
    NoSandbox(String),

    #[error("{doing}: {error}")]
    Io { doing: String, error: std::io::Error },

    #[error("interrupted: grading stopped; nothing was written")]
    Interrupted,

    #[error("a grading task failed: {0}")]
    Task(tokio::task::JoinError),

    #[error(transparent)]
    Course(#[from] crate::course::CourseError),

    #[error(transparent)]
    Run(#[from] crate::runner::RunError),

    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}
