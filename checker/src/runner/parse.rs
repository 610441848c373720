//! Reading libtest's plain output: one `test NAME ... ok|FAILED` line per
//! check, and a `---- NAME stdout ----` block with what each failed check
//! printed. This format has been stable for years; the structured detail
//! comes from the support crate's report files, not from here.

use std::collections::HashMap;

use super::Status;

#[derive(Debug, Default)]
pub struct Parsed {
    pub statuses: HashMap<String, Status>,
    pub outputs: HashMap<String, String>,
}

pub fn libtest(stdout: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut current: Option<(String, String)> = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, result)) = rest.rsplit_once(" ... ")
        {
            let status = match result.trim() {
                "ok" => Some(Status::Passed),
                "FAILED" => Some(Status::Failed),
                _ => None,
            };
            if let Some(s) = status {
                parsed.statuses.insert(name.to_owned(), s);
                continue;
            }
        }
        if let Some(name) = section_header(line) {
            if let Some((n, text)) = current.take() {
                parsed.outputs.insert(n, text.trim_end().to_owned());
            }
            current = Some((name.to_owned(), String::new()));
            continue;
        }
        if line == "failures:" || line.starts_with("test result: ") {
            if let Some((n, text)) = current.take() {
                parsed.outputs.insert(n, text.trim_end().to_owned());
            }
            continue;
        }
        if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some((n, text)) = current.take() {
        parsed.outputs.insert(n, text.trim_end().to_owned());
    }
    parsed
}

fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("---- ")?.strip_suffix(" ----")?;
    inner.strip_suffix(" stdout").or_else(|| inner.strip_suffix(" stderr"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\nrunning 3 tests\ntest a_check ... ok\ntest m::b_check ... FAILED\ntest c ... FAILED\n\nfailures:\n\n---- m::b_check stdout ----\ncheck failed:\ncalled:   x()\n\n---- c stdout ----\nthread 'c' panicked at src/lib.rs:3:5:\nnot yet implemented\n\nfailures:\n    c\n    m::b_check\n\ntest result: FAILED. 1 passed; 2 failed; 0 ignored\n";

    #[test]
    fn statuses_and_outputs_are_read_per_check() {
        let p = libtest(SAMPLE);
        assert_eq!(p.statuses["a_check"], Status::Passed);
        assert_eq!(p.statuses["m::b_check"], Status::Failed);
        assert_eq!(p.statuses["c"], Status::Failed);
        assert_eq!(p.outputs["m::b_check"], "check failed:\ncalled:   x()");
        assert!(p.outputs["c"].contains("not yet implemented"));
        assert!(!p.outputs.contains_key("a_check"));
    }
}
