//! `checker dev check|try|new`: the course author's tools.
//!
//! `dev check` proves the course: info.toml agrees with the exercises,
//! solutions and book; every starter compiles and fails with messages;
//! every solution passes; every book link into the repository resolves.

use std::io::Write;
use std::path::{Path, PathBuf};

use colored::Colorize;

use super::{Ctx, OUTPUT_CAP, interruptible};
use crate::cli::{DevCommand, Format};
use crate::course::{Exercise, relative_files};
use crate::exit::{Code, Failure};
use crate::report::terminal;
use crate::runner::{ExerciseRun, Outcome, RunRequest, Status, overlay};

pub async fn execute(ctx: &Ctx, cmd: &DevCommand) -> anyhow::Result<Code> {
    match cmd {
        DevCommand::Check { exercises } => check(ctx, exercises).await,
        DevCommand::Try { exercise, dir, over_solution, format } => {
            try_dir(ctx, exercise, dir, *over_solution, *format).await
        }
        DevCommand::Bench { saves, exercise } => super::bench::execute(ctx, *saves, exercise).await,
        DevCommand::New { slug, title } => {
            scaffold(ctx, slug, title.as_deref())?;
            Ok(Code::Passed)
        }
    }
}

/// Runs `ex` in an overlay whose editable files come from `dir`.
pub async fn run_overlay(
    ctx: &Ctx,
    ex: &Exercise,
    dir: &Path,
    name: &str,
) -> anyhow::Result<(ExerciseRun, Vec<String>)> {
    let server = ctx.server().await?.clone();
    let ov = overlay::create(&ctx.course, name, &[ex], |_| Some(dir.to_path_buf()))?;
    let req = RunRequest {
        slug: ex.slug.clone(),
        workspace: ov.root.clone(),
        crate_dir: ov.crate_dir(ex),
        target_dir: ctx.course.target_dir(),
        admin_url: server.url.clone(),
        db_prefix: ctx.new_prefix(),
        time_limit: super::run_time_limit(ex),
        check_time_limit: super::check_time_limit(),
        output_cap: OUTPUT_CAP,
        color: ctx.color,
        env: ctx.check_env(),
        show_build: false,
    };
    let run = interruptible(&req).await;
    let _ = std::fs::remove_dir_all(&ov.root);
    Ok((run?, ov.ignored))
}

async fn try_dir(ctx: &Ctx, slug: &str, dir: &Path, over_solution: bool, format: Format) -> anyhow::Result<Code> {
    let ex = ctx.course.find(slug)?.clone();
    if !dir.is_dir() {
        return Err(Failure::usage(format!("{} is not a directory", dir.display())).into());
    }
    let dir = dir.canonicalize()?;
    let name = format!("try-{}-{:016x}", ex.slug, path_hash(&dir));
    // With --over-solution the answer tried is the solution with DIR's
    // files laid over it, so a wrong-answer fixture holds only what it breaks.
    let merged = ctx.course.work_dir().join("merged").join(&name);
    let source = if over_solution {
        if merged.exists() {
            std::fs::remove_dir_all(&merged)?;
        }
        for layer in [ctx.course.solution_dir(&ex), dir.clone()] {
            overlay::copy_tree(&layer, &merged)?;
        }
        merged.clone()
    } else {
        dir.clone()
    };
    let result = run_overlay(ctx, &ex, &source, &name).await;
    if over_solution {
        let _ = std::fs::remove_dir_all(&merged);
    }
    let (run, ignored) = result?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&run)?),
        Format::Human => {
            terminal::run(&mut std::io::stdout().lock(), &ctx.course, &ex, &run)?;
            for f in ignored {
                println!("  {} {f} (not an editable file)", "ignored:".yellow());
            }
        }
    }
    Ok(if run.passed() { Code::Passed } else { Code::ChecksFailed })
}

