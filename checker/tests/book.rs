//! The book's own tests: it builds with mdBook, every link and include in
//! it resolves, and the SQL it tells the reader to run really runs.
//!
//! # SQL in the book
//!
//! A fenced code block's info string says what this test does with it:
//!
//! - ```` ```sql ````: run, and must succeed. The blocks of one chapter run
//!   in order on one connection to one fresh database, created for that
//!   chapter and dropped afterwards however the run ends, so a block can use
//!   the tables an earlier block of the same chapter created.
//! - ```` ```sql,fails ````: run, and must fail: SQL that shows an error the
//!   reader will meet (a missing table, a constraint doing its job). Keep
//!   it to the one statement that fails.
//! - ```` ```sql,ignore ````: shown, never run. Say next to it why it cannot
//!   run in a scratch database.
//! - ```` ```sql,session=NAME ````: run on the session NAME instead, a
//!   connection of its own to the same database, opened the first time a
//!   block names it. Two sessions show what one transaction sees of
//!   another's work (isolation, row locks, deadlocks). The block must
//!   start with a comment naming its session (`-- session NAME`), because
//!   the rendered book does not show the info string.
//! - ```` ```sql,session=NAME,waits ````: a block that waits for a lock
//!   another session holds. The test starts it, confirms that it really
//!   waits (its backend's `wait_event_type` is `Lock`), gives it 100 ms
//!   more so that what follows happens in the order the chapter tells it,
//!   and goes on with the next block while it waits. It finishes when a
//!   later block lets go of the lock (or a deadlock ends it); its output
//!   block is compared once it has, at the latest before the next block of
//!   the same session or at the end of the chapter.
//! - ```` ```text,output ````: the output of the SQL block just before it
//!   (the previous code block in the chapter). It is generated, never
//!   typed: the rows of that block's last statement in psql's aligned
//!   format (trailing spaces trimmed; a statement that returns no rows
//!   shows only `(0 rows)`), or, for a block that failed, the `ERROR:`,
//!   `DETAIL:` and `HINT:` lines psql would print. The test compares it
//!   with what PostgreSQL returns now; run it with `WORKBOOK_BLESS=1` to
//!   rewrite the output blocks in place instead. To ask for output under a
//!   new query, write an empty ```` ```text,output ```` block and bless.
//!   Process ids and transaction numbers, which differ on every run, are
//!   shown as `<session NAME>` and `<xid>` (in a deadlock's DETAIL).
//!
//! # HTTP sessions in the book
//!
//! A ```` ```console,curl ```` block is a terminal session against an
//! HTTP exercise: lines starting with `$ curl` are commands, every other
//! line is their output, generated, never typed. The sessions of one
//! chapter run in order against the course's *solution* of the exercise
//! the chapter's directory is named after (`book/src/student_api/` runs
//! `solutions/student_api`), served by its `examples/serve.rs` on a fresh
//! database with the exercise's migrations and seeds, so ids start at 1.
//! Commands are written against `http://127.0.0.1:3000`; the test points
//! them at the server it started and runs the real `curl` (no shell). What
//! varies per run is masked when comparing: timestamps, the `date` header
//! and `content-length` (a timestamp's digits vary). `WORKBOOK_BLESS=1`
//! writes the output of this run into the blocks; to ask for output under
//! a new command, write the `$ curl` line alone and bless.
//!
//! # Links and includes
//!
//! Links between chapters are relative `.md` links, optionally with a
//! `#heading-id`; the id is checked against the HTML mdBook generates.
//! Links into the repository (an exercise's `src/lib.rs`) are relative to
//! the chapter's source file: `book/src` and the directory `checker book`
//! builds into, `target/book`, sit at the same depth, so the same link
//! works on a forge's file view and in the built book opened from disk;
//! `checker book --serve` answers them with the file. Every `{{#include file:anchor}}`
//! must name an existing file and an anchor with both `ANCHOR:` and
//! `ANCHOR_END:` markers around some text: mdBook only logs a missing file
//! and silently includes nothing for a missing anchor, so this test is
//! what catches them.
//!
//! # The sample run
//!
//! The checker output shown in running.md (```` ```text ```` blocks that
//! start with `connect (`) is held to the `connect` exercise: every check
//! it names exists, every `expected`/`hint` is a message in its checks, and
//! every `todo` points at that very `todo!()` in the starter.
//!
//! The SQL tests need a server: `WORKBOOK_TEST_DATABASE_URL`, or the
//! checker's embedded one (see `common::database_url`).

use crate::common;

use std::collections::BTreeSet;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use futures_util::StreamExt;
use mdbook_driver::MDBook;
use mdbook_driver::book::BookItem;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgRow};
use sqlx::{Column, Connection, Either, PgConnection, Row, TypeInfo, ValueRef};

// ---------------------------------------------------------------------------
// Reading the book's sources

/// One markdown file of the book.
struct Chapter {
    /// Absolute path on disk.
    path: PathBuf,
    /// Path relative to `book/src`, as SUMMARY.md names it.
    rel: PathBuf,
    text: String,
}

fn book_dir() -> PathBuf {
    common::workspace_root().join("book")
}

/// Every markdown file under `src`, in a stable order.
fn chapters_in(src: &Path) -> Vec<Chapter> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.expect("reading a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths
        .into_iter()
        .map(|path| Chapter {
            rel: path.strip_prefix(src).expect("under src").to_path_buf(),
            text: std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
            path,
        })
        .collect()
}

fn markdown_options() -> Options {
    // What mdBook turns on (mdbook-markdown's new_cmark_parser), so links
    // and code blocks are found where mdBook finds them.
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_GFM
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

// ---------------------------------------------------------------------------
// Code blocks

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sql,
    SqlFails,
    SqlIgnored,
    Output,
    /// A terminal session of `$ curl` commands and their output.
    Curl,
    Other,
}

#[derive(Debug)]
struct Block {
    kind: Kind,
    /// The session a SQL block runs on (`session=NAME`); `None` for the
    /// chapter's first connection.
    session: Option<String>,
    /// Expected to wait for another session's lock (`waits`).
    waits: bool,
    code: String,
    /// The block's content (between the fences) in the file, for blessing.
    content: Range<usize>,
    /// What each content line starts with in the file (a list's indent).
    indent: String,
    line: usize,
}

/// Every fenced code block in `text`, with problems in their info strings.
fn code_blocks(text: &str) -> (Vec<Block>, Vec<String>) {
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    let mut current: Option<Block> = None;
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let line = line_of(text, range.start);
                let mut words = info.split([',', ' ', '\t']).filter(|w| !w.is_empty());
                let lang = words.next().unwrap_or("");
                let markers: Vec<&str> = words.collect();
                let session = markers.iter().find_map(|m| m.strip_prefix("session=")).map(str::to_owned);
                let waits = markers.contains(&"waits");
                let kind = match lang {
                    "sql" => {
                        let known = |m: &&str| ["fails", "ignore", "waits"].contains(m) || m.starts_with("session=");
                        if let Some(bad) = markers.iter().find(|m| !known(m)) {
                            problems.push(format!(
                                "line {line}: unknown marker `{bad}` on a sql block (use fails, ignore, session=NAME or waits)"
                            ));
                        }
                        if session.as_deref() == Some("") {
                            problems.push(format!("line {line}: `session=` needs a name"));
                        }
                        if waits && session.is_none() {
                            problems.push(format!("line {line}: a waits block needs a session=NAME"));
                        }
                        if markers.contains(&"ignore") {
                            Kind::SqlIgnored
                        } else if markers.contains(&"fails") {
                            Kind::SqlFails
                        } else {
                            Kind::Sql
                        }
                    }
                    "text" if markers.contains(&"output") => Kind::Output,
                    "console" if markers.contains(&"curl") => Kind::Curl,
                    _ => Kind::Other,
                };
                current = Some(Block {
                    kind,
                    session,
                    waits,
                    code: String::new(),
                    content: content_range(text, range.clone()),
                    indent: indent_before(text, range.start),
                    line,
                });
            }
            Event::Text(t) => {
                if let Some(block) = current.as_mut() {
                    block.code.push_str(&t);
                }
            }
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => {
                if let Some(block) = current.take() {
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    (blocks, problems)
}

/// The part of a fenced block between its opening and closing fence lines.
fn content_range(text: &str, block: Range<usize>) -> Range<usize> {
    let raw = &text[block.clone()];
    let start = raw.find('\n').map_or(raw.len(), |i| i + 1);
    let body = raw.trim_end_matches(['\n', '\r']);
    let last_line_start = body.rfind('\n').map_or(0, |i| i + 1);
    let last = body[last_line_start..].trim_start();
    let end = if last_line_start >= start && (last.starts_with("```") || last.starts_with("~~~")) {
        last_line_start
    } else {
        raw.len()
    };
    block.start + start..block.start + end.max(start)
}

fn indent_before(text: &str, offset: usize) -> String {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..offset].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect()
}

// ---------------------------------------------------------------------------
// Running SQL and showing its result as psql would

/// What one SQL block did.
#[derive(Debug)]
enum Outcome {
    /// The rows of the block's last statement.
    Rows(Table),
    /// The error that stopped the block, as psql shows it.
    Failed(String),
}

#[derive(Debug, Default)]
struct Table {
    /// Column names, and whether psql aligns the column right (numbers).
    columns: Vec<(String, bool)>,
    rows: Vec<Vec<Option<String>>>,
}

