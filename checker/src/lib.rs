//! The checker's engine, as a library so integration tests and the thin
//! `main.rs` share it. One module per concern: the course metadata, the
//! database, building and running checks, reporting, progress; `cmd` has
//! one file per subcommand.

pub mod cli;
pub mod cmd;
pub mod course;
pub mod db;
pub mod exit;
pub mod grade;
pub mod hash;
pub mod migrate;
pub mod progress;
pub mod report;
pub mod runner;
pub mod seed;
pub mod sys;