async fn check(ctx: &Ctx, only: &[String]) -> anyhow::Result<Code> {
    let mut problems: Vec<String> = metadata_problems(ctx);
    problems.extend(book_problems(ctx));
    let selected: Vec<Exercise> = if only.is_empty() {
        ctx.course.exercises.clone()
    } else {
        only.iter().map(|s| ctx.course.find(s).cloned()).collect::<Result<_, _>>()?
    };
    let mut out = std::io::stdout().lock();
    for ex in &selected {
        let exercise_dir = ctx.course.exercise_dir(ex);
        if !exercise_dir.join("Cargo.toml").is_file() {
            continue; // already reported by the metadata pass
        }
        write!(out, "{:<22}", ex.slug)?;
        out.flush()?;
        let starter = ctx.run_in_place(ex, false).await?;
        let starter_verdict = starter_problem(&starter);
        write!(out, " starter: {}", verdict(&starter_verdict, "fails as it should"))?;
        out.flush()?;
        if let Some(p) = starter_verdict {
            problems.push(format!("{}: the starter {p}", ex.slug));
        }
        let solution_dir = ctx.course.solution_dir(ex);
        let (solution, _) = run_overlay(ctx, ex, &solution_dir, "solution").await?;
        let solution_verdict = solution_problem(&solution);
        writeln!(out, "  solution: {}", verdict(&solution_verdict, "passes"))?;
        if let Some(p) = solution_verdict {
            problems.push(format!("{}: the solution {p}", ex.slug));
        }
    }
    writeln!(out)?;
    if problems.is_empty() {
        writeln!(out, "{}", format!("The course checks out: {} exercises.", selected.len()).green().bold())?;
        Ok(Code::Passed)
    } else {
        for p in &problems {
            writeln!(out, "{} {p}", "✗".red())?;
        }
        writeln!(out, "\n{} problems.", problems.len())?;
        Ok(Code::ChecksFailed)
    }
}

fn verdict(problem: &Option<String>, ok: &str) -> colored::ColoredString {
    match problem {
        None => ok.green(),
        Some(_) => "PROBLEM".red().bold(),
    }
}

/// A starter must compile, fail at least one check, and say why for each
/// failing check.
fn starter_problem(run: &ExerciseRun) -> Option<String> {
    match &run.outcome {
        Outcome::CompileError { diagnostics } => Some(format!("does not compile:\n{diagnostics}")),
        Outcome::TimedOut { .. } => Some("timed out".into()),
        Outcome::Checked if run.checks.is_empty() => Some("has no checks".into()),
        Outcome::Checked if run.passed() => Some("passes every check: there is nothing to do".into()),
        Outcome::Checked if run.passed_count() > 0 => {
            let passing: Vec<&str> =
                run.checks.iter().filter(|c| c.status == Status::Passed).map(|c| c.name.as_str()).collect();
            Some(format!(
                "passes {} check(s) untouched, so an empty submission would earn points: {}",
                passing.len(),
                passing.join(", ")
            ))
        }
        Outcome::Checked => {
            let silent: Vec<_> = run
                .checks
                .iter()
                .filter(|c| c.status != Status::Passed && c.detail.is_none() && c.output.trim().is_empty())
                .map(|c| c.name.clone())
                .collect();
            (!silent.is_empty()).then(|| format!("fails without a message in: {}", silent.join(", ")))
        }
    }
}

fn solution_problem(run: &ExerciseRun) -> Option<String> {
    match &run.outcome {
        Outcome::CompileError { diagnostics } => Some(format!("does not compile:\n{diagnostics}")),
        Outcome::TimedOut { .. } => Some("timed out".into()),
        Outcome::Checked if run.passed() => None,
        Outcome::Checked => {
            let failed: Vec<String> = run
                .checks
                .iter()
                .filter(|c| c.status != Status::Passed)
                .map(|c| {
                    let why = c.detail.as_ref().and_then(|d| d.got.clone()).unwrap_or_else(|| c.output.clone());
                    format!("{} ({})", c.name, why.lines().next().unwrap_or(""))
                })
                .collect();
            if failed.is_empty() { Some("has no checks".into()) } else { Some(format!("fails: {}", failed.join("; "))) }
        }
    }
}

/// A stable name for an overlay built from `dir`: the same directory
/// reuses its build artifacts run after run.
fn path_hash(dir: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    h.finish()
}

