//! `checker grade`: a folder of submissions in, a gradebook out.
//!
//! Each submission is one student's copy of the course repository. Only
//! the files `info.toml` marks editable are taken from it; they are laid
//! into an overlay workspace with the course's manifests, checks and
//! lockfile, built against the shared target dir (dependencies compile
//! once per grading run) and checked under the submission's own database
//! role, with a time limit and an output cap. Nothing a submission does
//! reaches another submission's grade.

pub mod formats;
pub mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use colored::Colorize;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::Semaphore;

use crate::cli::GradeArgs;
use crate::cmd::{Ctx, OUTPUT_CAP, check_time_limit};
use crate::course::{Course, Exercise, relative_files};
use crate::exit::{Code, Failure};
use crate::runner::{self, BuildOutput, ExerciseRun, Outcome, RunRequest, Status, overlay};
use formats::{CheckOutcome, ExerciseResult, StudentResult};
use server::GradingServer;

/// One folder of the submissions directory.
#[derive(Debug, Clone)]
pub struct Submission {
    pub student: String,
    pub folder: String,
    pub dir: PathBuf,
}

/// What every submission is graded against: the course's exercises and
/// the checks each one has (listed from the course's own build).
struct Plan {
    course: Course,
    exercises: Vec<Exercise>,
    checks: BTreeMap<String, Vec<String>>,
    timeout: Duration,
    /// The throwaway cluster's in-memory tablespace for check databases.
    tablespace: Option<String>,
}

