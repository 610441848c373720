//! Runs the listings of the chapter "Connect" against a live server, and
//! proves that every error message the chapter quotes is the one sqlx and
//! PostgreSQL really produce: if a message changes, this fails and the
//! chapter must change with it.

use std::str::FromStr;
use std::time::{Duration, Instant};

use listings::connect::{
    ReportError, SettingsError, UrlParts, open_sessions, report_pool, report_pool_size, server_version,
    sessions_report, url_parts,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use workbook::{check, env};

const CHAPTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/connect/index.md");

/// Fails unless the chapter shows `message` word for word.
#[track_caller]
fn chapter_quotes(message: &str) {
    let chapter = std::fs::read_to_string(CHAPTER).expect("reading the connect chapter");
    assert!(
        chapter.contains(message),
        "book/src/connect/index.md should quote this message exactly (it is what the reader will see):\n{message}"
    );
}

/// A local port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("reading the bound port").port()
}

#[test]
fn server_version_asks_a_real_server() {
    check(async |db| {
        let version = server_version(db.url()).await.expect("server_version on a live database");
        assert!(version.starts_with("PostgreSQL "), "unexpected version string: {version}");
    });
}

#[test]
fn url_parts_reads_every_part_of_the_chapters_example() {
    let parts = url_parts("postgres://shop_app:s3cret@db.example.com:6543/shop").expect("a valid URL parses");
    assert_eq!(
        parts,
        UrlParts { user: "shop_app".into(), host: "db.example.com".into(), port: 6543, database: Some("shop".into()) }
    );
    chapter_quotes("postgres://shop_app:s3cret@db.example.com:6543/shop");
}

#[test]
fn url_parts_decodes_a_percent_encoded_password() {
    let url = "postgres://shop_app:p%23ss@localhost/shop";
    let options = PgConnectOptions::from_str(url).expect("an encoded # parses");
    assert_eq!(url_parts(url).unwrap().host, "localhost");
    // The password has no getter; the options' derived Debug shows it as
    // sqlx will send it to the server.
    assert!(format!("{options:?}").contains("\"p#ss\""), "the password should decode to p#ss: {options:?}");
    chapter_quotes(url);
}

#[test]
fn malformed_urls_fail_with_the_messages_the_chapter_shows() {
    let urls = ["postgres://localhost:notaport/shop", "localhost/shop", "postgres://shop_app:p#ss@localhost/shop"];
    for url in urls {
        let err = url_parts(url).expect_err("a malformed URL must not parse");
        assert!(matches!(err, sqlx::Error::Configuration(_)), "{url}: {err:?}");
        chapter_quotes(url);
        chapter_quotes(&err.to_string());
    }
}

#[test]
fn report_pool_size_reads_the_environment() {
    check(async |_db| {
        let size = env::with_var("REPORT_POOL_SIZE", Some(" 4 "), async || report_pool_size()).await;
        assert_eq!(size.expect("4 is a number"), 4);

        let missing = env::with_var("REPORT_POOL_SIZE", None, async || report_pool_size()).await;
        let missing = missing.expect_err("an unset variable is an error");
        assert!(matches!(missing, SettingsError::Missing { .. }));
        chapter_quotes(&missing.to_string());

        let words = env::with_var("REPORT_POOL_SIZE", Some("four"), async || report_pool_size()).await;
        let words = words.expect_err("a word is not a number");
        assert!(matches!(words, SettingsError::NotANumber { .. }));
        chapter_quotes(&words.to_string());
    });
}

#[test]
fn a_lazy_pool_opens_its_first_connection_on_the_first_query() {
    check(async |db| {
        let options = PgConnectOptions::from_str(db.url()).expect("the check URL parses");
        let pool = report_pool(options, 3);
        assert_eq!(pool.size(), 0, "a lazy pool opens nothing up front");
        let sessions = open_sessions(&pool).await.expect("counting sessions");
        assert_eq!(sessions, 1, "only the pool's one connection is in this fresh database");
        assert_eq!(pool.size(), 1, "one query needs one connection");
        pool.close().await;
    });
}

