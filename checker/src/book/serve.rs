//! `checker book --serve`: the built book over HTTP on 127.0.0.1, rebuilt
//! when its sources change, with every open page reloading itself after a
//! rebuild; and, as plain text, the repository files its chapters link to.
//!
//! Reloading needs no websocket: each page served carries a small script
//! that asks [`GENERATION`] once a second and reloads when the number it
//! answers changes (every successful rebuild increments it).
//!
//! The chapters link into the repository relative to their source
//! (`../../../exercises/pooling/src/lib.rs`); from a page served at
//! `/pooling/index.html` a browser asks for `/exercises/pooling/src/lib.rs`.
//! A path the book does not have is looked up in the course root, but only
//! under [`REPOSITORY`], never through a hidden entry (`.env`, `.git`,
//! `.workbook`) or `target`, and never where a symlink leads elsewhere.

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

/// The entries of the course root that chapters link to, and so the only
/// ones served from outside the book: the exercise crates, and the
/// compose file the database chapter shows. A chapter that links anything
/// else gets a 404 here, which the browser test reports.
pub const REPOSITORY: [&str; 2] = ["exercises", "compose.yml"];

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
    root: Arc<PathBuf>,
    generation: Arc<AtomicU64>,
}

/// A running book server.
pub struct BookServer {
    pub address: SocketAddr,
    generation: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl BookServer {
    /// Serves `dir` (a built book), and the [`REPOSITORY`] files of the
    /// course at `root`, on 127.0.0.1:`port` (0 picks a free one).
    pub async fn start(dir: PathBuf, root: PathBuf, port: u16) -> std::io::Result<BookServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let generation = Arc::new(AtomicU64::new(1));
        let state = Served { dir: Arc::new(dir), root: Arc::new(root), generation: generation.clone() };
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
        return match repository_entry(&s.root, uri.path()) {
            Some(entry) => repository_response(&entry).await,
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        };
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

/// What a URL path names in the course's repository.
#[derive(Debug, PartialEq)]
enum Entry {
    /// A file, at its real path.
    File(PathBuf),
    /// A directory: its real path, and its path from the course root.
    Dir(PathBuf, PathBuf),
}

/// The repository entry a URL path names, if the server may show it: see
/// [`shareable`]. `None` for `..`, and for a symlink that leads out of
/// what may be shown.
fn repository_entry(root: &Path, url_path: &str) -> Option<Entry> {
    let decoded = percent_decode(url_path)?;
    let mut rel = PathBuf::new();
    for part in Path::new(decoded.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => rel.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if !shareable(&rel) {
        return None;
    }
    // The name passed; where it really leads must pass too.
    let root = root.canonicalize().ok()?;
    let real = root.join(&rel).canonicalize().ok()?;
    if !shareable(real.strip_prefix(&root).ok()?) {
        return None;
    }
    if real.is_dir() { Some(Entry::Dir(real, rel)) } else { real.is_file().then_some(Entry::File(real)) }
}

/// Whether a path relative to the course root may be served: under one
/// of [`REPOSITORY`], with no hidden part (`.env`, `.git`) and no build
/// output (`target`) on the way.
fn shareable(rel: &Path) -> bool {
    let first = rel.components().next().and_then(|c| c.as_os_str().to_str());
    first.is_some_and(|f| REPOSITORY.contains(&f))
        && rel.components().all(|part| match part {
            Component::Normal(p) => {
                let p = p.to_string_lossy();
                !p.starts_with('.') && !p.eq_ignore_ascii_case("target")
            }
            _ => false,
        })
}

/// A repository file as plain text (never rendered, whatever it holds);
/// a directory as a list of links to what in it may be served.
async fn repository_response(entry: &Entry) -> Response {
    let plain = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    match entry {
        Entry::File(path) => match tokio::fs::read(path).await {
            Ok(bytes) => (plain, bytes).into_response(),
            Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
        },
        Entry::Dir(path, rel) => {
            let mut names: Vec<(String, bool)> = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .flatten()
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path().is_dir()))
                    .filter(|(name, _)| shareable(&rel.join(name)))
                    .collect(),
                Err(_) => return (StatusCode::NOT_FOUND, "not found").into_response(),
            };
            names.sort();
            let shown = format!("{}/", rel.to_string_lossy());
            let mut page = format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head><body>\n<h1>{0}</h1>\n<ul>\n",
                html_escape(&shown)
            );
            for (name, dir) in names {
                let slash = if dir { "/" } else { "" };
                let href = super::url_path(&format!("/{shown}{name}{slash}"));
                page.push_str(&format!("<li><a href=\"{href}\">{}{slash}</a></li>\n", html_escape(&name)));
            }
            page.push_str("</ul>\n</body></html>\n");
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], page)
                .into_response()
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
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

    #[test]
    fn only_exercise_files_are_served_from_the_repository() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for file in [
            "exercises/pooling/src/lib.rs",
            "exercises/pooling/.env",
            "exercises/pooling/target/debug/x",
            "compose.yml",
            "Cargo.toml",
            ".env",
            "target/book/index.html",
            ".git/config",
            ".workbook/progress.toml",
            "solutions/pooling/src/lib.rs",
        ] {
            std::fs::create_dir_all(r.join(file).parent().unwrap()).unwrap();
            std::fs::write(r.join(file), "").unwrap();
        }
        let real = r.canonicalize().unwrap();
        let file = |p: &str| Some(Entry::File(real.join(p)));
        assert_eq!(repository_entry(r, "/exercises/pooling/src/lib.rs"), file("exercises/pooling/src/lib.rs"));
        assert_eq!(repository_entry(r, "/exercises/pooling/./src/lib.rs"), file("exercises/pooling/src/lib.rs"));
        assert_eq!(repository_entry(r, "/compose.yml"), file("compose.yml"));
        assert_eq!(
            repository_entry(r, "/exercises/pooling/"),
            Some(Entry::Dir(real.join("exercises/pooling"), PathBuf::from("exercises/pooling")))
        );
        for refused in [
            "/.env",
            "/target/book/index.html",
            "/.git/config",
            "/.workbook/progress.toml",
            "/Cargo.toml",
            "/solutions/pooling/src/lib.rs",
            "/exercises/pooling/.env",
            "/exercises/pooling/target/debug/x",
            "/exercises/pooling/TARGET/debug/x",
            "/exercises/../.env",
            "/exercises/%2e%2e/.env",
            "/exercises/..%2f.env",
            "/exercises/pooling/src/missing.rs",
            "/",
        ] {
            assert_eq!(repository_entry(r, refused), None, "{refused}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_cannot_lead_out_of_what_is_served() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("exercises/ex/src")).unwrap();
        std::fs::write(r.join("exercises/ex/src/lib.rs"), "").unwrap();
        std::fs::write(r.join(".env"), "DATABASE_URL=secret").unwrap();
        std::fs::write(outside.path().join("secret"), "").unwrap();
        std::os::unix::fs::symlink(r.join(".env"), r.join("exercises/ex/env")).unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("exercises/ex/out")).unwrap();
        std::os::unix::fs::symlink(r.join("exercises/ex/src/lib.rs"), r.join("exercises/ex/lib.rs")).unwrap();
        assert_eq!(repository_entry(r, "/exercises/ex/env"), None);
        assert_eq!(repository_entry(r, "/exercises/ex/out/secret"), None);
        let lib = r.canonicalize().unwrap().join("exercises/ex/src/lib.rs");
        assert_eq!(repository_entry(r, "/exercises/ex/lib.rs"), Some(Entry::File(lib)), "a link within is fine");
    }
}
