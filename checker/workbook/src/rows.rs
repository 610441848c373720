//! Query results as text, compared cell by cell and shown side by side, so
//! a check can say exactly which rows a query got wrong.
//!
//! A [`Table`] is column names and rows of text cells (`None` is SQL NULL),
//! the way psql shows a result. [`run`] gets one from a student's SQL with
//! bound parameters; the check builds the expected one from the data it
//! generated; [`matches`] compares them and [`side_by_side`] draws both,
//! marking the rows that differ.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgTypeInfo;
use sqlx::{Column, Executor, PgConnection, Row as _, SqlSafeStr, Statement, ValueRef};

/// One row: a cell per column, `None` for NULL.
pub type Row = Vec<Option<String>>;

/// A result: its column names and its rows, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// An empty result with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Table {
        Table { columns: columns.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Adds a row (any iterator of cells: see [`Cell`]).
    pub fn push(&mut self, row: impl IntoIterator<Item = Option<String>>) {
        self.rows.push(row.into_iter().collect());
    }

    /// "3 rows (id, name)", for messages.
    pub fn summary(&self) -> String {
        let n = self.rows.len();
        let rows = if n == 1 { "1 row".to_owned() } else { format!("{n} rows") };
        format!("{rows} ({})", self.columns.join(", "))
    }
}

/// Turns a value into a cell as PostgreSQL's text output spells it.
pub trait Cell {
    fn cell(self) -> Option<String>;
}

macro_rules! display_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn cell(self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
display_cell!(i16, i32, i64, u32, u64, usize, &str, String, &String);

impl Cell for bool {
    /// `t` or `f`, as PostgreSQL writes booleans.
    fn cell(self) -> Option<String> {
        Some(if self { "t" } else { "f" }.to_owned())
    }
}

impl<T: Cell> Cell for Option<T> {
    fn cell(self) -> Option<String> {
        self.and_then(Cell::cell)
    }
}

/// Whether rows must come in the same order, or only the same rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Row for row: the question said how to order them.
    Exact,
    /// The same rows, each as often, in any order.
    Any,
}

/// Whether two cells hold the same value. Numbers are compared as
/// numbers, so `3.50` equals `3.5` and `7` equals `7.0`: a check holds the
/// value to the question, not the type PostgreSQL chose to print it in.
pub fn same_cell(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            x == y || matches!((canonical_number(x), canonical_number(y)), (Some(p), Some(q)) if p == q)
        }
        _ => false,
    }
}

fn same_row(a: &Row, b: &Row) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_cell(x, y))
}

/// A decimal number written without leading zeros, trailing fraction zeros
/// or a negative zero; `None` if `s` is not a plain decimal.
fn canonical_number(s: &str) -> Option<String> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !plain(int) || !plain(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let body = if frac.is_empty() { int.to_owned() } else { format!("{int}.{frac}") };
    Some(if negative && body != "0" { format!("-{body}") } else { body })
}

/// Whether `got` has the same column names and the same rows as
/// `expected`, in the same order when `order` is [`Order::Exact`].
pub fn matches(expected: &Table, got: &Table, order: Order) -> bool {
    if expected.columns != got.columns || expected.rows.len() != got.rows.len() {
        return false;
    }
    let (want, have) = arranged(expected, got, order);
    want.iter().zip(&have).all(|(a, b)| same_row(a, b))
}

/// Both tables' rows, sorted the same way when order does not matter, so
/// equal rows line up.
fn arranged<'a>(expected: &'a Table, got: &'a Table, order: Order) -> (Vec<&'a Row>, Vec<&'a Row>) {
    let mut want: Vec<&Row> = expected.rows.iter().collect();
    let mut have: Vec<&Row> = got.rows.iter().collect();
    if order == Order::Any {
        want.sort_by_key(|r| sort_key(r));
        have.sort_by_key(|r| sort_key(r));
    }
    (want, have)
}

/// Sorts numbers as numbers and NULLs last, so a sorted listing reads
/// naturally.
fn sort_key(row: &Row) -> Vec<(u8, i128, String)> {
    row.iter()
        .map(|c| match c {
            None => (2, 0, String::new()),
            Some(s) => match canonical_number(s) {
                Some(n) if !n.contains('.') && n.len() < 30 => (0, n.parse().unwrap_or(0), String::new()),
                Some(n) => (1, 0, n),
                None => (1, 0, s.clone()),
            },
        })
        .collect()
}

