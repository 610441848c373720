//! The grading templates a course drops into its platform, run here the
//! way the platform runs them: Gradescope's `run_autograder` in a fake
//! `/autograder`, and the GitHub Classroom workflow's grading step with its
//! environment, checking that each emits a valid file in its format.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, database_url, workspace_root};

fn templates() -> PathBuf {
    workspace_root().join("checker/templates")
}

/// A student's repository with `connect` solved.
fn solved_submission(dir: &Path) {
    copy_tree(&workspace_root().join("exercises/connect"), &dir.join("exercises/connect"));
    copy_tree(&workspace_root().join("solutions/connect/src"), &dir.join("exercises/connect/src"));
}

fn bash(script: &Path) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script).env_remove("DATABASE_URL").env("NO_COLOR", "1").env("WORKBOOK_GRADE_ARGS", "--only connect");
    cmd
}

#[test]
fn gradescope_run_autograder_writes_results_json() {
    let _builds = common::in_place_builds();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("source")).unwrap();
    std::os::unix::fs::symlink(workspace_root(), r.join("source/course")).unwrap();
    solved_submission(&r.join("submission"));

    let out = bash(&templates().join("gradescope/run_autograder")).env("AUTOGRADER_ROOT", r).output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("results/results.json")).unwrap()).unwrap();
    let tests = results["tests"].as_array().expect("tests");
    assert!(!tests.is_empty());
    assert!(results["score"].is_u64() && results["max_score"].is_u64() && results["output"].is_string());
    assert_eq!(results["score"], results["max_score"], "the solution earns every point: {results}");
    for t in tests {
        assert_eq!(t["status"], "passed", "{t}");
        for key in ["name", "output"] {
            assert!(t[key].is_string(), "{key} in {t}");
        }
        assert!(t["score"].is_u64() && t["max_score"].is_u64(), "{t}");
    }
    assert!(log.contains("Feedback for submission"), "the feedback is printed for the log: {log}");
    let setup = std::fs::read_to_string(templates().join("gradescope/setup.sh")).unwrap();
    assert!(setup.contains("postgresql"), "setup.sh installs the server programs the throwaway cluster needs");
}

#[test]
fn the_classroom_workflow_grades_with_a_postgres_service_and_feeds_the_reporter() {
    let _builds = common::in_place_builds();
    let text = std::fs::read_to_string(templates().join("github-classroom/classroom.yml")).unwrap();
    let wf: serde_yaml::Value = serde_yaml::from_str(&text).expect("the workflow is valid YAML");
    let job = &wf["jobs"]["run-autograding-tests"];
    assert_eq!(job["name"].as_str(), Some("Autograding Tests"), "the reporter finds its check run by this name");
    let pg = &job["services"]["postgres"];
    assert_eq!(pg["image"].as_str(), Some("postgres:16"));
    assert!(pg["options"].as_str().unwrap().contains("pg_isready"), "a health check gates the job");
    let steps = job["steps"].as_sequence().unwrap();
    let grade = steps.iter().find(|s| s["id"].as_str() == Some("checker")).expect("a step with id checker");
    let reporter = steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.contains("grading-reporter"))).unwrap();
    assert_eq!(reporter["with"]["runners"].as_str(), Some("checker"));
    assert!(reporter["env"]["CHECKER_RESULTS"].as_str().unwrap().contains("steps.checker.outputs.result"));
    let service_user = pg["env"]["POSTGRES_USER"].as_str().unwrap();
    assert!(grade["env"]["WORKBOOK_GRADE_URL"].as_str().unwrap().contains(service_user));

    // Run the grading step as the runner would, in the layout the
    // checkout steps make, against a live server standing in for the service.
    let run = grade["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(workspace_root(), d.join("course")).unwrap();
    solved_submission(&d.join("submissions/student"));
    let script = d.join("step.sh");
    std::fs::write(&script, format!("set -eo pipefail\n{run}")).unwrap();
    let output_file = d.join("github_output");
    let out = bash(&script)
        .current_dir(d)
        .env("GITHUB_WORKSPACE", d)
        .env("WORKBOOK_GRADE_URL", database_url())
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", d.join("summary.md"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    let outputs = std::fs::read_to_string(&output_file).unwrap();
    let encoded = outputs.lines().find_map(|l| l.strip_prefix("result=")).expect("a result output");
    use base64::Engine as _;
    let json = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let result: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(result["version"], 1);
    assert_eq!(result["status"], "pass");
    let tests = result["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    let score: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    assert_eq!(result["max_score"].as_u64(), Some(score));
    for t in tests {
        assert!(t["name"].is_string() && t["message"].is_string() && t["status"] == "pass", "{t}");
    }
    assert!(std::fs::read_to_string(d.join("summary.md")).unwrap().contains("Feedback for student"));
}
