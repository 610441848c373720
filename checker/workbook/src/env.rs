//! Changing environment variables for the code under test, one check at a
//! time.
//!
//! Checks run on parallel threads and the environment is shared by the
//! whole process, so every change goes through one lock and is undone when
//! the closure returns.

use std::sync::Mutex;

static LOCK: Mutex<()> = Mutex::new(());

/// Runs `body` with `key` set to `value` (or removed, for `None`), then
/// restores what was there before.
#[expect(
    clippy::await_holding_lock,
    reason = "held on purpose: the variable must stay set while body runs, and other checks (on other threads) wait"
)]
pub async fn with_var<R>(key: &str, value: Option<&str>, body: impl AsyncFnOnce() -> R) -> R {
    // The harness reads its own server URL before any check body runs;
    // make sure that happened before the variable changes under it.
    crate::admin::settle();
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = std::env::var_os(key);
    set(key, value.map(Into::into));
    let out = body().await;
    set(key, before);
    out
}

#[expect(unsafe_code, reason = "std::env::set_var is unsafe in edition 2024")]
fn set(key: &str, value: Option<std::ffi::OsString>) {
    // SAFETY: every change to the environment made by checks goes through
    // LOCK, and the harness caches what it reads (admin::settle) beforehand.
    unsafe {
        match value {
            Some(v) => std::env::set_var(key, v),
            None => std::env::remove_var(key),
        }
    }
}