/// One line of the comparison: an expected row, a returned row, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Same(usize, usize),
    Differs(Option<usize>, Option<usize>),
}

/// Lines up two row lists the way a text diff lines up files: the longest
/// run of equal rows in common stays paired, and what is left is shown as
/// rows missing on one side or the other, a changed row on one line.
fn align(want: &[&Row], have: &[&Row]) -> Vec<Line> {
    let (n, m) = (want.len(), have.len());
    // lcs[i][j]: length of the longest common subsequence of want[i..], have[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] =
                if same_row(want[i], have[j]) { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut only_want, mut only_have) = (Vec::new(), Vec::new());
    let flush = |lines: &mut Vec<Line>, only_want: &mut Vec<usize>, only_have: &mut Vec<usize>| {
        let k = only_want.len().max(only_have.len());
        for x in 0..k {
            lines.push(Line::Differs(only_want.get(x).copied(), only_have.get(x).copied()));
        }
        only_want.clear();
        only_have.clear();
    };
    while i < n || j < m {
        if i < n && j < m && same_row(want[i], have[j]) {
            flush(&mut lines, &mut only_want, &mut only_have);
            lines.push(Line::Same(i, j));
            i += 1;
            j += 1;
        } else if j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            only_want.push(i);
            i += 1;
        } else {
            only_have.push(j);
            j += 1;
        }
    }
    flush(&mut lines, &mut only_want, &mut only_have);
    lines
}

/// Past this many rows, equal rows far from any difference are folded.
const FOLD_OVER: usize = 16;
/// The most lines [`side_by_side`] draws, folds included.
const MAX_LINES: usize = 30;
/// Equal rows kept around each difference when folding.
const CONTEXT: usize = 2;
/// Longer cells are cut, so a wide value cannot push the other side off
/// the screen.
const MAX_CELL: usize = 28;

/// Both results side by side: expected on the left, returned on the
/// right, each under its column names, with `✗` before every line whose
/// rows differ. With [`Order::Any`] both sides are sorted first, so the
/// marks show missing and extra rows rather than a different order. Long
/// results keep the differing rows and a little context around them.
pub fn side_by_side(expected: &Table, got: &Table, order: Order) -> String {
    let (want, have) = arranged(expected, got, order);
    let lines = align(&want, &have);
    let header_differs = expected.columns != got.columns;

    // Which lines to draw: every difference and its context; the rest is
    // folded into "… n equal rows …".
    let near_difference: Vec<bool> = (0..lines.len())
        .map(|k| {
            let lo = k.saturating_sub(CONTEXT);
            let hi = (k + CONTEXT + 1).min(lines.len());
            lines[lo..hi].iter().any(|l| matches!(l, Line::Differs(..)))
        })
        .collect();
    let fold = lines.len() > FOLD_OVER;
    enum Draw {
        Line(Line),
        Folded(usize),
    }
    let mut keep: Vec<bool> = near_difference.iter().map(|near| !fold || *near).collect();
    // Folding fewer than three rows saves nothing: show them.
    let mut k = 0;
    while k < keep.len() {
        let run = keep[k..].iter().take_while(|kept| !**kept).count();
        if run > 0 && run < 3 {
            keep[k..k + run].iter_mut().for_each(|kept| *kept = true);
        }
        k += run.max(1);
    }
    let mut draws: Vec<Draw> = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        if keep[k] {
            draws.push(Draw::Line(*line));
        } else if let Some(Draw::Folded(n)) = draws.last_mut() {
            *n += 1;
        } else {
            draws.push(Draw::Folded(1));
        }
    }
    let mut cut = 0;
    if draws.len() > MAX_LINES {
        cut = draws[MAX_LINES..]
            .iter()
            .map(|d| match d {
                Draw::Line(_) => 1,
                Draw::Folded(n) => *n,
            })
            .sum();
        draws.truncate(MAX_LINES);
    }

    let cells = |row: Option<&Row>| -> Vec<String> { row.map_or_else(Vec::new, |r| r.iter().map(shown).collect()) };
    let drawn_rows: Vec<(Vec<String>, Vec<String>)> = draws
        .iter()
        .filter_map(|d| match d {
            Draw::Line(Line::Same(i, j)) => Some((cells(Some(want[*i])), cells(Some(have[*j])))),
            Draw::Line(Line::Differs(i, j)) => Some((cells(i.map(|i| want[i])), cells(j.map(|j| have[j])))),
            Draw::Folded(_) => None,
        })
        .collect();
    let left_widths = widths(&expected.columns, drawn_rows.iter().map(|(l, _)| l));
    let right_widths = widths(&got.columns, drawn_rows.iter().map(|(_, r)| r));
    let title = |what: &str, t: &Table| format!("{what} ({})", plural(t.rows.len()));
    let left_title = title("expected", expected);
    let left_width = side_width(&left_widths).max(left_title.chars().count());

    let mut out = String::new();
    let put = |out: &mut String, mark: bool, left: String, right: String| {
        let mark = if mark { '✗' } else { ' ' };
        let line = format!("{mark} {left:<left_width$} │ {right}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    put(&mut out, false, left_title, title("returned", got));
    put(&mut out, header_differs, render(&expected.columns, &left_widths), render(&got.columns, &right_widths));
    put(&mut out, false, rule(&left_widths), rule(&right_widths));
    let mut rows = drawn_rows.into_iter();
    for d in &draws {
        match d {
            Draw::Folded(n) => {
                let _ = writeln!(out, "  … {} the same on both sides …", plural(*n));
            }
            Draw::Line(line) => {
                let (l, r) = rows.next().expect("one drawn row per line");
                let l = if l.is_empty() { String::new() } else { render(&l, &left_widths) };
                let r = if r.is_empty() { String::new() } else { render(&r, &right_widths) };
                put(&mut out, matches!(line, Line::Differs(..)), l, r);
            }
        }
    }
    if cut > 0 {
        let _ = writeln!(out, "  … and {} more, not shown", plural(cut));
    }
    out.trim_end().to_owned()
}

fn plural(n: usize) -> String {
    if n == 1 { "1 row".to_owned() } else { format!("{n} rows") }
}

fn shown(cell: &Option<String>) -> String {
    match cell {
        None => "NULL".to_owned(),
        Some(s) if s.chars().count() > MAX_CELL => format!("{}…", s.chars().take(MAX_CELL - 1).collect::<String>()),
        Some(s) => s.replace('\n', "\\n"),
    }
}

fn widths<'a>(columns: &[String], rows: impl Iterator<Item = &'a Vec<String>>) -> Vec<usize> {
    let mut w: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in rows {
        for (k, cell) in row.iter().enumerate() {
            if k >= w.len() {
                w.push(0);
            }
            w[k] = w[k].max(cell.chars().count());
        }
    }
    w
}

