//! The student-facing report of a run: each check with what was called,
//! expected and got, a hint, and the book section that explains it.

use std::io::{self, Write};

use colored::Colorize;

use super::link::Refs;
use crate::course::Exercise;
use crate::runner::{CheckResult, ExerciseRun, Kind, Outcome, Status};

/// Prints one exercise's run; `refs` shows book sections and files.
pub fn run(w: &mut impl Write, refs: Refs<'_>, ex: &Exercise, run: &ExerciseRun) -> io::Result<()> {
    let timing = format!("build {:.1} s, checks {:.1} s", run.build_ms as f64 / 1000.0, run.check_ms as f64 / 1000.0);
    writeln!(w, "{} {}  {}", ex.slug.bold(), format!("({})", ex.title).dimmed(), timing.dimmed())?;
    match &run.outcome {
        Outcome::CompileError { diagnostics } => {
            writeln!(w, "{}", "  It does not compile yet. The compiler says:".red().bold())?;
            writeln!(w)?;
            for line in diagnostics.trim_end().lines() {
                writeln!(w, "  {}", link_location(refs, line))?;
            }
            writeln!(w)?;
            writeln!(w, "  Fix the first error first; later ones often follow from it.")?;
        }
        Outcome::TimedOut { limit_secs } => {
            writeln!(w, "  {} building took longer than {limit_secs} s and was stopped.", "Timed out:".red().bold())?;
        }
        Outcome::Checked => {
            for check in &run.checks {
                check_line(w, refs, ex, check)?;
            }
            let passed = run.passed_count();
            let total = run.checks.len();
            writeln!(w)?;
            if run.passed() {
                writeln!(w, "  {}", format!("All {total} checks pass.").green().bold())?;
            } else {
                writeln!(w, "  {passed} of {total} checks pass.")?;
            }
            if run.output_truncated {
                writeln!(w, "  {}", "The checks printed too much; the output was cut and the run stopped.".yellow())?;
            }
        }
    }
    if !run.passed() {
        // The section of the first failing check, else the exercise's own.
        let first_failing = run.checks.iter().find(|c| c.status != Status::Passed);
        let section = first_failing.map_or(ex.book.as_str(), |c| ex.section_of(&c.name));
        writeln!(w, "  {} {}", "Read:".cyan(), refs.section(section))?;
        if !ex.hints.is_empty() {
            writeln!(w, "  {} `cargo checker hint {}` for a hint.", "Stuck?".cyan(), ex.slug)?;
        }
    }
    Ok(())
}

/// A compiler line naming a file (`  --> exercises/x/src/lib.rs:27:5`),
/// with the file linked.
fn link_location(refs: Refs<'_>, line: &str) -> String {
    match line.split_once("--> ") {
        Some((before, at)) if refs.links => format!("{before}--> {}", refs.file(at.trim_end())),
        _ => line.to_owned(),
    }
}

fn check_line(w: &mut impl Write, refs: Refs<'_>, ex: &Exercise, check: &CheckResult) -> io::Result<()> {
    let name = check.name.replace('_', " ");
    match check.status {
        Status::Passed => writeln!(w, "  {} {}", "✓".green(), name),
        Status::Failed | Status::TimedOut => {
            let mark = if check.status == Status::TimedOut { "⏱".yellow() } else { "✗".red() };
            writeln!(w, "  {} {}", mark, name.bold())?;
            match &check.detail {
                Some(d)
                    if d.kind == Kind::Panicked
                        && d.got.as_deref().is_some_and(|g| g.starts_with("not yet implemented")) =>
                {
                    let todo = d
                        .got
                        .as_deref()
                        .unwrap_or("")
                        .trim_start_matches("not yet implemented")
                        .trim_start_matches(": ");
                    let at = d.location.as_deref().map_or_else(|| "your code".to_owned(), |l| refs.file(l));
                    field(w, "todo", Some(&format!("{at}: {todo}")))?;
                    writeln!(w, "      {}", "this part is not written yet (it still calls todo!())".dimmed())?;
                }
                Some(d) => {
                    field(w, "called", Some(&d.called))?;
                    field(w, "expected", d.expected.as_deref())?;
                    let got = match (&d.got, &d.location) {
                        (Some(g), Some(l)) if d.kind == Kind::Panicked => {
                            Some(format!("a panic at {}: {g}", refs.file(l)))
                        }
                        (g, _) => g.clone(),
                    };
                    field(w, "got", got.as_deref())?;
                    if let Some(sql) = d.sql.as_deref().filter(|s| !s.trim().is_empty()) {
                        writeln!(w, "      {}", "your code sent:".dimmed())?;
                        for line in sql.trim_end().lines() {
                            writeln!(w, "      {:<8}  {line}", "")?;
                        }
                    }
                    if let Some(h) = &d.hint {
                        writeln!(w, "      {}  {}", "hint".cyan(), refs.sections_in(h))?;
                    }
                }
                None => {
                    for line in check.output.lines().take(20) {
                        writeln!(w, "      {line}")?;
                    }
                }
            }
            if let Some(section) = ex.sections.get(&check.name) {
                writeln!(w, "      {}  {}", "read".cyan(), refs.section(section))?;
            }
            Ok(())
        }
    }
}

