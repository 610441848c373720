//! `checker book --serve`: the built book over HTTP on 127.0.0.1, rebuilt
//! when its sources change, with every open page reloading itself after a
//! rebuild.
//!
//! Reloading needs no websocket: each page served carries a small script
//! that asks [`GENERATION`] once a second and reloads when the number it
//! answers changes (every successful rebuild increments it).

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// The path a page polls for the build's generation.
pub const GENERATION: &str = "/__workbook/generation";

/// What each served HTML page gets before `</body>`.
const RELOAD_SCRIPT: &str = r#"<script>
(function () {
  let seen = null;
  async function poll() {
    try {
      const now = await (await fetch("/__workbook/generation", { cache: "no-store" })).text();
      if (seen !== null && now !== seen) { location.reload(); return; }
      seen = now;
    } catch (e) { /* the server is restarting or gone: keep asking */ }
    setTimeout(poll, 1000);
  }
  poll();
})();
</script>
"#;

#[derive(Clone)]
struct Served {
    dir: Arc<PathBuf>,
    generation: Arc<AtomicU64>,
}

/// A running book server.
pub struct BookServer {
    pub address: SocketAddr,
    generation: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl BookServer {
    /// Serves `dir` (a built book) on 127.0.0.1:`port` (0 picks a free one).
    pub async fn start(dir: PathBuf, port: u16) -> std::io::Result<BookServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let generation = Arc::new(AtomicU64::new(1));
        let state = Served { dir: Arc::new(dir), generation: generation.clone() };
        let app = Router::new()
            .route(GENERATION, axum::routing::get(generation_now))
            .fallback(axum::routing::get(file))
            .with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(BookServer { address, generation, task })
    }

    /// Tells open pages to reload.
    pub fn rebuilt(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }
}

impl Drop for BookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn generation_now(State(s): State<Served>) -> String {
    s.generation.load(Ordering::SeqCst).to_string()
}

async fn file(State(s): State<Served>, uri: Uri) -> Response {
    let Some(path) = resolve(&s.dir, uri.path()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let kind = content_type(&path);
            if kind.starts_with("text/html") {
                let page = String::from_utf8_lossy(&bytes);
                let page = match page.rfind("</body>") {
                    Some(at) => format!("{}{RELOAD_SCRIPT}{}", &page[..at], &page[at..]),
                    None => format!("{page}{RELOAD_SCRIPT}"),
                };
                ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-store")], page).into_response()
            } else {
                ([(header::CONTENT_TYPE, kind)], bytes).into_response()
            }
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The file a URL path names inside `dir`, `index.html` for a directory;
/// `None` for a path that climbs out (`..`) or names nothing.
fn resolve(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut path = dir.to_path_buf();
    for part in Path::new(decoded.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    path.is_file().then_some(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Sends a message on `tx` each time a file under one of `paths` changes
/// (not on reads); the watcher stops when dropped.
pub fn watch(paths: &[PathBuf], tx: mpsc::UnboundedSender<()>) -> notify::Result<notify::RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send(());
        }
    })?;
    for p in paths.iter().filter(|p| p.exists()) {
        watcher.watch(p, RecursiveMode::Recursive)?;
    }
    Ok(watcher)
}

/// Waits for a burst of changes to end (an editor writes, renames and
/// touches), so one save is one rebuild.
pub async fn settle(rx: &mut mpsc::UnboundedReceiver<()>) {
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut more = false;
        while rx.try_recv().is_ok() {
            more = true;
        }
        if !more {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_book_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("connect")).unwrap();
        std::fs::write(dir.path().join("index.html"), "").unwrap();
        std::fs::write(dir.path().join("connect/index.html"), "").unwrap();
        std::fs::write(dir.path().join("connect/a b.html"), "").unwrap();
        assert_eq!(resolve(dir.path(), "/"), Some(dir.path().join("index.html")));
        assert_eq!(resolve(dir.path(), "/connect/"), Some(dir.path().join("connect/index.html")));
        assert_eq!(resolve(dir.path(), "/connect/a%20b.html"), Some(dir.path().join("connect/a b.html")));
        assert_eq!(resolve(dir.path(), "/../etc/passwd"), None);
        assert_eq!(resolve(dir.path(), "/connect/%2e%2e/%2e%2e/x"), None);
        assert_eq!(resolve(dir.path(), "/missing.html"), None);
    }
}
