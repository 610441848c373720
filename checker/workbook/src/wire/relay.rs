//! The relay itself: a listener on 127.0.0.1 that a check hands to the code
//! under test instead of the server, forwarding every byte both ways
//! untouched while [`ConnParser`] reads a copy.
//!
//! It runs on a thread of its own with its own small runtime, so code
//! under test that blocks its runtime's threads cannot freeze the relay
//! (and with it the check's view of the traffic).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::conn::ConnParser;
use super::traffic::{ConnId, Connection, ROWS_KEPT, Statement, Traffic, TxStatus};
use super::value::Value;

/// Where the real server is.
#[derive(Debug, Clone)]
pub enum Upstream {
    Tcp {
        host: String,
        port: u16,
    },
    /// A Unix socket file (`<dir>/.s.PGSQL.<port>`).
    Unix(PathBuf),
}

/// The record every connection writes into.
pub(super) struct Shared {
    log: Mutex<Log>,
    /// Raised by [`Relay::cut`]: every relayed connection ends, and new
    /// ones are closed as soon as they are accepted.
    cut: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct Log {
    statements: Vec<Statement>,
    connections: Vec<Connection>,
    /// Per connection: answers still owed (a Sync or Query sent, its
    /// ReadyForQuery not yet seen).
    waiting: Vec<u32>,
    unreadable: Vec<(ConnId, String)>,
}

/// A moment in the record: everything after it is "since".
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

/// A PostgreSQL protocol relay owned by one check.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    /// Starts relaying connections made to a fresh port on 127.0.0.1 to
    /// `upstream`.
    pub fn start(upstream: Upstream) -> std::io::Result<Relay> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { log: Mutex::new(Log::default()), cut: tokio::sync::watch::Sender::new(false) });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let inner = shared.clone();
        let thread = std::thread::Builder::new().name("workbook-relay".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("starting the relay's runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                let accept = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else { continue };
                        if *inner.cut.borrow() {
                            // Closed before a byte is read: the client's
                            // first read fails (end of file, or a reset),
                            // as behind a proxy whose server went away.
                            drop(client);
                            continue;
                        }
                        let _ = client.set_nodelay(true);
                        let shared = inner.clone();
                        let upstream = upstream.clone();
                        tokio::spawn(serve(client, upstream, shared));
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels every connection task, closing
            // both ends of every relayed connection.
        })?;
        Ok(Relay { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    /// The address the code under test connects to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its host and port replaced by the relay's, keeping the
    /// user, password, database and options.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
        let (creds, after) = match rest.rfind('@') {
            Some(at) => (&rest[..=at], &rest[at + 1..]),
            None => ("", rest),
        };
        let path_at = after.find(['/', '?']).unwrap_or(after.len());
        let mut tail = after[path_at..].to_owned();
        // A socket directory in the options would win over the host.
        if let Some((path, query)) = tail.split_once('?') {
            let kept: Vec<&str> =
                query.split('&').filter(|kv| !kv.starts_with("host=") && !kv.starts_with("port=")).collect();
            tail = if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) };
        }
        format!("{scheme}://{creds}{}{tail}", self.addr)
    }

    /// Makes the database go away for the code under test: every
    /// connection the relay carries is closed at once (a statement in
    /// flight gets no answer), and every new one is closed as soon as it
    /// is accepted, until [`Relay::restore`]. The check's own
    /// [`crate::Db::pool`] goes straight to the server and keeps working.
    ///
    /// A pool sees what a restarting server looks like from the client:
    /// its idle connections fail their next use and its new ones fail to
    /// start, at once (not after a connect timeout: the port still
    /// accepts, as a proxy in front of a stopped server does).
    pub fn cut(&self) {
        self.shared.cut.send_replace(true);
    }

    /// Lets connections through again after [`Relay::cut`]. Connections
    /// closed by the cut stay closed: the code under test has to open new
    /// ones.
    pub fn restore(&self) {
        self.shared.cut.send_replace(false);
    }

    /// Now, as a point to read the record from.
    pub fn mark(&self) -> Mark {
        Mark(self.shared.lock().statements.len())
    }

    /// What was sent after `mark`, once every answer owed has arrived (or
    /// a short while has passed: a statement still running is included as
    /// it stands).
    pub async fn since(&self, mark: Mark) -> Traffic {
        self.settle().await;
        self.shared.traffic(mark.0, usize::MAX)
    }

    /// Runs `fut` and returns its output with everything the code under
    /// test sent while it ran, on any connection: spawned tasks, a second
    /// pool, several statements in one string.
    pub async fn during<F: std::future::IntoFuture>(&self, fut: F) -> (F::Output, Traffic) {
        let start = self.mark();
        let out = fut.into_future().await;
        self.settle().await;
        let end = self.mark();
        (out, self.shared.traffic(start.0, end.0))
    }

    /// Everything since the relay started.
    pub async fn everything(&self) -> Traffic {
        self.since(Mark(0)).await
    }

    /// Every connection made through the relay so far, with its state now.
    pub fn connections(&self) -> Vec<Connection> {
        self.shared.lock().connections.clone()
    }

    /// Open connections whose last answer said they are inside a
    /// transaction block: a transaction someone began and never ended.
    pub async fn left_in_transaction(&self) -> Vec<Connection> {
        self.settle().await;
        self.connections().into_iter().filter(|c| !c.closed && c.status.in_block()).collect()
    }

    /// Waits (briefly) until no connection is owed an answer.
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline {
            if self.shared.lock().waiting.iter().all(|w| *w == 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish_non_exhaustive()
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

async fn connect(upstream: &Upstream) -> std::io::Result<Box<dyn Stream>> {
    Ok(match upstream {
        Upstream::Tcp { host, port } => {
            let s = TcpStream::connect((host.as_str(), *port)).await?;
            let _ = s.set_nodelay(true);
            Box::new(s)
        }
        #[cfg(unix)]
        Upstream::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
        #[cfg(not(unix))]
        Upstream::Unix(_) => return Err(std::io::Error::other("Unix sockets need a Unix")),
    })
}

/// Relays one client connection until either side closes it.
async fn serve(client: TcpStream, upstream: Upstream, shared: Arc<Shared>) {
    let Ok(server) = connect(&upstream).await else {
        // The client sees its connection closed, as it would with the
        // server itself unreachable.
        return;
    };
    let id = shared.open_connection();
    let parser = Mutex::new(ConnParser::new(id, shared.clone()));
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(server);
    // Each side is read before it is forwarded, so the record knows a
    // request before its answer can arrive.
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            lock(&parser).client_sent(&buf[..n]);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            lock(&parser).server_sent(&buf[..n]);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    let mut cut = shared.cut.subscribe();
    let cut = async move {
        // Ends when the relay is cut, or when it is gone.
        let _ = cut.wait_for(|c| *c).await;
    };
    tokio::pin!(up, down);
    tokio::select! {
        () = &mut up => {
            // The client hung up: let the server's last words through.
            let _ = tokio::time::timeout(Duration::from_secs(1), &mut down).await;
        }
        () = &mut down => {}
        // Both sockets are dropped on return: the client and the server
        // each see the other side vanish.
        () = cut => {}
    }
    shared.close_connection(id);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Log> {
        lock(&self.log)
    }

    fn open_connection(&self) -> ConnId {
        let mut log = self.lock();
        let id = log.connections.len() + 1;
        log.connections.push(Connection {
            id,
            backend_pid: None,
            user: String::new(),
            database: String::new(),
            application_name: None,
            status: TxStatus::Idle,
            closed: false,
        });
        log.waiting.push(0);
        id
    }

    fn close_connection(&self, id: ConnId) {
        let mut log = self.lock();
        if let Some(c) = log.connections.get_mut(id - 1) {
            c.closed = true;
        }
        if let Some(w) = log.waiting.get_mut(id - 1) {
            *w = 0;
        }
    }

    pub(super) fn update_connection(&self, id: ConnId, f: impl FnOnce(&mut Connection)) {
        if let Some(c) = self.lock().connections.get_mut(id - 1) {
            f(c);
        }
    }

    pub(super) fn push_statement(
        &self,
        conn: ConnId,
        sql: String,
        simple: bool,
        params: Vec<Value>,
        before: TxStatus,
    ) -> usize {
        let mut log = self.lock();
        let seq = log.statements.len();
        log.statements.push(Statement {
            seq,
            conn,
            sql,
            simple,
            params,
            columns: Vec::new(),
            rows: Vec::new(),
            rows_returned: 0,
            tag: None,
            error: None,
            skipped: false,
            tx_before: before,
            tx_after: None,
        });
        seq
    }

    pub(super) fn update_statement(&self, seq: usize, f: impl FnOnce(&mut Statement)) {
        if let Some(s) = self.lock().statements.get_mut(seq) {
            f(s);
        }
    }

    pub(super) fn add_row(&self, seq: usize, values: Vec<Value>, columns: &[(String, u32)]) {
        let mut log = self.lock();
        let Some(s) = log.statements.get_mut(seq) else { return };
        s.rows_returned += 1;
        if s.columns.is_empty() && !columns.is_empty() {
            s.columns = columns.iter().map(|(n, _)| n.clone()).collect();
        }
        if s.rows.len() < ROWS_KEPT {
            s.rows.push(values);
        }
    }

    pub(super) fn begin_wait(&self, id: ConnId) {
        if let Some(w) = self.lock().waiting.get_mut(id - 1) {
            *w += 1;
        }
    }

    pub(super) fn ready(&self, id: ConnId, status: TxStatus, settled: &[usize]) {
        let mut log = self.lock();
        for &seq in settled {
            if let Some(s) = log.statements.get_mut(seq) {
                s.tx_after = Some(status);
            }
        }
        if let Some(c) = log.connections.get_mut(id - 1) {
            c.status = status;
        }
        if let Some(w) = log.waiting.get_mut(id - 1) {
            *w = w.saturating_sub(1);
        }
    }

    pub(super) fn unreadable(&self, id: ConnId, what: String) {
        self.lock().unreadable.push((id, what));
    }

    fn traffic(&self, from: usize, to: usize) -> Traffic {
        let log = self.lock();
        let to = to.min(log.statements.len());
        let statements: Vec<Statement> = log.statements[from.min(to)..to].to_vec();
        let used: std::collections::BTreeSet<ConnId> = statements.iter().map(|s| s.conn).collect();
        let connections = log.connections.iter().filter(|c| used.contains(&c.id)).cloned().collect();
        let unreadable = log.unreadable.iter().map(|(c, w)| format!("connection #{c}: {w}")).collect();
        Traffic { statements, connections, unreadable }
    }
}