async fn run_sql(conn: &mut PgConnection, sql: &str) -> Outcome {
    // Raw SQL goes over the simple query protocol: several statements in
    // one block are fine, and every value arrives as text, the way psql
    // shows it.
    let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).fetch_many(&mut *conn);
    let mut current: Vec<PgRow> = Vec::new();
    let mut last: Vec<PgRow> = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(Either::Right(row)) => current.push(row),
            // One result per statement: only the last statement's rows count.
            Ok(Either::Left(_done)) => last = std::mem::take(&mut current),
            Err(e) => return Outcome::Failed(psql_error(&e)),
        }
    }
    if !current.is_empty() {
        last = current;
    }
    Outcome::Rows(table_of(&last))
}

fn table_of(rows: &[PgRow]) -> Table {
    let Some(first) = rows.first() else { return Table::default() };
    let columns = first
        .columns()
        .iter()
        .map(|c| {
            let right = matches!(
                c.type_info().name(),
                "INT2" | "INT4" | "INT8" | "FLOAT4" | "FLOAT8" | "NUMERIC" | "OID" | "MONEY"
            );
            (c.name().to_owned(), right)
        })
        .collect();
    let rows = rows
        .iter()
        .map(|row| {
            (0..row.columns().len())
                .map(|i| {
                    let value = row.try_get_raw(i).expect("a column of this row");
                    if value.is_null() {
                        None
                    } else {
                        Some(value.as_str().expect("simple-protocol values are text").to_owned())
                    }
                })
                .collect()
        })
        .collect();
    Table { columns, rows }
}

fn psql_error(e: &sqlx::Error) -> String {
    let Some(db) = e.as_database_error() else { return format!("ERROR:  {e}") };
    let mut out = format!("ERROR:  {}", db.message());
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        if let Some(detail) = pg.detail() {
            out.push_str(&format!("\nDETAIL:  {detail}"));
        }
        if let Some(hint) = pg.hint() {
            out.push_str(&format!("\nHINT:  {hint}"));
        }
    }
    out
}

/// psql's aligned format: centred headers, numbers on the right, a row
/// count at the end; trailing spaces trimmed so editors leave it alone.
fn render_table(table: &Table) -> String {
    let count = table.rows.len();
    let footer = if count == 1 { "(1 row)".to_owned() } else { format!("({count} rows)") };
    if table.columns.is_empty() {
        return footer;
    }
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            table
                .rows
                .iter()
                .filter_map(|row| row[i].as_deref())
                .map(|v| v.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut lines = Vec::new();
    let header: Vec<String> = table
        .columns
        .iter()
        .zip(&widths)
        .map(|((name, _), &w)| {
            let pad = w - name.chars().count();
            format!(" {}{}{} ", " ".repeat(pad / 2), name, " ".repeat(pad - pad / 2))
        })
        .collect();
    lines.push(header.join("|"));
    lines.push(widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&table.columns)
            .zip(&widths)
            .map(|((value, (_, right)), &w)| {
                let v = value.as_deref().unwrap_or("");
                if *right { format!(" {v:>w$} ") } else { format!(" {v:<w$} ") }
            })
            .collect();
        lines.push(cells.join("|"));
    }
    lines.push(footer);
    lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n")
}

fn render(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Rows(table) => render_table(table),
        Outcome::Failed(error) => error.clone(),
    }
}

/// Output text as compared: no trailing spaces, no trailing blank lines.
fn normalise(text: &str) -> String {
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim_end().to_owned()
}

/// What running one chapter's SQL found.
#[derive(Default)]
struct ChapterRun {
    problems: Vec<String>,
    /// Output blocks that no longer show what PostgreSQL returns.
    stale: Vec<String>,
    /// How to fix them: (content range, new text).
    rewrites: Vec<(Range<usize>, String)>,
    ran: usize,
}

/// The connections one chapter's SQL runs on, by session name.
struct Sessions<'c> {
    /// The chapter's first connection (blocks without `session=`).
    main: &'c mut PgConnection,
    /// Where to open the others: the chapter's database.
    options: PgConnectOptions,
    named: Vec<Session>,
    /// A connection the reader never sees, for watching the others.
    observer: Option<PgConnection>,
    /// Backend pid of each session, for showing error details.
    pids: Vec<(i32, String)>,
}

struct Session {
    name: String,
    pid: i32,
    /// `None` while a waiting block has it.
    conn: Option<PgConnection>,
    /// The waiting block: its index and the task running it.
    pending: Option<(usize, tokio::task::JoinHandle<(PgConnection, Outcome)>)>,
}

impl Sessions<'_> {
    async fn session(&mut self, name: &str) -> Result<&mut Session, String> {
        if let Some(i) = self.named.iter().position(|s| s.name == name) {
            return Ok(&mut self.named[i]);
        }
        let mut conn =
            PgConnection::connect_with(&self.options).await.map_err(|e| format!("cannot open session {name}: {e}"))?;
        let pid = backend_pid(&mut conn).await?;
        self.pids.push((pid, name.to_owned()));
        self.named.push(Session { name: name.to_owned(), pid, conn: Some(conn), pending: None });
        Ok(self.named.last_mut().expect("just pushed"))
    }

    async fn observer(&mut self) -> Result<&mut PgConnection, String> {
        if self.observer.is_none() {
            let conn =
                PgConnection::connect_with(&self.options).await.map_err(|e| format!("cannot open an observer: {e}"))?;
            self.observer = Some(conn);
        }
        Ok(self.observer.as_mut().expect("just opened"))
    }

    /// Runs `block` to the end on its session (after that session's
    /// waiting block, if any, has finished).
    async fn run(&mut self, block: &Block, outcomes: &mut [Option<Outcome>]) -> Result<Outcome, String> {
        let Some(name) = &block.session else { return Ok(run_sql(&mut *self.main, &block.code).await) };
        self.finish(name, outcomes).await?;
        let session = self.session(name).await?;
        let conn = session.conn.as_mut().expect("no block is waiting on it");
        Ok(run_sql(conn, &block.code).await)
    }

    /// Starts `block` (index `at`) on its session and returns once it
    /// waits for a lock.
    async fn start_waiting(
        &mut self,
        at: usize,
        block: &Block,
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), String> {
        let name = block.session.as_deref().expect("waits blocks have a session");
        self.finish(name, outcomes).await?;
        let session = self.session(name).await?;
        let pid = session.pid;
        let mut conn = session.conn.take().expect("no block is waiting on it");
        let sql = block.code.clone();
        let task = tokio::spawn(async move {
            let outcome = run_sql(&mut conn, &sql).await;
            (conn, outcome)
        });
        session.pending = Some((at, task));
        let started = std::time::Instant::now();
        loop {
            let observer = self.observer().await?;
            let waiting: Option<Option<String>> =
                sqlx::query_scalar("SELECT wait_event_type::text FROM pg_stat_activity WHERE pid = $1")
                    .bind(pid)
                    .fetch_optional(&mut *observer)
                    .await
                    .map_err(|e| format!("reading pg_stat_activity: {e}"))?;
            if waiting.flatten().as_deref() == Some("Lock") {
                break;
            }
            let session = self.named.iter().find(|s| s.name == name).expect("opened above");
            if session.pending.as_ref().is_some_and(|(_, t)| t.is_finished()) {
                self.finish(name, outcomes).await?;
                return Err("marked waits, but it finished without waiting for a lock".to_owned());
            }
            if started.elapsed() > std::time::Duration::from_secs(5) {
                return Err("marked waits, but after 5 s it neither waits for a lock nor has finished".to_owned());
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Ok(())
    }

    /// Waits for session `name`'s waiting block to finish, if it has one.
    async fn finish(&mut self, name: &str, outcomes: &mut [Option<Outcome>]) -> Result<(), String> {
        let Some(session) = self.named.iter_mut().find(|s| s.name == name) else { return Ok(()) };
        let Some((at, task)) = session.pending.take() else { return Ok(()) };
        let (conn, outcome) = tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .map_err(|_| "it still waits 5 s later: no later block let go of the lock it waits for".to_owned())?
            .map_err(|e| format!("the task running it failed: {e}"))?;
        session.conn = Some(conn);
        outcomes[at] = Some(outcome);
        Ok(())
    }

    async fn close(mut self, outcomes: &mut [Option<Outcome>]) -> Vec<String> {
        let mut problems = Vec::new();
        let names: Vec<String> = self.named.iter().map(|s| s.name.clone()).collect();
        for name in names {
            if let Err(e) = self.finish(&name, outcomes).await {
                problems.push(format!("session {name}'s waiting block: {e}"));
            }
        }
        for s in self.named {
            if let Some(conn) = s.conn {
                let _ = conn.close().await;
            }
        }
        if let Some(conn) = self.observer {
            let _ = conn.close().await;
        }
        problems
    }
}

async fn backend_pid(conn: &mut PgConnection) -> Result<i32, String> {
    sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(conn).await.map_err(|e| format!("pg_backend_pid(): {e}"))
}

/// What a block showed, with the run's process ids and transaction
/// numbers (in an error's DETAIL) replaced by names that stay the same
/// from run to run.
fn shown(outcome: &Outcome, pids: &[(i32, String)]) -> String {
    let text = render(outcome);
    if !matches!(outcome, Outcome::Failed(_)) {
        return text;
    }
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        let mut number = c.to_string();
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            number.push(d);
        }
        let name = number.parse::<i32>().ok().and_then(|n| pids.iter().find(|(pid, _)| *pid == n));
        if out.ends_with("transaction ") {
            out.push_str("<xid>");
        } else if let (true, Some((_, name))) = (out.to_ascii_lowercase().ends_with("process "), name) {
            out.push_str(&format!("<session {name}>"));
        } else {
            out.push_str(&number);
        }
    }
    out
}

