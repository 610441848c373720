//! What the relay recorded, in the shape a check asks about it: the
//! statements a call sent, with their bind values, the rows that came back
//! and the transaction each ran in.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::value::Value;

/// Which of the relay's connections a statement travelled on, numbered
/// from 1 in the order the code under test opened them.
pub type ConnId = usize;

/// A connection's transaction state, as the server reports it in every
/// `ReadyForQuery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Not in a transaction block (`I`).
    Idle,
    /// Inside a transaction block (`T`).
    InTransaction,
    /// Inside a transaction block that failed and will only roll back (`E`).
    Failed,
}

impl TxStatus {
    pub fn in_block(self) -> bool {
        matches!(self, TxStatus::InTransaction | TxStatus::Failed)
    }

    pub fn describe(self) -> &'static str {
        match self {
            TxStatus::Idle => "idle",
            TxStatus::InTransaction => "idle in transaction",
            TxStatus::Failed => "idle in a failed transaction",
        }
    }
}

/// An error the server sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// SQLSTATE, such as `23505` for a unique violation.
    pub code: String,
    pub message: String,
}

/// One statement the code under test sent, and what the server answered.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Position in the relay's record, across all connections.
    pub seq: usize,
    pub conn: ConnId,
    /// The SQL text exactly as sent (one statement of a multi-statement
    /// simple query).
    pub sql: String,
    /// Sent as a simple `Query` (`raw_sql`, transaction control), not
    /// through `Parse`/`Bind`/`Execute`: such a statement has no bind
    /// parameters, and every value in it is part of the text.
    pub simple: bool,
    /// The values bound to `$1`, `$2`, ...
    pub params: Vec<Value>,
    /// Column names of the rows returned.
    pub columns: Vec<String>,
    /// The first rows returned (up to [`ROWS_KEPT`]).
    pub rows: Vec<Vec<Value>>,
    /// How many rows came back (`DataRow` messages), all of them.
    pub rows_returned: u64,
    /// The `CommandComplete` tag: `INSERT 0 1`, `UPDATE 3`, `SELECT 5`.
    pub tag: Option<String>,
    pub error: Option<ServerError>,
    /// Never ran: an earlier message of the same batch failed, and the
    /// server skipped the rest.
    pub skipped: bool,
    /// The connection's state when the statement was sent.
    pub tx_before: TxStatus,
    /// Its state once the server was ready again (`None` if the answer
    /// had not come when the record was read).
    pub tx_after: Option<TxStatus>,
}

/// Rows kept per statement; the count is always complete.
pub const ROWS_KEPT: usize = 20;

impl Statement {
    /// The first keyword, upper-cased: `SELECT`, `INSERT`, `BEGIN`...
    pub fn verb(&self) -> String {
        first_word(&self.sql)
    }

    /// `BEGIN`, `COMMIT`, `ROLLBACK`, savepoints and the like.
    pub fn is_transaction_control(&self) -> bool {
        is_transaction_control(&self.sql)
    }

    /// A catalog lookup sqlx itself sends the first time a connection meets
    /// a type it does not know (an enum, a domain).
    pub fn is_driver_internal(&self) -> bool {
        let sql = collapse(&self.sql);
        sql.starts_with("SELECT pg_type.oid, pg_type.oid::regtype::text pretty_name")
            || sql.starts_with("SELECT attrelid table_oid, attrelid::regclass::text table_name")
            || sql.contains("FROM pg_catalog.pg_type WHERE oid = $1")
    }

