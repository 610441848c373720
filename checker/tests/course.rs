//! The course as a whole: `checker dev check` proves every exercise
//! (starter fails with messages, solution passes, book section exists and
//! links resolve), and compose.yml stays in step with the embedded server.

use crate::common;

use common::{checker, workspace_root};

#[test]
fn dev_check_proves_every_exercise_of_the_course() {
    let _builds = common::in_place_builds();
    let out = checker().args(["dev", "check"]).output().expect("running checker dev check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("The course checks out"), "{text}");
    for line in text.lines().filter(|l| l.contains("starter:")) {
        assert!(line.contains("fails as it should") && line.contains("passes"), "{line}");
    }
}

#[test]
fn compose_runs_postgres_16_with_a_health_check_and_the_embedded_settings() {
    let text = std::fs::read_to_string(workspace_root().join("compose.yml")).expect("reading compose.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("compose.yml is valid YAML");
    let pg = &doc["services"]["postgres"];
    assert_eq!(pg["image"].as_str(), Some("postgres:16"));
    let health = serde_yaml::to_string(&pg["healthcheck"]["test"]).unwrap();
    assert!(health.contains("pg_isready"), "{health}");
    let env = &pg["environment"];
    for key in ["POSTGRES_USER", "POSTGRES_PASSWORD"] {
        let v = env[key].as_str().unwrap_or_default();
        assert!(v.starts_with(&format!("${{{key}")), "{key} must come from .env, got {v:?}");
    }
    let command: Vec<&str> = pg["command"].as_sequence().unwrap().iter().filter_map(|v| v.as_str()).collect();
    // Every speed/durability setting of the embedded server is passed to
    // the Docker one too (the listen/socket ones are the container's own).
    for setting in checker::db::embedded::SERVER_SETTINGS {
        if setting.starts_with("listen_addresses") || setting.starts_with("unix_socket") {
            continue;
        }
        assert!(command.contains(setting), "compose.yml lacks -c {setting}");
    }
    // The URL the file tells users to put in .env matches its defaults.
    assert!(text.contains("postgres://workbook:workbook@127.0.0.1:5433/postgres"));
    assert!(serde_yaml::to_string(&pg["ports"]).unwrap().contains("${WORKBOOK_PG_PORT:-5433}:5432"));
}

/// Every file under `dir`, relative, with its bytes.
fn files_of(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().display().to_string(), std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn the_student_edition_has_no_answers_and_runs_the_course_as_a_student_would() {
    let _builds = common::scratch_course_builds();
    let dir = tempfile::tempdir().unwrap();
    let edition = dir.path().join("course");
    let out = checker().args(["dev", "edition"]).arg(&edition).arg("--classroom").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!edition.join("solutions").exists(), "no solutions/ in the edition");
    assert!(edition.join("exercises/info.toml").is_file() && edition.join("book").is_dir());
    assert!(edition.join(".cargo/config.toml").is_file(), "`cargo checker` works in it");
    let workflow = std::fs::read_to_string(edition.join(".github/workflows/classroom.yml")).unwrap();
    assert!(workflow.contains("persist-credentials: false"), "{workflow}");

    // No exercise of the edition holds its own answer under another name
    // (a solution file that differs from the starter's: some starters ship
    // a file the solution keeps, or an earlier exercise's answer to build on).
    let root = workspace_root();
    let answers: Vec<(String, Vec<u8>)> = files_of(&root.join("solutions"))
        .into_iter()
        .filter(|(rel, bytes)| std::fs::read(root.join("exercises").join(rel)).ok().as_ref() != Some(bytes))
        .collect();
    assert!(answers.len() >= 16, "every exercise has an answer: {}", answers.len());
    for (path, bytes) in files_of(&edition.join("exercises")) {
        let slug = path.split('/').next().unwrap();
        let own = answers.iter().filter(|(rel, _)| rel.starts_with(&format!("{slug}/")));
        assert!(!own.into_iter().any(|(_, answer)| answer == &bytes), "exercises/{path} is its exercise's answer");
    }

    // A student runs the first exercise from it: it builds, its checks run
    // and fail (it is the starter), and the commands that would show an
    // answer say this edition has none.
    let run = |args: &[&str]| {
        common::checker_std()
            .current_dir(&edition)
            .env("CARGO_TARGET_DIR", workspace_root().join("target"))
            .arg("--database-url")
            .arg(common::database_url())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["run", "connect"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("0 of 8 checks pass"), "{text}");
    let mut last = String::new();
    for _ in 0..10 {
        last = String::from_utf8_lossy(&run(&["hint", "connect"]).stdout).into_owned();
    }
    assert!(last.contains("has no solutions"), "{last}");
    let out = run(&["dev", "check", "connect"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no solutions/"));
}
