//! A request as a check writes it, and as a failure shows it.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Method;

/// One HTTP request a check sends.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        Request { method, path: path.into(), headers: Vec::new(), body: Bytes::new() }
    }

    pub fn get(path: impl Into<String>) -> Request {
        Request::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>) -> Request {
        Request::new(Method::POST, path)
    }

    pub fn put(path: impl Into<String>) -> Request {
        Request::new(Method::PUT, path)
    }

    pub fn patch(path: impl Into<String>) -> Request {
        Request::new(Method::PATCH, path)
    }

    pub fn delete(path: impl Into<String>) -> Request {
        Request::new(Method::DELETE, path)
    }

    /// `value` as the body, with `content-type: application/json`.
    #[must_use]
    pub fn json(self, value: &serde_json::Value) -> Request {
        self.raw("application/json", value.to_string())
    }

    /// Any body, sent exactly as given (malformed JSON, plain text).
    #[must_use]
    pub fn raw(mut self, content_type: &str, body: impl Into<String>) -> Request {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        self.headers.push(("content-type".to_owned(), content_type.to_owned()));
        self.body = Bytes::from(body.into());
        self
    }

    /// A body with no `content-type` header at all.
    #[must_use]
    pub fn untyped(mut self, body: impl Into<String>) -> Request {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        self.body = Bytes::from(body.into());
        self
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// `POST /students with body {"name":"Ada"}`, as a failure names it.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {}", self.method, self.path);
        if !self.body.is_empty() {
            let body = String::from_utf8_lossy(&self.body);
            let body = crate::reply::shorten(&body, 300);
            match self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                Some((_, t)) if t == "application/json" => out.push_str(&format!(" with body {body}")),
                Some((_, t)) => out.push_str(&format!(" with body {body} (content-type: {t})")),
                None => out.push_str(&format!(" with body {body} (no content-type)")),
            }
        }
        out
    }

    pub(crate) fn to_hyper(&self, addr: &SocketAddr, id: u64) -> hyper::Request<Full<Bytes>> {
        let mut builder = hyper::Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header("host", addr.to_string())
            .header(crate::catch::REQUEST_ID, id.to_string());
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        builder.body(Full::new(self.body.clone())).expect("a request the check wrote is valid HTTP")
    }
}