#[test]
fn a_closed_pool_refuses_queries() {
    check(async |db| {
        let pool = PgPoolOptions::new().connect(db.url()).await.expect("connecting");
        pool.close().await;
        let err = open_sessions(&pool).await.expect_err("a closed pool cannot run a query");
        assert!(matches!(err, sqlx::Error::PoolClosed), "{err:?}");
        chapter_quotes(&err.to_string());
    });
}

#[test]
fn one_connection_to_a_closed_port_fails_at_once() {
    check(async |_db| {
        let url = format!("postgres://postgres@127.0.0.1:{}/shop", closed_port());
        let started = Instant::now();
        let err = PgConnection::connect(&url).await.expect_err("nothing listens there");
        assert!(started.elapsed() < Duration::from_secs(2), "a refused connection fails at once");
        assert!(matches!(&err, sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused));
        // The OS's own wording ends the message; the chapter shows Linux's.
        if cfg!(target_os = "linux") {
            chapter_quotes(&err.to_string());
        }
    });
}

#[test]
fn a_pool_retries_a_closed_port_until_its_acquire_timeout() {
    check(async |_db| {
        let url = format!("postgres://postgres@127.0.0.1:{}/shop", closed_port());
        let options = PgConnectOptions::from_str(&url).expect("parses");
        let started = Instant::now();
        let err = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(1))
            .connect_with(options)
            .await
            .expect_err("nothing listens there");
        let waited = started.elapsed();
        assert!(matches!(err, sqlx::Error::PoolTimedOut), "{err:?}");
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
            "the pool should keep retrying for its acquire_timeout (1 s), waited {waited:?}"
        );
        chapter_quotes(&err.to_string());
    });
}

#[test]
fn a_missing_database_is_reported_by_the_server() {
    check(async |db| {
        let options = PgConnectOptions::from_str(db.url()).expect("parses").database("no_such_database");
        let err = PgConnection::connect_with(&options).await.expect_err("that database does not exist");
        assert!(matches!(err, sqlx::Error::Database(_)), "{err:?}");
        // sqlx ends the message with the line in PostgreSQL's own source
        // that raised it, which changes between server versions.
        let message = err.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message);
        chapter_quotes(message);
    });
}

#[test]
fn sessions_report_keeps_each_failure_in_its_own_variant() {
    check(async |db| {
        let options = PgConnectOptions::from_str(db.url()).expect("parses");
        let unset = env::with_var("REPORT_POOL_SIZE", None, async || sessions_report(options.clone()).await).await;
        let unset = unset.expect_err("no pool size set");
        assert!(matches!(unset, ReportError::Settings(SettingsError::Missing { .. })), "{unset:?}");
        chapter_quotes(&unset.to_string());

        let sessions = env::with_var("REPORT_POOL_SIZE", Some("2"), async || sessions_report(options.clone()).await)
            .await
            .expect("the report runs");
        assert_eq!(sessions, 1);

        let gone = options.database("no_such_database");
        let failed = env::with_var("REPORT_POOL_SIZE", Some("2"), async || sessions_report(gone).await).await;
        assert!(matches!(failed, Err(ReportError::Database(_))), "{failed:?}");
    });
}

#[test]
fn the_chapter_quotes_connect_errors_as_the_exercise_defines_them() {
    let exercise = concat!(env!("CARGO_MANIFEST_DIR"), "/../../exercises/connect/src/lib.rs");
    let source = std::fs::read_to_string(exercise).expect("reading exercises/connect/src/lib.rs");
    let messages: Vec<&str> =
        source.lines().filter_map(|line| line.trim().strip_prefix("#[error(\"")?.strip_suffix("\")]")).collect();
    assert_eq!(messages.len(), 3, "ConnectError has three variants: {messages:?}");
    for message in messages {
        // The chapter shows each message with a real error in place of {0}.
        let fixed = message.split("{0}").next().unwrap_or(message);
        chapter_quotes(fixed);
    }
}