    /// Rows inserted, updated or deleted, from the command tag.
    pub fn rows_affected(&self) -> u64 {
        let Some(tag) = &self.tag else { return 0 };
        let mut words = tag.split_whitespace();
        match words.next() {
            Some("INSERT" | "UPDATE" | "DELETE" | "MERGE" | "COPY" | "SELECT") => {
                words.next_back().and_then(|n| n.parse().ok()).unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// Whether it ran inside a transaction block.
    pub fn inside_transaction(&self) -> bool {
        self.tx_before.in_block()
    }

    /// Whether `value` travelled as one of its bind parameters.
    pub fn binds(&self, value: &Value) -> bool {
        self.params.iter().any(|p| p.holds(value))
    }

    /// Whether it wrote rows (`INSERT`, `UPDATE`, `DELETE`, `MERGE`).
    pub fn is_write(&self) -> bool {
        matches!(
            self.tag.as_deref().and_then(|t| t.split_whitespace().next()),
            Some("INSERT" | "UPDATE" | "DELETE" | "MERGE")
        )
    }

    /// The statement, its values and its answer, on a few lines.
    pub fn describe(&self) -> String {
        let mut out = shorten(&collapse(&self.sql), 160);
        if !self.params.is_empty() {
            let shown: Vec<String> =
                self.params.iter().enumerate().take(8).map(|(i, v)| format!("${} = {v}", i + 1)).collect();
            let more =
                if self.params.len() > 8 { format!(", … {} values", self.params.len()) } else { String::new() };
            let _ = write!(out, "\n        with {}{more}", shown.join(", "));
        }
        let answer = if self.skipped {
            "not run: an earlier statement of the same batch failed".to_owned()
        } else if let Some(e) = &self.error {
            format!("ERROR {}: {}", e.code, e.message)
        } else {
            let rows =
                if self.rows_returned == 1 { "1 row".to_owned() } else { format!("{} rows", self.rows_returned) };
            match &self.tag {
                Some(tag) if tag.starts_with("SELECT") => rows,
                Some(tag) if self.rows_returned > 0 => format!("{tag}, {rows} back"),
                Some(tag) => tag.clone(),
                None => "no answer yet".to_owned(),
            }
        };
        let _ = write!(out, "\n        → {answer}");
        out
    }
}

/// A connection the code under test opened through the relay.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: ConnId,
    /// The server process serving it (`pg_stat_activity.pid`).
    pub backend_pid: Option<i32>,
    pub user: String,
    pub database: String,
    pub application_name: Option<String>,
    /// Its state after the last answer.
    pub status: TxStatus,
    pub closed: bool,
}

/// How a transaction block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Committed,
    RolledBack,
    /// Still open when the record was read.
    Open,
}

/// One transaction block on one connection: `BEGIN` to `COMMIT` or
/// `ROLLBACK`, and the statements in between.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub conn: ConnId,
    /// Positions ([`Statement::seq`]) of the statements inside it, control
    /// statements left out.
    pub statements: Vec<usize>,
    pub ending: Ending,
}

/// Statements the relay saw between two moments, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    pub(super) statements: Vec<Statement>,
    pub(super) connections: Vec<Connection>,
    /// Messages the relay could not decode (it forwarded them all the same).
    pub(super) unreadable: Vec<String>,
}

impl Traffic {
    /// Every statement, transaction control and driver lookups included.
    pub fn all(&self) -> &[Statement] {
        &self.statements
    }

    /// The statements that did the work: no transaction control, no
    /// lookups the driver made on its own, nothing skipped.
    pub fn queries(&self) -> Vec<&Statement> {
        self.statements
            .iter()
            .filter(|s| !s.is_transaction_control() && !s.is_driver_internal() && !s.skipped)
            .collect()
    }

