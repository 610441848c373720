//! The embedded PostgreSQL cluster: a private server the checker runs from
//! the machine's own PostgreSQL programs, with its data under
//! `target/workbook/pg`, started on demand and reused between runs.
//!
//! Files in the cluster's directory (`dir`):
//! - `lock`: held around init, start and stop, so parallel checker and
//!   test processes end up sharing one server;
//! - `data/`: the data directory, unless it lives elsewhere (see `datadir`);
//! - `server.log`: initdb's output and the server's log;
//! - `port`: the port chosen at first start, reused while it stays free;
//! - `url`: the connection URL, present only while the server runs (the
//!   support crate reads it);
//! - `datadir`: where the data directory is when the server's account
//!   cannot reach `dir` (running as root under `/root`, for example).
//!
//! The server listens on 127.0.0.1 only, with no Unix socket, and never
//! touches other clusters on the machine.
//!
//! By job: [`cluster`] is the lifecycle (init, start, stop, destroy),
//! [`binaries`] finds the server programs, [`account`] is the
//! unprivileged account a root checker runs them as, [`home`] decides
//! where the data lives, [`process`] tells whether a server is ours and
//! answering, [`files`] and [`error`] are what they share. None imports
//! from a module that imports from it.

pub mod account;
pub mod binaries;
pub mod cluster;
pub mod error;
pub mod files;
pub mod home;
pub mod process;

pub use binaries::{PgBinaries, Search};
pub use cluster::{Cluster, Running, SERVER_SETTINGS, SUPERUSER, Status};
pub use error::EmbeddedError;
