//! File helpers for the cluster's directory: atomic writes, removals that
//! tolerate a missing file, and the server log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use super::error::{EmbeddedError, io_err};

/// Readers never see a half-written file: write beside it, then rename.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), EmbeddedError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, contents).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("write", path))
}

pub(crate) fn create_dir_all(dir: &Path) -> Result<(), EmbeddedError> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

pub(crate) fn remove_if_present(path: &Path) -> Result<(), EmbeddedError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", path)(e)),
        _ => Ok(()),
    }
}

pub(crate) fn remove_dir_if_present(path: &Path) -> Result<(), EmbeddedError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", path)(e)),
        _ => Ok(()),
    }
}

pub(crate) fn append_log(log: &Path, text: &str) -> Result<(), EmbeddedError> {
    let mut file = OpenOptions::new().create(true).append(true).open(log).map_err(io_err("open", log))?;
    file.write_all(text.as_bytes()).map_err(io_err("write", log))
}

/// What the log gained since `offset`: this start's messages, not older ones.
pub(crate) fn read_from(log: &Path, offset: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = File::open(log) {
        _ = file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_to_end(&mut text));
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Where `datadir` says the data directory is, when it lives outside the
/// cluster directory.
pub(crate) fn recorded_data_dir(dir: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(dir.join("datadir")).ok()?;
    let data = text.trim();
    (!data.is_empty()).then(|| PathBuf::from(data))
}