pub async fn execute(ctx: &Ctx, args: &GradeArgs) -> anyhow::Result<Code> {
    let started = Instant::now();
    let submissions = find_submissions(&args.submissions, args.roster.as_deref())?;
    let exercises: Vec<Exercise> = if args.only.is_empty() {
        ctx.course.exercises.clone()
    } else {
        args.only.iter().map(|s| ctx.course.find(s).cloned()).collect::<Result<_, _>>()?
    };
    if args.jobs == 0 {
        return Err(Failure::usage("--jobs must be at least 1").into());
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;

    let grading_dir = ctx.course.work_dir().join(format!("grade-pg-{}", std::process::id()));
    sweep_old_clusters(&ctx.course).await;
    let server = GradingServer::start(grading_dir, ctx.db_flag.clone()).await?;
    eprintln!(
        "Grading {} submission(s) x {} exercise(s) on {}, {} at a time.",
        submissions.len(),
        exercises.len(),
        server.describe(),
        args.jobs
    );
    let result = tokio::select! {
        r = grade_all(ctx, &server, &submissions, exercises, args) => r,
        _ = tokio::signal::ctrl_c() => Err(Failure {
            code: Code::Interrupted,
            message: "interrupted: grading stopped; nothing was written".into(),
        }.into()),
    };
    server.shutdown().await;
    let results = result?;

    let slugs: Vec<String> =
        results.first().map(|r| r.exercises.iter().map(|e| e.slug.clone()).collect()).unwrap_or_default();
    write_outputs(&args.out, &results, &slugs)?;
    print_table(&results, &slugs);
    println!(
        "\nGraded {} submission(s) in {:.1} s. Wrote {}: grades.csv, feedback/, gradescope/, junit/, classroom/.",
        results.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(Code::Passed)
}

async fn grade_all(
    ctx: &Ctx,
    server: &GradingServer,
    submissions: &[Submission],
    exercises: Vec<Exercise>,
    args: &GradeArgs,
) -> anyhow::Result<Vec<StudentResult>> {
    // The course's own build first: it compiles the dependencies once for
    // every submission, and says which checks each exercise has.
    let mut checks = BTreeMap::new();
    for ex in &exercises {
        let crate_dir = ctx.course.exercise_dir(ex);
        let built = runner::build_checks(
            &ctx.course.root,
            &ctx.course.exercise_dir(ex),
            &ex.slug,
            &ctx.course.target_dir(),
            false,
            Duration::from_secs(1800),
            false,
        )
        .await?;
        let BuildOutput::Built { executable } = built else {
            return Err(Failure::env(format!(
                "the course's own {} does not build; run `cargo checker dev check {}` and fix the course first",
                ex.slug, ex.slug
            ))
            .into());
        };
        checks.insert(ex.slug.clone(), runner::list_checks(&executable, &crate_dir).await?);
    }
    let plan = Arc::new(Plan {
        course: ctx.course.clone(),
        exercises,
        checks,
        timeout: Duration::from_secs(args.timeout),
        tablespace: server.tablespace.clone(),
    });

    let bar = ProgressBar::new(submissions.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let slots = Arc::new(Semaphore::new(args.jobs));
    let free_slots = Arc::new(std::sync::Mutex::new((0..args.jobs).collect::<Vec<usize>>()));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, sub) in submissions.iter().cloned().enumerate() {
        let plan = plan.clone();
        let slots = slots.clone();
        let free_slots = free_slots.clone();
        let role = server.create_role(n).await?;
        let admin_url = server.url.clone();
        let bar = bar.clone();
        let prefix = ctx.new_prefix();
        tasks.spawn(async move {
            let _permit = slots.acquire_owned().await.expect("the semaphore is never closed");
            let slot = free_slots.lock().expect("slot list").pop().expect("a free slot per permit");
            bar.set_message(format!("grading {}", sub.student));
            let result = grade_one(&plan, &sub, slot, &role.url, &admin_url, &prefix).await;
            free_slots.lock().expect("slot list").push(slot);
            bar.inc(1);
            if let Ok(r) = &result {
                let line = format!("  graded {:<24} {:>4} / {}", r.student, r.total(), r.max());
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
            }
            (n, role, result)
        });
    }
    let mut results: Vec<Option<StudentResult>> = vec![None; submissions.len()];
    while let Some(joined) = tasks.join_next().await {
        let (n, role, result) = joined.context("a grading task failed")?;
        server.drop_role(&role).await;
        results[n] = Some(result?);
    }
    bar.finish_and_clear();
    for slot in 0..args.jobs {
        let _ = std::fs::remove_dir_all(ctx.course.work_dir().join("overlay").join(slot_name(slot)));
    }
    let mut results: Vec<StudentResult> = results.into_iter().flatten().collect();
    results.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(results)
}

/// Overlays are reused per job slot, so a grading run leaves at most
/// `--jobs` copies of each exercise's build behind, however many students.
fn slot_name(slot: usize) -> String {
    format!("grade-{}-slot-{slot}", std::process::id())
}

async fn grade_one(
    plan: &Plan,
    sub: &Submission,
    slot: usize,
    role_url: &str,
    admin_url: &str,
    prefix: &str,
) -> anyhow::Result<StudentResult> {
    let exercises: Vec<&Exercise> = plan.exercises.iter().collect();
    let source = |ex: &Exercise| Some(sub.dir.join("exercises").join(&ex.slug));
    let ov = overlay::create(&plan.course, &slot_name(slot), &exercises, source)?;
    let mut ignored: Vec<String> = ov.ignored.iter().map(|f| format!("exercises/{f}")).collect();
    ignored.extend(changed_outside_exercises(&plan.course, &sub.dir));
    ignored.sort();

    let mut results = Vec::new();
    for (i, ex) in plan.exercises.iter().enumerate() {
        let names = &plan.checks[&ex.slug];
        let present = sub.dir.join("exercises").join(&ex.slug).is_dir();
        let db_prefix = format!("{prefix}e{i}");
        let req = RunRequest {
            slug: ex.slug.clone(),
            workspace: ov.root.clone(),
            crate_dir: ov.crate_dir(ex),
            target_dir: plan.course.target_dir(),
            admin_url: role_url.to_owned(),
            db_prefix: db_prefix.clone(),
            time_limit: plan.timeout,
            check_time_limit: check_time_limit(),
            output_cap: OUTPUT_CAP,
            color: false,
            // The same submission gets the same data on every grading run.
            env: [("WORKBOOK_SEED".to_owned(), stable_seed(&sub.student, &ex.slug).to_string())]
                .into_iter()
                .chain(crate::db::fast::check_env(plan.tablespace.as_deref()))
                .collect(),
            show_build: false,
        };
        let mut run = runner::run_exercise(&req).await;
        // Whatever the checks left, however they ended.
        runner::drop_run_databases(admin_url, &db_prefix).await;
        if let Ok(run) = &mut run {
            rerun_alone(run, &req).await;
        }
        let mut result = score(ex, names, run);
        if !present {
            result.note = Some(format!(
                "exercises/{} is not in this submission: graded as the starter.\n{}",
                ex.slug,
                result.note.unwrap_or_default()
            ));
        }
        results.push(result);
    }
    Ok(StudentResult { student: sub.student.clone(), folder: sub.folder.clone(), exercises: results, ignored })
}

/// When a flood, a spin or a crash (such as running out of memory)
/// stopped the whole check binary, which of the other checks had finished
/// is a race. Each check that did not pass is run again on its own, so it
/// earns (or not) the same on every run.
async fn rerun_alone(run: &mut ExerciseRun, req: &RunRequest) {
    let stopped = run.output_truncated || run.crashed || run.checks.iter().any(|c| c.status == Status::TimedOut);
    let Some(executable) = run.executable.clone() else { return };
    if !stopped || !matches!(run.outcome, Outcome::Checked) {
        return;
    }
    for (i, check) in run.checks.iter_mut().enumerate() {
        if check.status == Status::Passed {
            continue;
        }
        let mut opts = req.exec_options(executable.clone(), Some(check.name.clone()));
        opts.db_prefix = format!("{}a{i}", req.db_prefix);
        if let Ok(alone) = runner::execute(&opts).await
            && let Some(result) = alone.checks.into_iter().next()
        {
            *check = result;
        }
    }
}

/// Points for one exercise run, against the course's list of checks.
fn score(ex: &Exercise, names: &[String], run: anyhow::Result<ExerciseRun>) -> ExerciseResult {
    let (note, found): (Option<String>, Vec<runner::CheckResult>) = match run {
        Ok(run) => match run.outcome {
            Outcome::Checked => {
                let note = run
                    .output_truncated
                    .then(|| format!("the checks printed more than {} KiB and were stopped there", OUTPUT_CAP / 1024));
                (note, run.checks)
            }
            Outcome::CompileError { diagnostics } => {
                (Some(format!("did not compile; no check could run. The compiler said:\n\n{diagnostics}")), Vec::new())
            }
            Outcome::TimedOut { limit_secs } => {
                (Some(format!("the build took more than {limit_secs} s and was stopped")), Vec::new())
            }
        },
        Err(e) => (Some(format!("could not be checked: {e:#}")), Vec::new()),
    };
    let checks: Vec<CheckOutcome> = names
        .iter()
        .map(|name| {
            let got = found.iter().find(|c| &c.name == name);
            let passed = got.is_some_and(|c| c.status == Status::Passed);
            let message = match got {
                _ if passed => String::new(),
                Some(c) => check_message(c),
                None => note.as_deref().and_then(|n| n.lines().next()).unwrap_or("did not run").to_owned(),
            };
            CheckOutcome {
                name: name.clone(),
                passed,
                points: if passed { ex.points } else { 0 },
                max_points: ex.points,
                message,
            }
        })
        .collect();
    ExerciseResult {
        slug: ex.slug.clone(),
        title: ex.title.clone(),
        book: ex.book.clone(),
        points: checks.iter().map(|c| c.points).sum(),
        max_points: ex.points * names.len() as u32,
        checks,
        note,
    }
}

fn check_message(c: &runner::CheckResult) -> String {
    let mut text = String::new();
    if c.status == Status::TimedOut {
        text.push_str("stopped at the time limit\n");
    }
    if let Some(d) = &c.detail {
        if !d.called.is_empty() {
            text.push_str(&format!("called:   {}\n", d.called));
        }
        if let Some(e) = &d.expected {
            text.push_str(&format!("expected: {e}\n"));
        }
        if let Some(g) = &d.got {
            text.push_str(&format!("got:      {g}\n"));
        }
        if let Some(sql) = &d.sql {
            text.push_str(&format!("your code sent:\n{sql}\n"));
        }
        if let Some(h) = &d.hint {
            text.push_str(&format!("hint:     {h}\n"));
        }
    } else if !c.output.trim().is_empty() {
        let out = c.output.trim();
        // Keep feedback readable: the first 4 KiB of what the check printed.
        let cut = out.char_indices().nth(4096).map_or(out.len(), |(i, _)| i);
        text.push_str(&out[..cut]);
    } else {
        text.push_str("failed");
    }
    text.trim_end().to_owned()
}

/// A seed that depends only on the student and the exercise (FNV-1a, so
/// it does not change with the Rust version).
fn stable_seed(student: &str, slug: &str) -> u64 {
    crate::hash::fnv1a(student.bytes().chain([0]).chain(slug.bytes()))
}

/// Files a submission changed outside `exercises/`: none of them is used.
fn changed_outside_exercises(course: &Course, sub: &Path) -> Vec<String> {
    let mut changed = Vec::new();
    let Ok(entries) = std::fs::read_dir(sub) else { return changed };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(name.as_str(), "exercises" | "target" | ".git" | ".workbook") {
            continue;
        }
        let path = entry.path();
        let rels: Vec<String> = if path.is_dir() {
            relative_files(&path).into_iter().map(|r| format!("{name}/{r}")).collect()
        } else {
            vec![name.clone()]
        };
        for rel in rels {
            if !overlay::same_file(&sub.join(&rel), &course.root.join(&rel)) {
                changed.push(rel);
            }
        }
    }
    changed
}

/// The submissions: every folder in `dir` (hidden ones skipped), named by
/// the roster when there is one.
pub fn find_submissions(dir: &Path, roster: Option<&Path>) -> Result<Vec<Submission>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::usage(format!(
            "cannot read the submissions folder {}: {e}; give a folder with one subfolder per student",
            dir.display()
        ))
    })?;
    let names = match roster {
        Some(path) => read_roster(path)?,
        None => BTreeMap::new(),
    };
    let mut subs: Vec<Submission> = entries
        .flatten()
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
        return Err(Failure::usage(format!(
            "{} holds no submissions: it should hold one folder per student, each a copy of the course repository",
            dir.display()
        )));
    }
    subs.sort_by(|a, b| a.folder.cmp(&b.folder));
    let mut seen = BTreeMap::new();
    for s in &subs {
        if let Some(other) = seen.insert(s.student.clone(), s.folder.clone()) {
            return Err(Failure::usage(format!(
                "the roster gives folders {other} and {} the same student id {}; each student needs their own",
                s.folder, s.student
            )));
        }
    }
    Ok(subs)
}