/// info.toml agrees with the files on disk.
pub fn metadata_problems(ctx: &Ctx) -> Vec<String> {
    let course = &ctx.course;
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for ex in &course.exercises {
        let s = &ex.slug;
        if !seen.insert(s.clone()) {
            problems.push(format!("{s}: listed twice in exercises/info.toml"));
        }
        let dir = course.exercise_dir(ex);
        let manifest = dir.join("Cargo.toml");
        match std::fs::read_to_string(&manifest).ok().and_then(|t| t.parse::<toml::Table>().ok()) {
            None => problems.push(format!("{s}: {} is missing or not valid TOML", manifest.display())),
            Some(m) => {
                let name = m.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str());
                if name != Some(s.as_str()) {
                    problems.push(format!("{s}: its package name is {name:?}, not the slug"));
                }
            }
        }
        if !dir.join("tests/checks.rs").is_file() {
            problems.push(format!("{s}: tests/checks.rs is missing"));
        }
        if ex.editable.is_empty() {
            problems.push(format!("{s}: no editable files are declared"));
        } else if course.editable_files(ex, &dir).is_empty() {
            problems.push(format!("{s}: no starter file matches its editable globs {:?}", ex.editable));
        }
        if ex.hints.is_empty() {
            problems.push(format!("{s}: has no hints"));
        }
        let files = relative_files(&course.solution_dir(ex));
        if files.is_empty() {
            problems.push(format!("{s}: solutions/{s}/ is missing or empty"));
        }
        for f in files.iter().filter(|f| !ex.is_editable(f)) {
            problems.push(format!(
                "{s}: solutions/{s}/{f} is not an editable file, so copying the solution over would not use it"
            ));
        }
        let section = course.root.join("book/src").join(&ex.book);
        match std::fs::read_to_string(&section) {
            Err(_) => problems.push(format!("{s}: its book section book/src/{} does not exist", ex.book)),
            Ok(text) => {
                if !text.contains(&format!("cargo checker run {s}")) {
                    problems
                        .push(format!("{s}: book/src/{} never says how to run it (`cargo checker run {s}`)", ex.book));
                }
            }
        }
        let summary = std::fs::read_to_string(course.root.join("book/src/SUMMARY.md")).unwrap_or_default();
        if !summary.contains(&format!("({})", ex.book)) {
            problems.push(format!("{s}: book/src/SUMMARY.md does not link its section {}", ex.book));
        }
    }
    if let Ok(entries) = std::fs::read_dir(course.root.join("exercises")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() && !course.exercises.iter().any(|x| x.slug == name) {
                problems.push(format!("exercises/{name}/ is not listed in exercises/info.toml"));
            }
        }
    }
    problems
}

/// Links from the book into the repository, and commands naming
/// exercises, point at things that exist.
pub fn book_problems(ctx: &Ctx) -> Vec<String> {
    let src = ctx.course.root.join("book/src");
    let files = relative_files(&src);
    let mut problems = Vec::new();
    for rel in files.iter().filter(|f| f.ends_with(".md")) {
        let path = src.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            for target in link_targets(line) {
                if target.contains("exercises/") || target.contains("solutions/") || target.contains("checker/") {
                    let file = target.split('#').next().unwrap_or(target);
                    let resolved = path.parent().expect("a file has a parent").join(file);
                    if !resolved.exists() {
                        problems.push(format!("book/src/{rel}:{}: link to {target} does not resolve", n + 1));
                    }
                }
            }
            let mut rest = line;
            while let Some(i) = rest.find("cargo checker run ") {
                rest = &rest[i + "cargo checker run ".len()..];
                let slug: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !slug.is_empty() && ctx.course.index_of(&slug).is_none() {
                    problems.push(format!("book/src/{rel}:{}: `cargo checker run {slug}` names no exercise", n + 1));
                }
            }
        }
    }
    problems
}

/// The targets of inline Markdown links `[text](target)` on a line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].trim());
            rest = &rest[end..];
        }
    }
    out
}

