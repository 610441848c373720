//! Writing to stdout when the reader may have gone away.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with
//! `BrokenPipe`. `checker list | head -1` closes the pipe on purpose: that
//! ends the command quietly, with success, as ripgrep does.

/// Whether `err` (anywhere in its chain) is a write to a closed pipe.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_broken_pipes_count() {
        let pipe = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("printing");
        assert!(super::is_closed_pipe(&pipe));
        assert!(!super::is_closed_pipe(&anyhow::anyhow!("Broken pipe")));
        assert!(!super::is_closed_pipe(&std::io::Error::from(std::io::ErrorKind::NotFound).into()));
    }
}
