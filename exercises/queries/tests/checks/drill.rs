//! Running one drill: the university loaded into the check's database, the
//! student's SQL file run with its parameters, the rows compared with the
//! ones computed here from the generated data.
//!
//! The expected rows never come from SQL: they are worked out in Rust from
//! the dataset, so no query in these checks gives an answer away. Known
//! wrong answers ("traps") are worked out the same way, so a result that
//! matches one gets the hint that explains that very mistake.

use std::sync::OnceLock;

use sqlx::pool::PoolConnection;
use sqlx::{Postgres, postgres::PgDatabaseError};
use workbook::rows::{self, Order, Param, Table};
use workbook::{Db, Failure};

use crate::dataset::Dataset;

/// This run's university: generated on first use, shared by every check.
///
/// A draw is kept only if every wrong answer every drill models differs
/// from that drill's right answer on it, so each mistake fails every run.
pub fn dataset() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        Dataset::generate(workbook::data::seed(), |d| crate::drills(d).iter().all(|drill| drill.dropped.is_empty()))
    })
}

fn migration(name: &str) -> String {
    let path = workbook::exercise::path("migrations").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        Failure::new(format!("reading {}", shown(&path)))
            .got(e.to_string())
            .hint("This file is part of the exercise: restore it with `git checkout` on that path.")
            .fail()
    })
}

/// The SQL that turns an empty database into this run's university: the
/// given migration, then the rows, then the session settings the drills
/// are asked under. One batch, so loading costs one round trip.
fn load_script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        format!(
            "SET TimeZone TO 'UTC';\nSET DateStyle TO 'ISO, YMD';\n{}\n{}\nSET statement_timeout TO '5s';\n",
            migration(SCHEMA),
            dataset().inserts()
        )
    })
}

/// The given migration that creates the university's tables.
pub const SCHEMA: &str = "0001_university.up.sql";

/// A connection to the check's database, holding the university, in UTC.
pub async fn university(db: &Db) -> PoolConnection<Postgres> {
    let mut conn = db.pool().acquire().await.unwrap_or_else(|e| database_error("connecting", &e));
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(load_script())).execute(&mut *conn).await {
        database_error("loading the university (the given migration, then its rows)", &e);
    }
    conn
}

pub fn database_error(doing: &str, e: &sqlx::Error) -> ! {
    Failure::new(doing).got(e.to_string()).hint("This is the check's own work failing: run the checks again.").fail()
}

/// A path as the student sees it: relative to the exercise.
pub fn shown(path: &std::path::Path) -> String {
    let root = workbook::exercise::dir();
    path.strip_prefix(&root).unwrap_or(path).display().to_string()
}

/// The file of a drill, and its text.
pub fn drill_sql(file: &str) -> (String, String) {
    let path = workbook::exercise::path("drills").join(file);
    let shown = shown(&path);
    match std::fs::read_to_string(&path) {
        Ok(text) => (shown, text),
        Err(e) => Failure::new(format!("reading {shown}"))
            .expected("the drill's file, holding your query")
            .got(e.to_string())
            .hint("Each drill is one file in drills/; `cargo checker reset queries` puts the starters back.")
            .fail(),
    }
}

/// One drill: a question, asked with some parameters, and its answer.
pub struct Drill {
    file: &'static str,
    section: &'static str,
    params: Vec<(Param, String)>,
    expected: Table,
    order: Order,
    hint: String,
    traps: Vec<(Table, String)>,
    /// Traps that this data does not tell apart from the answer.
    pub dropped: Vec<String>,
    /// With [`Order::Any`]: a column whose values must not increase down
    /// the rows (ties may come in any order).
    descending: Option<usize>,
}

impl Drill {
    /// The drill in `drills/<file>`, taught in `book/src/queries/<section>`.
    pub fn new(file: &'static str, section: &'static str, expected: Table, order: Order) -> Drill {
        Drill {
            file,
            section,
            params: Vec::new(),
            expected,
            order,
            hint: String::new(),
            traps: Vec::new(),
            dropped: Vec::new(),
            descending: None,
        }
    }

    /// Rows may come in any order as long as `column` never increases.
    pub fn descending_on(mut self, column: usize) -> Drill {
        self.descending = Some(column);
        self
    }

    /// The next `$n`, and what it stands for in the question.
    pub fn param(mut self, param: Param, means: impl Into<String>) -> Drill {
        self.params.push((param, means.into()));
        self
    }

    /// What to say when the rows are wrong in a way no trap recognises.
    pub fn hint(mut self, hint: impl Into<String>) -> Drill {
        self.hint = hint.into();
        self
    }

    /// A wrong answer a plausible mistake gives (same columns as the
    /// answer), and what to say to whoever returns exactly it.
    pub fn trap(mut self, rows: Vec<rows::Row>, why: impl Into<String>) -> Drill {
        let wrong = Table { columns: self.expected.columns.clone(), rows };
        if rows::matches(&self.expected, &wrong, self.order) {
            self.dropped.push(why.into());
        } else {
            self.traps.push((wrong, why.into()));
        }
        self
    }

