//! The layer the server under test runs behind: a handler's panic is
//! caught, recorded with where it happened, and reported by the request
//! that caused it, instead of a connection that closes with no answer.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The header the check's client numbers its requests with, so a panic is
/// told to the request that caused it.
pub(crate) const REQUEST_ID: &str = "x-workbook-request";

/// A panic in the server under test.
#[derive(Debug, Clone)]
pub struct Panic {
    pub message: String,
    /// `file:line:column`, when the panic said.
    pub location: Option<String>,
    /// The request that caused it (the check client's number), if known.
    pub request: Option<u64>,
}

impl Panic {
    pub fn describe(&self) -> String {
        match &self.location {
            Some(at) => format!("{:?} at {at}", self.message),
            None => format!("{:?}", self.message),
        }
    }
}

type Panics = Arc<Mutex<Vec<Panic>>>;

/// `app` behind the panic-catching layer.
pub(crate) fn wrap(app: axum::Router, panics: Panics) -> axum::Router {
    install_hook();
    app.layer(axum::middleware::from_fn_with_state(panics, catch))
}

async fn catch(State(panics): State<Panics>, request: Request, next: Next) -> Response {
    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    match (CatchUnwind { inner: Box::pin(next.run(request)) }).await {
        Ok(response) => response,
        Err(payload) => {
            let message = message_of(payload.as_ref());
            let location = LOCATION.with(|l| l.borrow_mut().take());
            panics.lock().unwrap_or_else(|p| p.into_inner()).push(Panic { message, location, request: id });
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "the handler panicked (caught by the check)")
                .into_response()
        }
    }
}

/// A future that turns a panic while polling `inner` into an `Err`.
struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

fn message_of(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic with no message".to_owned())
}

thread_local! {
    /// Where the last panic on this thread happened: the hook runs on the
    /// panicking thread before it unwinds into `CatchUnwind::poll`.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Adds "remember where" to whatever panic hook is installed (the
/// support crate's, which prints the panic, stays in charge).
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(loc) = info.location() {
                let at = format!("{}:{}:{}", loc.file(), loc.line(), loc.column());
                LOCATION.with(|l| *l.borrow_mut() = Some(at));
            }
            previous(info);
        }));
    });
}