async fn run_chapter(conn: &mut PgConnection, options: &PgConnectOptions, blocks: &[Block]) -> ChapterRun {
    let mut run = ChapterRun::default();
    let mut outcomes: Vec<Option<Outcome>> = blocks.iter().map(|_| None).collect();
    // Which code block each output block shows.
    let mut shows: Vec<(usize, usize)> = Vec::new();
    let mut previous: Option<usize> = None;
    let main_pid = backend_pid(conn).await.unwrap_or(0);
    let mut sessions = Sessions {
        main: conn,
        options: options.clone(),
        named: Vec::new(),
        observer: None,
        pids: vec![(main_pid, "main".to_owned())],
    };
    for (at, block) in blocks.iter().enumerate() {
        match block.kind {
            Kind::Sql | Kind::SqlFails => {
                if let Some(name) = &block.session {
                    let first = block.code.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
                    if !first.eq_ignore_ascii_case(&format!("-- session {name}")) {
                        run.problems.push(format!(
                            "line {}: a block on session {name} must start with `-- session {name}`, so the reader sees where it runs",
                            block.line
                        ));
                    }
                }
                run.ran += 1;
                previous = Some(at);
                if block.waits {
                    if let Err(e) = sessions.start_waiting(at, block, &mut outcomes).await {
                        run.problems.push(format!("line {}: {e}", block.line));
                    }
                    continue;
                }
                match sessions.run(block, &mut outcomes).await {
                    Ok(outcome) => outcomes[at] = Some(outcome),
                    Err(e) => run.problems.push(format!("line {}: {e}", block.line)),
                }
            }
            Kind::Output => match previous.take() {
                Some(code) => shows.push((at, code)),
                None => run.problems.push(format!(
                    "line {}: a ```text,output block must come right after the ```sql block it shows",
                    block.line
                )),
            },
            Kind::SqlIgnored | Kind::Curl | Kind::Other => previous = None,
        }
    }
    let pids = sessions.pids.clone();
    run.problems.extend(sessions.close(&mut outcomes).await);
    for (at, block) in blocks.iter().enumerate() {
        let Some(outcome) = &outcomes[at] else { continue };
        match (outcome, block.kind) {
            (Outcome::Failed(error), Kind::Sql) => run.problems.push(format!(
                "line {}: this sql block failed; mark it ```sql,fails if that is the point\n{error}",
                block.line
            )),
            (Outcome::Rows(_), Kind::SqlFails) => {
                run.problems.push(format!("line {}: this ```sql,fails block succeeded", block.line))
            }
            _ => {}
        }
    }
    for (out_at, code_at) in shows {
        let block = &blocks[out_at];
        let Some(outcome) = &outcomes[code_at] else { continue };
        let got = shown(outcome, &pids);
        if normalise(&block.code) != got {
            run.stale.push(format!(
                "line {}: the output shown is not what PostgreSQL returns (WORKBOOK_BLESS=1 rewrites it)\n\
                 --- shown\n{}\n--- returned\n{got}",
                block.line,
                normalise(&block.code)
            ));
            let text: String = got.lines().map(|l| format!("{}{l}\n", block.indent)).collect();
            run.rewrites.push((block.content.clone(), text));
        }
    }
    run
}

/// A block's SQL as the reader sees it: every `{{#include file}}` and
/// `{{#include file:anchor}}` replaced by the text mdBook puts there, so
/// a chapter can show SQL that lives elsewhere (an exercise's migration)
/// and still have it run.
fn expand_includes(code: &str, dir: &Path) -> Result<String, String> {
    const DIRECTIVE: &str = "{{#include ";
    let mut out = String::new();
    let mut rest = code;
    while let Some(start) = rest.find(DIRECTIVE) {
        out.push_str(&rest[..start]);
        let after = &rest[start + DIRECTIVE.len()..];
        let end = after.find("}}").ok_or("an include with no closing }}")?;
        let argument = after[..end].trim();
        let (file, anchor) = match argument.split_once(':') {
            Some((f, a)) => (f, Some(a)),
            None => (argument, None),
        };
        let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("includes {file}: {e}"))?;
        match anchor {
            None => out.push_str(text.trim_end()),
            Some(a) => out
                .push_str(&anchored_text(&text, a).ok_or_else(|| format!("includes {file}:{a}, an anchor it lacks"))?),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A database of its own for `body`, dropped afterwards even if `body`
/// panics. Named like the checks' databases (`wbchk_<pid>_…`) so the
/// checker's sweep recognises one left behind by a killed run.
fn with_fresh_database<T>(
    runtime: &tokio::runtime::Runtime,
    server: &str,
    body: impl AsyncFnOnce(&mut PgConnection, &PgConnectOptions) -> T,
) -> T {
    let server_options = PgConnectOptions::from_str(server).expect("the test server's URL parses");
    let name = format!("wbchk_{}_book_{:08x}", std::process::id(), fastrand::u32(..));
    runtime.block_on(async {
        let mut admin = PgConnection::connect_with(&server_options)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating a scratch database (the role needs CREATEDB): {e}"));
        let _ = admin.close().await;
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            let options = server_options.clone().database(&name);
            let mut conn = PgConnection::connect_with(&options)
                .await
                .unwrap_or_else(|e| panic!("connecting to the scratch database {name}: {e}"));
            let out = body(&mut conn, &options).await;
            let _ = conn.close().await;
            out
        })
    }));
    runtime.block_on(async {
        if let Ok(mut admin) = PgConnection::connect_with(&server_options).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)))
                .execute(&mut admin)
                .await;
            let _ = admin.close().await;
        }
    });
    match outcome {
        Ok(out) => out,
        Err(panic) => resume_unwind(panic),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("starting a runtime")
}

fn bless() -> bool {
    std::env::var("WORKBOOK_BLESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn rewrite(path: &Path, text: &str, mut rewrites: Vec<(Range<usize>, String)>) {
    let mut out = text.to_owned();
    rewrites.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, new) in rewrites {
        out.replace_range(range, &new);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("rewriting {}: {e}", path.display()));
}