fn side_width(widths: &[usize]) -> usize {
    widths.iter().sum::<usize>() + 3 * widths.len().saturating_sub(1)
}

fn render(cells: &[String], widths: &[usize]) -> String {
    let parts: Vec<String> = cells
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let w = widths.get(k).copied().unwrap_or(0);
            format!("{c:<w$}")
        })
        .collect();
    parts.join(" | ")
}

fn rule(widths: &[usize]) -> String {
    widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-")
}

/// A value for a `$n` of a statement: its SQL type and its value as
/// PostgreSQL reads it from text (`None` for NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub sql_type: &'static str,
    pub value: Option<String>,
}

impl Param {
    pub fn new(sql_type: &'static str, value: impl ToString) -> Param {
        Param { sql_type, value: Some(value.to_string()) }
    }

    pub fn null(sql_type: &'static str) -> Param {
        Param { sql_type, value: None }
    }

    /// The value as an SQL literal (quotes doubled), for `EXECUTE`.
    pub fn literal(&self) -> String {
        match &self.value {
            None => "NULL".to_owned(),
            Some(v) => format!("'{}'", v.replace('\'', "''")),
        }
    }

    /// How the value is shown to a student: `42`, `'2024-03-05'`, `NULL`.
    pub fn shown(&self) -> String {
        match &self.value {
            Some(v) if canonical_number(v).is_some() => v.clone(),
            _ => self.literal(),
        }
    }
}

/// A statement [`prepare`] made on a connection, ready to [`execute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Its name on the connection, for `EXECUTE name(...)` and `EXPLAIN EXECUTE`.
    pub name: String,
    pub columns: Vec<String>,
}

