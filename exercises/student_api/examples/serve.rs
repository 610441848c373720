//! Runs your `app()` on 127.0.0.1, for trying it with curl or a browser.
//! `cargo checker serve student_api` starts it with the exercise's sandbox
//! database already migrated; by hand:
//!
//! ```sh
//! DATABASE_URL=postgres://... PORT=3000 cargo run -p student_api --example serve-student_api
//! ```

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| fail("DATABASE_URL is not set"));
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse().unwrap_or_else(|_| fail(&format!("PORT={p} is not a port number"))),
        Err(_) => 3000,
    };
    // Lazy: the server starts even when the database is down, and answers
    // with your 503 until it is back.
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(&url)
        .unwrap_or_else(|e| fail(&format!("DATABASE_URL does not parse: {e}")));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on 127.0.0.1:{port}: {e}")));
    // The address really bound: PORT=0 asks the system for a free port.
    let addr = listener.local_addr().unwrap_or_else(|e| fail(&format!("no local address: {e}")));
    println!("serving student_api on http://{addr} (Ctrl-C stops it)");
    println!("try: curl -i http://{addr}/students");
    if let Err(e) = axum::serve(listener, student_api::app(pool)).await {
        fail(&format!("the server stopped: {e}"));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}