/// `dev new`: a new exercise that compiles, fails its one check, and is
/// listed everywhere `dev check` looks.
fn scaffold(ctx: &Ctx, slug: &str, title: Option<&str>) -> anyhow::Result<()> {
    if slug.is_empty() || !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(Failure::usage(format!("`{slug}` is not a valid slug: use lowercase letters, digits and _")).into());
    }
    if ctx.course.index_of(slug).is_some() || ctx.course.root.join("exercises").join(slug).exists() {
        return Err(Failure::usage(format!("an exercise named `{slug}` already exists")).into());
    }
    let root = &ctx.course.root;
    let title = title.map_or_else(|| slug.replace('_', " "), str::to_owned);
    let ex_dir = root.join("exercises").join(slug);
    let files: Vec<(PathBuf, String)> = vec![
        (ex_dir.join("Cargo.toml"), templates::manifest(slug, &title)),
        (ex_dir.join("src/lib.rs"), templates::starter(&title)),
        (ex_dir.join("tests/checks.rs"), templates::checks(slug)),
        (root.join("solutions").join(slug).join("src/lib.rs"), templates::solution(&title)),
        (root.join("book/src").join(slug).join("index.md"), templates::chapter(slug, &title)),
    ];
    for (path, text) in &files {
        std::fs::create_dir_all(path.parent().expect("a file has a parent"))?;
        std::fs::write(path, text)?;
    }
    let info = root.join("exercises/info.toml");
    let mut text = std::fs::read_to_string(&info)?;
    text.push_str(&templates::info_entry(slug, &title));
    std::fs::write(&info, text)?;
    let summary = root.join("book/src/SUMMARY.md");
    let mut text = std::fs::read_to_string(&summary)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("- [{title}]({slug}/index.md)\n"));
    std::fs::write(&summary, text)?;
    println!("{} exercise `{slug}`:", "Created".green().bold());
    for (path, _) in &files {
        println!("  {}", path.strip_prefix(root).unwrap_or(path).display());
    }
    println!("  exercises/info.toml (entry appended)\n  book/src/SUMMARY.md (link appended)");
    println!("Write the checks, the starter and the solution, then prove them with `cargo checker dev check {slug}`.");
    Ok(())
}

mod templates {
    pub fn manifest(slug: &str, title: &str) -> String {
        format!(
            "[package]\nname = \"{slug}\"\ndescription = \"{title}\"\nversion.workspace = true\nedition.workspace = true\nlicense.workspace = true\npublish = false\n\n[lib]\ntest = false\ndoctest = false\n\n[dependencies]\nsqlx.workspace = true\nthiserror.workspace = true\n\n[dev-dependencies]\nworkbook.workspace = true\n"
        )
    }

    pub fn starter(title: &str) -> String {
        format!(
            "//! Exercise: {title}.\n\nuse sqlx::PgPool;\n\n/// Counts the rows of `pg_database` (replace with the exercise's own task).\npub async fn answer(pool: &PgPool) -> Result<i64, sqlx::Error> {{\n    let _ = pool;\n    todo!(\"write the query\")\n}}\n"
        )
    }

    pub fn solution(title: &str) -> String {
        format!(
            "//! Exercise: {title}.\n\nuse sqlx::PgPool;\n\n/// Counts the rows of `pg_database` (replace with the exercise's own task).\npub async fn answer(pool: &PgPool) -> Result<i64, sqlx::Error> {{\n    sqlx::query_scalar(\"SELECT count(*) FROM pg_database\").fetch_one(pool).await\n}}\n"
        )
    }

    pub fn checks(slug: &str) -> String {
        format!(
            "//! The checks for `{slug}`.\n\nuse workbook::{{Failure, check}};\n\n#[test]\nfn answer_counts_the_databases() {{\n    check(async |db| {{\n        let want: i64 = sqlx::query_scalar(\"SELECT count(*) FROM pg_database\").fetch_one(db.pool()).await.expect(\"counting\");\n        match {slug}::answer(db.pool()).await {{\n            Ok(got) if got == want => {{}}\n            other => Failure::new(\"answer(&pool)\").expected(format!(\"Ok({{want}})\")).got(format!(\"{{other:?}}\")).fail(),\n        }}\n    }});\n}}\n"
        )
    }

    pub fn chapter(slug: &str, title: &str) -> String {
        format!(
            "# {title}\n\nTeach the idea here: why before how, then a runnable example.\n\n## The exercise\n\nRun it with `cargo checker run {slug}`.\n"
        )
    }

    pub fn info_entry(slug: &str, title: &str) -> String {
        format!(
            "\n[[exercises]]\nslug = \"{slug}\"\ntitle = \"{title}\"\nbook = \"{slug}/index.md\"\neditable = [\"src/**\"]\npoints = 1\nhints = [\n    \"Write a first hint here.\",\n]\n"
        )
    }
}