    /// How many [`queries`](Traffic::queries) ran.
    pub fn len(&self) -> usize {
        self.queries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows sent back, summed over the queries.
    pub fn rows_returned(&self) -> u64 {
        self.queries().iter().map(|s| s.rows_returned).sum()
    }

    /// The queries that wrote rows.
    pub fn writes(&self) -> Vec<&Statement> {
        self.queries().into_iter().filter(|s| s.is_write()).collect()
    }

    /// Whether `value` travelled as a bind parameter of some query.
    pub fn bound(&self, value: impl Into<Value>) -> bool {
        let value = value.into();
        self.queries().iter().any(|s| s.binds(&value))
    }

    /// A query whose SQL text carries `value` itself, spelled out or
    /// encoded (hex, as a `decode(...)` or `\x` literal would hold it):
    /// the value was pasted into the SQL instead of bound.
    pub fn pasted(&self, value: &str) -> Option<&Statement> {
        if value.is_empty() {
            return None;
        }
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        let hex_upper = hex.to_uppercase();
        let doubled = value.replace('\'', "''");
        self.queries().into_iter().find(|s| {
            let sql = &s.sql;
            sql.contains(value)
                || (doubled != value && sql.contains(&doubled))
                || (value.len() >= 3 && (sql.contains(&hex) || sql.contains(&hex_upper)))
        })
    }

    /// Which connections the queries ran on.
    pub fn connections_used(&self) -> BTreeSet<ConnId> {
        self.queries().iter().map(|s| s.conn).collect()
    }

    /// The connections the code opened (or used) in this stretch.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// Messages that could not be decoded.
    pub fn unreadable(&self) -> &[String] {
        &self.unreadable
    }

    /// Every transaction block, in the order they began.
    pub fn transactions(&self) -> Vec<Transaction> {
        let mut done = Vec::new();
        let mut open: Vec<(ConnId, Transaction)> = Vec::new();
        for s in &self.statements {
            let at = open.iter().position(|(c, _)| *c == s.conn);
            let verb = s.verb();
            if is_begin(&s.sql) && at.is_none() {
                open.push((s.conn, Transaction { conn: s.conn, statements: Vec::new(), ending: Ending::Open }));
                continue;
            }
            let Some(at) = at else {
                // A statement inside a block whose BEGIN came before this
                // stretch: it belongs to a transaction all the same.
                if s.inside_transaction() && !s.is_transaction_control() {
                    open.push((s.conn, Transaction { conn: s.conn, statements: vec![s.seq], ending: Ending::Open }));
                }
                continue;
            };
            match verb.as_str() {
                "COMMIT" | "END" => {
                    let (_, mut t) = open.remove(at);
                    // COMMIT of a failed block answers ROLLBACK.
                    let committed = s.error.is_none() && s.tag.as_deref() != Some("ROLLBACK");
                    t.ending = if committed { Ending::Committed } else { Ending::RolledBack };
                    done.push(t);
                }
                "ROLLBACK" | "ABORT" if !s.sql.to_ascii_uppercase().contains(" TO ") => {
                    let (_, mut t) = open.remove(at);
                    t.ending = Ending::RolledBack;
                    done.push(t);
                }
                _ if s.is_transaction_control() || s.is_driver_internal() || s.skipped => {}
                _ => open[at].1.statements.push(s.seq),
            }
        }
        done.extend(open.into_iter().map(|(_, t)| t));
        done.sort_by_key(|t| t.statements.first().copied().unwrap_or(usize::MAX));
        done
    }

    /// `Ok` when every query ran on one connection, inside one transaction
    /// block that committed; otherwise what happened instead, in words a
    /// student can act on.
    pub fn in_one_transaction(&self) -> Result<(), String> {
        let queries = self.queries();
        let Some(first) = queries.first() else { return Err("no statement was sent at all".to_owned()) };
        if let Some(outside) = queries.iter().find(|s| !s.inside_transaction()) {
            let on_other = queries.iter().any(|s| s.conn != outside.conn && s.inside_transaction());
            return Err(if on_other {
                format!(
                    "{} ran on connection #{}, outside the transaction open on another connection: it went through \
                     the pool, not through the transaction",
                    quote(outside),
                    outside.conn
                )
            } else {
                format!("{} ran outside any transaction (no BEGIN before it on its connection)", quote(outside))
            });
        }
        if let Some(other) = queries.iter().find(|s| s.conn != first.conn) {
            return Err(format!(
                "the statements ran in transactions on {} connections: {} on #{}, {} on #{}",
                self.connections_used().len(),
                quote(first),
                first.conn,
                quote(other),
                other.conn
            ));
        }
        let txs = self.transactions();
        let holding: Vec<&Transaction> =
            txs.iter().filter(|t| t.statements.iter().any(|seq| queries.iter().any(|q| q.seq == *seq))).collect();
        match holding.as_slice() {
            [one] => match one.ending {
                Ending::Committed => Ok(()),
                Ending::RolledBack => Err("the transaction was rolled back, not committed".to_owned()),
                Ending::Open => Err("the transaction was never committed: it is still open".to_owned()),
            },
            many => {
                Err(format!("the statements were split over {} transactions on connection #{}", many.len(), first.conn))
            }
        }
    }

    /// The queries, numbered, each with its values and its answer, the
    /// first `limit` of them; then how many more there were. What a
    /// failure message shows as the SQL the code sent.
    pub fn describe(&self, limit: usize) -> String {
        let shown: Vec<&Statement> = self.statements.iter().filter(|s| !s.is_driver_internal()).collect();
        if shown.is_empty() {
            return "no SQL at all".to_owned();
        }
        let several_conns = shown.iter().map(|s| s.conn).collect::<BTreeSet<_>>().len() > 1;
        let mut out = String::new();
        for (i, s) in shown.iter().take(limit).enumerate() {
            let on = if several_conns { format!(", on connection #{}", s.conn) } else { String::new() };
            let _ = writeln!(out, "{:>3}. {}{on}", i + 1, s.describe());
        }
        if shown.len() > limit {
            let _ = writeln!(out, "     … and {} more ({} in all)", shown.len() - limit, shown.len());
        }
        if !self.unreadable.is_empty() {
            let _ =
                writeln!(out, "     ({} message(s) could not be read: {})", self.unreadable.len(), self.unreadable[0]);
        }
        out.trim_end().to_owned()
    }
}

fn quote(s: &Statement) -> String {
    format!("`{}`", shorten(&collapse(&s.sql), 70))
}

fn first_word(sql: &str) -> String {
    let mut rest = sql.trim_start();
    // Leading comments are not the statement.
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let rest = rest.trim_start_matches('(');
    rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next().unwrap_or("").to_ascii_uppercase()
}

pub(super) fn is_transaction_control(sql: &str) -> bool {
    let verb = first_word(sql);
    match verb.as_str() {
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => true,
        "SET" => collapse(sql).to_ascii_uppercase().starts_with("SET TRANSACTION"),
        _ => false,
    }
}

pub(super) fn is_begin(sql: &str) -> bool {
    let verb = first_word(sql);
    verb == "BEGIN" || (verb == "START" && collapse(sql).to_ascii_uppercase().starts_with("START TRANSACTION"))
}

/// Whitespace collapsed to single spaces.
pub(super) fn collapse(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
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

    fn stmt(seq: usize, conn: ConnId, sql: &str, before: TxStatus) -> Statement {
        Statement {
            seq,
            conn,
            sql: sql.to_owned(),
            simple: false,
            params: Vec::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            rows_returned: 0,
            tag: Some(first_word(sql)),
            error: None,
            skipped: false,
            tx_before: before,
            tx_after: Some(before),
        }
    }

    #[test]
    fn verbs_skip_comments_and_control_is_recognised() {
        assert_eq!(first_word("-- hi\n  /* x */ select 1"), "SELECT");
        assert!(is_transaction_control("begin isolation level serializable"));
        assert!(is_transaction_control("RELEASE SAVEPOINT _sqlx_savepoint_1"));
        assert!(is_transaction_control("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"));
        assert!(!is_transaction_control("SET statement_timeout = 5"));
        assert!(!is_transaction_control("ENDPOINTS"));
    }

    #[test]
    fn one_committed_transaction_on_one_connection_is_recognised() {
        use TxStatus::*;
        let t = Traffic {
            statements: vec![
                stmt(0, 1, "BEGIN", Idle),
                stmt(1, 1, "SELECT 1 FOR UPDATE", InTransaction),
                stmt(2, 1, "UPDATE a SET n = 1", InTransaction),
                stmt(3, 1, "COMMIT", InTransaction),
            ],
            ..Traffic::default()
        };
        assert_eq!(t.in_one_transaction(), Ok(()));
        assert_eq!(t.len(), 2);
        let txs = t.transactions();
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].statements, [1, 2]);
        assert_eq!(txs[0].ending, Ending::Committed);
    }

    #[test]
    fn a_statement_on_the_pool_beside_the_transaction_is_named() {
        use TxStatus::*;
        let t = Traffic {
            statements: vec![
                stmt(0, 1, "BEGIN", Idle),
                stmt(1, 1, "UPDATE a SET n = 1", InTransaction),
                stmt(2, 2, "UPDATE b SET n = 2", Idle),
                stmt(3, 1, "COMMIT", InTransaction),
            ],
            ..Traffic::default()
        };
        let err = t.in_one_transaction().unwrap_err();
        assert!(err.contains("UPDATE b") && err.contains("#2") && err.contains("pool"), "{err}");
    }

    #[test]
    fn an_uncommitted_block_is_open() {
        use TxStatus::*;
        let t = Traffic {
            statements: vec![stmt(0, 1, "BEGIN", Idle), stmt(1, 1, "UPDATE a SET n = 1", InTransaction)],
            ..Traffic::default()
        };
        assert!(t.in_one_transaction().unwrap_err().contains("never committed"));
    }

    #[test]
    fn pasted_values_are_found_spelled_out_or_hex_encoded() {
        let t = Traffic {
            statements: vec![stmt(
                0,
                1,
                "INSERT INTO s VALUES (convert_from('\\x4164614c'::bytea, 'UTF8'))",
                TxStatus::Idle,
            )],
            ..Traffic::default()
        };
        assert!(t.pasted("AdaL").is_some());
        assert!(t.pasted("Bob").is_none());
    }

    #[test]
    fn rows_affected_comes_from_the_tag() {
        let mut s = stmt(0, 1, "INSERT INTO t VALUES (1)", TxStatus::Idle);
        s.tag = Some("INSERT 0 3".into());
        assert_eq!(s.rows_affected(), 3);
        assert!(s.is_write());
        s.tag = Some("UPDATE 2".into());
        assert_eq!(s.rows_affected(), 2);
    }
}
