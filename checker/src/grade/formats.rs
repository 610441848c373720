//! What grading writes: the gradebook CSV, per-student Markdown feedback,
//! and the files platforms read (Gradescope `results.json`, JUnit XML,
//! GitHub Classroom's runner result).

use std::fmt::Write as _;

use base64::Engine as _;
use serde::Serialize;
use serde_json::json;

/// One student's grade, in the order of the course.
#[derive(Debug, Clone, Serialize)]
pub struct StudentResult {
    pub student: String,
    /// The submission's folder name.
    pub folder: String,
    pub exercises: Vec<ExerciseResult>,
    /// Files the submission changed that grading did not use.
    pub ignored: Vec<String>,
    /// Whether its code ran sandboxed, and how (or why not).
    pub sandbox: crate::events::SandboxState,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExerciseResult {
    pub slug: String,
    pub title: String,
    /// The book section, relative to `book/src`.
    pub book: String,
    pub points: u32,
    pub max_points: u32,
    pub checks: Vec<CheckOutcome>,
    /// Why no check could pass (did not compile, timed out, missing), if so.
    pub note: Option<String>,
    /// Set when the grader, not the submission, failed (its sandbox could
    /// not be set up): these points say nothing; grade it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grader_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub name: String,
    pub passed: bool,
    pub points: u32,
    pub max_points: u32,
    /// What went wrong, for a check that did not pass.
    pub message: String,
    /// The book section that explains this check, relative to `book/src`
    /// (`page.md#anchor`).
    pub section: String,
}

impl CheckOutcome {
    /// What a platform shows for the check: for a failure, its message and
    /// the section to read.
    pub fn explained(&self) -> String {
        if self.passed {
            return String::new();
        }
        let read = format!("Read: book/src/{}", self.section);
        if self.message.is_empty() { read } else { format!("{}\n\n{read}", self.message.trim_end()) }
    }
}

impl StudentResult {
    pub fn total(&self) -> u32 {
        self.exercises.iter().map(|e| e.points).sum()
    }

    pub fn max(&self) -> u32 {
        self.exercises.iter().map(|e| e.max_points).sum()
    }
}

impl ExerciseResult {
    /// A check's name as platforms show it: `exercise: what it checks`.
    fn check_title(&self, check: &CheckOutcome) -> String {
        format!("{}: {}", self.slug, check.name.replace('_', " "))
    }
}

/// `grades.csv`: one row per student, a column per exercise, the total.
pub fn csv(results: &[StudentResult], slugs: &[String]) -> std::io::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let mut header = vec!["student".to_owned()];
    header.extend(slugs.iter().map(|s| defuse(s)));
    header.extend(["total".to_owned(), "max".to_owned()]);
    w.write_record(&header)?;
    for r in results {
        let mut row = vec![defuse(&r.student)];
        for s in slugs {
            row.push(r.exercises.iter().find(|e| &e.slug == s).map_or(0, |e| e.points).to_string());
        }
        row.extend([r.total().to_string(), r.max().to_string()]);
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// A leading = + - @ would be read as a formula by spreadsheets.
fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() }
}

/// The Markdown a student reads: every check, and what was not used.
pub fn feedback(r: &StudentResult) -> String {
    let mut out = format!("# Feedback for {}\n\n**Total: {} / {}**\n\n", r.student, r.total(), r.max());
    out.push_str("| exercise | points |\n|---|---|\n");
    for e in &r.exercises {
        let _ = writeln!(out, "| {} | {} / {} |", e.slug, e.points, e.max_points);
    }
    for e in &r.exercises {
        let _ = write!(
            out,
            "\n## {}: {} / {}\n\n{}. Read: `book/src/{}`.\n\n",
            e.slug, e.points, e.max_points, e.title, e.book
        );
        if let Some(note) = &e.note {
            let _ = writeln!(out, "{}\n", fenced(note));
        }
        for c in &e.checks {
            let mark = if c.passed { "pass" } else { "FAIL" };
            let _ = writeln!(out, "- **{mark}** `{}` ({} / {})", c.name, c.points, c.max_points);
            if !c.passed {
                if !c.message.is_empty() {
                    for line in fenced(&c.message).lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                }
                let _ = writeln!(out, "  Read: `book/src/{}`", c.section);
            }
        }
    }
    out.push_str("\n## Files not used for grading\n\n");
    if r.ignored.is_empty() {
        out.push_str("None: every file you changed is one the course lets you edit.\n");
    } else {
        out.push_str(
            "Only the files `exercises/info.toml` marks as editable are graded; the course's own copy of \
             everything else was used. You changed these, and the changes had no effect:\n\n",
        );
        for f in &r.ignored {
            let _ = writeln!(out, "- `{f}`");
        }
    }
    out
}

/// Text in a fence that its content cannot close.
fn fenced(text: &str) -> String {
    let mut fence = "```".to_owned();
    while text.contains(&fence) {
        fence.push('`');
    }
    format!("{fence}text\n{}\n{fence}", text.trim_end())
}

/// Gradescope's `results.json`.
pub fn gradescope(r: &StudentResult) -> serde_json::Value {
    let mut tests = Vec::new();
    for e in &r.exercises {
        for c in &e.checks {
            tests.push(json!({
                "name": e.check_title(c),
                "score": c.points,
                "max_score": c.max_points,
                "status": if c.passed { "passed" } else { "failed" },
                "output": c.explained(),
            }));
        }
    }
    let mut output = format!("{} / {} points.", r.total(), r.max());
    if !r.ignored.is_empty() {
        let _ = write!(output, " Not used for grading (not editable): {}.", r.ignored.join(", "));
    }
    for e in &r.exercises {
        if let Some(note) = &e.note {
            let _ = write!(output, "\n\n{}: {note}", e.slug);
        }
    }
    json!({
        "score": r.total(),
        "max_score": r.max(),
        "output": output,
        "tests": tests,
    })
}

