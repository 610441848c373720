//! Why the embedded server could not be found, made, started or stopped,
//! worded to read after "failed to", with the ways out when there is no
//! server at all; and the helpers that turn a failed call into one.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What the student can do when there is no server to run. Shared by every
/// error that ends with "use another server".
const WAYS_OUT: &str = "\
Three ways out:
  1. Install PostgreSQL: `sudo apt-get install postgresql` (Debian, Ubuntu),
     `brew install postgresql@16` (macOS), or your system's package; or set
     WORKBOOK_PG_BIN to the directory holding its pg_ctl, initdb and postgres.
  2. Run the course's PostgreSQL in Docker: `docker compose up -d` at the
     repository root (compose.yml), then set DATABASE_URL as the README shows.
  3. Set DATABASE_URL, or pass --database-url, to any PostgreSQL server where
     you may create databases.";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "find PostgreSQL's server programs (pg_ctl, initdb, postgres) to run the embedded database.\n\
         Searched:\n{searched}\n\n{WAYS_OUT}"
    )]
    NoBinaries { searched: String },

    #[error(
        "use WORKBOOK_PG_BIN={dir}: it has no {missing}; point it at the directory holding \
         PostgreSQL's pg_ctl, initdb and postgres, or unset it to search PATH and the usual places"
    )]
    PgBinUnusable { dir: PathBuf, missing: String },

    #[error("use {dir} as PostgreSQL's bin directory: it has no {missing}")]
    NotABinDir { dir: PathBuf, missing: String },

    #[error("read the PostgreSQL version from `{program} --version`: {detail}")]
    Version { program: PathBuf, detail: String },

    #[error("run {program}: {source}")]
    Spawn { program: String, source: io::Error },

    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: io::Error },

    #[error(
        "find an account to run PostgreSQL as: the checker runs as root, which PostgreSQL \
         refuses, and neither `postgres` nor `nobody` exists; create one \
         (`useradd --system postgres`), run the checker as an ordinary user, or set DATABASE_URL"
    )]
    NoServerAccount,

    #[error(
        "switch to the `{user}` account to run PostgreSQL (it refuses to run as root): neither \
         runuser nor setpriv (util-linux) was found; install util-linux, run the checker as an \
         ordinary user, or set DATABASE_URL"
    )]
    NoAccountSwitch { user: String },

    #[error(
        "use {path} for the embedded database: it exists but is not a directory owned by \
         `{user}` or root; remove it and try again"
    )]
    UnsafeDataHome { path: PathBuf, user: String },

    #[error(
        "use {data_dir} as the embedded cluster: it exists but is not a PostgreSQL data \
         directory (no PG_VERSION); delete it and try again"
    )]
    NotADataDir { data_dir: PathBuf },

    #[error(
        "use the embedded cluster in {data_dir}: PostgreSQL {cluster} created it, but the server \
         programs found are version {binaries} ({bin_dir}); delete {dir} to start afresh (it only \
         holds the course's throwaway databases), or set WORKBOOK_PG_BIN to a PostgreSQL {cluster} \
         bin directory"
    )]
    VersionMismatch { data_dir: PathBuf, dir: PathBuf, cluster: String, binaries: String, bin_dir: PathBuf },

    #[error(
        "create the embedded PostgreSQL cluster in {data_dir} (initdb as `{user}`):\n{tail}\n\n\
         The full output is in {log}. Next: fix what it says (often disk space or permissions \
         on {data_dir}), then run the command again.\n\n{WAYS_OUT}"
    )]
    Initdb { data_dir: PathBuf, user: String, tail: String, log: PathBuf },

    #[error(
        "start the embedded PostgreSQL server on 127.0.0.1:{port}:\n{tail}\n\n\
         The full log is {log}. Next: fix what it says and run the command again; if the data \
         is damaged, delete {dir} to start afresh (it only holds the course's throwaway \
         databases).\n\n{WAYS_OUT}"
    )]
    Start { port: u16, tail: String, log: PathBuf, dir: PathBuf },

    #[error("stop the embedded PostgreSQL server (pid {pid}):\n{detail}\n\nThe log is {log}.")]
    Stop { pid: u32, detail: String, log: PathBuf },

    #[error(
        "reach the embedded PostgreSQL server: process {pid} holds {data_dir} but does not \
         accept connections on 127.0.0.1:{port}; see {log}, then stop it with `checker db stop`"
    )]
    Unresponsive { pid: u32, port: u16, data_dir: PathBuf, log: PathBuf },

    #[error("{action}: {detail}")]
    Tool { action: String, detail: String },
}

pub(crate) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io { action, path, source }
}

pub(crate) fn run(cmd: &mut Command) -> Result<Output, EmbeddedError> {
    cmd.output()
        .map_err(|source| EmbeddedError::Spawn { program: cmd.get_program().to_string_lossy().into_owned(), source })
}

pub(crate) fn output_text(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = all.len().saturating_sub(lines);
    all[start..].iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}
