//! Drill 25 (book: queries/indexes.md): the index of migration 0002,
//! proven from the plan PostgreSQL makes for drill 24's query.
//!
//! The check applies the exercise's migrations (the given schema, then the
//! student's), fills `enrollments` with a few thousand rows over three
//! years, ANALYZEs it, and asks `EXPLAIN (FORMAT JSON)` how it would run
//! the student's own month query. The plan must read enrollments through
//! the student's index. Then it drops that index and asks again: now the
//! plan must read the whole table, which shows the index is what made the
//! difference. A few thousand rows are enough: from two pages on, the
//! planner prefers an index for one month in thirty-six (measured on
//! PostgreSQL 15); the check uses thirty pages so the choice is clear.

use serde_json::Value;
use workbook::catalog::{self, Index};
use workbook::rows::{self, Param};
use workbook::{Db, Failure};

use crate::drill::{database_error, dataset, drill_sql, sql_failure};

const MONTH_DRILL: &str = "24_month_enrollments.sql";
const MIGRATION: &str = "migrations/0002_enrollments_month_index.up.sql";
const READ: &str = "book/src/queries/indexes.md";

/// Students × courses enrollments, spread over 36 months around the month
/// the query asks for. (ANALYZE names its tables: a bare ANALYZE also
/// reads the whole catalog, and costs this check 50 ms more.)
const STUDENTS: u32 = 100;
const COURSES: u32 = 40;

fn fill_script() -> String {
    let d = dataset();
    let (first, _) = d.month();
    let start = first - chrono::Duration::days(540);
    // setseed makes random() replay with the run's seed.
    let seed = (d.seed % 1_000_000) as f64 / 1_000_000.0;
    format!(
        "SET TimeZone TO 'UTC';
SELECT setseed({seed});
INSERT INTO cohorts (id, code, starts_on) VALUES (1, 'all', DATE '2020-01-01');
INSERT INTO students (id, name, cohort_id, joined_on)
    SELECT g, 'Student ' || g, 1, DATE '2020-01-01' FROM generate_series(1, {STUDENTS}) g;
INSERT INTO courses (id, code, title, department, credits)
    SELECT g, 'C' || g, 'Course ' || g, 'General', 5 FROM generate_series(1, {COURSES}) g;
INSERT INTO enrollments (student_id, course_id, enrolled_at, grade)
    SELECT s, c, TIMESTAMPTZ '{}' + random() * interval '1095 days', (random() * 100)::int
    FROM generate_series(1, {STUDENTS}) s, generate_series(1, {COURSES}) c;
ANALYZE cohorts, students, courses, enrollments;
{PLANNER}
SET statement_timeout TO '5s';
",
        crate::dataset::timestamptz(&start)
    )
}

/// The planner's settings at their defaults, whatever the database or
/// role says: a migration could `ALTER DATABASE ... SET enable_seqscan =
/// off`, and a plan made under it proves nothing about the index.
const PLANNER: &str = "SET enable_seqscan TO on; SET enable_indexscan TO on; SET enable_bitmapscan TO on;
SET enable_indexonlyscan TO on; SET enable_sort TO on; SET seq_page_cost TO 1; SET random_page_cost TO 4;
SET cpu_tuple_cost TO 0.01; SET cpu_index_tuple_cost TO 0.005; SET cpu_operator_cost TO 0.0025;
SET effective_cache_size TO '4GB';";

/// One scan in a plan.
#[derive(Debug)]
struct Scan {
    node: String,
    relation: Option<String>,
    index: Option<String>,
    /// What the index was searched for; a scan of the whole index has none.
    index_cond: Option<String>,
    filter: Option<String>,
}

fn scans(plan: &Value, out: &mut Vec<Scan>) {
    let text = |k: &str| plan.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(node) = text("Node Type") {
        out.push(Scan {
            node,
            relation: text("Relation Name"),
            index: text("Index Name"),
            index_cond: text("Index Cond"),
            filter: text("Filter"),
        });
    }
    for child in plan.get("Plans").and_then(Value::as_array).into_iter().flatten() {
        scans(child, out);
    }
}

/// The plan as an indented tree: "Sort", then "  Seq Scan on enrollments".
fn shown(plan: &Value, depth: usize, out: &mut String) {
    let text = |k: &str| plan.get(k).and_then(Value::as_str);
    if let Some(node) = text("Node Type") {
        out.push_str(&format!("\n{}{node}", "  ".repeat(depth)));
        if let Some(r) = text("Relation Name") {
            out.push_str(&format!(" on {r}"));
        }
        if let Some(i) = text("Index Name") {
            out.push_str(&format!(" using {i}"));
        }
        for key in ["Index Cond", "Recheck Cond", "Filter"] {
            if let Some(c) = text(key) {
                out.push_str(&format!(" ({key}: {c})"));
            }
        }
    }
    for child in plan.get("Plans").and_then(Value::as_array).into_iter().flatten() {
        shown(child, depth + 1, out);
    }
}

async fn explain(conn: &mut sqlx::PgConnection, name: &str, params: &[Param]) -> Value {
    let sql = format!("EXPLAIN (FORMAT JSON) EXECUTE {name}{}", rows::arguments(params));
    let rows = rows::text_rows(conn, &sql).await.unwrap_or_else(|e| database_error("running EXPLAIN", &e));
    let json = rows.first().and_then(|r| r.first().cloned().flatten()).unwrap_or_default();
    let doc: Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| database_error("reading EXPLAIN's JSON", &sqlx::Error::Decode(e.into())));
    doc.get(0).and_then(|d| d.get("Plan")).cloned().unwrap_or(Value::Null)
}