/// Prepares `sql` (one statement, with `$1`, `$2`... of the types in
/// `params`) on `conn`, and returns its name and column names.
///
/// The statement is first parsed on its own over the extended protocol,
/// which refuses several statements in one text, and reports an error's
/// position within `sql` itself.
pub async fn prepare(conn: &mut PgConnection, sql: &str, params: &[Param]) -> Result<Prepared, sqlx::Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let types: Vec<PgTypeInfo> = params.iter().map(|p| PgTypeInfo::with_name(p.sql_type)).collect();
    let statement = (&mut *conn).prepare_with(sqlx::AssertSqlSafe(sql.to_owned()).into_sql_str(), &types).await?;
    let columns = statement.columns().iter().map(|c| c.name().to_owned()).collect();
    let name = format!("workbook_query_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let declared: Vec<&str> = params.iter().map(|p| p.sql_type).collect();
    let declaration = if declared.is_empty() { String::new() } else { format!("({})", declared.join(", ")) };
    // The newline ends a `--` comment on the statement's last line.
    let text = format!("PREPARE {name}{declaration} AS\n{sql}\n");
    sqlx::raw_sql(sqlx::AssertSqlSafe(text)).execute(&mut *conn).await?;
    Ok(Prepared { name, columns })
}

/// Runs a statement [`prepare`] made with these values, and returns its
/// rows as text, the way psql would show them.
///
/// The values reach PostgreSQL as the parameters of `EXECUTE`, never
/// inside the statement: they cannot change what it means.
pub async fn execute(conn: &mut PgConnection, prepared: &Prepared, params: &[Param]) -> Result<Vec<Row>, sqlx::Error> {
    let text = format!("EXECUTE {}{}", prepared.name, arguments(params));
    text_rows(conn, &text).await
}

/// `(v1, v2)` for `EXECUTE`, or nothing when there are no parameters.
pub fn arguments(params: &[Param]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let values: Vec<String> = params.iter().map(Param::literal).collect();
    format!("({})", values.join(", "))
}

/// [`prepare`] then [`execute`]: `sql`'s result with these values.
pub async fn run(conn: &mut PgConnection, sql: &str, params: &[Param]) -> Result<Table, sqlx::Error> {
    let prepared = prepare(conn, sql, params).await?;
    let rows = execute(conn, &prepared, params).await?;
    Ok(Table { columns: prepared.columns, rows })
}

