//! The machine's own PostgreSQL server programs (`pg_ctl`, `initdb`,
//! `postgres`) for the embedded cluster: finding them, and saying where we
//! looked when there are none.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::EmbeddedError;

/// The programs a cluster needs. A directory counts only if it holds all
/// three: a lone `pg_ctl` (or Debian's `pg_wrapper`) cannot create a cluster.
const SERVER_PROGRAMS: [&str; 3] = ["pg_ctl", "initdb", "postgres"];

/// A directory holding PostgreSQL's server programs, and their version.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    pub dir: PathBuf,
    /// As `pg_ctl --version` prints it, e.g. `15.20` or `17beta1`.
    pub version: String,
}

impl PgBinaries {
    /// Searches where the environment says (see [`Search::from_env`]).
    pub fn find() -> Result<PgBinaries, EmbeddedError> {
        Search::from_env().find()
    }

    /// Uses `dir`, which must hold `pg_ctl`, `initdb` and `postgres`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Result<PgBinaries, EmbeddedError> {
        let dir = dir.into();
        let missing = missing_programs(&dir);
        if !missing.is_empty() {
            return Err(EmbeddedError::NotABinDir { dir, missing: missing.join(", ") });
        }
        let version = read_version(&dir.join("pg_ctl"))?;
        Ok(PgBinaries { dir, version })
    }

    pub fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The client. Distributions often ship it in another package and
    /// directory than the server (Debian: `/usr/bin/psql`, a wrapper), so
    /// look beside the server first, then on `PATH`.
    pub fn psql(&self) -> Option<PathBuf> {
        let beside = self.tool("psql");
        if is_executable(&beside) {
            return Some(beside);
        }
        which::which("psql").ok()
    }

    /// The major version, the part a data directory's `PG_VERSION` records:
    /// `15` for `15.20`, `9.6` for `9.6.24`, `17` for `17beta1`.
    pub fn major(&self) -> String {
        major_version(&self.version)
    }
}

/// Where to look for the server programs, in order. Built from the
/// environment by [`Search::from_env`]; tests build one by hand so they
/// never depend on what this machine has installed.
#[derive(Debug, Clone)]
pub struct Search {
    /// `WORKBOOK_PG_BIN`: when set, the only place looked at, so a wrong
    /// value is reported instead of silently ignored.
    pub pg_bin: Option<PathBuf>,
    /// The directories of `PATH`.
    pub path: Vec<PathBuf>,
    /// Whether to try the usual install directories after `PATH`.
    pub install_dirs: bool,
}

impl Search {
    /// `WORKBOOK_PG_BIN`, then `PATH`, then the usual install directories.
    /// `WORKBOOK_PG_SEARCH=none` skips `PATH` and the install directories,
    /// which lets the CLI's tests see the "no PostgreSQL" error on a
    /// machine that has PostgreSQL.
    pub fn from_env() -> Search {
        Search::from_vars(|name| std::env::var_os(name))
    }

    /// Like [`Search::from_env`], reading variables through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Search {
        let pg_bin = var("WORKBOOK_PG_BIN").filter(|v| !v.is_empty()).map(PathBuf::from);
        let wide = var("WORKBOOK_PG_SEARCH").is_none_or(|v| v != "none");
        let path = match var("PATH") {
            Some(path) if wide => std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()).collect(),
            _ => Vec::new(),
        };
        Search { pg_bin, path, install_dirs: wide }
    }

    pub fn find(&self) -> Result<PgBinaries, EmbeddedError> {
        if let Some(dir) = &self.pg_bin {
            return PgBinaries::in_dir(dir).map_err(|e| match e {
                EmbeddedError::NotABinDir { dir, missing } => EmbeddedError::PgBinUnusable { dir, missing },
                other => other,
            });
        }
        let on_path = std::env::join_paths(&self.path).ok().filter(|p| !p.is_empty());
        if let Some(path) = on_path
            && let Ok(found) = which::which_in_all("pg_ctl", Some(path), "/")
        {
            for pg_ctl in found {
                if let Some(bin) = server_dir_of(&pg_ctl) {
                    return PgBinaries::in_dir(bin);
                }
            }
        }
        if self.install_dirs {
            for place in INSTALL_PLACES {
                for dir in place.candidates() {
                    if missing_programs(&dir).is_empty() {
                        return PgBinaries::in_dir(dir);
                    }
                }
            }
        }
        Err(EmbeddedError::NoBinaries { searched: self.describe() })
    }

    /// The places searched, one per line, for the "not found" error.
    fn describe(&self) -> String {
        let mut out = String::new();
        match &self.pg_bin {
            Some(dir) => _ = writeln!(out, "  WORKBOOK_PG_BIN={}", dir.display()),
            None => out.push_str("  WORKBOOK_PG_BIN (not set)\n"),
        }
        if self.path.is_empty() {
            out.push_str("  PATH (not searched: empty, or WORKBOOK_PG_SEARCH=none)\n");
        } else {
            let dirs: Vec<String> = self.path.iter().map(|d| d.display().to_string()).collect();
            _ = writeln!(out, "  PATH: {}", dirs.join(":"));
        }
        if self.install_dirs {
            for place in INSTALL_PLACES {
                _ = writeln!(out, "  {}", place.pattern());
            }
        } else {
            out.push_str("  the usual install directories (not searched: WORKBOOK_PG_SEARCH=none)\n");
        }
        out.trim_end().to_owned()
    }
}

