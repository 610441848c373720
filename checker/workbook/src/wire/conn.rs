//! Reading one relayed connection's protocol as it passes: both directions
//! are decoded with the `pgwire` crate's message types and matched up into
//! [`Statement`]s in the shared record.
//!
//! Why `pgwire`: it is a maintained implementation of the whole protocol
//! that decodes the frontend's messages (Query, Parse, Bind, Execute...) as
//! well as the backend's, with the startup and SSL negotiation states, so
//! nothing here parses message bodies by hand. `postgres-protocol` (from
//! rust-postgres) decodes only the server's side. Framing (a type byte and
//! a length) is trivial and done here, so one message pgwire refuses costs
//! that message, not the rest of the connection.
//!
//! Matching answers to requests follows the protocol's rule that the
//! server answers in order: every request that gets an answer is queued,
//! and each answer pops the front. After an `ErrorResponse` the server
//! skips to the next `Sync`, and so does the queue.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::{
    DecodeContext, PgWireBackendMessage as Be, PgWireFrontendMessage as Fe, ProtocolVersion, SslNegotiationMetaMessage,
};

use super::relay::Shared;
use super::split;
use super::traffic::{ConnId, ServerError, TxStatus, is_begin, is_transaction_control};
use super::value::Value;

/// A statement prepared on this connection, by name (`""` is the unnamed one).
#[derive(Default, Clone)]
struct Prepared {
    sql: String,
    param_types: Vec<u32>,
    /// Name and type of each result column, once described.
    columns: Vec<(String, u32)>,
}

/// A bound portal, ready to execute.
#[derive(Default, Clone)]
struct Portal {
    statement: String,
    params: Vec<Value>,
    result_formats: Vec<i16>,
    /// Columns, when the portal itself was described.
    columns: Option<Vec<(String, u32)>>,
}

/// What the server still owes an answer for, in order.
enum Owed {
    Parse {
        name: String,
        sql: String,
    },
    Bind,
    DescribeStatement {
        name: String,
        params_seen: bool,
    },
    DescribePortal {
        name: String,
    },
    Execute {
        record: usize,
        columns: Vec<(String, u32)>,
        formats: Vec<i16>,
    },
    Close,
    Sync,
    /// A simple query: its statements' records, answered one by one.
    Query {
        records: Vec<usize>,
        next: usize,
        columns: Vec<(String, u32)>,
    },
}

pub(super) struct ConnParser {
    id: ConnId,
    shared: Arc<Shared>,
    front: BytesMut,
    back: BytesMut,
    fctx: DecodeContext,
    bctx: DecodeContext,
    /// Encrypted: nothing more can be read, only forwarded.
    blind: bool,
    prepared: HashMap<String, Prepared>,
    portals: HashMap<String, Portal>,
    owed: VecDeque<Owed>,
    /// Records finished since the last ReadyForQuery, waiting for its status.
    settling: Vec<usize>,
    /// The status statements are sent in, predicted from their verbs
    /// between two ReadyForQuery messages (a batch can BEGIN mid-way).
    predicted: TxStatus,
}

impl ConnParser {
    pub(super) fn new(id: ConnId, shared: Arc<Shared>) -> ConnParser {
        let ctx = || DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
        let mut bctx = ctx();
        bctx.awaiting_frontend_ssl = false;
        bctx.awaiting_frontend_startup = false;
        ConnParser {
            id,
            shared,
            front: BytesMut::new(),
            back: BytesMut::new(),
            fctx: ctx(),
            bctx,
            blind: false,
            prepared: HashMap::new(),
            portals: HashMap::new(),
            owed: VecDeque::new(),
            settling: Vec::new(),
            predicted: TxStatus::Idle,
        }
    }

    /// Bytes the client sent, about to be forwarded.
    pub(super) fn client_sent(&mut self, bytes: &[u8]) {
        if self.blind {
            return;
        }
        self.front.extend_from_slice(bytes);
        loop {
            let starting = self.fctx.awaiting_frontend_ssl || self.fctx.awaiting_frontend_startup;
            let msg = if starting {
                match Fe::decode(&mut self.front, &self.fctx) {
                    Ok(Some(m)) => m,
                    Ok(None) => return,
                    Err(e) => return self.lost(format!("the client's startup message: {e}")),
                }
            } else {
                let Some(mut frame) = frame(&mut self.front) else { return };
                let kind = frame[0];
                match Fe::decode(&mut frame, &self.fctx) {
                    Ok(Some(m)) => m,
                    _ => {
                        self.unreadable(format!("a client message of type {:?}", kind as char));
                        continue;
                    }
                }
            };
            self.client_message(msg);
        }
    }