/// A roster CSV: a header naming a folder column (`folder`, or
/// `github_username` as GitHub Classroom exports) and a student column
/// (`student` or `identifier`), then one row per student.
fn read_roster(path: &Path) -> Result<BTreeMap<String, String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the roster {}: {e}", path.display())))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> =
        lines.next().unwrap_or_default().split(',').map(|h| h.trim().trim_matches('"').to_lowercase()).collect();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (Some(folder), Some(student)) = (col(&["folder", "github_username"]), col(&["student", "identifier"])) else {
        return Err(Failure::usage(format!(
            "the roster {} needs a header line naming a folder column (folder or github_username) and a student column \
             (student or identifier), e.g.\nfolder,student\nalice-repo,alice@example.edu",
            path.display()
        )));
    };
    let mut map = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
        if let (Some(f), Some(s)) = (fields.get(folder), fields.get(student))
            && !f.is_empty()
            && !s.is_empty()
        {
            map.insert((*f).to_owned(), (*s).to_owned());
        }
    }
    Ok(map)
}

fn write_outputs(out: &Path, results: &[StudentResult], slugs: &[String]) -> anyhow::Result<()> {
    let write = |path: PathBuf, text: &str| -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write(out.join("grades.csv"), &formats::csv(results, slugs))?;
    write(out.join("grades.json"), &serde_json::to_string_pretty(results)?)?;
    for r in results {
        let stem = formats::file_stem(&r.student);
        write(out.join("feedback").join(format!("{stem}.md")), &formats::feedback(r))?;
        write(
            out.join("gradescope").join(&stem).join("results.json"),
            &serde_json::to_string_pretty(&formats::gradescope(r))?,
        )?;
        write(out.join("junit").join(format!("{stem}.xml")), &formats::junit(r))?;
        let (json, b64) = formats::classroom(r);
        write(out.join("classroom").join(format!("{stem}.json")), &serde_json::to_string_pretty(&json)?)?;
        write(out.join("classroom").join(format!("{stem}.b64")), &b64)?;
    }
    Ok(())
}

