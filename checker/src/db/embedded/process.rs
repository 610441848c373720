//! Is a server process ours, and is it answering: the postmaster's
//! command line, TCP probes of its port, and free ports for a new one.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::error::{EmbeddedError, io_err};

/// Whether `pid` is the postmaster of `data`: `Some(false)` when it is gone,
/// a zombie, or another program (a reused pid), `None` when this system
/// cannot tell. The postmaster keeps its command line, which holds `-D data`.
pub(crate) fn is_our_postmaster(pid: u32, data: &Path) -> Option<bool> {
    let needle = data.as_os_str().as_bytes();
    if Path::new("/proc/self").exists() {
        return match fs::read(format!("/proc/{pid}/cmdline")) {
            Ok(cmdline) => Some(contains(&cmdline, needle)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(false),
            Err(_) => None,
        };
    }
    let out = Command::new("ps").args(["-p", &pid.to_string(), "-o", "command="]).output().ok()?;
    Some(out.status.success() && contains(&out.stdout, needle))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn tcp_accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_millis(500)).is_ok()
}

pub(crate) fn wait_until_accepting(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while port != 0 && Instant::now() < deadline {
        if tcp_accepts(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Free when nothing answers on it and we can bind it ourselves (the bind
/// alone misses a server listening on the wildcard address on some systems).
pub(crate) fn port_is_free(port: u16) -> bool {
    !tcp_accepts(port) && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

pub(crate) fn free_port() -> Result<u16, EmbeddedError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io_err("find a free port on", Path::new("127.0.0.1")))
}