#[test]
fn every_sql_block_in_the_book_runs_as_shown() {
    let server = common::database_url();
    let runtime = runtime();
    let mut problems = Vec::new();
    let mut ran = 0;
    for chapter in chapters_in(&book_dir().join("src")) {
        let (mut blocks, marker_problems) = code_blocks(&chapter.text);
        let here = format!("book/src/{}", chapter.rel.display());
        problems.extend(marker_problems.into_iter().map(|p| format!("{here}: {p}")));
        let dir = chapter.path.parent().expect("a chapter has a directory");
        for block in blocks.iter_mut().filter(|b| matches!(b.kind, Kind::Sql | Kind::SqlFails)) {
            match expand_includes(&block.code, dir) {
                Ok(code) => block.code = code,
                Err(e) => problems.push(format!("{here}: line {}: {e}", block.line)),
            }
        }
        if !blocks.iter().any(|b| matches!(b.kind, Kind::Sql | Kind::SqlFails | Kind::Output)) {
            continue;
        }
        let run =
            with_fresh_database(&runtime, &server, async |conn, options| run_chapter(conn, options, &blocks).await);
        ran += run.ran;
        problems.extend(run.problems.into_iter().map(|p| format!("{here}: {p}")));
        if bless() && !run.rewrites.is_empty() {
            rewrite(&chapter.path, &chapter.text, run.rewrites);
            eprintln!("blessed {} output block(s) in {here}", run.stale.len());
        } else {
            problems.extend(run.stale.into_iter().map(|p| format!("{here}: {p}")));
        }
    }
    assert!(ran > 0, "no ```sql block ran: the extractor found nothing in book/src");
    assert!(problems.is_empty(), "SQL in the book does not run as shown:\n\n{}", problems.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Building the book

/// Builds the book into `out` (never into target/book, which is the
/// student's), as `mdbook build` would.
fn build_book(out: &Path) -> MDBook {
    let mut book = MDBook::load(book_dir()).unwrap_or_else(|e| panic!("loading the book: {e:#}"));
    book.config.build.build_dir = out.to_path_buf();
    book.build().unwrap_or_else(|e| panic!("building the book: {e:#}"));
    book
}

#[test]
fn the_book_builds_with_every_chapter_and_a_search_index() {
    let out = tempfile::tempdir().expect("a temp dir");
    let book = build_book(out.path());
    let mut pages = 0;
    for item in book.iter() {
        if let BookItem::Chapter(chapter) = item
            && let Some(path) = &chapter.path
        {
            let html = out.path().join(path).with_extension("html");
            assert!(html.is_file(), "chapter {:?} was not rendered to {}", chapter.name, html.display());
            let page = std::fs::read_to_string(&html).expect("reading a rendered chapter");
            let title = chapter.name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            assert!(page.contains(&title), "{} does not show its title {:?}", html.display(), chapter.name);
            pages += 1;
        }
    }
    // mdBook leaves a failed include in the page as raw text; a listing
    // that really arrived shows its code. Code is HTML-escaped in the page,
    // so look for the longest stretch of its first line that needs none.
    let src = book_dir().join("src");
    for (chapter, text) in check_includes(&chapters_in(&src)).texts {
        let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else { continue };
        let probe = first.split(['<', '>', '&', '"', '\'', '\\']).max_by_key(|piece| piece.len()).unwrap_or(first);
        let page = out.path().join(&chapter).with_extension("html");
        let Ok(html) = std::fs::read_to_string(&page) else { continue };
        assert!(
            html.contains(probe),
            "{} should show the included listing starting {first:?}, but its HTML lacks {probe:?}",
            page.display()
        );
    }
    assert!(pages >= 4, "expected at least the introduction, two getting-started pages and connect; built {pages}");
    let search_index = std::fs::read_dir(out.path())
        .expect("reading the build dir")
        .filter_map(|entry| entry.ok())
        .any(|entry| entry.file_name().to_string_lossy().starts_with("searchindex"));
    assert!(search_index, "the build has no search index: is mdbook-driver's `search` feature on?");
}

// ---------------------------------------------------------------------------
// Links

/// Every `id="…"` in an HTML page: the anchors a link may point at.
fn html_ids(page: &Path) -> Option<BTreeSet<String>> {
    let html = std::fs::read_to_string(page).ok()?;
    Some(html.split(" id=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect())
}

/// `path` with `.` and `..` resolved without touching the disk.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Problems with the relative links of `chapters`: `src` is the book's
/// source dir, `html` where it was built, `repo` the repository root, and
/// `built` where `checker book` builds it: a link into the repository must
/// reach the same file from a page there as from the chapter's source.
fn check_links(chapters: &[Chapter], src: &Path, html: &Path, repo: &Path, built: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for chapter in chapters {
        if chapter.rel == Path::new("SUMMARY.md") {
            // mdBook itself refuses a SUMMARY.md entry whose file is missing.
            continue;
        }
        let here = format!("book/src/{}", chapter.rel.display());
        let dir = chapter.path.parent().expect("a chapter has a directory");
        let own_page = html.join(&chapter.rel).with_extension("html");
        for (event, range) in Parser::new_ext(&chapter.text, markdown_options()).into_offset_iter() {
            let dest = match event {
                Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => dest_url,
                _ => continue,
            };
            let line = line_of(&chapter.text, range.start);
            let mut complain = |what: String| problems.push(format!("{here}:{line}: link `{dest}` {what}"));
            if dest.contains("://") || dest.starts_with("mailto:") || dest.starts_with("//") {
                continue;
            }
            if dest.is_empty() {
                complain("is empty".into());
                continue;
            }
            let (path, fragment) = match dest.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (&*dest, None),
            };
            let page = if path.is_empty() {
                own_page.clone()
            } else {
                let target = lexical(&dir.join(path));
                if path.ends_with(".md") {
                    if !target.starts_with(src) {
                        complain(
                            "points at markdown outside book/src, which mdBook would rewrite to a missing .html".into(),
                        );
                        continue;
                    }
                    if !target.is_file() {
                        complain(format!("points at a chapter that does not exist ({})", target.display()));
                        continue;
                    }
                    html.join(target.strip_prefix(src).expect("checked above")).with_extension("html")
                } else {
                    let page = built.join(&chapter.rel);
                    let from_built = lexical(&page.parent().expect("a page has a directory").join(path));
                    if !target.starts_with(repo) {
                        complain("leaves the repository".into());
                    } else if !target.exists() {
                        complain(format!("points at a file that does not exist ({})", target.display()));
                    } else if from_built != target {
                        complain(format!(
                            "leads to {} from the built page {}, not to {}",
                            from_built.display(),
                            page.with_extension("html").display(),
                            target.display()
                        ));
                    }
                    continue;
                }
            };
            if let Some(fragment) = fragment {
                match html_ids(&page) {
                    None => complain(format!(
                        "points into {}, which the build did not produce (is it in SUMMARY.md?)",
                        page.display()
                    )),
                    Some(ids) if !ids.contains(fragment) => {
                        complain(format!("names a heading #{fragment} that the page does not have"))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_in_the_book_resolves() {
    let out = tempfile::tempdir().expect("a temp dir");
    build_book(out.path());
    let src = book_dir().join("src");
    let chapters = chapters_in(&src);
    let root = common::workspace_root();
    let built = checker::book::build_dir(&checker::course::Course { root: root.clone(), exercises: Vec::new() });
    let problems = check_links(&chapters, &src, out.path(), &root, &built);
    assert!(problems.is_empty(), "broken links in the book:\n{}", problems.join("\n"));
}

/// `mdbook build book` (or `mdbook serve`, as an author might run) builds
/// where the checker does, so its repository links resolve too.
#[test]
fn book_toml_builds_where_the_checker_does() {
    let book = MDBook::load(book_dir()).unwrap_or_else(|e| panic!("loading the book: {e:#}"));
    let root = common::workspace_root();
    let checker = checker::book::build_dir(&checker::course::Course { root, exercises: Vec::new() });
    assert_eq!(lexical(&book_dir().join(&book.config.build.build_dir)), checker, "book/book.toml [build] build-dir");
}

/// `"page.md#heading"` strings in `text` (a check's source), as
/// (page, heading).
fn sections_named_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices(".md#") {
        let (Some(start), Some(len)) = (text[..at].rfind('"'), text[at..].find('"')) else { continue };
        let token = &text[start + 1..at + len];
        let plain = |c: char| c.is_ascii_alphanumeric() || "_-./#".contains(c);
        if let Some((page, heading)) = token.split_once('#')
            && token.chars().all(plain)
        {
            found.push((page.to_owned(), heading.to_owned()));
        }
    }
    found
}

/// Checks send students to `page.md#heading` sections of their chapter
/// (relative to `book/src/<slug>/`, or from `book/src/`): a renamed
/// heading would otherwise drop them silently at the top of a page.
#[test]
fn every_book_section_a_check_names_exists() {
    let out = tempfile::tempdir().expect("a temp dir");
    build_book(out.path());
    let root = common::workspace_root();
    let mut problems = Vec::new();
    let mut seen = 0;
    let mut sources = Vec::new();
    for exercise in std::fs::read_dir(root.join("exercises")).expect("reading exercises/").flatten() {
        let mut stack = vec![exercise.path().join("tests")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push((exercise.file_name().to_string_lossy().into_owned(), path));
                }
            }
        }
    }
    for (slug, path) in sources {
        let text = std::fs::read_to_string(&path).expect("reading a check");
        // "page.md#heading" literals, and book/src/page.md#heading inside prose.
        let in_prose = checker::book::references_in(&text)
            .into_iter()
            .filter_map(|r| r.split_once('#'))
            .map(|(page, heading)| (format!("book/src/{page}"), heading.to_owned()));
        for (page, heading) in sections_named_in(&text).into_iter().chain(in_prose) {
            seen += 1;
            let rel = page.strip_prefix("book/src/").map_or_else(|| format!("{slug}/{page}"), str::to_owned);
            let html = out.path().join(&rel).with_extension("html");
            match html_ids(&html) {
                None => problems.push(format!("{}: {page}#{heading}: no page book/src/{rel}", path.display())),
                Some(ids) if !ids.contains(&heading) => {
                    problems.push(format!("{}: {page}#{heading}: book/src/{rel} has no such heading", path.display()))
                }
                Some(_) => {}
            }
        }
    }
    assert!(seen > 0, "no check names a book section: is the scan still finding them?");
    assert!(problems.is_empty(), "checks name book sections that do not exist:\n{}", problems.join("\n"));
}

#[test]
fn sections_are_read_from_string_literals_only() {
    let text = r#"Drill::new("01.sql", "filtering.md#where-picks-the-rows") // see "x.md#not a section"
        let read = "book/src/queries/joins.md#a-table";"#;
    assert_eq!(
        sections_named_in(text),
        [
            ("filtering.md".to_owned(), "where-picks-the-rows".to_owned()),
            ("book/src/queries/joins.md".to_owned(), "a-table".to_owned()),
        ]
    );
}

#[test]
fn the_link_check_catches_missing_pages_headings_and_files() {
    let root = tempfile::tempdir().expect("a temp dir");
    let src = root.path().join("book/src");
    let html = root.path().join("html");
    std::fs::create_dir_all(src.join("part")).unwrap();
    std::fs::create_dir_all(html.join("part")).unwrap();
    std::fs::write(root.path().join("Cargo.toml"), "").unwrap();
    std::fs::write(src.join("part/b.md"), "# B\n").unwrap();
    std::fs::write(html.join("part/b.html"), r#"<h1 id="b">B</h1>"#).unwrap();
    std::fs::write(html.join("a.html"), r#"<h1 id="a">A</h1>"#).unwrap();
    let a = "# A\n\n[fine](part/b.md#b) [top](#a) [repo](../../Cargo.toml) [web](https://example.com/x.md)\n\n\
             [gone](part/c.md) [heading](part/b.md#nope) [self](#nope) [file](../../missing.rs) [out](../../../x)\n";
    std::fs::write(src.join("a.md"), a).unwrap();
    let chapters = chapters_in(&src);
    let problems = check_links(&chapters, &src, &html, root.path(), &root.path().join("target/book"));
    let flagged: Vec<&str> =
        problems.iter().map(|p| p.split('`').nth(1).expect("the problem quotes the link")).collect();
    assert_eq!(flagged, ["part/c.md", "part/b.md#nope", "#nope", "../../missing.rs", "../../../x"], "{problems:#?}");
    // Built one level deeper than book/src, `../../Cargo.toml` would lead
    // to target/Cargo.toml.
    let deeper = check_links(&chapters, &src, &html, root.path(), &root.path().join("target/workbook/book"));
    let moved = deeper.iter().find(|p| p.contains("`../../Cargo.toml`")).expect("the repository link is flagged");
    assert!(moved.contains(&format!("leads to {}", root.path().join("target/Cargo.toml").display())), "{moved}");
}

// ---------------------------------------------------------------------------
// Includes

/// What the `{{#include}}`s of some chapters bring in.
#[derive(Default)]
struct Includes {
    problems: Vec<String>,
    /// (chapter, included text) for every include that resolved.
    texts: Vec<(PathBuf, String)>,
}

/// Reads every `{{#include}}` of `chapters`, and what is wrong with them.
fn check_includes(chapters: &[Chapter]) -> Includes {
    let mut problems = Vec::new();
    let mut texts = Vec::new();
    for chapter in chapters {
        let here = format!("book/src/{}", chapter.rel.display());
        let dir = chapter.path.parent().expect("a chapter has a directory");
        let text = &chapter.text;
        for (start, _) in text.match_indices("{{#") {
            if text[..start].ends_with('\\') {
                continue;
            }
            let rest = &text[start + 3..];
            let Some(directive) = ["include ", "rustdoc_include "].iter().find(|d| rest.starts_with(**d)) else {
                continue;
            };
            let line = line_of(text, start);
            let Some(end) = rest.find("}}") else {
                problems.push(format!("{here}:{line}: an include with no closing }}}}"));
                continue;
            };
            let argument = rest[directive.len()..end].split_whitespace().next().unwrap_or("");
            let (file, selector) = match argument.split_once(':') {
                Some((f, s)) => (f, Some(s)),
                None => (argument, None),
            };
            let target = dir.join(file);
            let Ok(source) = std::fs::read_to_string(&target) else {
                problems.push(format!("{here}:{line}: includes {file}, which does not exist ({})", target.display()));
                continue;
            };
            let Some(anchor) = selector.filter(|s| !s.starts_with(|c: char| c.is_ascii_digit() || c == ':')) else {
                if selector.is_none() {
                    texts.push((chapter.rel.clone(), source));
                }
                continue;
            };
            let anchored = anchored_text(&source, anchor);
            match anchored {
                None => problems.push(format!(
                    "{here}:{line}: includes {file}:{anchor}, but {file} has no `ANCHOR: {anchor}` … `ANCHOR_END: {anchor}`"
                )),
                Some(t) if t.trim().is_empty() => {
                    problems.push(format!("{here}:{line}: includes {file}:{anchor}, which is empty"));
                }
                Some(t) => texts.push((chapter.rel.clone(), t)),
            }
        }
    }
    Includes { problems, texts }
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, if both exist.
fn anchored_text(source: &str, name: &str) -> Option<String> {
    let marker = |line: &str, tag: &str| {
        line.split_once(tag).is_some_and(|(_, rest)| rest.split_whitespace().next() == Some(name))
    };
    let mut lines = source.lines().skip_while(|l| !marker(l, "ANCHOR:"));
    lines.next()?;
    let mut inside = Vec::new();
    for line in lines {
        if marker(line, "ANCHOR_END:") {
            return Some(inside.join("\n"));
        }
        if !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:") {
            inside.push(line);
        }
    }
    None
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let chapters = chapters_in(&book_dir().join("src"));
    let includes: usize = chapters.iter().map(|c| c.text.matches("{{#include").count()).sum();
    assert!(includes > 0, "the book includes no listings at all");
    let problems = check_includes(&chapters).problems;
    assert!(problems.is_empty(), "broken includes in the book:\n{}", problems.join("\n"));
}

#[test]
fn the_include_check_catches_missing_files_and_anchors() {
    let root = tempfile::tempdir().expect("a temp dir");
    let src = root.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        root.path().join("l.rs"),
        "// ANCHOR: full\nfn a() {}\n// ANCHOR_END: full\n// ANCHOR: empty\n// ANCHOR_END: empty\n// ANCHOR: open\n",
    )
    .unwrap();
    let md = "{{#include ../l.rs:full}}\n{{#include ../l.rs:2:3}}\n\\{{#include ../nowhere.rs}}\n\
              {{#include ../l.rs:fulll}}\n{{#include ../l.rs:empty}}\n{{#include ../l.rs:open}}\n{{#include ../gone.rs:x}}\n";
    std::fs::write(src.join("c.md"), md).unwrap();
    let includes = check_includes(&chapters_in(&src));
    assert_eq!(includes.texts.len(), 1, "only the `full` anchor resolves to text");
    assert_eq!(includes.texts[0].1, "fn a() {}");
    let problems = includes.problems;
    let lines: Vec<&str> = problems.iter().map(|p| p.split(':').nth(1).expect("a line number")).collect();
    assert_eq!(lines, ["4", "5", "6", "7"], "{problems:#?}");
}

// ---------------------------------------------------------------------------
// The SQL runner itself

#[test]
fn code_blocks_are_read_with_their_markers() {
    let md = "# T\n\n```sql\nSELECT 1;\n```\n\n```text,output\n x\n```\n\n- item\n\n  ```sql,fails\n  SELECT nope;\n  ```\n\n\
              ```sql,ignore\nDROP DATABASE x;\n```\n\n```rust\nfn main() {}\n```\n\n```sql,fail\nSELECT 2;\n```\n";
    let (blocks, problems) = code_blocks(md);
    let kinds: Vec<Kind> = blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, [Kind::Sql, Kind::Output, Kind::SqlFails, Kind::SqlIgnored, Kind::Other, Kind::Sql]);
    assert_eq!(blocks[0].code, "SELECT 1;\n");
    assert_eq!(blocks[2].code, "SELECT nope;\n", "a list's indent is not part of the code");
    assert_eq!(blocks[2].indent, "  ");
    assert_eq!(&md[blocks[1].content.clone()], " x\n");
    assert_eq!(problems.len(), 1, "the typo `fail` is reported: {problems:?}");
}

#[test]
fn sql_blocks_run_the_text_their_includes_bring_in() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("s.sql"), "-- ANCHOR: one\nSELECT 1;\n-- ANCHOR_END: one\nSELECT 2;\n").unwrap();
    let code = "{{#include s.sql:one}}\nSELECT 3;\n{{#include s.sql}}\n";
    let expanded = expand_includes(code, dir.path()).expect("both includes resolve");
    assert_eq!(expanded, "SELECT 1;\nSELECT 3;\n-- ANCHOR: one\nSELECT 1;\n-- ANCHOR_END: one\nSELECT 2;\n");
    assert!(expand_includes("{{#include s.sql:two}}", dir.path()).unwrap_err().contains("s.sql:two"));
    assert!(expand_includes("{{#include gone.sql}}", dir.path()).unwrap_err().contains("gone.sql"));
    assert_eq!(expand_includes("SELECT 4;", dir.path()).unwrap(), "SELECT 4;");
}

#[test]
fn output_is_rendered_like_psql() {
    let table = Table {
        columns: vec![("?column?".into(), true), ("name".into(), false), ("n".into(), false), ("x".into(), true)],
        rows: vec![vec![Some("1".into()), Some("ab".into()), None, Some("12.5".into())]],
    };
    // psql 15's output for SELECT 1, 'ab' AS name, NULL::text AS n, 12.5::numeric AS x,
    // trailing spaces trimmed.
    let psql = " ?column? | name | n |  x\n----------+------+---+------\n        1 | ab   |   | 12.5\n(1 row)";
    assert_eq!(render_table(&table), psql);
    assert_eq!(render_table(&Table::default()), "(0 rows)");
}

#[test]
fn the_sql_runner_reports_failures_surprises_and_stale_output() {
    let md = "```sql\nCREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1), (2);\nSELECT id, id * 2 AS twice FROM t ORDER BY id;\n```\n\n\
              ```text,output\n id | twice\n----+-------\n  1 |     2\n  2 |     4\n(2 rows)\n```\n\n\
              ```sql,fails\nINSERT INTO t VALUES (1);\n```\n\n\
              ```text,output\nERROR:  duplicate key value violates unique constraint \"t_pkey\"\nDETAIL:  Key (id)=(1) already exists.\n```\n\n\
              ```sql\nSELECT count(*) AS n FROM t;\n```\n\n```text,output\n n\n---\n 3\n(1 row)\n```\n\n\
              ```sql,fails\nSELECT 1;\n```\n\n```sql\nSELECT * FROM missing;\n```\n\n```text,output\n(0 rows)\n```\n";
    let (blocks, _) = code_blocks(md);
    let run = with_fresh_database(&runtime(), &common::database_url(), async |conn, options| {
        run_chapter(conn, options, &blocks).await
    });
    assert_eq!(run.ran, 5);
    let at = |found: &[String]| found.iter().map(|p| p.split(':').next().unwrap().to_owned()).collect::<Vec<_>>();
    // The fails block that succeeded, and the block that failed unmarked.
    assert_eq!(at(&run.problems), ["line 35", "line 39"], "{:#?}", run.problems);
    // The count shown as 3 (really 2), and "(0 rows)" under a failure.
    assert_eq!(at(&run.stale), ["line 28", "line 43"], "{:#?}", run.stale);
    assert_eq!(run.rewrites.len(), 2);
    assert_eq!(run.rewrites[0].1, " n\n---\n 2\n(1 row)\n");
    assert!(run.rewrites[1].1.starts_with("ERROR:  relation \"missing\" does not exist"), "{:?}", run.rewrites);
}

#[test]
fn sessions_run_on_their_own_connections_and_a_waiting_block_finishes_later() {
    // (Not one block with the CREATE: statements before a BEGIN in the
    // same query string become part of its transaction.)
    let md = "```sql\nCREATE TABLE t (id int PRIMARY KEY, n int);\nINSERT INTO t VALUES (1, 0);\n```\n\n\
              ```sql,session=a\n-- session a\nBEGIN;\nUPDATE t SET n = 1 WHERE id = 1;\n```\n\n\
              ```sql,session=b\n-- session b\nSELECT n FROM t;\n```\n\n```text,output\n n\n---\n 0\n(1 row)\n```\n\n\
              ```sql,session=b,waits\n-- session b\nUPDATE t SET n = n + 10 RETURNING n;\n```\n\n```text,output\n n\n---\n 10\n(1 row)\n```\n\n\
              ```sql,session=a\n-- session a\nCOMMIT;\n```\n\n\
              ```sql,session=b\n-- session b\nSELECT n FROM t;\n```\n\n```text,output\n n\n----\n 11\n(1 row)\n```\n\n\
              ```sql,session=b,waits\n-- session b\nSELECT 1;\n```\n\n\
              ```sql,session=c\nSELECT 2;\n```\n";
    let (blocks, problems) = code_blocks(md);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(blocks[0].session, None);
    assert_eq!(blocks[1].session.as_deref(), Some("a"));
    assert!(blocks[4].waits);
    let run = with_fresh_database(&runtime(), &common::database_url(), async |conn, options| {
        run_chapter(conn, options, &blocks).await
    });
    assert_eq!(run.ran, 8);
    // Session b saw 0 before a committed; its UPDATE waited for a's lock
    // and then added 10 to a's 1, which the output shown as 10 gets wrong.
    assert_eq!(run.stale.len(), 1, "{:#?}", run.stale);
    assert!(run.stale[0].starts_with("line 29:"), "{:#?}", run.stale);
    assert_eq!(run.rewrites[0].1, " n\n----\n 11\n(1 row)\n");
    // A waits block that did not wait, and a session block whose first
    // line does not name its session.
    let at = |found: &[String]| found.iter().map(|p| p.split(':').next().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(at(&run.problems), ["line 53", "line 58"], "{:#?}", run.problems);
    assert!(run.problems[0].contains("finished without waiting"), "{:#?}", run.problems);

    let (_, problems) = code_blocks("```sql,waits\nSELECT 1;\n```\n\n```sql,session=\nSELECT 1;\n```\n");
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn process_ids_and_transaction_numbers_in_errors_are_named() {
    let detail = "ERROR:  deadlock detected\nDETAIL:  Process 4711 waits for ShareLock on transaction 1002; blocked by process 4712.\n\
                  Process 4712 waits for ShareLock on transaction 1001; blocked by process 4711.\nHINT:  See server log for query details.";
    let pids = [(4711, "a".to_owned()), (4712, "b".to_owned())];
    assert_eq!(
        shown(&Outcome::Failed(detail.to_owned()), &pids),
        "ERROR:  deadlock detected\nDETAIL:  Process <session a> waits for ShareLock on transaction <xid>; blocked by process <session b>.\n\
         Process <session b> waits for ShareLock on transaction <xid>; blocked by process <session a>.\nHINT:  See server log for query details."
    );
    // Numbers that are neither stay as they are.
    let key = "ERROR:  duplicate key value\nDETAIL:  Key (id)=(4711) already exists.";
    assert_eq!(shown(&Outcome::Failed(key.to_owned()), &pids), key);
}

// ---------------------------------------------------------------------------
// The sample run in running.md

/// running.md shows what a run of `connect` prints. The layout is the
/// terminal reporter's; the words must be the exercise's own, so a renamed
/// check, a reworded hint or a moved `todo!()` fails here until the sample
/// is updated.
#[test]
fn the_sample_run_in_running_md_uses_the_connect_exercise_s_own_words() {
    let root = common::workspace_root();
    let page = std::fs::read_to_string(book_dir().join("src/running.md")).expect("reading running.md");
    let checks = std::fs::read_to_string(root.join("exercises/connect/tests/checks.rs")).expect("reading the checks");
    let mut problems = Vec::new();
    let mut seen = 0;
    let (blocks, _) = code_blocks(&page);
    for block in blocks.iter().filter(|b| b.kind == Kind::Other && b.code.starts_with("connect (")) {
        for line in block.code.lines().map(str::trim) {
            seen += 1;
            if let Some(name) = line.strip_prefix("✓ ").or_else(|| line.strip_prefix("✗ ")) {
                let function = format!("fn {}()", name.replace(' ', "_"));
                if !checks.contains(&function) {
                    problems.push(format!("no check named {name:?} ({function}) in exercises/connect/tests/checks.rs"));
                }
            } else if let Some(text) = line.strip_prefix("hint  ").or_else(|| line.strip_prefix("expected  ")) {
                if !checks.contains(&format!("\"{}\"", text.trim())) {
                    problems.push(format!("checks.rs has no message {:?}", text.trim()));
                }
            } else if let Some(todo) = line.strip_prefix("todo      ") {
                // file:line:column: message
                let mut parts = todo.splitn(4, ':');
                let (file, number, message) = (parts.next(), parts.next(), parts.nth(1));
                let (Some(file), Some(number), Some(message)) = (file, number, message) else {
                    problems.push(format!("cannot read the todo line {line:?}"));
                    continue;
                };
                let source = std::fs::read_to_string(root.join(file)).unwrap_or_default();
                let at = number.parse::<usize>().ok().and_then(|n| source.lines().nth(n.wrapping_sub(1)));
                if !at.is_some_and(|l| l.contains(&format!("todo!(\"{}\")", message.trim()))) {
                    problems.push(format!("{file}:{number} is not todo!({:?})", message.trim()));
                }
            }
        }
    }
    assert!(seen > 0, "running.md shows no sample run of connect");
    assert!(problems.is_empty(), "running.md's sample run is out of date:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// HTTP sessions: ```console,curl blocks against an exercise's solution

/// The address commands in the book are written against.
const BOOK_ADDRESS: &str = "127.0.0.1:3000";

/// One `$ curl ...` line of a session block.
#[derive(Debug, Clone, PartialEq)]
struct CurlCommand {
    /// As shown, without the `$ `.
    shown: String,
    args: Vec<String>,
}

/// The commands of a session block, or what is wrong with one.
fn curl_commands(code: &str) -> Result<Vec<CurlCommand>, String> {
    let mut out = Vec::new();
    for line in code.lines().filter_map(|l| l.strip_prefix("$ ")) {
        let args = shell_words(line)?;
        if args.first().map(String::as_str) != Some("curl") {
            return Err(format!("`{line}`: a session runs curl and nothing else"));
        }
        out.push(CurlCommand { shown: line.to_owned(), args: args[1..].to_vec() });
    }
    if out.is_empty() {
        return Err("a ```console,curl block with no `$ curl` line".into());
    }
    Ok(out)
}

/// Splits a command line as a POSIX shell would for the quoting the book
/// uses: words, 'single quotes', "double quotes" (with \" and \\).
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("`{line}`: a quote is not closed")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(format!("`{line}`: a quote is not closed")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("`{line}`: a quote is not closed")),
                    }
                }
            }
            '|' | ';' | '&' | '>' | '<' | '$' | '`' => {
                return Err(format!("`{line}`: `{c}` would need a shell; sessions run curl alone"));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// What changes from run to run, masked: RFC 3339 timestamps, and the
/// values of the `date` and `content-length` headers.
fn mask_variable(text: &str) -> String {
    let masked: Vec<String> = text
        .lines()
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("date:") {
                "date: <date>".to_owned()
            } else if lower.starts_with("content-length:") {
                "content-length: <n>".to_owned()
            } else {
                mask_timestamps(line)
            }
        })
        .collect();
    masked.join("\n")
}

fn mask_timestamps(line: &str) -> String {
    let bytes = line.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        // 2025-01-31T09:30:00
        let stamp = (0..4).all(|k| digit(i + k))
            && at(i + 4, b'-')
            && digit(i + 5)
            && digit(i + 6)
            && at(i + 7, b'-')
            && digit(i + 8)
            && digit(i + 9)
            && at(i + 10, b'T')
            && digit(i + 11)
            && digit(i + 12)
            && at(i + 13, b':')
            && digit(i + 14)
            && digit(i + 15)
            && at(i + 16, b':')
            && digit(i + 17)
            && digit(i + 18);
        if !stamp {
            let c = line[i..].chars().next().expect("a char at a boundary");
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let mut j = i + 19;
        if at(j, b'.') {
            j += 1;
            while digit(j) {
                j += 1;
            }
        }
        if at(j, b'Z') {
            j += 1;
        } else if (at(j, b'+') || at(j, b'-')) && digit(j + 1) && digit(j + 2) && at(j + 3, b':') {
            j += 6;
        }
        out.push_str("<time>");
        i = j;
    }
    out
}

/// The solution of `slug`, served on a fresh database: its migrations and
/// seeds applied, its `examples/serve.rs` run by cargo in an overlay of the
/// course. Dropping it stops the server and drops the database.
struct SolutionServer {
    child: std::process::Child,
    address: String,
    database: String,
    server_url: String,
    overlay: PathBuf,
}

impl SolutionServer {
    fn start(runtime: &tokio::runtime::Runtime, slug: &str) -> SolutionServer {
        let root = common::workspace_root();
        let course = checker::course::Course::load(&root).unwrap_or_else(|e| panic!("reading the course: {e}"));
        let ex = course.find(slug).unwrap_or_else(|e| panic!("book/src/{slug}/ names no exercise: {e}")).clone();
        let server_url = common::database_url();
        let database = format!("wbchk_{}_book_{slug}_{:08x}", std::process::id(), fastrand::u32(..));
        let options = PgConnectOptions::from_str(&server_url).expect("the test server's URL parses");
        let url = runtime.block_on(async {
            let mut admin = PgConnection::connect_with(&options).await.expect("connecting to the test server");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{database}""#)))
                .execute(&mut admin)
                .await
                .expect("creating the session's database");
            let _ = admin.close().await;
            workbook::url_for_database(&server_url, &database)
        });
        let exercise_dir = course.exercise_dir(&ex);
        let solution = course.solution_dir(&ex);
        let from = |sub: &str| if solution.join(sub).is_dir() { solution.join(sub) } else { exercise_dir.join(sub) };
        runtime
            .block_on(checker::seed::fresh(&url, &from("migrations"), &from("seeds")))
            .unwrap_or_else(|e| panic!("migrating and seeding the session's database: {e}"));
        let name = format!("book-{slug}-{}", std::process::id());
        let overlay = checker::runner::overlay::create(&course, &name, &[&ex], |_| Some(solution.clone()))
            .unwrap_or_else(|e| panic!("laying the solution of {slug} over an overlay: {e:#}"));
        let mut child = std::process::Command::new(checker::runner::cargo_path())
            .current_dir(&overlay.root)
            .args(["run", "--quiet", "--package", slug, "--example", &format!("serve-{slug}")])
            .env("CARGO_TARGET_DIR", course.target_dir())
            .env("DATABASE_URL", &url)
            .env("PORT", "0")
            .env_remove("RUSTFLAGS")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("running cargo");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("the server's stdout"));
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first).expect("the server's first line");
        // Keep reading what else it prints: a closed pipe would make its
        // next println! panic and the server stop.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the {slug} server did not say where it listens; it printed {first:?}"))
            .to_owned();
        SolutionServer { child, address, database, server_url, overlay: overlay.root }
    }
}

impl Drop for SolutionServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.overlay);
        let (server_url, database) = (self.server_url.clone(), self.database.clone());
        runtime().block_on(async move {
            if let Ok(mut admin) = PgConnection::connect_with(&PgConnectOptions::from_str(&server_url).unwrap()).await {
                let _ =
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#)))
                        .execute(&mut admin)
                        .await;
                let _ = admin.close().await;
            }
        });
    }
}

