//! The checks' side of the HTTP exercises.
//!
//! A check builds the student's router, hands it to [`serve`], and talks
//! to it the way any client would: over real TCP on 127.0.0.1, one
//! HTTP/1.1 connection per request, with hyper's client. What comes back
//! is a [`Reply`] (status, headers, body) that knows how to describe
//! itself in a failure.
//!
//! ```ignore
//! let server = workbook_http::serve(student_api::app(workbook_http::app_pool(&db)));
//! let reply = server.send(Request::post("/students").json(&body)).await;
//! reply.expect_status(201, "a created resource is 201 Created");
//! ```
//!
//! A handler that panics does not take the check down with it, and its
//! panic is not mistaken for an answer: the server under test runs behind
//! a layer that catches the panic, and [`Server::send`] fails the check
//! with the panic's message and the line it came from. (Without the
//! layer, axum drops the connection of a panicking handler and the client
//! gets no answer at all, which is what a real client would see.)

mod catch;
mod reply;
mod request;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use workbook::{Db, Failure};

pub use catch::Panic;
pub use reply::Reply;
pub use request::Request;

/// How long one request may take before [`Server::send`] gives up on it.
pub const REPLY_WITHIN: Duration = Duration::from_secs(5);

/// A pool for the code under test, through the check's relay, so the
/// wire records everything the server sends.
///
/// Prefer it to [`Db::app_pool`]: the check owns this pool and drops it
/// with the server, so a server that keeps a connection checked out for
/// ever costs the check nothing (closing `Db::app_pool` at teardown waits
/// up to 2 s for every connection to come back).
pub fn app_pool(db: &Db) -> PgPool {
    app_pool_with(db, None)
}

/// Like [`app_pool`], with its connections marked by `application_name`
/// (the relay records it per connection), to tell two pools apart.
pub fn app_pool_named(db: &Db, application_name: &str) -> PgPool {
    app_pool_with(db, Some(application_name))
}

fn app_pool_with(db: &Db, application_name: Option<&str>) -> PgPool {
    let mut options: sqlx::postgres::PgConnectOptions =
        db.app_url().parse().expect("the relay's URL parses as PostgreSQL connect options");
    if let Some(name) = application_name {
        options = options.application_name(name);
    }
    PgPoolOptions::new().max_connections(5).acquire_timeout(Duration::from_secs(3)).connect_lazy_with(options)
}

/// The student's server, running in the check's runtime on a port of its
/// own. Dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    panics: Arc<Mutex<Vec<Panic>>>,
    next_id: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

/// Serves `app` on a fresh port of 127.0.0.1 until the returned
/// [`Server`] is dropped. Call it inside the check (it needs the check's
/// runtime).
pub fn serve(app: axum::Router) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 for the server under test");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let addr = listener.local_addr().expect("the listener's address");
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    let panics = Arc::new(Mutex::new(Vec::new()));
    let app = catch::wrap(app, panics.clone());
    let task = tokio::spawn(async move {
        // An error here means the listener broke; the requests that fail
        // because of it say so.
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, panics, next_id: AtomicU64::new(1), task }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone)]
pub enum NoReply {
    /// The handler panicked (caught by the check's layer).
    Panicked(Panic),
    /// The connection failed or closed before a whole response came.
    Connection(String),
    /// Nothing within the time allowed.
    TimedOut(Duration),
}

impl NoReply {
    /// What happened, for a failure's `got`.
    pub fn describe(&self) -> String {
        match self {
            NoReply::Panicked(p) => format!("no answer: the handler panicked: {}", p.describe()),
            NoReply::Connection(e) => format!("no answer: {e}"),
            NoReply::TimedOut(d) => format!("no answer within {} s", d.as_secs_f64()),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            NoReply::Panicked(p) if p.message.starts_with("not yet implemented") => {
                "That is one of the starter's todo!()s: replace it with the code its message describes."
            }
            NoReply::Panicked(_) => {
                "A panic is not an answer: axum drops the connection and the client gets nothing, not even a \
                 500. Return an error the client can read instead: a Result whose error type implements \
                 IntoResponse, with no unwrap() or expect() on anything a request or the database decides."
            }
            NoReply::Connection(_) => {
                "The server closed the connection without a response: a panic outside the handler (in a task \
                 it spawned), or a server that stopped."
            }
            NoReply::TimedOut(_) => {
                "The request is waiting on something: a lock, a connection the pool cannot give (all of them \
                 checked out and never returned), or a Mutex another request holds."
            }
        }
    }
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `request` and returns the reply, or fails the check saying
    /// why there was none (a panic, a closed connection, no answer in
    /// [`REPLY_WITHIN`]).
    pub async fn send(&self, request: Request) -> Reply {
        self.send_within(request, REPLY_WITHIN).await
    }

    /// [`Server::send`] with a time limit of the check's choosing.
    pub async fn send_within(&self, request: Request, limit: Duration) -> Reply {
        let shown = request.describe();
        match self.try_send_within(request, limit).await {
            Ok(reply) => reply,
            Err(no) => Failure::new(shown)
                .expected("an HTTP response (a status, headers, a body)")
                .got(no.describe())
                .hint(no.hint())
                .fail(),
        }
    }

    /// Sends `request`; `Err` says why no reply came.
    pub async fn try_send(&self, request: Request) -> Result<Reply, NoReply> {
        self.try_send_within(request, REPLY_WITHIN).await
    }

    pub async fn try_send_within(&self, request: Request, limit: Duration) -> Result<Reply, NoReply> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shown = request.describe();
        let exchange = self.exchange(&request, id);
        let outcome = match tokio::time::timeout(limit, exchange).await {
            Err(_) => Err(NoReply::TimedOut(limit)),
            Ok(Err(e)) => Err(NoReply::Connection(e)),
            Ok(Ok((status, headers, body))) => Ok(Reply::new(shown, status, headers, body)),
        };
        // A caught panic is reported as what it was, whatever the layer
        // answered in its place.
        if let Some(panic) = self.take_panic(id) {
            return Err(NoReply::Panicked(panic));
        }
        outcome
    }

    async fn exchange(&self, request: &Request, id: u64) -> Result<(u16, hyper::HeaderMap, Bytes), String> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("could not connect to the server at {}: {e}", self.addr))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| format!("the HTTP handshake failed: {e}"))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = request.to_hyper(&self.addr, id);
        let response = sender.send_request(req).await.map_err(|e| {
            if e.is_incomplete_message() || e.is_closed() {
                "the server closed the connection before it sent a response".to_owned()
            } else {
                format!("the request failed: {e}")
            }
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body =
            response.into_body().collect().await.map_err(|e| format!("the response body broke off: {e}"))?.to_bytes();
        drop(sender);
        driver.abort();
        Ok((status, headers, body))
    }

    fn take_panic(&self, id: u64) -> Option<Panic> {
        let mut panics = self.panics.lock().unwrap_or_else(|p| p.into_inner());
        let at = panics.iter().position(|p| p.request == Some(id))?;
        Some(panics.remove(at))
    }

    /// Panics the server caught that no [`Server::send`] has reported yet
    /// (from requests the check did not wait for).
    pub fn panics(&self) -> Vec<Panic> {
        self.panics.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the serve loop drops its router, and with it the app's
        // state: a connection the state kept goes back to its pool.
        self.task.abort();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}