    /// Bytes the server sent, about to be forwarded.
    pub(super) fn server_sent(&mut self, bytes: &[u8]) {
        if self.blind {
            return;
        }
        self.back.extend_from_slice(bytes);
        loop {
            let msg = if self.bctx.awaiting_backend_ssl_response || self.bctx.awaiting_backend_gss_response {
                match Be::decode(&mut self.back, &self.bctx) {
                    Ok(Some(m)) => m,
                    Ok(None) => return,
                    Err(e) => return self.lost(format!("the server's answer to the encryption request: {e}")),
                }
            } else {
                let Some(mut frame) = frame(&mut self.back) else { return };
                let kind = frame[0];
                match Be::decode(&mut frame, &self.bctx) {
                    Ok(Some(m)) => m,
                    _ => {
                        self.unreadable(format!("a server message of type {:?}", kind as char));
                        continue;
                    }
                }
            };
            self.server_message(msg);
        }
    }

    fn client_message(&mut self, msg: Fe) {
        match msg {
            Fe::SslNegotiation(SslNegotiationMetaMessage::PostgresSsl(_)) => {
                self.fctx.awaiting_frontend_ssl = false;
                self.bctx.awaiting_backend_ssl_response = true;
            }
            Fe::SslNegotiation(SslNegotiationMetaMessage::PostgresGss(_)) => {
                self.fctx.awaiting_frontend_ssl = false;
                self.bctx.awaiting_backend_gss_response = true;
            }
            Fe::SslNegotiation(SslNegotiationMetaMessage::None) => self.fctx.awaiting_frontend_ssl = false,
            Fe::Startup(s) => {
                self.fctx.awaiting_frontend_startup = false;
                let p = &s.parameters;
                self.shared.update_connection(self.id, |c| {
                    c.user = p.get("user").cloned().unwrap_or_default();
                    c.database = p.get("database").cloned().unwrap_or_else(|| c.user.clone());
                    c.application_name = p.get("application_name").cloned();
                });
            }
            Fe::CancelRequest(_) => self.fctx.awaiting_frontend_startup = false,
            Fe::Query(q) => {
                let pieces = split::statements(&q.query);
                let pieces = if pieces.is_empty() { vec![q.query.clone()] } else { pieces };
                let records = pieces.into_iter().map(|sql| self.record(sql, true, Vec::new())).collect();
                self.owed.push_back(Owed::Query { records, next: 0, columns: Vec::new() });
                self.shared.begin_wait(self.id);
            }
            Fe::Parse(p) => {
                let name = p.name.unwrap_or_default();
                self.prepared.insert(
                    name.clone(),
                    Prepared { sql: p.query.clone(), param_types: p.type_oids, columns: Vec::new() },
                );
                self.owed.push_back(Owed::Parse { name, sql: p.query });
            }
            Fe::Bind(b) => {
                let statement = b.statement_name.unwrap_or_default();
                let types = self.prepared.get(&statement).map(|p| p.param_types.clone()).unwrap_or_default();
                let params = b
                    .parameters
                    .iter()
                    .enumerate()
                    .map(|(i, bytes)| {
                        let format = match b.parameter_format_codes.as_slice() {
                            [] => 0,
                            [one] => *one,
                            many => many.get(i).copied().unwrap_or(0),
                        };
                        Value::decode(types.get(i).copied().unwrap_or(0), format, bytes.as_deref())
                    })
                    .collect();
                let portal = Portal { statement, params, result_formats: b.result_column_format_codes, columns: None };
                self.portals.insert(b.portal_name.unwrap_or_default(), portal);
                self.owed.push_back(Owed::Bind);
            }
            Fe::Describe(d) => {
                let name = d.name.unwrap_or_default();
                self.owed.push_back(if d.target_type == b'S' {
                    Owed::DescribeStatement { name, params_seen: false }
                } else {
                    Owed::DescribePortal { name }
                });
            }
            Fe::Execute(e) => {
                let portal = self.portals.get(&e.name.unwrap_or_default()).cloned().unwrap_or_default();
                let prepared = self.prepared.get(&portal.statement).cloned().unwrap_or_default();
                let columns = portal.columns.unwrap_or(prepared.columns);
                let record = self.record(prepared.sql, false, portal.params);
                self.owed.push_back(Owed::Execute { record, columns, formats: portal.result_formats });
            }
            Fe::Close(_) => self.owed.push_back(Owed::Close),
            Fe::Sync(_) => {
                self.owed.push_back(Owed::Sync);
                self.shared.begin_wait(self.id);
            }
            _ => {}
        }
    }