/// Runs one command against `address`; its output as curl printed it,
/// lines ending in `\n`.
fn run_curl(command: &CurlCommand, address: &str) -> Result<String, String> {
    let args: Vec<String> = command.args.iter().map(|a| a.replace(BOOK_ADDRESS, address)).collect();
    let out = std::process::Command::new("curl")
        .args(&args)
        .output()
        .map_err(|e| format!("could not run curl ({e}): the book's HTTP sessions need curl on PATH"))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            command.shown,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A session block as it should read: each command, then its output.
fn session_text(commands: &[CurlCommand], outputs: &[String]) -> String {
    let mut text = String::new();
    for (command, output) in commands.iter().zip(outputs) {
        text.push_str(&format!("$ {}\n", command.shown));
        for line in output.lines() {
            text.push_str(line.trim_end());
            text.push('\n');
        }
    }
    text
}

#[test]
fn every_http_session_in_the_book_runs_as_shown() {
    let runtime = runtime();
    let mut problems = Vec::new();
    let mut ran = 0;
    for chapter in chapters_in(&book_dir().join("src")) {
        let (blocks, _) = code_blocks(&chapter.text);
        let sessions: Vec<&Block> = blocks.iter().filter(|b| b.kind == Kind::Curl).collect();
        if sessions.is_empty() {
            continue;
        }
        let here = format!("book/src/{}", chapter.rel.display());
        let slug = chapter.rel.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or("").to_owned();
        let server = SolutionServer::start(&runtime, &slug);
        let mut rewrites = Vec::new();
        for block in sessions {
            let commands = match curl_commands(&block.code) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{here}: line {}: {e}", block.line));
                    continue;
                }
            };
            let mut outputs = Vec::new();
            for command in &commands {
                match run_curl(command, &server.address) {
                    Ok(out) => outputs.push(out),
                    Err(e) => problems.push(format!("{here}: line {}: {e}", block.line)),
                }
                ran += 1;
            }
            if outputs.len() != commands.len() {
                continue;
            }
            let want = session_text(&commands, &outputs);
            if mask_variable(&normalise(&block.code)) != mask_variable(&normalise(&want)) {
                problems.push(format!(
                    "{here}: line {}: the session shown is not what the solution answers (WORKBOOK_BLESS=1 rewrites it)\n\
                     --- shown\n{}\n--- answered\n{}",
                    block.line,
                    normalise(&block.code),
                    normalise(&want)
                ));
                let text: String = want.lines().map(|l| format!("{}{l}\n", block.indent)).collect();
                rewrites.push((block.content.clone(), text));
            }
        }
        drop(server);
        if bless() && !rewrites.is_empty() {
            eprintln!("blessed {} session(s) in {here}", rewrites.len());
            rewrite(&chapter.path, &chapter.text, rewrites);
            problems.retain(|p| !p.starts_with(&format!("{here}:")) || !p.contains("is not what the solution answers"));
        }
    }
    assert!(ran > 0, "no ```console,curl session ran: the book has none, or the reader found none");
    assert!(problems.is_empty(), "HTTP sessions in the book do not run as shown:\n\n{}", problems.join("\n\n"));
}

