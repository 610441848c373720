//! Finding the submissions to grade: one folder per student, named by a
//! roster when there is one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::GradeError;

/// One folder of the submissions directory.
#[derive(Debug, Clone)]
pub struct Submission {
    pub student: String,
    pub folder: String,
    pub dir: PathBuf,
}

/// The submissions: every folder in `dir` (hidden ones skipped), named by
/// the roster when there is one.
pub fn find_submissions(dir: &Path, roster: Option<&Path>) -> Result<Vec<Submission>, GradeError> {
    let entries = std::fs::read_dir(dir).map_err(|error| GradeError::Submissions { dir: dir.to_path_buf(), error })?;
    let names = match roster {
        Some(path) => read_roster(path)?,
        None => BTreeMap::new(),
    };
    let mut subs: Vec<Submission> = entries
        .flatten()
        // The folder may be a link (Gradescope's layout links the one
        // submission in); what is inside a submission is never followed.
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .map(|folder| Submission {
            student: names.get(&folder).cloned().unwrap_or_else(|| folder.clone()),
            dir: dir.join(&folder),
            folder,
        })
        .collect();
    if subs.is_empty() {
        return Err(GradeError::NoSubmissions { dir: dir.to_path_buf() });
    }
    subs.sort_by(|a, b| a.folder.cmp(&b.folder));
    let mut seen = BTreeMap::new();
    for s in &subs {
        if let Some(other) = seen.insert(s.student.clone(), s.folder.clone()) {
            return Err(GradeError::SameStudent { first: other, second: s.folder.clone(), student: s.student.clone() });
        }
    }
    Ok(subs)
}

/// A roster CSV: a header naming a folder column (`folder`, or
/// `github_username` as GitHub Classroom exports) and a student column
/// (`student` or `identifier`), then one row per student. Read with the
/// csv crate: quoted fields may hold commas and quotes.
fn read_roster(path: &Path) -> Result<BTreeMap<String, String>, GradeError> {
    let roster = |error: csv::Error| GradeError::Roster { path: path.to_path_buf(), error: error.to_string() };
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_path(path).map_err(roster)?;
    let header: Vec<String> = reader.headers().map_err(roster)?.iter().map(str::to_lowercase).collect();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (Some(folder), Some(student)) = (col(&["folder", "github_username"]), col(&["student", "identifier"])) else {
        return Err(GradeError::RosterHeader { path: path.to_path_buf() });
    };
    let mut map = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(roster)?;
        if let (Some(f), Some(s)) = (record.get(folder), record.get(student))
            && !f.is_empty()
            && !s.is_empty()
        {
            map.insert(f.to_owned(), s.to_owned());
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roster_maps_folders_to_students() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo-ada")).unwrap();
        std::fs::create_dir(dir.path().join("repo-bob")).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let roster = dir.path().join("roster.csv");
        std::fs::write(&roster, "identifier,github_username\n\"ada@uni.edu\",repo-ada\n").unwrap();
        let subs = find_submissions(dir.path(), Some(&roster)).unwrap();
        let ids: Vec<&str> = subs.iter().map(|s| s.student.as_str()).collect();
        assert_eq!(ids, ["ada@uni.edu", "repo-bob"]);
        std::fs::write(&roster, "name,email\n").unwrap();
        assert!(matches!(find_submissions(dir.path(), Some(&roster)), Err(GradeError::RosterHeader { .. })));
    }

    #[test]
    fn a_quoted_roster_field_may_hold_a_comma() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo-ada")).unwrap();
        let roster = dir.path().join("roster.csv");
        std::fs::write(&roster, "folder,student\r\nrepo-ada,\"Lovelace, Ada\"\r\n").unwrap();
        let subs = find_submissions(dir.path(), Some(&roster)).unwrap();
        assert_eq!(subs[0].student, "Lovelace, Ada");
    }
}
