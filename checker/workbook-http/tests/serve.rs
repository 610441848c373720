//! The check client against a router of its own: replies are read whole,
//! JSON is recognised by its content type, and a panicking handler is
//! reported as a panic with its line, not as an answer.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::{get, post};
use workbook_http::{NoReply, Request, serve};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn router() -> axum::Router {
    axum::Router::new()
        .route(
            "/json",
            get(|| async { (StatusCode::CREATED, [("location", "/json/1")], Json(serde_json::json!({"id": 1}))) }),
        )
        .route("/text", get(|| async { "plain" }))
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("boom {}", 7)
                }
                "never"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
}

#[test]
fn replies_are_read_whole_and_json_is_known_by_its_content_type() {
    runtime().block_on(async {
        let server = serve(router());
        let reply = server.send(Request::get("/json")).await;
        assert_eq!(reply.status, 201);
        assert_eq!(reply.header("location"), Some("/json/1"));
        assert_eq!(reply.json(), Some(serde_json::json!({"id": 1})));
        assert!(reply.describe().starts_with("201 Created, location: /json/1, content-type: application/json"));
        let text = server.send(Request::get("/text")).await;
        assert_eq!(text.text(), "plain");
        assert_eq!(text.json(), None, "a text/plain body is not JSON, even if it would parse");
        let echo = server.send(Request::post("/echo").raw("text/plain", "{\"a\": ")).await;
        assert_eq!(echo.text(), "{\"a\": ");
        assert_eq!(server.send(Request::get("/nowhere")).await.status, 404);
    });
}

#[test]
fn a_panicking_handler_is_reported_with_its_message_and_line() {
    runtime().block_on(async {
        let server = serve(router());
        let Err(NoReply::Panicked(p)) = server.try_send(Request::get("/panic")).await else {
            panic!("the panic was not reported as one")
        };
        assert_eq!(p.message, "boom 7");
        let at = p.location.expect("a location");
        assert!(at.starts_with("checker/workbook-http/tests/serve.rs:") || at.starts_with("tests/serve.rs:"), "{at}");
        // The server goes on serving, and other requests are not blamed.
        assert_eq!(server.send(Request::get("/text")).await.status, 200);
        assert!(server.panics().is_empty());
    });
}

#[test]
fn a_reply_that_does_not_come_in_time_is_a_timeout() {
    runtime().block_on(async {
        let server = serve(router());
        let started = std::time::Instant::now();
        let got = server.try_send_within(Request::get("/slow"), Duration::from_millis(200)).await;
        assert!(matches!(got, Err(NoReply::TimedOut(_))), "{got:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn a_stopped_server_is_no_answer() {
    runtime().block_on(async {
        let server = serve(router());
        let addr = server.addr();
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Nobody listens on the port any more.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    });
}
