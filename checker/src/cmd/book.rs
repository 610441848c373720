//! `checker book [--open | --serve]`: the course's book built with mdBook
//! as a library (nothing to install) into `target/book`; opened in a
//! browser, or served on 127.0.0.1 (with the exercise files its chapters
//! link to) and rebuilt as its sources change.

use std::path::Path;

use colored::Colorize;
use tokio::sync::mpsc;

use crate::book::{self, serve};
use crate::exit::Code;
use crate::report::link;
use crate::session::Session;

pub async fn execute(session: &Session, open: bool, serve_on: Option<u16>) -> anyhow::Result<Code> {
    let course = &session.course;
    let first = book::build(course)?;
    let shown = course.display_path(&first);
    outln!("{} the book: {}", "Built".green().bold(), link::file(&shown, &first));
    let Some(port) = serve_on else {
        outln!("Open {} in a browser, or run `cargo checker book --open`.", book::file_url(&first));
        if open {
            open_in_browser(&book::file_url(&first));
        }
        return Ok(Code::Passed);
    };
    let server = serve::BookServer::start(book::build_dir(course), course.root.clone(), port).await.map_err(|e| {
        anyhow::anyhow!("could not listen on 127.0.0.1:{port}: {e}\nIs something else using it? Try --port 0.")
    })?;
    let url = server.url();
    outln!("{} the book on {}  (Ctrl-C stops it)", "Serving".green().bold(), link::to(&url, &url));
    outln!("{}", "Pages reload by themselves when you save a file under book/.".dimmed());
    if open {
        open_in_browser(&url);
    }
    let root = book::source_dir(course);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _watcher = serve::watch(&[root.join("src"), root.join("listings/src"), root.join("book.toml")], tx)?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            changed = rx.recv() => {
                if changed.is_none() { break }
                serve::settle(&mut rx).await;
                rebuild(course, &server).await;
            }
        }
    }
    Ok(Code::Passed)
}

async fn rebuild(course: &crate::course::Course, server: &serve::BookServer) {
    let c = course.clone();
    match tokio::task::spawn_blocking(move || book::build(&c)).await {
        Ok(Ok(_)) => {
            server.rebuilt();
            eprintln!("{} {}", "rebuilt".dimmed(), chrono::Local::now().format("%H:%M:%S").to_string().dimmed());
        }
        Ok(Err(e)) => eprintln!("{} failed to {e}\n(the last good build is still served)", "error:".red().bold()),
        Err(e) => eprintln!("{} the build stopped: {e}", "error:".red().bold()),
    }
}

/// Opens `url` in the desktop's browser (`$BROWSER` first); says where to
/// go when there is none.
fn open_in_browser(url: &str) {
    let browser = std::env::var("BROWSER").ok().filter(|b| !b.is_empty());
    let program = browser.as_deref().unwrap_or(if cfg!(target_os = "macos") { "open" } else { "xdg-open" });
    let started = std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if started.is_err() {
        let program = Path::new(program).display();
        eprintln!("{} could not start {program} to open a browser; open {url} yourself", "note:".yellow());
    }
}
