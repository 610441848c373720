//! Where the exercise being checked lives, read when the checks run.
//!
//! A check binary must read the migrations, seeds and sources of the copy
//! of the course it is checking, not those of the checkout it was compiled
//! in: two clones sharing one `CARGO_TARGET_DIR` share binaries (cargo
//! names a path crate's artifacts by its place in the workspace), so a
//! path baked in with `env!("CARGO_MANIFEST_DIR")` can name another copy.
//! Both the checker and `cargo test` set `CARGO_MANIFEST_DIR` in the
//! environment of the binary they run; that is the one to believe.

use std::path::PathBuf;

/// The exercise crate's directory, as set for this run.
///
/// # Panics
/// When the check binary was started by hand, with neither the checker nor
/// cargo to say where the exercise is.
pub fn dir() -> PathBuf {
    match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => panic!(
            "CARGO_MANIFEST_DIR is not set, so the checks cannot tell which copy of the exercise to read.\n\
             Run them with `cargo checker run <exercise>` or `cargo test -p <exercise>`."
        ),
    }
}

/// A file or directory of the exercise, such as `"migrations"`.
pub fn path(relative: &str) -> PathBuf {
    dir().join(relative)
}