#[test]
fn sessions_are_read_quoted_and_masked_like_a_shell_would_show_them() {
    let block = "$ curl -i -X POST http://127.0.0.1:3000/s -H 'content-type: application/json' -d '{\"a\": \"b c\"}'\n\
                 HTTP/1.1 201 Created\n\n$ curl -s \"http://127.0.0.1:3000/s?x=1&y=2\"\n{}\n";
    let commands = curl_commands(block).unwrap();
    assert_eq!(commands.len(), 2);
    assert_eq!(
        commands[0].args,
        [
            "-i",
            "-X",
            "POST",
            "http://127.0.0.1:3000/s",
            "-H",
            "content-type: application/json",
            "-d",
            "{\"a\": \"b c\"}"
        ]
    );
    assert_eq!(commands[1].args, ["-s", "http://127.0.0.1:3000/s?x=1&y=2"]);
    assert!(curl_commands("$ curl x | grep y\n").is_err(), "a pipe needs a shell");
    assert!(curl_commands("$ rm -rf x\n").is_err(), "only curl");
    assert!(curl_commands("$ curl 'open\n").is_err());
    let shown =
        "date: Tue, 01 Dec 2026 10:30:19 GMT\ncontent-length: 150\n{\"at\":\"2026-12-01T10:30:19.123456Z\",\"n\":1}";
    let later = "date: Wed, 02 Dec 2026 11:00:00 GMT\ncontent-length: 147\n{\"at\":\"2026-12-02T11:00:00Z\",\"n\":1}";
    assert_eq!(mask_variable(shown), mask_variable(later));
    assert_ne!(mask_variable(shown), mask_variable(&later.replace("\"n\":1", "\"n\":2")), "only what varies is masked");
    assert_eq!(mask_timestamps("x 2025-01-31T09:30:00+02:00 y"), "x <time> y");
}

