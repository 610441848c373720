//! Failures that teach: what was called, what was expected, what came
//! back, and what to try. A [`Failure`] is the [`Report`] a check writes
//! for the checker (see [`crate::report`]), built up by the check; the
//! checker renders it, `cargo test` prints it as plain text.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::Once;

use crate::report::{self, Kind, Report};

/// How a check failed, in the words a student needs to fix it. The same
/// type the checker reads back: one definition of the report.
pub type Failure = Report;

impl Report {
    /// Starts a failure report about `called`.
    pub fn new(called: impl Into<String>) -> Self {
        Report { kind: Kind::Failed, called: called.into(), ..Report::default() }
    }

    #[must_use]
    pub fn expected(mut self, what: impl Into<String>) -> Self {
        self.expected = Some(what.into());
        self
    }

    #[must_use]
    pub fn got(mut self, what: impl Into<String>) -> Self {
        self.got = Some(what.into());
        self
    }

    /// The SQL the student's code sent, as a printout the student can read.
    #[must_use]
    pub fn sql(mut self, printout: impl Into<String>) -> Self {
        self.sql = Some(printout.into());
        self
    }

    /// Shows `traffic` (what the call under scrutiny sent) with this
    /// failure, instead of everything the check's code sent.
    #[must_use]
    pub fn sent(self, traffic: &crate::wire::Traffic) -> Self {
        self.sql(traffic.describe(8))
    }

    pub(crate) fn with_sql_if_unset(mut self, sql: Option<String>) -> Self {
        if self.sql.is_none() {
            self.sql = sql;
        }
        self
    }

    #[must_use]
    pub fn hint(mut self, what: impl Into<String>) -> Self {
        self.hint = Some(what.into());
        self
    }

    pub(crate) fn timed_out(mut self) -> Self {
        self.kind = Kind::TimedOut;
        self
    }

    /// Fails the running check with this report.
    pub fn fail(self) -> ! {
        install_hook();
        std::panic::panic_any(self)
    }

    /// Turns any panic payload into a report: ours as they are, anything
    /// else (a `todo!()`, an `unwrap()` on an error) as a panic in the code
    /// under test, with where it happened.
    pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Report {
        if let Some(f) = payload.downcast_ref::<Report>() {
            return f.clone();
        }
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic with no message".to_owned());
        Report {
            kind: Kind::Panicked,
            called: "the code under test".to_owned(),
            expected: Some("a result, not a panic".to_owned()),
            got: Some(message),
            location: LAST_PANIC.with(|l| l.borrow_mut().take()),
            ..Report::default()
        }
    }

    /// Sends this report to the checker as `check`'s verdict: failed.
    pub(crate) fn report(&self, check: &str) {
        report::send(&report::Verdict { check: check.to_owned(), passed: false, report: Some(self.clone()) });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "called:   {}", self.called)?;
        if let Some(e) = &self.expected {
            writeln!(f, "expected: {e}")?;
        }
        if let Some(g) = &self.got {
            writeln!(f, "got:      {g}")?;
        }
        if let Some(sql) = &self.sql {
            writeln!(f, "your code sent:")?;
            for line in sql.lines() {
                writeln!(f, "          {line}")?;
            }
        }
        if let Some(l) = &self.location {
            writeln!(f, "at:       {l}")?;
        }
        if let Some(h) = &self.hint {
            writeln!(f, "hint:     {h}")?;
        }
        Ok(())
    }
}

/// Fails the check unless `got == want`, naming the call that produced it.
#[track_caller]
pub fn expect_eq<T: PartialEq + fmt::Debug>(called: impl Into<String>, got: T, want: T) {
    if got != want {
        Failure::new(called).expected(format!("{want:?}")).got(format!("{got:?}")).fail();
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while a check body runs on this thread: its failures are
    /// printed by `check`, once, with the SQL the code sent.
    static IN_CHECK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread marked as running a check body.
pub(crate) fn in_check<R>(f: impl FnOnce() -> R) -> R {
    IN_CHECK.with(|c| c.set(true));
    let out = f();
    IN_CHECK.with(|c| c.set(false));
    out
}

/// Prints our failures as text (not "Box<dyn Any>") and remembers where
/// other panics happened so their report can point at the student's line.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(f) = info.payload().downcast_ref::<Report>() {
                if !IN_CHECK.with(|c| c.get()) {
                    eprintln!("check failed:\n{f}");
                }
                return;
            }
            if let Some(loc) = info.location() {
                let at = format!("{}:{}:{}", loc.file(), loc.line(), loc.column());
                LAST_PANIC.with(|l| *l.borrow_mut() = Some(at));
            }
            previous(info);
        }));
    });
}
