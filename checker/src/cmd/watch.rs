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

use crate::course::Exercise;
use crate::events::drive;
use crate::exit::Code;
use crate::report::TerminalRuns;
use crate::report::progress::BuildSpinner;
use crate::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    Next,
    Hint,
    List,
    Rerun,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Saved,
    Key(Input),
}

pub async fn execute(session: &Session, manual: bool) -> anyhow::Result<Code> {
    // Fail before the loop starts if there is no database, with the usual message.
    session.server().await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let raw = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    spawn_input(tx.clone(), raw);
    let _raw_guard = RawMode::enable(raw);

    let (progress, warning) = session.progress();
    if let Some(w) = warning {
        say(raw, &format!("{} {w}", "warning:".yellow()));
    }
    let mut ex = match progress.current(&session.course) {
        Some(e) => e.clone(),
        None => return Ok(Code::Passed),
    };
    let mut watcher = if manual { None } else { Some(watch(session, &ex, tx.clone())?) };
    check(session, &ex, raw, manual).await?;

    // A key pressed while a save settles waits here, not lost.
    let mut pending: Option<Event> = None;
    loop {
        let event = match pending.take() {
            Some(event) => event,
            None => match rx.recv().await {
                Some(event) => event,
                None => break,
            },
        };
        match event {
            Event::Saved => {
                pending = settle(&mut rx).await;
                check(session, &ex, raw, manual).await?;
            }
            Event::Key(Input::Rerun) => check(session, &ex, raw, manual).await?,
            Event::Key(Input::Quit) => break,
            Event::Key(Input::Hint) => {
                for line in super::hint::next_hint(session, &ex)? {
                    say(raw, &line);
                }
            }
            Event::Key(Input::List) => {
                let (p, _) = session.progress();
                for line in super::list::table(session, &p, Some(&ex.slug)) {
                    say(raw, &line);
                }
            }
            Event::Key(Input::Next) => {
                let (mut p, _) = session.progress();
                match p.next_after(&session.course, &ex.slug).cloned() {
                    Some(next) => {
                        p.current = Some(next.slug.clone());
                        session.save_progress(&p)?;
                        ex = next;
                        if !manual {
                            watcher = Some(watch(session, &ex, tx.clone())?);
                        }
                        check(session, &ex, raw, manual).await?;
                    }
                    None => say(raw, &"Every exercise is solved. Well done!".green().bold().to_string()),
                }
            }
        }
    }
    drop(watcher);
    Ok(Code::Passed)
}

/// Editors save in bursts (write, rename, chmod): waits a moment and takes
/// the rest of the burst. Returns the first other event that came in the
/// meantime (a key pressed right after saving), to be handled next.
pub(crate) async fn settle(rx: &mut mpsc::UnboundedReceiver<Event>) -> Option<Event> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    loop {
        match rx.try_recv() {
            Ok(Event::Saved) => continue,
            Ok(other) => return Some(other),
            Err(_) => return None,
        }
    }
}

async fn check(session: &Session, ex: &Exercise, raw: bool, manual: bool) -> anyhow::Result<()> {
    if raw {
        // Clear the screen so the newest verdict is the only one in view.
        print!("\x1b[2J\x1b[H");
    }
    say(raw, &format!("{} {}…", "Checking".dimmed(), ex.slug));
    let mut shown = (BuildSpinner::default(), TerminalRuns::new(&session.course, Vec::new()));
    let (run, _) = drive(&mut shown, async |events| session.run_in_place(ex, &events).await).await;
    let run = run?;
    session.record(&run)?;
    // The next save's databases, made while the student reads this verdict.
    session.prepare_next_run(ex).await?;
    let buf = shown.1.into_inner();
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
fn watch(
    session: &Session,
    ex: &Exercise,
    tx: mpsc::UnboundedSender<Event>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let dir: PathBuf = session.course.exercise_dir(ex);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_pressed_while_a_save_settles_is_kept() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for e in [Event::Saved, Event::Key(Input::Quit), Event::Saved] {
            tx.send(e).unwrap();
        }
        assert_eq!(settle(&mut rx).await, Some(Event::Key(Input::Quit)));
        // What came after the key is still there, in order.
        assert_eq!(rx.try_recv().ok(), Some(Event::Saved));
        tx.send(Event::Saved).unwrap();
        assert_eq!(settle(&mut rx).await, None, "a burst of saves alone is one save");
        assert!(rx.try_recv().is_err());
    }
}
