//! The checker's engine, as a library so integration tests and the thin
//! `main.rs` share it.
//!
//! The engine (course, session, database, runner, grading, and the
//! course author's audit, scaffold and bench) returns its own errors and
//! emits [`events`]; it never prints and knows nothing of exit codes. The
//! command line is `cli` (arguments), `cmd` (one file per subcommand,
//! choosing reporters from `report`) and `exit` (the one mapping from
//! errors to exit codes).

#![forbid(unsafe_code)]

pub mod audit;
pub mod bench;
pub mod book;
pub mod cli;
pub mod cmd;
pub mod course;
pub mod db;
pub mod edition;
pub mod events;
pub mod exit;
pub mod grade;
pub mod hash;
pub mod migrate;
pub mod progress;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod scaffold;
pub mod seed;
pub mod session;
pub mod starter;
pub mod sys;
