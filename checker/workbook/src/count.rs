//! Counting the SQL statements a piece of code sends, and the rows that
//! come back, so a check can catch N+1 queries and Cartesian blow-ups in
//! the act.
//!
//! sqlx reports every statement it runs as one `tracing` event with target
//! `sqlx::query` (at DEBUG, or WARN when slow), on the task that awaited
//! it, carrying the SQL and the number of rows returned. This module
//! installs a process-wide subscriber that listens for exactly those
//! events and hands each one to the [`statements`] scope it happened in.
//! Checks run in parallel threads of one process, so a global counter
//! would mix their traffic: the scope is a task-local value, which follows
//! the future wherever the runtime polls it.
//!
//! What is not seen: statements run in a task the code under test spawns
//! (`tokio::spawn`), since a spawned task does not inherit the scope.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The target sqlx gives its per-statement events.
const TARGET: &str = "sqlx::query";

/// One statement the code under test sent, as sqlx reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text, whitespace collapsed to single spaces.
    pub sql: String,
    /// Rows the server sent back for it (a `SELECT`, or `RETURNING`).
    pub rows_returned: u64,
    /// Rows it inserted, updated or deleted.
    pub rows_affected: u64,
}

/// Every statement seen in one [`statements`] scope, in the order they
/// finished.
///
/// Transaction control (`COMMIT`, `ROLLBACK`, savepoints) is left out:
/// sqlx does not report `BEGIN`, so counting its partner would make a
/// transaction cost one statement, and a lesson about queries should not
/// punish using one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statements(Vec<Statement>);

impl Statements {
    /// How many statements ran.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Statement> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Statement] {
        &self.0
    }

    /// Rows sent back over the wire, summed over every statement.
    pub fn rows_returned(&self) -> u64 {
        self.0.iter().map(|s| s.rows_returned).sum()
    }

    /// The first `limit` statements, one per line, numbered and indented
    /// for a failure message, each with the rows it returned; then how many
    /// more there were.
    pub fn describe(&self, limit: usize) -> String {
        if self.0.is_empty() {
            return "no statements".to_owned();
        }
        let mut out = String::new();
        for (i, s) in self.0.iter().take(limit).enumerate() {
            let rows = if s.rows_returned == 1 { "row" } else { "rows" };
            out.push_str(&format!("\n    {:>2}. {}  ({} {rows})", i + 1, shorten(&s.sql, 110), s.rows_returned));
        }
        if self.0.len() > limit {
            out.push_str(&format!("\n    … and {} more", self.0.len() - limit));
        }
        out
    }
}

impl<'a> IntoIterator for &'a Statements {
    type Item = &'a Statement;
    type IntoIter = std::slice::Iter<'a, Statement>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Runs `fut` and returns its output with every statement it sent.
///
/// Only statements run while `fut` itself is polled are counted, whatever
/// thread polls it; other checks running at the same time are not. Scopes
/// nest: a statement counts in every scope around it.
///
/// ```ignore
/// let (users, stmts) = workbook::count::statements(users_with_posts(db.pool())).await;
/// if stmts.len() > 2 { /* N+1 */ }
/// ```
pub async fn statements<F: IntoFuture>(fut: F) -> (F::Output, Statements) {
    install();
    let scope = Arc::new(Scope { seen: Mutex::new(Vec::new()), outer: SCOPE.try_with(Arc::clone).ok() });
    let out = SCOPE.scope(Arc::clone(&scope), fut.into_future()).await;
    let seen = std::mem::take(&mut *scope.seen.lock().unwrap_or_else(|p| p.into_inner()));
    (out, Statements(seen))
}

/// Installs the process-wide subscriber that feeds [`statements`]. Called
/// by it; call it earlier only to be explicit. Idempotent.
///
/// # Panics
/// If something else already installed a global `tracing` subscriber:
/// counting would silently see nothing, and a check must never pass
/// because its instrument was off.
pub fn install() {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let ok = *INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Counter);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    assert!(ok, "workbook::count needs the process-wide tracing subscriber, but another one was installed first");
}

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

struct Scope {
    seen: Mutex<Vec<Statement>>,
    /// The scope this one was opened in, which sees its statements too.
    outer: Option<Arc<Scope>>,
}

/// The layer: wants `sqlx::query` events at every level, nothing else, and
/// files each one under the scope of the task that emitted it.
struct Counter;

impl<S: Subscriber> Layer<S> for Counter {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // sqlx asks `enabled!` (a hint callsite, not an event) before it
        // builds the event, so the filter is on the target alone.
        if meta.target() == TARGET { Interest::always() } else { Interest::never() }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        meta.target() == TARGET
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Ok(scope) = SCOPE.try_with(Arc::clone) else { return };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(statement) = fields.into_statement() else { return };
        let mut next = Some(scope);
        while let Some(scope) = next {
            scope.seen.lock().unwrap_or_else(|p| p.into_inner()).push(statement.clone());
            next = scope.outer.clone();
        }
    }
}

/// The fields of one sqlx event. `summary` is the first four words of the
/// SQL; `db.statement` holds the whole text, but only when it is longer
/// than the summary (otherwise it is empty).
#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    rows_returned: u64,
    rows_affected: u64,
}