fn print_table(results: &[StudentResult], slugs: &[String]) {
    let width = results.iter().map(|r| r.student.len()).max().unwrap_or(7).max(7);
    let mut header = format!("{:<width$}", "student");
    for s in slugs {
        header.push_str(&format!("  {s:>w$}", w = s.len().max(5)));
    }
    header.push_str("  total");
    println!("{}", header.bold());
    for r in results {
        let mut line = format!("{:<width$}", r.student);
        for s in slugs {
            let cell = r
                .exercises
                .iter()
                .find(|e| &e.slug == s)
                .map_or("-".to_owned(), |e| format!("{}/{}", e.points, e.max_points));
            line.push_str(&format!("  {cell:>w$}", w = s.len().max(5)));
        }
        let total = format!("{}/{}", r.total(), r.max());
        line.push_str(&format!("  {}", if r.total() == r.max() { total.green() } else { total.normal() }));
        println!("{line}");
    }
}

/// Throwaway clusters of grading runs that died without cleaning up.
async fn sweep_old_clusters(course: &Course) {
    let Ok(entries) = std::fs::read_dir(course.work_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("grade-pg-").and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !crate::sys::process_alive(pid) {
            let cluster = crate::db::embedded::Cluster::new(entry.path());
            let _ = tokio::task::spawn_blocking(move || cluster.destroy()).await;
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_differ_per_student_and_exercise() {
        assert_eq!(stable_seed("ada", "connect"), stable_seed("ada", "connect"));
        assert_ne!(stable_seed("ada", "connect"), stable_seed("bob", "connect"));
        assert_ne!(stable_seed("ada", "connect"), stable_seed("ada", "seeds"));
    }

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
        assert!(find_submissions(dir.path(), Some(&roster)).is_err());
    }
}
