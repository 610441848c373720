//! The checks for `connect`. Each test is one check; its name says what it
//! expects. Run them with `cargo checker run connect`.

use std::time::Duration;

use connect::{ConnectError, connect, connect_to, health_check};
use workbook::{Failure, check, data, env};

#[test]
fn connect_opens_a_pool_to_the_database_in_database_url() {
    check(async |db| {
        // The database's name is new on every run: only code that reads
        // DATABASE_URL can land in it.
        let url = db.app_url();
        let result = env::with_var("DATABASE_URL", Some(&url), async || connect().await).await;
        let pool = match result {
            Ok(pool) => pool,
            Err(e) => Failure::new("connect() with DATABASE_URL set to a fresh database")
                .expected("Ok(pool)")
                .got(format!("Err({e:?})"))
                .fail(),
        };
        let landed: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| Failure::new("SELECT current_database() on your pool").got(e.to_string()).fail());
        if landed != db.name() {
            Failure::new("connect() with DATABASE_URL set to a fresh database")
                .expected(format!("a pool connected to database {:?}", db.name()))
                .got(format!("a pool connected to database {landed:?}"))
                .hint("Read the URL from DATABASE_URL every time; don't write a URL into the code.")
                .fail();
        }
        pool.close().await;
    });
}

#[test]
fn connect_without_database_url_is_missing_url() {
    check(async |_db| {
        let result = env::with_var("DATABASE_URL", None, async || connect().await).await;
        match result {
            Err(ConnectError::MissingUrl) => {}
            other => Failure::new("connect() with DATABASE_URL unset")
                .expected("Err(ConnectError::MissingUrl)")
                .got(describe(&other))
                .hint("std::env::var returns Err when the variable is missing: map that error to MissingUrl.")
                .fail(),
        }
    });
}

#[test]
fn a_malformed_url_is_invalid_url() {
    check(async |_db| {
        let garbage = [
            format!("{} {}", data::word(5), data::word(4)),
            format!("postgres://{}:notaport/{}", data::word(6), data::word(4)),
            format!("http//{}", data::word(7)),
        ];
        for url in &garbage {
            match connect_to(url).await {
                Err(ConnectError::InvalidUrl(_)) => {}
                other => Failure::new(format!("connect_to({url:?})"))
                    .expected("Err(ConnectError::InvalidUrl(..)): the URL itself is wrong")
                    .got(describe(&other))
                    .hint("Parse the URL first with PgConnectOptions::from_str and map its error to InvalidUrl.")
                    .fail(),
            }
        }
    });
}

#[test]
fn a_server_that_hangs_up_is_unreachable() {
    check(async |_db| {
        // Something listens, but hangs up on every connection: the URL is
        // fine, the server is not.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
        let port = listener.local_addr().expect("reading the bound port").port();
        std::thread::spawn(move || {
            for conn in listener.incoming().take(16) {
                drop(conn);
            }
        });
        let url = format!("postgres://{}@127.0.0.1:{port}/{}", data::word(5), data::word(6));
        match workbook::timeout(Duration::from_secs(8), connect_to(&url)).await {
            Some(Err(ConnectError::Unreachable(_))) => {}
            Some(other) => Failure::new(format!("connect_to({url:?}) (the server there hangs up)"))
                .expected("Err(ConnectError::Unreachable(..))")
                .got(describe(&other))
                .hint("Connect eagerly (PgPoolOptions::connect_with), not lazily, and map its error to Unreachable.")
                .fail(),
            None => Failure::new(format!("connect_to({url:?}) (the server there hangs up)"))
                .expected("Err(ConnectError::Unreachable(..))")
                .got("no answer after 8 s")
                .fail(),
        }
    });
}

#[test]
fn connect_to_gives_up_within_five_seconds() {
    check(async |db| {
        let pool = match connect_to(db.url()).await {
            Ok(pool) => pool,
            Err(e) => Failure::new("connect_to(url of a working database)")
                .expected("Ok(pool)")
                .got(format!("Err({e:?})"))
                .fail(),
        };
        let waits = pool.options().get_acquire_timeout();
        pool.close().await;
        if waits > Duration::from_secs(5) {
            Failure::new("connect_to(url).options().get_acquire_timeout()")
                .expected("at most 5 s: a caller should hear quickly that the database is down")
                .got(format!("{:.1} s (sqlx's default is 30 s)", waits.as_secs_f64()))
                .hint("Set PgPoolOptions::acquire_timeout(Duration::from_secs(3)) before connecting.")
                .fail();
        }
    });
}

#[test]
fn health_check_passes_on_a_live_pool() {
    check(async |db| {
        let (result, sent) = db.wire().during(health_check(db.app_pool())).await;
        if let Err(e) = result {
            Failure::new("health_check(&pool) on a working database")
                .expected("Ok(())")
                .got(format!("Err({e})"))
                .fail();
        }
        // Ok(()) alone proves nothing: the server must have answered.
        if !sent.queries().iter().any(|s| s.rows_returned > 0 && s.error.is_none()) {
            Failure::new("health_check(&pool) on a working database")
                .expected("a query sent to the server, and its answer (a row) back: that is what proves it is up")
                .got("Ok(()) without a query answered by the server")
                .sent(&sent)
                .hint("Ok(()) on its own proves nothing: only an answer from the server shows it is up, so send it the smallest query there is and wait for the row (book/src/connect/index.md#a-health-check).")
                .fail();
        }
    });
}

#[test]
fn health_check_fails_on_a_closed_pool() {
    check(async |db| {
        let pool = sqlx::PgPool::connect(db.url()).await.expect("connecting to the check database");
        pool.close().await;
        if health_check(&pool).await.is_ok() {
            Failure::new("health_check(&pool) after pool.close()")
                .expected("an Err: a closed pool cannot run a query")
                .got("Ok(())")
                .hint("Run a real query (SELECT 1) and return its error with ?; don't just return Ok(()).")
                .fail();
        }
    });
}

#[test]
fn no_database_url_is_written_into_the_code() {
    check(async |db| {
        // No URL in the code counts only for code that connects: it must
        // find its database through DATABASE_URL.
        let url = db.app_url();
        match env::with_var("DATABASE_URL", Some(&url), async || connect().await).await {
            Ok(pool) => pool.close().await,
            Err(e) => Failure::new("connect() with DATABASE_URL set to a fresh database")
                .expected("Ok(pool), reading the URL from DATABASE_URL")
                .got(format!("Err({e:?})"))
                .hint("Make connect() work first: database_url(), then connect_to(&url).")
                .fail(),
        }
        let hits = workbook::source::grep(workbook::exercise::path("src"), &["postgres://", "postgresql://"]);
        if let Some(hit) = hits.first() {
            Failure::new("reading your source for connection URLs")
                .expected("no URL in the code: credentials belong in the environment")
                .got(format!("{}:{}: {}", hit.file.display(), hit.line, hit.text))
                .hint("Delete the URL and read DATABASE_URL instead; keep local settings in .env, which git ignores.")
                .fail();
        }
    });
}

fn describe<T>(result: &Result<T, ConnectError>) -> String {
    match result {
        Ok(_) => "Ok(pool)".to_owned(),
        Err(e) => format!("Err({e:?})"),
    }
}