// ---------------------------------------------------------------------------
// Sections named in info.toml

/// The heading ids the checker computes from a page's Markdown (for `dev
/// check`, without building) are the ids mdBook really gives them.
#[test]
fn the_checker_s_heading_ids_are_the_built_book_s() {
    let out = tempfile::tempdir().expect("a temp dir");
    build_book(out.path());
    let src = book_dir().join("src");
    let mut problems = Vec::new();
    let mut headings = 0;
    for chapter in chapters_in(&src).iter().filter(|c| c.rel != Path::new("SUMMARY.md")) {
        let html = std::fs::read_to_string(out.path().join(&chapter.rel).with_extension("html")).unwrap_or_default();
        // mdBook renders each heading as `<hN id="…"><a class="header" href="#…">`.
        let built: Vec<String> = html
            .split("<a class=\"header\" href=\"#")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect();
        let computed = checker::book::anchors::heading_ids(&chapter.text);
        headings += computed.len();
        if computed != built {
            problems
                .push(format!("book/src/{}:\n  computed {computed:?}\n  built    {built:?}", chapter.rel.display()));
        }
    }
    assert!(headings > 100, "only {headings} headings found: is the scan still reading the pages?");
    assert!(problems.is_empty(), "heading ids differ from mdBook's:\n{}", problems.join("\n"));
}