    fn server_message(&mut self, msg: Be) {
        match msg {
            Be::SslResponse(r) => {
                self.bctx.awaiting_backend_ssl_response = false;
                if matches!(r, pgwire::messages::response::SslResponse::Accept) {
                    self.lost("the connection switched to TLS".to_owned());
                }
            }
            Be::GssEncResponse(r) => {
                self.bctx.awaiting_backend_gss_response = false;
                if matches!(r, pgwire::messages::response::GssEncResponse::Accept) {
                    self.lost("the connection switched to GSSAPI encryption".to_owned());
                }
            }
            Be::BackendKeyData(k) => self.shared.update_connection(self.id, |c| c.backend_pid = Some(k.pid)),
            Be::ParameterStatus(p) if p.name == "application_name" => {
                self.shared.update_connection(self.id, |c| c.application_name = Some(p.value.clone()));
            }
            Be::ParseComplete(_) | Be::BindComplete(_) | Be::CloseComplete(_) => {
                self.owed.pop_front();
            }
            Be::ParameterDescription(d) => {
                if let Some(Owed::DescribeStatement { name, params_seen }) = self.owed.front_mut() {
                    *params_seen = true;
                    if let Some(p) = self.prepared.get_mut(name.as_str()) {
                        p.param_types = d.types;
                    }
                }
            }
            Be::RowDescription(r) => {
                let columns: Vec<(String, u32)> = r.fields.iter().map(|f| (f.name.clone(), f.type_id)).collect();
                match self.owed.front_mut() {
                    Some(Owed::DescribeStatement { name, .. }) => {
                        if let Some(p) = self.prepared.get_mut(name.as_str()) {
                            p.columns = columns;
                        }
                        self.owed.pop_front();
                    }
                    Some(Owed::DescribePortal { name }) => {
                        if let Some(p) = self.portals.get_mut(name.as_str()) {
                            p.columns = Some(columns);
                        }
                        self.owed.pop_front();
                    }
                    Some(Owed::Query { records, next, columns: cols }) => {
                        *cols = columns;
                        if let Some(&rec) = records.get(*next) {
                            let names = cols.iter().map(|(n, _)| n.clone()).collect();
                            self.shared.update_statement(rec, |s| s.columns = names);
                        }
                    }
                    _ => {}
                }
            }
            Be::NoData(_) => {
                if matches!(self.owed.front(), Some(Owed::DescribeStatement { .. } | Owed::DescribePortal { .. })) {
                    self.owed.pop_front();
                }
            }
            Be::DataRow(row) => match self.owed.front() {
                Some(Owed::Execute { record, columns, formats }) => {
                    let values = row_values(&row.data, row.field_count, columns, formats);
                    self.shared.add_row(*record, values, columns);
                }
                Some(Owed::Query { records, next, columns }) => {
                    if let Some(&rec) = records.get(*next) {
                        let values = row_values(&row.data, row.field_count, columns, &[0]);
                        self.shared.add_row(rec, values, columns);
                    }
                }
                _ => {}
            },
            Be::CommandComplete(c) => self.finish(Some(c.tag), None),
            Be::EmptyQueryResponse(_) => self.finish(Some(String::new()), None),
            Be::PortalSuspended(_) => self.finish(Some("(suspended)".to_owned()), None),
            Be::ErrorResponse(e) => {
                let field =
                    |code: u8| e.fields.iter().find(|(c, _)| *c == code).map(|(_, v)| v.clone()).unwrap_or_default();
                let error = ServerError { code: field(b'C'), message: field(b'M') };
                self.fail(error);
            }
            Be::ReadyForQuery(r) => {
                let status = match r.status {
                    TransactionStatus::Idle => TxStatus::Idle,
                    TransactionStatus::Transaction => TxStatus::InTransaction,
                    TransactionStatus::Error => TxStatus::Failed,
                };
                // Anything still owed before this point was skipped.
                while let Some(owed) = self.owed.pop_front() {
                    match owed {
                        Owed::Sync => break,
                        Owed::Query { records, next, .. } => {
                            for &rec in records.iter().skip(next) {
                                self.shared.update_statement(rec, |s| s.skipped = true);
                            }
                            self.settling.extend(records);
                            break;
                        }
                        Owed::Execute { record, .. } => {
                            self.shared.update_statement(record, |s| s.skipped = true);
                            self.settling.push(record);
                        }
                        _ => {}
                    }
                }
                let settled = std::mem::take(&mut self.settling);
                self.predicted = status;
                self.shared.ready(self.id, status, &settled);
            }
            _ => {}
        }
    }