/// JUnit XML: a suite per exercise, a case per check (written by
/// quick-junit, which escapes what XML cannot hold).
pub fn junit(r: &StudentResult) -> std::io::Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new(format!("workbook: {}", r.student));
    for e in &r.exercises {
        let mut suite = TestSuite::new(e.slug.as_str());
        for c in &e.checks {
            let status = if c.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(c.message.lines().next().unwrap_or("failed"));
                status.set_description(c.explained());
                status
            };
            let mut case = TestCase::new(c.name.as_str(), status);
            case.set_classname(e.slug.as_str());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(std::io::Error::other)
}

/// GitHub Classroom's runner result: the JSON the grading reporter reads,
/// base64-encoded (it goes into `<RUNNER>_RESULTS`).
pub fn classroom(r: &StudentResult) -> (serde_json::Value, String) {
    let mut tests = Vec::new();
    for e in &r.exercises {
        for c in &e.checks {
            tests.push(json!({
                "name": e.check_title(c),
                "status": if c.passed { "pass" } else { "fail" },
                "score": c.points,
                "message": c.explained(),
                "line_no": 0,
                "execution_time": "",
                "test_code": format!("cargo checker run {}", e.slug),
                "filename": "",
            }));
        }
    }
    let status = if r.exercises.iter().all(|e| e.checks.iter().all(|c| c.passed)) { "pass" } else { "fail" };
    let value = json!({
        "version": 1,
        "status": status,
        "max_score": r.max(),
        "tests": tests,
    });
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.to_string());
    (value, encoded)
}

/// A student id made safe as a file name.
pub fn file_stem(student: &str) -> String {
    let s: String = student
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with('.') { format!("_{s}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StudentResult {
        StudentResult {
            student: "ada, \"the first\"".into(),
            folder: "ada".into(),
            sandbox: crate::events::SandboxState { on: true, full: true, landlock_abi: Some(6), detail: "test".into() },
            exercises: vec![ExerciseResult {
                slug: "connect".into(),
                title: "Connect".into(),
                book: "connect/index.md".into(),
                points: 1,
                max_points: 2,
                checks: vec![
                    CheckOutcome {
                        name: "a_b".into(),
                        passed: true,
                        points: 1,
                        max_points: 1,
                        message: String::new(),
                        section: "connect/index.md#a".into(),
                    },
                    CheckOutcome {
                        name: "c".into(),
                        passed: false,
                        points: 0,
                        max_points: 1,
                        message: "expected <1> & got \"2\"\n```".into(),
                        section: "connect/index.md#pools-and-urls".into(),
                    },
                ],
                note: None,
                grader_error: None,
            }],
            ignored: vec!["connect/tests/checks.rs".into()],
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let text = String::from_utf8(csv(&[sample()], &["connect".into()]).unwrap()).unwrap();
        assert_eq!(text, "student,connect,total,max\n\"ada, \"\"the first\"\"\",1,1,2\n");
        let mut formula = sample();
        formula.student = "=cmd()".into();
        let text = String::from_utf8(csv(&[formula], &["connect".into()]).unwrap()).unwrap();
        assert!(text.contains("\n'=cmd(),1,1,2\n"), "{text}");
    }

    #[test]
    fn junit_escapes_markup_in_messages() {
        let x = junit(&sample()).unwrap();
        assert!(x.contains(r#"<testsuites name="workbook: ada, &quot;the first&quot;" tests="2""#), "{x}");
        assert!(x.contains(r#"failures="1""#), "{x}");
        assert!(x.contains("expected &lt;1&gt; &amp; got &quot;2&quot;"), "{x}");
        assert!(!x.contains("<1>"), "{x}");
        assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
        assert_eq!(x.matches("<failure ").count(), 1, "{x}");
    }

    #[test]
    fn classroom_result_decodes_to_the_reporters_fields() {
        let (value, encoded) = classroom(&sample());
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(back, value);
        assert_eq!(back["status"], "fail");
        assert_eq!(back["max_score"], 2);
        assert_eq!(back["tests"][0]["status"], "pass");
    }

    #[test]
    fn feedback_fences_cannot_be_closed_by_the_message() {
        let md = feedback(&sample());
        assert!(md.contains("````text"), "{md}");
        assert!(md.contains("connect/tests/checks.rs"), "{md}");
    }

    #[test]
    fn a_failed_check_names_its_own_section_in_every_format() {
        let r = sample();
        let read = "book/src/connect/index.md#pools-and-urls";
        let md = feedback(&r);
        assert!(md.contains(&format!("Read: `{read}`")), "{md}");
        assert!(!md.contains("book/src/connect/index.md#a`"), "a passed check sends nobody to read: {md}");
        let gs = gradescope(&r);
        assert!(gs["tests"][1]["output"].as_str().unwrap().ends_with(&format!("Read: {read}")), "{gs}");
        assert_eq!(gs["tests"][0]["output"], "", "{gs}");
        assert!(classroom(&r).0["tests"][1]["message"].as_str().unwrap().contains(read));
        assert!(junit(&r).unwrap().contains(read));
    }

    #[test]
    fn file_stems_are_plain() {
        assert_eq!(file_stem("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("ada@uni.edu"), "ada@uni.edu");
    }
}