    fn called(&self, path: &str) -> String {
        if self.params.is_empty() {
            return path.to_owned();
        }
        let values: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(k, (p, means))| format!("${} = {} ({means})", k + 1, p.shown()))
            .collect();
        format!("{path} with {}", values.join(", "))
    }

    fn read(&self) -> String {
        format!("book/src/queries/{}", self.section)
    }

    /// Loads the university, runs the student's SQL, and fails the check
    /// unless it returns exactly the expected rows.
    pub async fn run(self, db: &Db) {
        let (path, sql) = drill_sql(self.file);
        let mut conn = university(db).await;
        let params: Vec<Param> = self.params.iter().map(|(p, _)| p.clone()).collect();
        let called = self.called(&path);
        let got = match rows::run(&mut conn, &sql, &params).await {
            Ok(t) => t,
            Err(e) => sql_failure(&called, &path, &sql, &e, &self.read()),
        };
        if got.columns == ["todo"] {
            Failure::new(&called)
                .expected(format!("your query, returning {}", self.expected.columns.join(", ")))
                .got("the starter's placeholder (SELECT ... AS todo)")
                .hint(format!(
                    "Replace the placeholder under the question in {path} with one SELECT that answers it. {} \
                     teaches what it needs.",
                    self.read()
                ))
                .fail();
        }
        if rows::matches(&self.expected, &got, self.order) {
            let Some(col) = self.descending else { return };
            let value = |r: &rows::Row| r.get(col).cloned().flatten().and_then(|v| v.parse::<f64>().ok());
            let sorted = got.rows.windows(2).all(|w| value(&w[0]) >= value(&w[1]));
            if sorted {
                return;
            }
            let name = &self.expected.columns[col];
            Failure::new(called)
                .expected(format!("{}, the highest {name} first", self.expected.summary()))
                .got(format!(
                    "the right rows, not in that order:\n{}",
                    rows::side_by_side(&self.expected, &got, Order::Exact)
                ))
                .hint(format!("End the query with ORDER BY {name} DESC. (Read {}.)", self.read()))
                .fail();
        }
        let order = match self.order {
            Order::Exact => "in the order the question asks",
            Order::Any => "in any order",
        };
        let hint = self.diagnose(&got);
        Failure::new(called)
            .expected(format!("{}, {order}", self.expected.summary()))
            .got(format!(
                "{}; ✗ marks what differs:\n{}",
                got.summary(),
                rows::side_by_side(&self.expected, &got, self.order)
            ))
            .hint(format!(
                "{hint} (Read {}. The data changes every run; WORKBOOK_SEED={} replays this one.)",
                self.read(),
                dataset().seed
            ))
            .fail();
    }

    fn diagnose(&self, got: &Table) -> String {
        if got.columns != self.expected.columns {
            let renamed = Table { columns: self.expected.columns.clone(), rows: got.rows.clone() };
            let same_rows = rows::matches(&self.expected, &renamed, self.order);
            let columns = format!(
                "The question asks for the columns {}, in that order; yours are {}. Name a column with AS \
                 (count(*) AS students).",
                self.expected.columns.join(", "),
                if got.columns.is_empty() { "none".to_owned() } else { got.columns.join(", ") }
            );
            return if same_rows { format!("The rows are right. {columns}") } else { columns };
        }
        if let Some((_, why)) = self.traps.iter().find(|(wrong, _)| rows::matches(wrong, got, self.order)) {
            return why.clone();
        }
        if self.order == Order::Exact && rows::matches(&self.expected, got, Order::Any) {
            return format!(
                "The rows are right, in the wrong order. Sort with ORDER BY on every column the question \
                 names, in its order; a tie on the first is settled by the next. {}",
                self.hint
            );
        }
        self.hint.clone()
    }
}

/// PostgreSQL refused or stopped the student's SQL.
pub fn sql_failure(called: &str, path: &str, sql: &str, e: &sqlx::Error, read: &str) -> ! {
    let error = workbook::migrations::sql_error(e, sql);
    let mut got = path.to_owned();
    if let Some(p) = &error.position {
        got.push_str(&format!(":{}:{}", p.line, p.column));
    }
    got.push_str(&format!(": {}", error.message));
    if let Some(p) = &error.position {
        let pad: String =
            p.text.chars().take(p.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        got.push_str(&format!("\n  {}\n  {pad}^", p.text));
    }
    if let Some(d) = &error.detail {
        got.push_str(&format!("\nDETAIL: {d}"));
    }
    let code = e.as_database_error().and_then(|d| d.try_downcast_ref::<PgDatabaseError>()).map(|d| d.code().to_owned());
    let hint = match code.as_deref() {
        Some("42601") if error.message.contains("multiple commands") => {
            "A drill is one statement: keep the one SELECT, and nothing after its semicolon.".to_owned()
        }
        Some("42601") => "A syntax error: PostgreSQL stopped at the place marked. Look just before it too.".to_owned(),
        Some("42703") | Some("42P01") => {
            format!("No such column or table. The tables and their columns are in migrations/{SCHEMA} and in {read}.")
        }
        Some("42P02") => "Only the parameters the question names exist: $1, and $2 if it has one.".to_owned(),
        Some("57014") => "Your query ran for over 5 seconds and was stopped. A join without its ON condition pairs \
                          every row with every other: check each JOIN has one."
            .to_owned(),
        Some("42803") => {
            "Every column in SELECT must be in GROUP BY, or inside an aggregate (count, sum, max...).".to_owned()
        }
        _ => error.hint.clone().unwrap_or_else(|| format!("Fix the query; {read} shows the clauses it needs.")),
    };
    Failure::new(called).expected("a result: rows, perhaps none").got(got).hint(hint).fail()
}