fn field(w: &mut impl Write, label: &str, value: Option<&str>) -> io::Result<()> {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(()) };
    let mut lines = value.lines();
    if let Some(first) = lines.next() {
        writeln!(w, "      {:<8}  {}", label.dimmed(), first)?;
    }
    for line in lines {
        writeln!(w, "      {:<8}  {}", "", line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Report;

    #[test]
    fn the_sql_the_code_sent_comes_after_got_and_before_the_hint() {
        let check = CheckResult {
            name: "list_is_ordered".into(),
            status: Status::Failed,
            detail: Some(Report {
                called: "list(&pool)".into(),
                got: Some("2 rows".into()),
                sql: Some("SELECT id FROM students\nORDER BY name".into()),
                hint: Some("order by id too".into()),
                ..Report::default()
            }),
            output: String::new(),
        };
        colored::control::set_override(false);
        let mut out = Vec::new();
        let course = crate::course::Course { root: "/course".into(), exercises: Vec::new() };
        let ex: Exercise =
            toml::from_str("slug = \"s\"\ntitle = \"t\"\nbook = \"s/index.md\"\neditable = [\"src/**\"]").unwrap();
        check_line(&mut out, Refs { course: &course, links: false }, &ex, &check).unwrap();
        let text = String::from_utf8(out).unwrap();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle:?} in {text}"));
        assert!(at("got") < at("your code sent:") && at("your code sent:") < at("hint"), "{text}");
        assert!(text.contains("                ORDER BY name\n"), "{text}");
    }
}

/// The report students see, pinned: a change to it shows up in review as
/// a diff of `src/report/snapshots/`. Timings are fixed and no path varies.
#[cfg(test)]
mod snapshots {
    use super::run;
    use crate::course::{Course, Exercise};
    use crate::report::link::Refs;
    use crate::runner::{CheckResult, ExerciseRun, Kind, Outcome, Report, Status};

    fn exercise() -> Exercise {
        toml::from_str(
            r#"slug = "student_directory"
title = "CRUD: a student directory"
book = "crud/index.md"
editable = ["src/**"]
hints = ["Start with list.", "Bind every value."]
[sections]
list_returns_every_student_ordered_by_name_then_id = "crud/index.md#order-by-and-ties"
create_returns_the_new_student = "crud/index.md#returning-the-row""#,
        )
        .unwrap()
    }

    fn exercise_run(outcome: Outcome, checks: Vec<CheckResult>) -> ExerciseRun {
        ExerciseRun {
            slug: "student_directory".into(),
            outcome,
            checks,
            build_ms: 1234,
            check_ms: 567,
            output_truncated: false,
            crashed: false,
            executable: None,
        }
    }

    fn check(name: &str, status: Status, detail: Option<Report>) -> CheckResult {
        CheckResult { name: name.into(), status, detail, output: String::new() }
    }