    /// A new statement in the record, sent now.
    fn record(&mut self, sql: String, simple: bool, params: Vec<Value>) -> usize {
        let before = self.predicted;
        if is_begin(&sql) {
            self.predicted = TxStatus::InTransaction;
        } else if is_transaction_control(&sql)
            && matches!(
                super::traffic::collapse(&sql).to_ascii_uppercase().as_str(),
                "COMMIT" | "END" | "ROLLBACK" | "ABORT"
            )
        {
            self.predicted = TxStatus::Idle;
        }
        self.shared.push_statement(self.id, sql, simple, params, before)
    }

    /// The statement being answered completed with `tag`.
    fn finish(&mut self, tag: Option<String>, error: Option<ServerError>) {
        match self.owed.front_mut() {
            Some(Owed::Execute { record, .. }) => {
                let rec = *record;
                self.shared.update_statement(rec, |s| {
                    s.tag = tag;
                    s.error = error;
                });
                self.settling.push(rec);
                self.owed.pop_front();
            }
            Some(Owed::Query { records, next, .. }) => {
                let rec = match records.get(*next) {
                    Some(&rec) => rec,
                    // More answers than the split found statements: the
                    // last record stands for the rest of the text.
                    None => match records.last() {
                        Some(&rec) => rec,
                        None => return,
                    },
                };
                *next += 1;
                self.shared.update_statement(rec, |s| {
                    s.tag = tag;
                    s.error = error;
                });
            }
            _ => {}
        }
    }

    /// An ErrorResponse: it answers the front request; then the server
    /// skips everything up to the next Sync.
    fn fail(&mut self, error: ServerError) {
        match self.owed.front() {
            Some(Owed::Execute { .. } | Owed::Query { .. }) => self.finish(None, Some(error)),
            Some(Owed::Parse { .. }) => {
                let Some(Owed::Parse { name, sql }) = self.owed.pop_front() else { return };
                self.prepared.remove(&name);
                let rec = self.record(sql, false, Vec::new());
                self.shared.update_statement(rec, |s| s.error = Some(error));
                self.settling.push(rec);
            }
            Some(_) => {
                self.owed.pop_front();
            }
            None => {
                // An error with nothing asked: the server ending the
                // session (a terminated backend, a shutdown).
                self.unreadable(format!("the server ended the session: {} ({})", error.message, error.code));
                return;
            }
        }
        // The server now ignores the rest of the batch, up to the Sync.
        if !matches!(self.owed.front(), Some(Owed::Query { .. })) {
            while let Some(owed) = self.owed.front() {
                match owed {
                    Owed::Sync => break,
                    Owed::Execute { record, .. } => {
                        let rec = *record;
                        self.shared.update_statement(rec, |s| s.skipped = true);
                        self.settling.push(rec);
                        self.owed.pop_front();
                    }
                    _ => {
                        self.owed.pop_front();
                    }
                }
            }
        }
    }

    fn unreadable(&self, what: String) {
        self.shared.unreadable(self.id, what);
    }

    /// Nothing more on this connection can be read.
    fn lost(&mut self, why: String) {
        self.blind = true;
        self.unreadable(why);
    }
}

/// Splits one whole message (type byte, length, body) off `buf`, if it has
/// arrived.
fn frame(buf: &mut BytesMut) -> Option<BytesMut> {
    if buf.len() < 5 {
        return None;
    }
    let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    let total = 1 + usize::try_from(len).ok()?.max(4);
    if buf.len() < total {
        return None;
    }
    Some(buf.split_to(total))
}

/// The columns of one DataRow, decoded by type and format.
fn row_values(data: &[u8], count: i16, columns: &[(String, u32)], formats: &[i16]) -> Vec<Value> {
    let mut buf = data;
    let mut out = Vec::with_capacity(count.max(0) as usize);
    for i in 0..count.max(0) as usize {
        if buf.remaining() < 4 {
            break;
        }
        let len = buf.get_i32();
        let bytes = if len < 0 {
            None
        } else {
            let len = (len as usize).min(buf.remaining());
            let (head, tail) = buf.split_at(len);
            buf = tail;
            Some(head)
        };
        let format = match formats {
            [] => 0,
            [one] => *one,
            many => many.get(i).copied().unwrap_or(0),
        };
        let oid = columns.get(i).map_or(0, |c| c.1);
        out.push(Value::decode(oid, format, bytes));
    }
    out
}
