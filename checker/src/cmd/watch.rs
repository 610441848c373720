//! `checker` with no command: the watch loop. It checks the current
//! exercise, then again every time one of its editable files is saved.
//! Keys: n next, h hint, l list, r re-run, q quit. In a terminal they act
//! at once; otherwise (pipes, CI) type the letter and Enter. `--manual`
//! turns file watching off: press Enter (or r) to re-check.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use colored::Colorize;
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::Ctx;
use crate::course::Exercise;
use crate::exit::Code;
use crate::report::terminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Next,
    Hint,
    List,
    Rerun,
    Quit,
}

enum Event {
    Saved,
    Key(Input),
}

pub async fn execute(ctx: &Ctx, manual: bool) -> anyhow::Result<Code> {
    // Fail before the loop starts if there is no database, with the usual message.
    ctx.server().await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let raw = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    spawn_input(tx.clone(), raw);
    let _raw_guard = RawMode::enable(raw);

    let (progress, warning) = ctx.progress();
    if let Some(w) = warning {
        say(raw, &format!("{} {w}", "warning:".yellow()));
    }
    let mut ex = match progress.current(&ctx.course) {
        Some(e) => e.clone(),
        None => return Ok(Code::Passed),
    };
    let mut watcher = if manual { None } else { Some(watch(ctx, &ex, tx.clone())?) };
    check(ctx, &ex, raw, manual).await?;

    while let Some(event) = rx.recv().await {
        match event {
            Event::Saved => {
                // Editors save in bursts (write, rename, chmod): settle first.
                tokio::time::sleep(Duration::from_millis(30)).await;
                while let Ok(Event::Saved) = rx.try_recv() {}
                check(ctx, &ex, raw, manual).await?;
            }
            Event::Key(Input::Rerun) => check(ctx, &ex, raw, manual).await?,
            Event::Key(Input::Quit) => break,
            Event::Key(Input::Hint) => {
                for line in super::hint::next_hint(ctx, &ex)? {
                    say(raw, &line);
                }
            }
            Event::Key(Input::List) => {
                let (p, _) = ctx.progress();
                for line in super::list::table(ctx, &p, Some(&ex.slug)) {
                    say(raw, &line);
                }
            }
            Event::Key(Input::Next) => {
                let (mut p, _) = ctx.progress();
                match p.next_after(&ctx.course, &ex.slug).cloned() {
                    Some(next) => {
                        p.current = Some(next.slug.clone());
                        ctx.save_progress(&p)?;
                        ex = next;
                        if !manual {
                            watcher = Some(watch(ctx, &ex, tx.clone())?);
                        }
                        check(ctx, &ex, raw, manual).await?;
                    }
                    None => say(raw, &"Every exercise is solved. Well done!".green().bold().to_string()),
                }
            }
        }
    }
    drop(watcher);
    Ok(Code::Passed)
}

async fn check(ctx: &Ctx, ex: &Exercise, raw: bool, manual: bool) -> anyhow::Result<()> {
    if raw {
        // Clear the screen so the newest verdict is the only one in view.
        print!("\x1b[2J\x1b[H");
    }
    say(raw, &format!("{} {}…", "Checking".dimmed(), ex.slug));
    let run = ctx.run_in_place(ex, true).await?;
    ctx.record(&run)?;
    let mut buf = Vec::new();
    terminal::run(&mut buf, &ctx.course, ex, &run)?;
    say(raw, String::from_utf8_lossy(&buf).trim_end());
    let keys = if run.passed() {
        format!("{} n next · h hint · l list · r re-run · q quit", "Solved!".green().bold())
    } else {
        "h hint · l list · n skip · r re-run · q quit".to_owned()
    };
    let how = if manual { "Press Enter to re-check." } else { "Save a file to re-check." };
    say(raw, &format!("\n{} {}", how.dimmed(), keys.dimmed()));
    Ok(())
}

/// Prints text; in raw mode lines need an explicit carriage return.
fn say(raw: bool, text: &str) {
    let mut out = std::io::stdout().lock();
    if raw {
        let _ = write!(out, "{}\r\n", text.replace('\n', "\r\n"));
    } else {
        let _ = writeln!(out, "{text}");
    }
    let _ = out.flush();
}

/// Watches the exercise directory, reporting saves of editable files only.
fn watch(ctx: &Ctx, ex: &Exercise, tx: mpsc::UnboundedSender<Event>) -> anyhow::Result<notify::RecommendedWatcher> {
    let dir: PathBuf = ctx.course.exercise_dir(ex);
    let base = dir.clone();
    let ex = ex.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        // Reads, and changes of times or permissions only (the checker
        // itself may retouch files so cargo rebuilds them), are not saves.
        if matches!(
            event.kind,
            notify::EventKind::Access(_) | notify::EventKind::Modify(notify::event::ModifyKind::Metadata(_))
        ) {
            return;
        }
        let relevant = event.paths.iter().any(|p| {
            p.strip_prefix(&base)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .is_some_and(|r| ex.is_editable(&r))
        });
        if relevant {
            let _ = tx.send(Event::Saved);
        }
    })?;
    watcher.watch(&dir, RecursiveMode::Recursive)?;
    Ok(watcher)
}

fn parse_key(c: char) -> Option<Input> {
    match c.to_ascii_lowercase() {
        'n' => Some(Input::Next),
        'h' => Some(Input::Hint),
        'l' => Some(Input::List),
        'r' | '\n' | '\r' => Some(Input::Rerun),
        'q' => Some(Input::Quit),
        _ => None,
    }
}

fn spawn_input(tx: mpsc::UnboundedSender<Event>, raw: bool) {
    std::thread::spawn(move || {
        if raw {
            use crossterm::event::{self, Event as CtEvent, KeyCode, KeyEventKind, KeyModifiers};
            while let Ok(ev) = event::read() {
                let CtEvent::Key(k) = ev else { continue };
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                let input = match k.code {
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Some(Input::Quit),
                    KeyCode::Char(c) => parse_key(c),
                    KeyCode::Enter => Some(Input::Rerun),
                    KeyCode::Esc => Some(Input::Quit),
                    _ => None,
                };
                if let Some(i) = input
                    && tx.send(Event::Key(i)).is_err()
                {
                    return;
                }
            }
        } else {
            let mut line = String::new();
            loop {
                line.clear();
                match std::io::stdin().read_line(&mut line) {
                    // No more input (closed stdin): keep watching files.
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let c = line.trim().chars().next().unwrap_or('\n');
                        if let Some(i) = parse_key(c)
                            && tx.send(Event::Key(i)).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        }
    });
}

/// Raw terminal mode for single-key commands, always restored.
struct RawMode(bool);

impl RawMode {
    fn enable(on: bool) -> RawMode {
        RawMode(on && crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}