/// A `PATH` entry holding `pg_ctl` leads to the server's bin directory.
/// Symlinks are resolved because packages often link only some programs
/// into `PATH` (`/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl`).
fn server_dir_of(pg_ctl: &Path) -> Option<PathBuf> {
    let entry = pg_ctl.parent()?;
    let real = std::fs::canonicalize(pg_ctl).ok()?;
    let real_dir = real.parent()?;
    if missing_programs(real_dir).is_empty() {
        Some(real_dir.to_path_buf())
    } else if missing_programs(entry).is_empty() {
        Some(entry.to_path_buf())
    } else {
        None
    }
}

/// One of the usual install locations, possibly one per version.
struct Place {
    /// A directory whose entries are candidates, or the candidate itself.
    parent: &'static str,
    /// With `Some(prefix)`, the entries of `parent` named `prefix<version>`
    /// are candidates, highest version first.
    versioned: Option<&'static str>,
    /// Appended to each candidate.
    suffix: &'static str,
}

const INSTALL_PLACES: &[Place] = &[
    // Debian and Ubuntu (apt), one directory per major version.
    Place { parent: "/usr/lib/postgresql", versioned: Some(""), suffix: "bin" },
    // Red Hat family (PGDG rpms).
    Place { parent: "/usr", versioned: Some("pgsql-"), suffix: "bin" },
    // Built from source with the default prefix.
    Place { parent: "/usr/local/pgsql/bin", versioned: None, suffix: "" },
    // Homebrew's keg-only versioned formulas (Apple silicon, then Intel).
    Place { parent: "/opt/homebrew/opt", versioned: Some("postgresql@"), suffix: "bin" },
    Place { parent: "/usr/local/opt", versioned: Some("postgresql@"), suffix: "bin" },
    Place { parent: "/opt/homebrew/bin", versioned: None, suffix: "" },
    Place { parent: "/Applications/Postgres.app/Contents/Versions/latest/bin", versioned: None, suffix: "" },
];

impl Place {
    fn pattern(&self) -> String {
        match self.versioned {
            None => self.parent.to_owned(),
            Some(prefix) => format!("{}/{prefix}<version>/{}", self.parent, self.suffix),
        }
    }

    fn candidates(&self) -> Vec<PathBuf> {
        let Some(prefix) = self.versioned else {
            return vec![PathBuf::from(self.parent)];
        };
        let Ok(entries) = std::fs::read_dir(self.parent) else {
            return Vec::new();
        };
        let mut found: Vec<(Vec<u32>, PathBuf)> = entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let key = version_key(name.strip_prefix(prefix)?)?;
                Some((key, Path::new(self.parent).join(&name).join(self.suffix)))
            })
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.into_iter().map(|(_, dir)| dir).collect()
    }
}

/// `15` -> [15], `9.6` -> [9, 6]; anything else is not a version directory.
fn version_key(s: &str) -> Option<Vec<u32>> {
    s.split('.').map(|part| part.parse().ok()).collect()
}

fn missing_programs(dir: &Path) -> Vec<&'static str> {
    SERVER_PROGRAMS.into_iter().filter(|p| !is_executable(&dir.join(p))).collect()
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `pg_ctl --version` prints `pg_ctl (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`.
/// It answers even as root: pg_ctl refuses root only after handling
/// `--version`.
fn read_version(pg_ctl: &Path) -> Result<String, EmbeddedError> {
    let out = Command::new(pg_ctl)
        .arg("--version")
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| EmbeddedError::Spawn { program: pg_ctl.display().to_string(), source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|_| out.status.success());
    match version {
        Some(v) => Ok(v.to_owned()),
        None => Err(EmbeddedError::Version {
            program: pg_ctl.to_path_buf(),
            detail: format!(
                "it exited with {} and printed {:?}{}",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }),
    }
}

/// Since PostgreSQL 10 the major version is the first number; before, the
/// first two.
pub(crate) fn major_version(version: &str) -> String {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<u32>() {
        Ok(n) if n < 10 => {
            let minor: String = version[digits.len()..]
                .strip_prefix('.')
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            format!("{n}.{minor}")
        }
        _ => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_follow_postgres_numbering() {
        assert_eq!(major_version("15.20"), "15");
        assert_eq!(major_version("17beta1"), "17");
        assert_eq!(major_version("9.6.24"), "9.6");
    }

    #[test]
    fn version_directories_sort_numerically() {
        assert!(version_key("15").unwrap() > version_key("9.6").unwrap());
        assert_eq!(version_key("main"), None);
    }
}
