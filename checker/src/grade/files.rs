//! The files grading writes into `--out`, as a reporter: everything is
//! written when grading finishes, so an interrupted run writes nothing.

use std::io;
use std::path::{Path, PathBuf};

use super::formats::{self, StudentResult};
use crate::events::{Event, Reporter};

/// Writes grades.csv, grades.json, feedback/, gradescope/, junit/ and
/// classroom/ under a directory.
pub struct GradeFiles {
    out: PathBuf,
}

impl GradeFiles {
    pub fn new(out: impl Into<PathBuf>) -> GradeFiles {
        GradeFiles { out: out.into() }
    }
}

impl Reporter for GradeFiles {
    fn on(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::GradingFinished { results, slugs, .. } => write_all(&self.out, results, slugs),
            _ => Ok(()),
        }
    }
}

fn write_all(out: &Path, results: &[StudentResult], slugs: &[String]) -> io::Result<()> {
    let write = |path: PathBuf, text: &[u8]| -> io::Result<()> {
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, text));
        written.map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
    };
    write(out.join("grades.csv"), &formats::csv(results, slugs)?)?;
    write(out.join("grades.json"), pretty(results).as_bytes())?;
    for r in results {
        let stem = formats::file_stem(&r.student);
        write(out.join("feedback").join(format!("{stem}.md")), formats::feedback(r).as_bytes())?;
        write(out.join("gradescope").join(&stem).join("results.json"), pretty(&formats::gradescope(r)).as_bytes())?;
        write(out.join("junit").join(format!("{stem}.xml")), formats::junit(r)?.as_bytes())?;
        let (classroom, b64) = formats::classroom(r);
        write(out.join("classroom").join(format!("{stem}.json")), pretty(&classroom).as_bytes())?;
        write(out.join("classroom").join(format!("{stem}.b64")), b64.as_bytes())?;
    }
    Ok(())
}

/// Pretty JSON of grading's own values, which always serialise.
fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("grading results serialise")
}