fn describe(i: &Index) -> String {
    format!("{} on ({})", i.name, i.columns.join(", "))
}

/// Whether `enrolled_at` appears in `filter` only inside a function or a
/// cast, never compared as it is.
fn column_hidden(filter: &str) -> bool {
    let ops = [" >= ", " > ", " <= ", " < ", " = ", " BETWEEN "];
    let mut seen = false;
    for (i, _) in filter.match_indices("enrolled_at") {
        seen = true;
        let before = filter[..i].chars().last();
        let after = &filter[i + "enrolled_at".len()..];
        if before == Some('(') && ops.iter().any(|op| after.starts_with(op)) {
            return false;
        }
    }
    seen
}

pub async fn month_query_uses_the_index(db: &Db) {
    let (path, sql) = drill_sql(MONTH_DRILL);
    db.migrate(workbook::exercise::path("migrations")).await;
    let indexes =
        catalog::indexes(db.pool(), "enrollments").await.unwrap_or_else(|e| database_error("reading the catalog", &e));
    let mine: Vec<Index> = indexes.into_iter().filter(|i| !i.primary).collect();
    if mine.is_empty() {
        Failure::new(format!("the indexes on enrollments after {MIGRATION}"))
            .expected("an index of yours on enrollments, besides its primary key")
            .got("only the primary key, enrollments_pkey on (student_id, course_id)")
            .hint(format!(
                "Write one CREATE INDEX ... ON enrollments (...) in {MIGRATION}, on the column drill 24 searches by. \
                 (Read {READ}.)"
            ))
            .fail();
    }
    let mut conn = db.pool().acquire().await.unwrap_or_else(|e| database_error("connecting", &e));
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(fill_script())).execute(&mut *conn).await {
        Failure::new(format!("filling enrollments with {} rows, after your migrations", STUDENTS * COURSES))
            .expected("the rows go in")
            .got(e.to_string())
            .hint(format!(
                "If the message names your index, it refuses ordinary rows: a UNIQUE index on a column \
                           that repeats? Check {MIGRATION}."
            ))
            .fail();
    }
    let params = [Param::new("date", dataset().day)];
    let called = format!("EXPLAIN {path} with $1 = {}, on {} enrollments", params[0].shown(), STUDENTS * COURSES);
    let prepared = match rows::prepare(&mut conn, &sql, &params).await {
        Ok(p) => p,
        Err(e) => sql_failure(&called, &path, &sql, &e, "book/src/queries/subqueries.md"),
    };
    if prepared.columns == ["todo"] {
        Failure::new(&called)
            .expected("your month query, to see how PostgreSQL runs it")
            .got(format!("{path} still holds the starter's placeholder"))
            .hint("This drill indexes for drill 24's query: write that first.")
            .fail();
    }
    let plan = explain(&mut conn, &prepared.name, &params).await;
    let mut found = Vec::new();
    scans(&plan, &mut found);
    let mut tree = String::new();
    shown(&plan, 1, &mut tree);
    let names: Vec<&str> = mine.iter().map(|i| i.name.as_str()).collect();
    // Used means searched: an index scanned end to end (no Index Cond)
    // reads every entry, which is no better than reading the table.
    let used = found.iter().any(|s| s.index.as_deref().is_some_and(|i| names.contains(&i)) && s.index_cond.is_some());
    let yours = mine.iter().map(describe).collect::<Vec<_>>().join(", ");
    if !used {
        let hidden = found.iter().filter_map(|s| s.filter.as_deref()).any(column_hidden);
        let leading = mine.iter().any(|i| i.columns.first().is_some_and(|c| c == "enrolled_at"));
        let hint = if hidden {
            format!(
                "Your query wraps enrolled_at in a function or cast, so PostgreSQL must compute it for every row \
                 before comparing, and an index on enrolled_at cannot help. Compare the column itself with a \
                 range: enrolled_at >= ... AND enrolled_at < ... (fix {path}; drill 24 still passes)."
            )
        } else if !leading {
            "Your index does not start with enrolled_at. A B-tree index is sorted by its first column, then \
             the next: it can find a range of its first column, and nothing else quickly. Index enrolled_at."
                .to_owned()
        } else {
            "The planner found your index no cheaper than reading the table. Does the query compare \
             enrolled_at itself with a range, and select nothing that forces a scan of every row?"
                .to_owned()
        };
        Failure::new(called)
            .expected(format!("a plan that reads enrollments through your index ({yours})"))
            .got(format!("this plan:{tree}"))
            .hint(format!("{hint} (Read {READ}.)"))
            .fail();
    }
    // Without the index, the same query must read the whole table: proof
    // that the index, and not something else, is what the plan relies on.
    for i in &mine {
        let drop = format!("DROP INDEX \"{}\"", i.name.replace('"', "\"\""));
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut *conn).await {
            database_error("dropping your index to compare", &e);
        }
    }
    let without = explain(&mut conn, &prepared.name, &params).await;
    let mut bare = Vec::new();
    scans(&without, &mut bare);
    let seq = bare.iter().any(|s| s.node == "Seq Scan" && s.relation.as_deref() == Some("enrollments"));
    if !seq {
        let mut tree = String::new();
        shown(&without, 1, &mut tree);
        Failure::new(format!("{called}, after dropping {yours}"))
            .expected("a plan that reads the whole table (Seq Scan on enrollments): the index made the difference")
            .got(format!("this plan:{tree}"))
            .hint("Something other than your index serves the query. Does drill 24 still pass?")
            .fail();
    }
}