/// The rows `sql` returns (every statement's, in order), sent over the
/// simple query protocol so that every value arrives as text.
pub async fn text_rows(conn: &mut PgConnection, sql: &str) -> Result<Vec<Row>, sqlx::Error> {
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|row| {
            (0..row.columns().len())
                .map(|i| {
                    let value = row.try_get_raw(i).ok()?;
                    if value.is_null() { None } else { value.as_str().ok().map(str::to_owned) }
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[Option<&str>]]) -> Table {
        let mut t = Table::new(columns.iter().copied());
        for r in rows {
            t.push(r.iter().map(|c| c.map(str::to_owned)));
        }
        t
    }

    #[test]
    fn numbers_compare_as_numbers_and_null_only_equals_null() {
        let s = |v: &str| Some(v.to_owned());
        assert!(same_cell(&s("3.50"), &s("3.5")));
        assert!(same_cell(&s("7"), &s("7.0")));
        assert!(same_cell(&s("-0.0"), &s("0")));
        assert!(same_cell(&s("007"), &s("7")));
        assert!(!same_cell(&s("3.5"), &s("3")));
        assert!(!same_cell(&s("1e1"), &s("10")), "only plain decimals are numbers");
        assert!(!same_cell(&s("NULL"), &None));
        assert!(!same_cell(&s(""), &None));
        assert!(same_cell(&None, &None));
        assert!(!same_cell(&s("Ada"), &s("ada")));
    }

    #[test]
    fn order_matters_only_when_asked() {
        let a = table(&["id"], &[&[Some("1")], &[Some("2")]]);
        let b = table(&["id"], &[&[Some("2")], &[Some("1")]]);
        assert!(matches(&a, &b, Order::Any));
        assert!(!matches(&a, &b, Order::Exact));
        let dup = table(&["id"], &[&[Some("1")], &[Some("1")]]);
        assert!(!matches(&a, &dup, Order::Any), "the same rows, each as often");
        let renamed = table(&["n"], &[&[Some("1")], &[Some("2")]]);
        assert!(!matches(&a, &renamed, Order::Any), "column names count");
    }

    #[test]
    fn side_by_side_marks_missing_extra_and_changed_rows() {
        let want = table(
            &["id", "name"],
            &[&[Some("1"), Some("Ada")], &[Some("2"), None], &[Some("3"), Some("Ken")], &[Some("4"), Some("Tony")]],
        );
        let got = table(
            &["id", "name"],
            &[&[Some("1"), Some("Ada")], &[Some("3"), Some("Ken")], &[Some("4"), Some("Tony Hoare")]],
        );
        let shown = side_by_side(&want, &got, Order::Exact);
        let expected = "  expected (4 rows) │ returned (3 rows)\n\
                        \x20 id | name         │ id | name\n\
                        \x20 ---+-----         │ ---+-----------\n\
                        \x20 1  | Ada          │ 1  | Ada\n\
                        ✗ 2  | NULL         │\n\
                        \x20 3  | Ken          │ 3  | Ken\n\
                        ✗ 4  | Tony         │ 4  | Tony Hoare";
        assert_eq!(shown, expected, "\n{shown}");
    }

    #[test]
    fn side_by_side_sorts_both_sides_when_order_does_not_matter() {
        let want = table(&["id"], &[&[Some("10")], &[Some("9")], &[Some("2")]]);
        let got = table(&["id"], &[&[Some("2")], &[Some("10")]]);
        let shown = side_by_side(&want, &got, Order::Any);
        let marked: Vec<String> =
            shown.lines().filter(|l| l.starts_with('✗')).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(marked, ["✗9│"], "\n{shown}");
        assert!(shown.find("│ 2").unwrap() < shown.find("│ 10").unwrap(), "numbers sort as numbers:\n{shown}");
    }

    #[test]
    fn a_different_header_is_marked() {
        let want = table(&["id", "total"], &[&[Some("1"), Some("2")]]);
        let got = table(&["id", "count"], &[&[Some("1"), Some("2")]]);
        let shown = side_by_side(&want, &got, Order::Exact);
        assert!(shown.lines().nth(1).unwrap().starts_with("✗ id | total"), "\n{shown}");
    }

    #[test]
    fn long_results_fold_equal_rows_and_keep_the_differences() {
        let rows: Vec<Vec<Option<&str>>> = (0..200).map(|_| vec![Some("x")]).collect();
        let mut want = Table::new(["v"]);
        for (k, r) in rows.iter().enumerate() {
            let v = if k == 100 { Some("y".to_owned()) } else { r[0].map(str::to_owned) };
            want.push([v]);
        }
        let mut got = want.clone();
        got.rows[100] = vec![Some("z".to_owned())];
        let shown = side_by_side(&want, &got, Order::Exact);
        assert!(shown.lines().count() <= MAX_LINES + 4, "\n{shown}");
        assert!(shown.contains("… 98 rows the same on both sides …"), "\n{shown}");
        assert!(shown.lines().any(|l| l.split_whitespace().collect::<String>() == "✗y│z"), "\n{shown}");
        // Everything different: cut at the limit, with a count of the rest.
        let other = Table { columns: want.columns.clone(), rows: vec![vec![Some("w".to_owned())]; 200] };
        let shown = side_by_side(&want, &other, Order::Exact);
        assert!(shown.lines().count() <= MAX_LINES + 4, "\n{shown}");
        assert!(shown.ends_with("… and 170 rows more, not shown"), "\n{shown}");
    }

    #[test]
    fn a_fold_hides_three_rows_or_more_never_fewer() {
        let mut want = Table::new(["v"]);
        for k in 0..30 {
            want.push([Some(k.to_string())]);
        }
        let mut got = want.clone();
        // Differences at rows 0, 6 and 20: rows 3 (one row) and 9 to 17
        // (nine rows) are more than two rows from any difference.
        for k in [0, 6, 20] {
            got.rows[k] = vec![Some("x".to_owned())];
        }
        let shown = side_by_side(&want, &got, Order::Exact);
        let folds: Vec<&str> = shown.lines().filter(|l| l.contains("the same")).collect();
        assert_eq!(folds, ["  … 9 rows the same on both sides …", "  … 7 rows the same on both sides …"], "\n{shown}");
        assert!(shown.lines().any(|l| l.starts_with("  3 ")), "a lone equal row is shown, not folded:\n{shown}");
    }

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(Param::new("text", "O'Neil").literal(), "'O''Neil'");
        assert_eq!(Param::null("date").literal(), "NULL");
        assert_eq!(Param::new("bigint", 42).shown(), "42");
        assert_eq!(arguments(&[Param::new("int", 1), Param::new("text", "a")]), "('1', 'a')");
        assert_eq!(arguments(&[]), "");
    }
}