    fn render_with(run_: &ExerciseRun, course: &Course, links: bool) -> String {
        colored::control::set_override(false);
        let mut out = Vec::new();
        run(&mut out, Refs { course, links }, &exercise(), run_).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn render(run_: &ExerciseRun) -> String {
        render_with(run_, &Course { root: "/course".into(), exercises: Vec::new() }, false)
    }

    #[test]
    fn a_passing_run() {
        let r = exercise_run(
            Outcome::Checked,
            vec![
                check("list_returns_every_student", Status::Passed, None),
                check("find_with_an_unknown_id_is_none", Status::Passed, None),
            ],
        );
        insta::assert_snapshot!(render(&r));
    }

    fn failing_run() -> ExerciseRun {
        let failed = Report {
            kind: Kind::Failed,
            called: "list(&pool)".into(),
            expected: Some("3 students, ordered by name then id".into()),
            got: Some("3 students in this order: Ada, Alan, Ada".into()),
            sql: Some("SELECT id, name, email FROM students\nORDER BY name".into()),
            hint: Some("Two students may share a name: order by id too.".into()),
            location: None,
        };
        let todo = Report {
            kind: Kind::Panicked,
            called: "the code under test".into(),
            expected: Some("a result, not a panic".into()),
            got: Some("not yet implemented: insert the row and return it".into()),
            location: Some("exercises/student_directory/src/lib.rs:42:5".into()),
            ..Report::default()
        };
        exercise_run(
            Outcome::Checked,
            vec![
                check("find_with_an_unknown_id_is_none", Status::Passed, None),
                check("list_returns_every_student_ordered_by_name_then_id", Status::Failed, Some(failed)),
                check("create_returns_the_new_student", Status::Failed, Some(todo)),
            ],
        )
    }

    #[test]
    fn a_failing_check_with_expected_got_sql_and_hint() {
        insta::assert_snapshot!(render(&failing_run()));
    }

    /// With hyperlinks on, a section links to its page in the built book
    /// (anchor kept) and a panic's location to the student's file.
    #[test]
    fn sections_and_files_are_links_when_links_are_on() {
        let root = tempfile::tempdir().unwrap();
        let course = Course { root: root.path().to_path_buf(), exercises: Vec::new() };
        let lib = root.path().join("exercises/student_directory/src/lib.rs");
        let page = crate::book::build_dir(&course).join("crud/index.html");
        for f in [&lib, &page] {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "").unwrap();
        }
        let text = render_with(&failing_run(), &course, true);
        let osc = |text: &str, url: String| format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\");
        let section = osc(
            "book/src/crud/index.md#order-by-and-ties",
            format!("{}#order-by-and-ties", crate::book::file_url(&page)),
        );
        assert!(text.contains(&format!("read  {section}")), "{text:?}");
        assert!(text.contains(&format!("Read: {section}")), "the first failing check's section: {text:?}");
        let file = osc("exercises/student_directory/src/lib.rs:42:5", crate::book::file_url(&lib));
        assert!(text.contains(&file), "{text:?}");
        assert!(!render_with(&failing_run(), &course, false).contains('\x1b'));
    }

    #[test]
    fn a_compile_error() {
        let diagnostics = "error[E0308]: mismatched types\n  --> exercises/student_directory/src/lib.rs:27:5\n   |\n27 |     42\n   |     ^^ expected `Result<i64, Error>`, found integer\n";
        let r = exercise_run(Outcome::CompileError { diagnostics: diagnostics.into() }, Vec::new());
        insta::assert_snapshot!(render(&r));
    }

    #[test]
    fn a_hanging_check() {
        let hung = Report {
            kind: Kind::TimedOut,
            called: "the check".into(),
            expected: Some("to finish within 10 s".into()),
            got: Some("still running: stopped at the time limit".into()),
            hint: Some("Something is waiting forever: a lock held by another transaction, a pool with no free connection, or a loop that never ends.".into()),
            ..Report::default()
        };
        let r = exercise_run(
            Outcome::Checked,
            vec![
                check("list_returns_every_student", Status::Passed, None),
                check("update_waits_for_nothing", Status::TimedOut, Some(hung)),
            ],
        );
        insta::assert_snapshot!(render(&r));
    }
}