impl Fields {
    fn into_statement(self) -> Option<Statement> {
        let text = if self.statement.trim().is_empty() { &self.summary } else { &self.statement };
        let sql = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if is_transaction_control(&sql) || is_sqlx_internal(&sql) {
            return None;
        }
        Some(Statement { sql, rows_returned: self.rows_returned, rows_affected: self.rows_affected })
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = value,
            "rows_affected" => self.rows_affected = value,
            _ => {}
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

fn is_transaction_control(sql: &str) -> bool {
    let first = sql.split([' ', ';']).next().unwrap_or("").to_ascii_uppercase();
    matches!(first.as_str(), "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE")
}

/// The catalog look-ups sqlx itself sends the first time a connection
/// meets a type it does not know (an enum, a domain): not the code's own
/// queries, and they come and go with the connection cache.
fn is_sqlx_internal(sql: &str) -> bool {
    sql.starts_with("SELECT pg_type.oid, pg_type.oid::regtype::text pretty_name")
        || sql.starts_with("SELECT attrelid table_oid, attrelid::regclass::text table_name")
}

fn shorten(sql: &str, max: usize) -> String {
    match sql.char_indices().nth(max) {
        Some((cut, _)) => format!("{} …", &sql[..cut]),
        None => sql.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;

    #[test]
    fn transaction_control_and_sqlx_lookups_are_not_counted() {
        assert!(is_transaction_control("COMMIT"));
        assert!(is_transaction_control("rollback to savepoint sp1"));
        assert!(is_transaction_control("RELEASE SAVEPOINT _sqlx_savepoint_1"));
        assert!(!is_transaction_control("SELECT 1"));
        assert!(!is_transaction_control("ENDPOINTS"));
        assert!(is_sqlx_internal("SELECT pg_type.oid, pg_type.oid::regtype::text pretty_name, typname"));
    }

    #[test]
    fn describe_numbers_statements_and_says_how_many_are_left_out() {
        let s = |sql: &str, rows| Statement { sql: sql.to_owned(), rows_returned: rows, rows_affected: 0 };
        let stmts = Statements(vec![s("SELECT a", 1), s("SELECT b", 3), s("SELECT c", 0)]);
        let text = stmts.describe(2);
        assert!(text.contains(" 1. SELECT a  (1 row)"), "{text}");
        assert!(text.contains(" 2. SELECT b  (3 rows)"), "{text}");
        assert!(!text.contains("SELECT c"), "{text}");
        assert!(text.contains("… and 1 more"), "{text}");
        assert_eq!(stmts.rows_returned(), 4);
    }

    /// Regression guard for the design's central claim: checks running in
    /// parallel threads each see exactly their own statements.
    #[test]
    fn parallel_checks_each_count_only_their_own_statements() {
        let threads: Vec<_> = (1..=4)
            .map(|n| {
                std::thread::Builder::new()
                    .name(format!("count_parallel_{n}"))
                    .spawn(move || {
                        check(async move |db| {
                            let pool = db.pool();
                            let (_, stmts) = statements(async {
                                for i in 0..n * 5 {
                                    // Yield between queries so the threads interleave.
                                    tokio::task::yield_now().await;
                                    sqlx::query("SELECT $1::int").bind(i).fetch_one(pool).await.unwrap();
                                }
                            })
                            .await;
                            assert_eq!(stmts.len(), (n * 5) as usize, "thread {n}: {}", stmts.describe(30));
                        })
                    })
                    .unwrap()
            })
            .collect();
        for t in threads {
            t.join().expect("a counting thread failed");
        }
    }

    #[test]
    fn statements_carry_their_sql_and_rows_and_scopes_nest() {
        check(async |db| {
            let pool = db.pool();
            sqlx::raw_sql("CREATE TABLE t (n int)").execute(pool).await.unwrap();
            // Before the scope: not counted.
            sqlx::query("SELECT 1").execute(pool).await.unwrap();
            let ((inner, ()), outer) = statements(async {
                let inner = statements(async {
                    sqlx::query("INSERT INTO t SELECT generate_series(1, 7)").execute(pool).await.unwrap();
                })
                .await
                .1;
                let rows: Vec<i32> =
                    sqlx::query_scalar("SELECT   n\n FROM t WHERE n > $1").bind(2).fetch_all(pool).await.unwrap();
                assert_eq!(rows.len(), 5);
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
                (inner, ())
            })
            .await;
            assert_eq!(inner.len(), 1, "{}", inner.describe(9));
            assert_eq!(inner.as_slice()[0].rows_affected, 7);
            // The insert, the select, the select in the transaction; not COMMIT.
            assert_eq!(outer.len(), 3, "{}", outer.describe(9));
            assert_eq!(outer.as_slice()[1].sql, "SELECT n FROM t WHERE n > $1");
            assert_eq!(outer.as_slice()[1].rows_returned, 5);
            assert_eq!(outer.rows_returned(), 6);
        });
    }

    #[test]
    fn statements_in_spawned_tasks_are_not_counted() {
        check(async |db| {
            let pool = db.pool().clone();
            let ((), stmts) = statements(async {
                tokio::spawn(async move { sqlx::query("SELECT 1").execute(&pool).await.unwrap() }).await.unwrap();
            })
            .await;
            // Documented limitation: if this starts counting, update the docs.
            assert!(stmts.is_empty(), "{}", stmts.describe(5));
        });
    }
}
