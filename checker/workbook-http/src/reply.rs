//! What the server answered, and the words a failure uses for it.

use bytes::Bytes;
use hyper::HeaderMap;
use workbook::Failure;

/// One HTTP response, with the request that got it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The request, as [`crate::Request::describe`] shows it.
    pub request: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn new(request: String, status: u16, headers: HeaderMap, body: Bytes) -> Reply {
        Reply { request, status, headers, body }
    }

    /// A header's value, if present and readable as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, if it says it is JSON (`application/json`, with
    /// or without parameters) and parses as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        let typed = self.header("content-type").is_some_and(|t| {
            let t = t.split(';').next().unwrap_or("").trim();
            t.eq_ignore_ascii_case("application/json")
        });
        if !typed {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `"error"` string of a JSON error body such as
    /// `{"error": "no student with id 7"}`.
    pub fn error_message(&self) -> Option<String> {
        self.json()?.get("error")?.as_str().map(str::to_owned)
    }

    /// `404 Not Found, content-type: text/plain, body: ...`, for a
    /// failure's `got`.
    pub fn describe(&self) -> String {
        let reason = hyper::StatusCode::from_u16(self.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
        let mut out = format!("{} {reason}", self.status).trim_end().to_owned();
        if let Some(location) = self.header("location") {
            out.push_str(&format!(", location: {location}"));
        }
        match self.header("content-type") {
            Some(t) => out.push_str(&format!(", content-type: {t}")),
            None => out.push_str(", no content-type"),
        }
        if self.body.is_empty() {
            out.push_str(", empty body");
        } else {
            out.push_str(&format!(", body: {}", shorten(&self.text(), 400)));
        }
        out
    }

    /// Fails the check unless the status is `want`.
    pub fn expect_status(&self, want: u16, hint: &str) -> &Reply {
        if self.status != want {
            let reason = hyper::StatusCode::from_u16(want).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
            Failure::new(&self.request).expected(format!("{want} {reason}")).got(self.describe()).hint(hint).fail();
        }
        self
    }

    /// The body as JSON, or a failure that says what came instead.
    pub fn expect_json(&self, what: &str) -> serde_json::Value {
        match self.json() {
            Some(v) => v,
            None => Failure::new(&self.request)
                .expected(format!("{what}, as a JSON body with content-type: application/json"))
                .got(self.describe())
                .hint(
                    "axum's Json(value) sets the content type and writes the body; a String or &str answer \
                     is text/plain.",
                )
                .fail(),
        }
    }
}

/// `text`, cut to about `max` characters on a character boundary.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… ({} characters in all)", text.chars().count())
}