/// Every section info.toml names (per check, and in hints) is a heading
/// of the built book.
#[test]
fn every_section_info_toml_names_is_a_heading_of_the_built_book() {
    let out = tempfile::tempdir().expect("a temp dir");
    build_book(out.path());
    let course = checker::course::Course::load(&common::workspace_root()).expect("reading info.toml");
    let mut problems = Vec::new();
    let mut seen = 0;
    for ex in &course.exercises {
        let hinted = ex.hints.iter().flat_map(|h| checker::book::references_in(h));
        for section in ex.sections.values().map(String::as_str).chain(hinted) {
            seen += 1;
            let (page, anchor) = checker::book::split(section);
            let html = out.path().join(page).with_extension("html");
            match (html_ids(&html), anchor) {
                (None, _) => problems.push(format!("{}: {section}: no page", ex.slug)),
                (Some(ids), Some(a)) if !ids.contains(a) => {
                    problems.push(format!("{}: {section}: no such heading", ex.slug))
                }
                _ => {}
            }
        }
    }
    assert!(seen > 150, "only {seen} sections found in info.toml");
    assert!(problems.is_empty(), "info.toml names sections the book does not have:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// The book server

/// Sends `GET path` exactly as written (an HTTP client would resolve `..`
/// before sending) and returns the answer's status and body.
fn raw_get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(address).expect("connecting to the book server");
    write!(conn, "GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).expect("reading the answer");
    let status = reply.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, reply.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

/// `checker book --serve` answers the book's links into the repository
/// with the exercise's file, and nothing else of the course: not its
/// secrets (`.env`), its build output and database (`target/`), its git
/// history, however the path is spelt.
#[test]
fn the_book_server_serves_exercise_files_and_nothing_else_of_the_course() {
    let course = tempfile::tempdir().expect("a temp dir");
    let root = course.path();
    let secret = "postgres://student:hunter2@db/secret";
    for (file, text) in [
        ("target/book/index.html", "<html><body>the book</body></html>"),
        ("exercises/ex/src/lib.rs", "pub fn marker() {}\n"),
        ("compose.yml", "services: {}\n"),
        (".env", secret),
        ("exercises/ex/.env", secret),
        ("target/workbook/pg/postgresql.conf", secret),
        (".git/config", secret),
        (".workbook/progress.toml", secret),
        ("solutions/ex/src/lib.rs", secret),
        ("Cargo.toml", secret),
    ] {
        std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        std::fs::write(root.join(file), text).unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    let course = checker::course::Course { root: root.to_path_buf(), exercises: Vec::new() };
    let server = rt
        .block_on(checker::book::serve::BookServer::start(checker::book::build_dir(&course), root.to_path_buf(), 0))
        .expect("serving the book on 127.0.0.1");
    let at = server.address;

    assert!(raw_get(at, "/index.html").1.contains("the book"), "the book itself is served");
    for (path, text) in [("/exercises/ex/src/lib.rs", "pub fn marker() {}\n"), ("/compose.yml", "services: {}\n")] {
        let (status, body) = raw_get(at, path);
        assert_eq!((status, body.as_str()), (200, text), "{path}");
    }
    let (status, listing) = raw_get(at, "/exercises/ex/");
    assert!(status == 200 && listing.contains("href=\"/exercises/ex/src/\""), "{status}: {listing}");
    assert!(!listing.contains(".env"), "a listing shows no hidden file: {listing}");

    for path in [
        "/.env",
        "/../../.env",
        "/%2e%2e/%2e%2e/.env",
        "/exercises/../.env",
        "/exercises/%2e%2e/.env",
        "/exercises/ex/..%2f..%2f.env",
        "/exercises/ex/.env",
        "/target/workbook/pg/postgresql.conf",
        "/../workbook/pg/postgresql.conf",
        "/.git/config",
        "/.workbook/progress.toml",
        "/solutions/ex/src/lib.rs",
        "/Cargo.toml",
    ] {
        let (status, body) = raw_get(at, path);
        assert!(status == 404 || status == 403 || status == 400, "{path} answered {status}: {body}");
        assert!(!body.contains("hunter2"), "{path} gave away the secret: {body}");
    }
    drop(server);
}

// ---------------------------------------------------------------------------
// The built book in a real browser

/// The page the browser runs: it opens every page of the book in a frame
/// (errors its scripts log reach Chromium's log), lists resources that did
/// not load, follows every link on the server to a page that exists and a
/// heading that is on it, and writes what it found into its own DOM, with
/// what the links into the repository answered (the test holds those to
/// the files on disk).
const BROWSER_DRIVER: &str = r#"<!DOCTYPE html><html><body><pre id="out">running</pre><script>
(async () => {
  const pages = __PAGES__;
  // The repository's top-level entries: a link there leaves the book for
  // a file of the course (../../../exercises/...).
  const repo = __REPO__;
  const problems = [];
  const links = [];
  const repository = [];
  let resources = 0;
  const frame = (src) => new Promise((done) => {
    const f = document.createElement("iframe");
    f.onload = () => done(f);
    f.src = src;
    document.body.appendChild(f);
  });
  for (const page of pages) {
    const f = await frame(page);
    const w = f.contentWindow;
    for (const r of w.performance.getEntriesByType("resource")) {
      resources += 1;
      if (r.responseStatus >= 400) problems.push(page + ": " + r.name + " answered " + r.responseStatus);
    }
    for (const a of w.document.querySelectorAll("a[href]")) {
      const url = new URL(a.getAttribute("href"), w.location.href);
      if (url.origin === location.origin) links.push([page, url]);
    }
    f.remove();
  }
  const docs = new Map();
  for (const [page, url] of links) {
    if (!docs.has(url.pathname)) {
      const answer = await fetch(url.pathname);
      const type = answer.headers.get("content-type") || "";
      const text = answer.ok ? await answer.text() : null;
      const html = text !== null && type.startsWith("text/html");
      docs.set(url.pathname, { ok: answer.ok, doc: html ? new DOMParser().parseFromString(text, "text/html") : null });
      if (repo.includes(url.pathname.split("/")[1])) {
        repository.push({ path: url.pathname, status: answer.status, type, body: text });
      }
    }
    const target = docs.get(url.pathname);
    if (!target.ok) { problems.push(page + ": link to " + url.pathname + " does not resolve"); continue; }
    const id = decodeURIComponent(url.hash.slice(1));
    if (id && target.doc && !target.doc.getElementById(id)) problems.push(page + ": link to " + url.pathname + url.hash + ": no such heading");
  }
  document.getElementById("out").textContent = JSON.stringify({ pages: pages.length, links: links.length, resources, problems, repository });
})();
</script></body></html>"#;

/// Runs headless Chromium on `url`, returning the page's DOM after its
/// scripts ran and Chromium's log (console messages included).
fn chromium(url: &str) -> (String, String) {
    let program = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|p| which::which(p).is_ok())
        .expect("headless Chromium is needed for the browser test: `apt-get install chromium` (.ci/run does)");
    let out = std::process::Command::new(program)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .args(["--virtual-time-budget=60000", "--dump-dom", url])
        .output()
        .expect("running chromium");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Console messages a page of the book logged (mdBook's pages log none
/// when all is well: any is an error or a warning to look at).
fn console_messages(log: &str, origin: &str) -> Vec<String> {
    log.lines().filter(|l| l.contains(":CONSOLE") && l.contains(origin)).map(str::to_owned).collect()
}

/// What is wrong with what the served book answered for its links into
/// the repository (`{path, status, type, body}` from the driver): a file
/// must come back as itself, in plain text; a directory as a list that
/// names what is in it.
fn repository_answers_problems(answers: &[serde_json::Value], root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for answer in answers {
        let path = answer["path"].as_str().unwrap_or("?");
        let (status, kind) = (&answer["status"], answer["type"].as_str().unwrap_or(""));
        let body = answer["body"].as_str().unwrap_or("");
        let on_disk = root.join(path.trim_start_matches('/'));
        if status != 200 {
            problems.push(format!("{path} answered {status} ({})", on_disk.display()));
        } else if on_disk.is_dir() {
            let missing: Vec<String> = std::fs::read_dir(&on_disk)
                .expect("reading a linked directory")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.') && !body.contains(&format!(">{name}")))
                .collect();
            if !missing.is_empty() {
                problems.push(format!("{path}: the listing lacks {missing:?}"));
            }
        } else if !kind.starts_with("text/plain") {
            problems.push(format!("{path} came as {kind:?}, not text/plain"));
        } else if std::fs::read_to_string(&on_disk).ok().as_deref() != Some(body) {
            problems.push(format!("{path} is not the text of {}", on_disk.display()));
        }
    }
    problems
}

#[test]
fn the_built_book_works_in_a_real_browser() {
    let out = tempfile::tempdir().expect("a temp dir");
    let book = build_book(out.path());
    let mut pages = vec!["index.html".to_owned(), "print.html".to_owned()];
    for item in book.iter() {
        if let BookItem::Chapter(chapter) = item
            && let Some(path) = &chapter.path
        {
            pages.push(path.with_extension("html").to_string_lossy().replace('\\', "/"));
        }
    }
    let list = serde_json::to_string(&pages).expect("pages as JSON");
    let repo: Vec<String> = std::fs::read_dir(common::workspace_root())
        .expect("reading the repository root")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !out.path().join(name).exists())
        .collect();
    let repo = serde_json::to_string(&repo).expect("names as JSON");
    let driver = BROWSER_DRIVER.replace("__PAGES__", &list).replace("__REPO__", &repo);
    std::fs::write(out.path().join("__browser_test.html"), driver).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
    let server = rt
        .block_on(checker::book::serve::BookServer::start(out.path().to_path_buf(), common::workspace_root(), 0))
        .expect("serving the book on 127.0.0.1");
    let origin = server.url();

    let (dom, log) = chromium(&format!("{origin}__browser_test.html"));
    let report = dom
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the driver page's report")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let report: serde_json::Value =
        serde_json::from_str(&report).unwrap_or_else(|e| panic!("the driver did not finish ({e}): {report}"));
    assert_eq!(report["pages"], pages.len(), "{report}");
    assert!(report["links"].as_u64().unwrap_or(0) > 200, "too few links followed: {report}");
    assert!(report["resources"].as_u64().unwrap_or(0) > pages.len() as u64, "no resources seen: {report}");
    let problems: Vec<&str> =
        report["problems"].as_array().expect("problems").iter().filter_map(|p| p.as_str()).collect();
    assert!(problems.is_empty(), "the book in a browser:\n{}", problems.join("\n"));
    let repository = report["repository"].as_array().expect("repository links");
    let wrong = repository_answers_problems(repository, &common::workspace_root());
    assert!(repository.len() >= 30, "too few repository links followed ({}): {report}", repository.len());
    assert!(wrong.is_empty(), "links from the served book into the repository:\n{}", wrong.join("\n"));
    let console = console_messages(&log, &origin);
    assert!(console.is_empty(), "pages of the book logged to the console:\n{}", console.join("\n"));

    // Search, with the query in the URL as mdBook allows: a term only a
    // late chapter (connection pools, module 12) uses.
    let (dom, log) = chromium(&format!("{origin}index.html?search=pgbouncer"));
    let header = dom.split("searchresults-header\">").nth(1).and_then(|r| r.split('<').next()).unwrap_or("");
    assert!(header.contains("search results for 'pgbouncer'") && !header.starts_with("No "), "search said {header:?}");
    let results = dom.split("searchresults-header\">").nth(1).unwrap_or("");
    assert!(
        results.contains("href=\"pooling/index.html?highlight=pgbouncer#"),
        "no result in the pooling chapter: {header}"
    );
    let console = console_messages(&log, &origin);
    assert!(console.is_empty(), "searching logged to the console:\n{}", console.join("\n"));
    drop(server);
}
