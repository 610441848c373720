//! Terminal hyperlinks (OSC 8): a book section or a file in a report opens
//! with a click where the terminal supports it. Decided once, like colour:
//! only when stdout is a terminal that is not `dumb`, `NO_COLOR` is unset
//! and colour is not turned off. JSON, JUnit and feedback files never
//! carry them: they do not go through [`to`].

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::color::ColorChoice;

static ON: AtomicBool = AtomicBool::new(false);

/// Whether hyperlinks suit this terminal under `--color choice`.
pub fn wanted(choice: ColorChoice) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    choice != ColorChoice::Never && !no_color && !dumb && std::io::stdout().is_terminal()
}

/// Turns hyperlinks on or off for everything printed from now on.
pub fn set(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// `text`, linking to `url` when hyperlinks are on.
pub fn to(text: &str, url: &str) -> String {
    linked(ON.load(Ordering::Relaxed), text, url)
}

/// The OSC 8 sequence: open with the URL, the text, close with an empty one.
fn linked(on: bool, text: &str, url: &str) -> String {
    if on { format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\") } else { text.to_owned() }
}

/// `text` naming `path` (absolute), linking to the file.
pub fn file(text: &str, path: &Path) -> String {
    to(text, &crate::book::file_url(path))
}

/// Whether hyperlinks are on.
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_are_escape_sequences_only_when_on() {
        // The global switch is left alone: the snapshot tests run alongside.
        assert_eq!(super::linked(false, "book/src/a.md", "file:///c/a.md"), "book/src/a.md");
        assert_eq!(super::linked(true, "a", "file:///c/a.md"), "\x1b]8;;file:///c/a.md\x1b\\a\x1b]8;;\x1b\\");
    }
}

/// Shows the course's references (book sections, files), linked or not.
#[derive(Clone, Copy)]
pub struct Refs<'c> {
    pub course: &'c crate::course::Course,
    pub links: bool,
}

impl<'c> Refs<'c> {
    /// For printing now: linked when hyperlinks are on.
    pub fn new(course: &'c crate::course::Course) -> Self {
        Refs { course, links: on() }
    }

    /// `book/src/page.md#anchor`, linked to the built page (or the source).
    pub fn section(&self, section: &str) -> String {
        linked(self.links, &crate::book::shown(section), &crate::book::url(self.course, section))
    }

    /// A path relative to the course root (`exercises/x/src/lib.rs:42:5`
    /// as a compiler or panic names it), linked to the file.
    pub fn file(&self, shown: &str) -> String {
        let path = shown.split(':').next().unwrap_or(shown);
        let abs = self.course.root.join(path);
        if abs.is_file() { linked(self.links, shown, &crate::book::file_url(&abs)) } else { shown.to_owned() }
    }

    /// `text` with every `book/src/….md#anchor` in it linked.
    pub fn sections_in(&self, text: &str) -> String {
        if !self.links {
            return text.to_owned();
        }
        let mut out = String::new();
        let mut rest = text;
        for reference in crate::book::references_in(text) {
            let whole = format!("book/src/{reference}");
            let Some(at) = rest.find(&whole) else { continue };
            out.push_str(&rest[..at]);
            out.push_str(&self.section(reference));
            rest = &rest[at + whole.len()..];
        }
        out.push_str(rest);
        out
    }
}
