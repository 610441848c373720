//! The checks for `pooling`. Each test is one check; its name says what it
//! expects. Run them with `cargo checker run pooling`.
//!
//! Every check builds your pool from a configuration generated for this
//! run, pointed at the check's relay, so each connection the pool opens is
//! seen twice: on the wire, and in the server's own `pg_stat_activity`
//! (found by its application name and backend pid). The checks hold
//! connections themselves to exhaust the pool, hold row locks to make a
//! statement wait, and sample the server while many requests run at once.
//! Timeouts are short (a tenth of a second or two) so the lessons are seen
//! without waiting for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use pooling::{
    ConfigError, Order, OrderError, PoolConfig, PoolHealth, SizingError, build_pool, place_order, pool_health,
    pool_size,
};
use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use workbook::{Db, Failure, check, data};

// ---------------------------------------------------------------------------
// Sizing and configuration.
// ---------------------------------------------------------------------------

#[test]
fn pool_size_shares_what_the_server_has_left_among_the_replicas() {
    check(async |_db| {
        let mut cases: Vec<(u32, u32, u32)> = vec![
            (100, 100, 1),
            (100, 150, 2),
            (0, 0, 1),
            (1, 0, 1),
            (100, 10, 90),
            (100, 10, 91),
            (100, 0, 0),
            (0, 10, 0),
            (u32::MAX, 0, 1),
            (u32::MAX, 1, u32::MAX),
        ];
        for _ in 0..40 {
            let server = data::int(20..500) as u32;
            let reserved = data::int(0..i64::from(server) + 10) as u32;
            let replicas = data::int(0..20) as u32;
            cases.push((server, reserved, replicas));
        }
        data_shuffle(&mut cases);
        for (server, reserved, replicas) in cases {
            let want = sized(server, reserved, replicas);
            let called = format!("pool_size({server}, {reserved}, {replicas})");
            let got = match std::panic::catch_unwind(|| pool_size(server, reserved, replicas)) {
                Ok(got) => got,
                Err(_) => Failure::new(&called)
                    .expected(format!("{want:?}"))
                    .got("a panic (did a subtraction overflow?)")
                    .hint(
                        "A reserve can be larger than the server's limit: subtract with checked_sub and treat None \
                         as NothingLeft.",
                    )
                    .fail(),
            };
            if got != want {
                let hint = match &want {
                    Ok(_) => {
                        "Each replica gets (server_max_connections - reserved) / replicas, rounded down: \
                              round up and the replicas together pass the server's limit."
                    }
                    Err(SizingError::NoReplicas) => "With no replicas there is nothing to divide by: NoReplicas.",
                    Err(SizingError::NothingLeft { .. }) => {
                        "When the reserve takes every connection the server allows (or more), NothingLeft."
                    }
                    Err(SizingError::TooManyReplicas { .. }) => {
                        "When fewer connections are left than there are replicas, some replica would get none: \
                         TooManyReplicas, with the connections available after the reserve."
                    }
                };
                Failure::new(called).expected(format!("{want:?}")).got(format!("{got:?}")).hint(hint).fail();
            }
        }
    });
}

#[test]
fn a_pool_larger_than_the_server_allows_is_refused() {
    check(async |db| {
        let server_max = server_max_connections(&db).await;
        let mut cfg = config(&db);
        cfg.replicas = data::int(2..5) as u32;
        cfg.reserved_connections = data::int(5..20) as u32;
        let allowed = (server_max - cfg.reserved_connections) / cfg.replicas;
        cfg.max_connections = allowed + data::int(1..6) as u32;
        cfg.min_connections = 1;
        let called = format!(
            "build_pool(&config) with max_connections {}, {} replicas and {} reserved, on a server that allows {}",
            cfg.max_connections, cfg.replicas, cfg.reserved_connections, server_max
        );
        let (result, sent) = db.wire().during(build_pool(&cfg)).await;
        match result {
            Err(ConfigError::TooLarge { asked, allowed: a }) if asked == cfg.max_connections && a == allowed => {}
            other => Failure::new(&called)
                .expected(format!(
                    "Err(ConfigError::TooLarge {{ asked: {}, allowed: {allowed} }}): ({server_max} - {}) / {} = \
                     {allowed} per replica",
                    cfg.max_connections, cfg.reserved_connections, cfg.replicas
                ))
                .got(describe_pool(&other))
                .hint(
                    "Ask the server what it allows (SHOW max_connections, or current_setting('max_connections')), \
                     size the pool with pool_size, and refuse a larger max_connections: every replica would \
                     open that many, and together they would pass the server's limit.",
                )
                .sent(&sent)
                .fail(),
        }
        let asked_server = sent.queries().iter().any(|s| s.sql.contains("max_connections") && s.rows_returned > 0);
        if !asked_server {
            Failure::new(&called)
                .expected("the server asked for its max_connections on the way")
                .got("no statement that read max_connections from the server")
                .hint(
                    "The limit is the server's setting, and it differs between servers (100 by default, 200 on \
                     the course's own): read it with current_setting('max_connections') instead of assuming it.",
                )
                .sent(&sent)
                .fail();
        }
        // Refused means closed: the warm connections must not linger.
        if let Some(open) = wait_all_closed(&db).await {
            Failure::new(&called)
                .expected("every connection the refused pool opened closed again")
                .got(format!("{open} connection(s) still open three seconds after the refusal"))
                .hint("Close the pool (pool.close().await) before returning the error.")
                .fail();
        }

        // At the limit exactly, the pool is fine.
        cfg.max_connections = allowed;
        let called = format!("build_pool(&config) with max_connections {allowed}, exactly the share allowed");
        match build_pool(&cfg).await {
            Ok(pool) => pool.close().await,
            other => Failure::new(called)
                .expected("Ok(pool)")
                .got(describe_pool(&other))
                .hint("A pool of exactly the allowed size fits: refuse only what is larger.")
                .fail(),
        }
        cfg.replicas = 0;
        let called = "build_pool(&config) with replicas = 0";
        match build_pool(&cfg).await {
            Err(ConfigError::Sizing(SizingError::NoReplicas)) => {}
            other => Failure::new(called)
                .expected("Err(ConfigError::Sizing(SizingError::NoReplicas))")
                .got(describe_pool(&other))
                .hint("The sizing rule's errors become ConfigError::Sizing (the #[from] on it does this for ?).")
                .fail(),
        }
    });
}

#[test]
fn a_config_that_cannot_work_is_refused_before_connecting() {
    check(async |db| {
        let base = config(&db);
        let request = base.request_timeout;
        /// A configuration, and the error it must be refused with.
        type Refusal = (String, PoolConfig, fn(&ConfigError) -> bool, &'static str);
        let mut cases: Vec<Refusal> = Vec::new();
        let mut c = base.clone();
        c.acquire_timeout = request;
        cases.push((
            format!("acquire_timeout = request_timeout = {request:?}"),
            c,
            |e| matches!(e, ConfigError::AcquireNotShorterThanRequest { .. }),
            "ConfigError::AcquireNotShorterThanRequest",
        ));
        let mut c = base.clone();
        c.acquire_timeout = request + Duration::from_millis(data::int(1..5000) as u64);
        cases.push((
            format!("acquire_timeout {:?} > request_timeout {request:?}", c.acquire_timeout),
            c,
            |e| matches!(e, ConfigError::AcquireNotShorterThanRequest { .. }),
            "ConfigError::AcquireNotShorterThanRequest",
        ));
        let mut c = base.clone();
        c.min_connections = c.max_connections + data::int(1..4) as u32;
        cases.push((
            format!("min_connections {} > max_connections {}", c.min_connections, c.max_connections),
            c,
            |e| matches!(e, ConfigError::MinAboveMax { .. }),
            "ConfigError::MinAboveMax",
        ));
        let mut c = base.clone();
        c.max_connections = 0;
        c.min_connections = 0;
        cases.push((
            "max_connections = 0".to_owned(),
            c,
            |e| matches!(e, ConfigError::NoConnections),
            "ConfigError::NoConnections",
        ));
        data_shuffle(&mut cases);
        for (what, cfg, ok, want) in cases {
            let called = format!("build_pool(&config) with {what}");
            let before = db.wire().connections().len();
            let result = build_pool(&cfg).await;
            let opened = db.wire().connections().len() - before;
            match result {
                Err(e) if ok(&e) && opened == 0 => {}
                Err(e) if ok(&e) => Failure::new(called)
                    .expected(format!("Err({want}) before connecting"))
                    .got(format!("the right error, after opening {opened} connection(s)"))
                    .hint("These mistakes are in the configuration: refuse it before the pool opens anything.")
                    .fail(),
                other => Failure::new(called)
                    .expected(format!("Err({want} {{ .. }})"))
                    .got(describe_pool(&other))
                    .hint(
                        "A request that waits for a connection as long as the whole request may take can only \
                         fail late: the acquire timeout must be shorter than the request timeout. And min cannot \
                         exceed max, nor max be 0.",
                    )
                    .fail(),
            }
        }
        // Just under the request timeout is fine.
        let mut cfg = base;
        cfg.acquire_timeout = cfg.request_timeout - Duration::from_millis(1);
        match build_pool(&cfg).await {
            Ok(pool) => pool.close().await,
            other => Failure::new("build_pool(&config) with acquire_timeout 1 ms shorter than request_timeout")
                .expected("Ok(pool)")
                .got(describe_pool(&other))
                .fail(),
        }
    });
}

#[test]
fn the_pool_is_built_from_the_config_with_its_warm_connections_open() {
    check(async |db| {
        let mut cfg = config(&db);
        cfg.max_connections = data::int(3..6) as u32;
        cfg.min_connections = data::int(1..3) as u32;
        cfg.idle_timeout = Duration::from_millis(data::int(20_000..90_000) as u64);
        cfg.max_lifetime = Duration::from_millis(data::int(100_000..900_000) as u64);
        let pool = built(&cfg).await;
        let o = pool.options();
        let got = [
            ("max_connections", format!("{}", o.get_max_connections())),
            ("min_connections", format!("{}", o.get_min_connections())),
            ("acquire_timeout", format!("{:?}", o.get_acquire_timeout())),
            ("idle_timeout", format!("{:?}", o.get_idle_timeout())),
            ("max_lifetime", format!("{:?}", o.get_max_lifetime())),
        ];
        let want = [
            ("max_connections", format!("{}", cfg.max_connections)),
            ("min_connections", format!("{}", cfg.min_connections)),
            ("acquire_timeout", format!("{:?}", cfg.acquire_timeout)),
            ("idle_timeout", format!("{:?}", Some(cfg.idle_timeout))),
            ("max_lifetime", format!("{:?}", Some(cfg.max_lifetime))),
        ];
        let wrong: Vec<String> = got
            .iter()
            .zip(&want)
            .filter(|(g, w)| g.1 != w.1)
            .map(|(g, w)| format!("{} is {} where the config says {}", g.0, g.1, w.1))
            .collect();
        if !wrong.is_empty() {
            Failure::new("build_pool(&config), then reading pool.options()")
                .expected("every limit as the config gives it")
                .got(wrong.join("; "))
                .hint(
                    "Set each one on PgPoolOptions: max_connections, min_connections, acquire_timeout, idle_timeout, \
                     max_lifetime. sqlx's defaults (10 connections, 30 s to acquire, 10 min idle, 30 min \
                     lifetime) are not this service's.",
                )
                .fail();
        }
        // Warm means open before anyone asks.
        let deadline = Instant::now() + slack(&db).await;
        let mut open = 0;
        while Instant::now() < deadline {
            open = server_count(&db, &cfg.application_name).await;
            if open >= i64::from(cfg.min_connections) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if open < i64::from(cfg.min_connections) {
            Failure::new("build_pool(&config), then counting its sessions in pg_stat_activity before any query")
                .expected(format!("{} connections open, kept warm", cfg.min_connections))
                .got(format!("{open} sessions named {:?}", cfg.application_name))
                .hint(
                    "min_connections keeps that many connections open, so the first requests do not pay for \
                     opening them; PgPoolOptions::connect_with opens them before it returns.",
                )
                .fail();
        }
        pool.close().await;
    });
}

#[test]
fn every_connection_the_pool_opens_gets_the_settings() {
    check(async |db| {
        let mut cfg = config(&db);
        cfg.max_connections = data::int(3..5) as u32;
        let pool = built(&cfg).await;
        let held = hold_all(&pool, cfg.max_connections).await;
        let mut wrong = Vec::new();
        let mut pids = Vec::new();
        for (i, mut conn) in held.into_iter().enumerate() {
            let row: (i32, String, String) = sqlx::query_as(
                "SELECT pg_backend_pid(), current_setting('application_name'), current_setting('statement_timeout')",
            )
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| query_failed("reading the settings of a connection of your pool", e));
            let (pid, app, timeout) = row;
            pids.push(pid);
            let want_timeout = ms(cfg.statement_timeout);
            if app != cfg.application_name || timeout != want_timeout {
                wrong.push(format!(
                    "connection {} of {} (backend pid {pid}): application_name {app:?}, statement_timeout {timeout}",
                    i + 1,
                    cfg.max_connections
                ));
            }
        }
        if !wrong.is_empty() {
            Failure::new(format!(
                "holding all {} connections of the pool at once and reading each one's settings",
                cfg.max_connections
            ))
            .expected(format!(
                "on every connection: application_name {:?}, statement_timeout {}",
                cfg.application_name,
                ms(cfg.statement_timeout)
            ))
            .got(wrong.join("\n"))
            .hint(
                "A SET sent through the pool changes the one connection it happens to run on. Settings for every \
                 connection go in PgConnectOptions (.application_name(..), .options([(\"statement_timeout\", ..)])) \
                 or in PgPoolOptions::after_connect, which runs on each connection the pool opens.",
            )
            .fail();
        }
        // The server sees the same, by pid.
        let named: Vec<(i32, Option<String>)> = sqlx::query_as(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() AND pid = ANY($1)",
        )
        .bind(&pids)
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| query_failed("SELECT pid, application_name FROM pg_stat_activity", e));
        let unnamed: Vec<String> = named
            .iter()
            .filter(|(_, app)| app.as_deref() != Some(cfg.application_name.as_str()))
            .map(|(pid, app)| format!("pid {pid} as {app:?}"))
            .collect();
        if !unnamed.is_empty() || named.len() != pids.len() {
            Failure::new("reading the pool's sessions from pg_stat_activity")
                .expected(format!("{} sessions named {:?}", pids.len(), cfg.application_name))
                .got(format!("{} of them found; named otherwise: {}", named.len(), unnamed.join(", ")))
                .fail();
        }
        pool.close().await;
    });
}

#[test]
fn idle_connections_are_closed_and_old_ones_replaced_with_the_settings() {
    check(async |db| {
        // Two pools at once, so the waits overlap: one whose connections go
        // idle, one whose connections grow old.
        let mut idle = config(&db);
        idle.max_connections = 3;
        idle.min_connections = 1;
        idle.idle_timeout = Duration::from_millis(data::int(40..60) as u64);
        idle.max_lifetime = Duration::from_secs(600);
        let mut aging = config(&db);
        aging.application_name = format!("{}_old", idle.application_name);
        aging.max_connections = 2;
        aging.min_connections = 2;
        aging.idle_timeout = Duration::from_secs(600);
        aging.max_lifetime = Duration::from_millis(data::int(80..120) as u64);
        let (idle_pool, aging_pool) = tokio::join!(built(&idle), built(&aging));

        let idle_check = async {
            // Use all three, then leave them idle.
            drop(hold_all(&idle_pool, 3).await);
            // sqlx's own default is 10 minutes: a generous slack still tells the two apart.
            let deadline = Instant::now() + idle.idle_timeout * 3 + slack(&db).await;
            let mut open = 3;
            while Instant::now() < deadline {
                open = server_count(&db, &idle.application_name).await;
                if open <= 1 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Some(open)
        };
        let aging_check = async {
            let old: Vec<i32> = backend_pids(&db, &aging.application_name).await;
            let deadline = Instant::now() + aging.max_lifetime * 3 + slack(&db).await;
            while Instant::now() < deadline {
                let now = backend_pids(&db, &aging.application_name).await;
                if !now.is_empty() && now.iter().all(|p| !old.contains(p)) {
                    return Ok(now);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err((old, backend_pids(&db, &aging.application_name).await))
        };
        let (idle_left, aged) = tokio::join!(idle_check, aging_check);
        if let Some(open) = idle_left {
            Failure::new(format!(
                "using all 3 connections of a pool with idle_timeout {:?} and min_connections 1, then waiting",
                idle.idle_timeout
            ))
            .expected("the idle connections closed down to min_connections (1) within a few idle timeouts")
            .got(format!("{open} still open"))
            .hint("Set PgPoolOptions::idle_timeout from config.idle_timeout: idle connections cost the server memory.")
            .fail();
        }
        match aged {
            Err((old, now)) if now.is_empty() => Failure::new(format!(
                "a pool with max_lifetime {:?} and min_connections 2, watched in pg_stat_activity",
                aging.max_lifetime
            ))
            .expected(format!("the retired connections replaced by new ones named {:?}", aging.application_name))
            .got(format!("backend pids at the start {old:?}; now no session carries the name"))
            .hint(
                "The replacements do not carry the settings: a setting made once, by hand, dies with its \
                 connection. Put it in the connect options or in after_connect, which run for every new connection.",
            )
            .fail(),
            Err((old, now)) => Failure::new(format!(
                "a pool with max_lifetime {:?} and min_connections 2, watched in pg_stat_activity",
                aging.max_lifetime
            ))
            .expected("its first connections retired after their lifetime, and new ones opened in their place")
            .got(format!("backend pids at the start {old:?}, still there: {now:?}"))
            .hint(
                "Set PgPoolOptions::max_lifetime from config.max_lifetime: the pool then closes connections that old \
                 and opens fresh ones (sqlx has no per-connection use count; a lifetime is its way to retire them).",
            )
            .fail(),
            Ok(_) => {
                // A replacement gets the settings too.
                let mut conn = aging_pool
                    .acquire()
                    .await
                    .unwrap_or_else(|e| query_failed("acquiring a replacement connection", e));
                let timeout: String = sqlx::query_scalar("SELECT current_setting('statement_timeout')")
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or_else(|e| query_failed("SHOW statement_timeout", e));
                if timeout != ms(aging.statement_timeout) {
                    Failure::new("reading statement_timeout on a connection opened to replace a retired one")
                        .expected(ms(aging.statement_timeout))
                        .got(timeout)
                        .hint(
                            "Settings made once, by hand, die with the connection; after_connect runs on each new one.",
                        )
                        .fail();
                }
            }
        }
        idle_pool.close().await;
        aging_pool.close().await;
    });
}

// ---------------------------------------------------------------------------
// Timeouts.
// ---------------------------------------------------------------------------

#[test]
fn a_slow_query_is_cancelled_by_statement_timeout_with_57014() {
    check(async |db| {
        let mut cfg = config(&db);
        cfg.max_connections = 2;
        cfg.min_connections = 2;
        cfg.statement_timeout = Duration::from_millis(data::int(60..100) as u64);
        let pool = built(&cfg).await;
        // The statement sleeps far longer than the limit the check allows, so
        // a connection without the timeout is caught however slow the machine.
        let limit = cfg.statement_timeout + slack(&db).await;
        let seconds = (limit * 2).as_secs_f64();
        let sleep = format!("SELECT pg_sleep({seconds:.1})");
        // On both connections at once: each must carry the setting.
        let held = hold_all(&pool, 2).await;
        let sleeps: Vec<_> = held
            .into_iter()
            .map(|mut conn| {
                tokio::spawn(async move {
                    let started = Instant::now();
                    let query = sqlx::query("SELECT pg_sleep($1)").bind(seconds);
                    let r = tokio::time::timeout(limit, query.execute(&mut *conn)).await;
                    (r.map(|r| r.map(|_| ())), started.elapsed())
                })
            })
            .collect();
        let mut results = Vec::new();
        for sleep in sleeps {
            results.push(sleep.await.unwrap_or_else(|e| Failure::new("SELECT pg_sleep(..)").got(e.to_string()).fail()));
        }
        for (r, took) in results {
            let called =
                format!("{sleep} on a connection of your pool (statement_timeout {:?})", cfg.statement_timeout);
            match r {
                Ok(Err(sqlx::Error::Database(e))) if e.code().as_deref() == Some("57014") => {}
                Ok(Err(e)) => Failure::new(called)
                    .expected("ERROR 57014: canceling statement due to statement timeout")
                    .got(e.to_string())
                    .fail(),
                Ok(Ok(_)) | Err(_) => Failure::new(called)
                    .expected(format!("cancelled by the server after {:?} (SQLSTATE 57014)", cfg.statement_timeout))
                    .got(format!("still running after {took:?}"))
                    .hint("statement_timeout must be set on every connection (after_connect, or the connect options).")
                    .fail(),
            }
        }

        // The handler tells the caller what happened: a lock held by the
        // check makes its SELECT ... FOR UPDATE wait past the timeout.
        db.migrate(migrations()).await;
        let product = new_product(&db, 10).await;
        let mut lock = db.pool().begin().await.unwrap_or_else(|e| query_failed("BEGIN", e));
        sqlx::query("SELECT 1 FROM products WHERE id = $1 FOR UPDATE")
            .bind(product)
            .execute(&mut *lock)
            .await
            .unwrap_or_else(|e| query_failed("SELECT ... FOR UPDATE", e));
        let called = format!("place_order(&pool, {product}, 1) while the check holds a lock on the product's row");
        let started = Instant::now();
        let (result, sent) = db.wire().during(tokio::time::timeout(limit, place_order(&pool, product, 1))).await;
        let took = started.elapsed();
        let _ = lock.rollback().await;
        match result {
            Ok(Err(OrderError::Timeout)) => {}
            Ok(other) => Failure::new(&called)
                .expected("Err(OrderError::Timeout): the server cancelled the statement (SQLSTATE 57014)")
                .got(describe_order(&other))
                .hint(
                    "Turn a database error whose code() is \"57014\" into OrderError::Timeout in From<sqlx::Error>: \
                     the caller should answer 504 (try again later), not 500.",
                )
                .sent(&sent)
                .fail(),
            Err(_) => Failure::new(&called)
                .expected(format!("Err(OrderError::Timeout) after about {:?}", cfg.statement_timeout))
                .got(format!("still waiting after {took:?}"))
                .sent(&sent)
                .fail(),
        }
        pool.close().await;
    });
}

#[test]
fn an_exhausted_pool_fails_fast_with_busy() {
    check(async |db| {
        db.migrate(migrations()).await;
        let mut cfg = config(&db);
        cfg.max_connections = data::int(2..4) as u32;
        cfg.acquire_timeout = Duration::from_millis(data::int(80..120) as u64);
        let pool = built(&cfg).await;
        let product = new_product(&db, 50).await;
        let mut held = hold_all(&pool, cfg.max_connections).await;
        let called = format!(
            "place_order(&pool, {product}, 1) while the check holds all {} connections (acquire_timeout {:?})",
            cfg.max_connections, cfg.acquire_timeout
        );
        // Without an acquire timeout sqlx waits 30 s: a limit of a few seconds
        // still tells that apart from the configured tenth of a second.
        let limit = cfg.acquire_timeout + slack(&db).await;
        let started = Instant::now();
        let result = tokio::time::timeout(limit, place_order(&pool, product, 1)).await;
        let took = started.elapsed();
        match result {
            Ok(Err(OrderError::Busy)) => {}
            Ok(other) => Failure::new(&called)
                .expected("Err(OrderError::Busy)")
                .got(describe_order(&other))
                .hint(
                    "sqlx::Error::PoolTimedOut means no connection came free in time: make it OrderError::Busy in \
                     From<sqlx::Error>, so the caller can answer 503 and the logs say the pool ran dry.",
                )
                .fail(),
            Err(_) => Failure::new(&called)
                .expected(format!("Err(OrderError::Busy) within the acquire timeout, {:?}", cfg.acquire_timeout))
                .got(format!("still waiting after {took:?}"))
                .hint(
                    "Without acquire_timeout, sqlx waits 30 s for a connection: longer than any caller will. Set it \
                     from config.acquire_timeout.",
                )
                .fail(),
        }
        // One connection back, and the pool serves again.
        held.pop();
        let called = format!("place_order(&pool, {product}, 1) after the check gave one connection back");
        match tokio::time::timeout(limit, place_order(&pool, product, 1)).await {
            Ok(Ok(_)) => {}
            Ok(other) => Failure::new(called).expected("Ok(Order { .. })").got(describe_order(&other)).fail(),
            Err(_) => Failure::new(called).expected("Ok(Order { .. })").got("still waiting").fail(),
        }
        drop(held);
        pool.close().await;
    });
}

// ---------------------------------------------------------------------------
// The handler.
// ---------------------------------------------------------------------------

#[test]
fn place_order_sells_stock_in_one_transaction() {
    check(async |db| {
        db.migrate(migrations()).await;
        let cfg = config(&db);
        let pool = built(&cfg).await;
        let stock = data::int(5..40) as i32;
        let product = new_product(&db, stock).await;
        let quantity = data::int(1..i64::from(stock) / 2) as i32;
        let called = format!("place_order(&pool, {product}, {quantity}) on a product with {stock} in stock");
        let (result, sent) = db.wire().during(place_order(&pool, product, quantity)).await;
        let order = match result {
            Ok(order) => order,
            Err(e) => Failure::new(&called).expected("Ok(Order { .. })").got(format!("Err({e:?})")).sent(&sent).fail(),
        };
        let row: Option<(i64, i32)> = sqlx::query_as("SELECT product_id, quantity FROM orders WHERE id = $1")
            .bind(order.id)
            .fetch_optional(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("SELECT ... FROM orders", e));
        let left = stock_of(&db, product).await;
        let want = Order { id: order.id, product_id: product, quantity, stock_left: stock - quantity };
        if order != want || row != Some((product, quantity)) || left != stock - quantity {
            Failure::new(&called)
                .expected(format!("{want:?}, that order in orders, and {} left in products", stock - quantity))
                .got(format!("{order:?}; orders row {row:?}; products.stock = {left}"))
                .hint("A sale is two writes that belong together: the order row, and the product's stock reduced by the quantity sold, computed by the database from the stock it holds (not from a value read earlier), both in the one transaction (book/src/pooling/index.md#leaks-connections-that-do-not-come-back).")
                .sent(&sent)
                .fail();
        }
        if let Err(why) = sent.in_one_transaction() {
            Failure::new(&called)
                .expected("its statements in one transaction on one connection, committed")
                .got(why)
                .hint(
                    "Begin with pool.begin() and run every statement on &mut *tx: a statement on the pool takes \
                     another connection, outside the transaction and its lock.",
                )
                .sent(&sent)
                .fail();
        }
        if !sent.queries().iter().any(|s| s.sql.to_uppercase().contains("FOR UPDATE")) {
            Failure::new(&called)
                .expected("the product's row locked (SELECT ... FOR UPDATE) before its stock is checked")
                .got("no FOR UPDATE: two orders at once could both see the same stock and both sell it")
                .sent(&sent)
                .fail();
        }

        let missing = product + data::int(1000..9000);
        let called = format!("place_order(&pool, {missing}, 1) for a product that does not exist");
        match place_order(&pool, missing, 1).await {
            Err(OrderError::NotFound(id)) if id == missing => {}
            other => Failure::new(called)
                .expected(format!("Err(OrderError::NotFound({missing}))"))
                .got(describe_order(&other))
                .fail(),
        }
        let available = stock - quantity;
        let too_many = available + data::int(1..10) as i32;
        let called = format!("place_order(&pool, {product}, {too_many}) with {available} in stock");
        match place_order(&pool, product, too_many).await {
            Err(OrderError::OutOfStock { product_id, available: a }) if product_id == product && a == available => {}
            other => Failure::new(&called)
                .expected(format!("Err(OrderError::OutOfStock {{ product_id: {product}, available: {available} }})"))
                .got(describe_order(&other))
                .fail(),
        }
        let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("SELECT count(*) FROM orders", e));
        if orders != 1 || stock_of(&db, product).await != available {
            Failure::new(called)
                .expected(format!("nothing written: 1 order in all and {available} in stock"))
                .got(format!("{orders} orders, {} in stock", stock_of(&db, product).await))
                .hint("Check the stock before writing anything; a refused order leaves no trace.")
                .fail();
        }
        pool.close().await;
    });
}

#[test]
fn every_path_of_place_order_gives_its_connection_back_outside_a_transaction() {
    check(async |db| {
        db.migrate(migrations()).await;
        let mut cfg = config(&db);
        cfg.max_connections = 2;
        cfg.min_connections = 1;
        cfg.statement_timeout = Duration::from_millis(data::int(60..90) as u64);
        cfg.acquire_timeout = Duration::from_millis(300);
        let pool = built(&cfg).await;
        let stock = data::int(3..9) as i32;
        let product = new_product(&db, stock).await;
        let other = new_product(&db, 100).await;

        // Each path more often than the pool has connections, so a leak on
        // it leaks every connection.
        let rounds = cfg.max_connections as usize + 1;
        #[derive(Clone, Copy)]
        enum Path {
            NoSuchProduct,
            TooMany,
            Locked,
        }
        let mut paths = Vec::new();
        for _ in 0..rounds {
            paths.extend([Path::NoSuchProduct, Path::TooMany]);
        }
        paths.push(Path::Locked);
        for path in paths {
            let (id, quantity, called) = match path {
                Path::NoSuchProduct => (
                    product + 777,
                    1,
                    format!("place_order(&pool, {}, 1) (no such product: an early return)", product + 777),
                ),
                Path::TooMany => (
                    product,
                    stock + 5,
                    format!(
                        "place_order(&pool, {product}, {}) (more than the {stock} in stock: an early return)",
                        stock + 5
                    ),
                ),
                Path::Locked => (
                    other,
                    1,
                    format!("place_order(&pool, {other}, 1) while the check locks its row (a statement timeout)"),
                ),
            };
            let lock = match path {
                Path::Locked => Some(lock_row(&db, other).await),
                _ => None,
            };
            // Bounded: without a statement timeout, the locked path would
            // wait for the check's lock forever.
            let limit = cfg.statement_timeout + Duration::from_millis(500);
            let (result, sent) = db.wire().during(tokio::time::timeout(limit, place_order(&pool, id, quantity))).await;
            if let Some(lock) = lock {
                let _ = lock.rollback().await;
            }
            match result {
                Ok(Err(_)) => {}
                Ok(ok) => Failure::new(&called).expected("an error").got(describe_order(&ok)).sent(&sent).fail(),
                Err(_) => Failure::new(&called)
                    .expected(format!("an error within the statement timeout, {:?}", cfg.statement_timeout))
                    .got(format!("still waiting after {limit:?}"))
                    .hint("statement_timeout must be set on every connection the pool opens.")
                    .sent(&sent)
                    .fail(),
            }
            let out = settle(&pool).await;
            if out > 0 {
                Failure::new(&called)
                    .expected("its connection back in the pool when it returns")
                    .got(format!("{out} connection(s) still out of the pool after 300 ms"))
                    .hint("Never keep or forget a connection: let the PoolConnection or Transaction drop.")
                    .sent(&sent)
                    .fail();
            }
            let leaked = db.wire().left_in_transaction().await;
            if !leaked.is_empty() {
                let pids: Vec<i32> = leaked.iter().filter_map(|c| c.backend_pid).collect();
                let states: Vec<(i32, String)> =
                    sqlx::query_as("SELECT pid, state FROM pg_stat_activity WHERE pid = ANY($1) ORDER BY pid")
                        .bind(&pids)
                        .fetch_all(db.pool())
                        .await
                        .unwrap_or_default();
                let states: Vec<String> = states.iter().map(|(pid, s)| format!("pid {pid}: {s}")).collect();
                Failure::new(&called)
                    .expected("the connection back in the pool outside any transaction")
                    .got(format!(
                        "{} connection(s) left inside a transaction, as pg_stat_activity shows ({}): the next request \
                         to borrow one runs inside somebody else's transaction, and its locks stay held",
                        leaked.len(),
                        states.join(", ")
                    ))
                    .hint(
                        "A BEGIN sent by hand is never ended by an early return or a `?`. Use pool.begin(): sqlx's \
                         Transaction rolls back when it is dropped, on every path.",
                    )
                    .sent(&sent)
                    .fail();
            }
        }

        // And the pool still serves, more requests than it has connections.
        for i in 0..rounds {
            let called =
                format!("place_order(&pool, {other}, 1) after the failed ones (request {} of {rounds})", i + 1);
            match place_order(&pool, other, 1).await {
                Ok(_) => {}
                Err(e) => Failure::new(called).expected("Ok(Order { .. })").got(format!("Err({e:?})")).fail(),
            }
        }
        let left = stock_of(&db, other).await;
        if left != 100 - rounds as i32 {
            Failure::new(format!("{rounds} orders of 1 on product {other}, after the failures"))
                .expected(format!("{} in stock", 100 - rounds as i32))
                .got(format!("{left} in stock"))
                .fail();
        }
        pool.close().await;
    });
}

#[test]
fn more_requests_than_connections_all_finish_without_passing_max_connections() {
    check(async |db| {
        db.migrate(migrations()).await;
        let mut cfg = config(&db);
        cfg.max_connections = data::int(3..5) as u32;
        cfg.min_connections = 1;
        // The queued requests wait for a connection while the check holds
        // the row and while the others drain: long limits, so only a pool
        // that can never serve them (or a server past its share) fails.
        cfg.acquire_timeout = Duration::from_secs(6);
        cfg.request_timeout = Duration::from_secs(8);
        cfg.statement_timeout = Duration::from_secs(7);
        let pool = built(&cfg).await;
        let requests = cfg.max_connections as usize * 3 + data::int(0..3) as usize;
        let product = new_product(&db, requests as i32 * 2).await;

        // The check holds the product's row, so every request takes a
        // connection and waits: the pool is full, and the rest queue.
        let lock = lock_row(&db, product).await;
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicI64::new(0));
        let sampler = {
            let (db, app, stop, peak) = (db.clone(), cfg.application_name.clone(), stop.clone(), peak.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(server_count(&db, &app).await, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let started = Instant::now();
        let tasks: Vec<_> = (0..requests)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { place_order(&pool, product, 1).await })
            })
            .collect();
        // Hold the row until the pool is full: every connection it may open
        // waits on the check's lock (the rest queue in the pool), or a few
        // seconds pass.
        let waiting_for = i64::from(cfg.max_connections).min(requests as i64);
        let give_up = Instant::now() + Duration::from_secs(4);
        while lock_waiters(&db, &cfg.application_name).await < waiting_for && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let hold = started.elapsed();
        let _ = lock.rollback().await;
        let bound = hold + cfg.acquire_timeout;
        let mut failed: Vec<String> = Vec::new();
        let mut unfinished = 0;
        for task in tasks {
            let left = bound.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, task).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err(e))) => failed.push(format!("{e:?}")),
                Ok(Err(e)) => failed.push(format!("a panic: {e}")),
                Err(_) => unfinished += 1,
            }
        }
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.await;
        let peak = peak.load(Ordering::Relaxed);
        let called = format!(
            "{requests} place_order calls at once on a pool of {} connections (the check held the row until the \
             pool was full, {hold:?})",
            cfg.max_connections
        );
        if peak > i64::from(cfg.max_connections) {
            Failure::new(&called)
                .expected(format!("never more than max_connections ({}) sessions on the server", cfg.max_connections))
                .got(format!("{peak} sessions named {:?} at once", cfg.application_name))
                .hint(
                    "Every connection must come from the one pool, built with config.max_connections: the server's \
                     connections are shared by every replica, and the pool size is this replica's share.",
                )
                .fail();
        }
        if !failed.is_empty() || unfinished > 0 {
            let n = failed.len();
            failed.dedup();
            Failure::new(&called)
                .expected(format!("all {requests} orders placed within {bound:?}"))
                .got(format!(
                    "{n} failed{}, {unfinished} still unfinished; at most {peak} sessions at once",
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", failed.iter().take(3).cloned().collect::<Vec<_>>().join("; "))
                    }
                ))
                .hint(
                    "Requests beyond the pool's size wait for a connection and get one as others finish. If they \
                     time out instead, something holds connections longer than it should: a statement sent on \
                     the pool inside a transaction needs a second connection while holding the first, and when \
                     every request does that, none can finish.",
                )
                .fail();
        }
        let opened = db.wire().connections().len();
        if opened > cfg.max_connections as usize {
            Failure::new(&called)
                .expected(format!("at most {} connections opened", cfg.max_connections))
                .got(format!("{opened} connections opened through the relay"))
                .hint("Borrow from the pool; never open a connection per request.")
                .fail();
        }
        let left = stock_of(&db, product).await;
        if left != requests as i32 {
            Failure::new(&called).expected(format!("{requests} left in stock")).got(format!("{left}")).fail();
        }
        pool.close().await;
    });
}

#[test]
fn pool_health_reports_what_the_pool_holds() {
    check(async |db| {
        let mut cfg = config(&db);
        cfg.max_connections = data::int(3..6) as u32;
        // All warm, so some are idle while the check holds the others.
        cfg.min_connections = cfg.max_connections;
        let pool = built(&cfg).await;
        let in_use = data::int(1..i64::from(cfg.max_connections)) as u32;
        // The connection build_pool last used goes back to the pool a moment
        // after it returns: count from a pool at rest.
        let _ = settle(&pool).await;
        let held = hold_all(&pool, in_use).await;
        let open = server_count(&db, &cfg.application_name).await as u32;
        let want = PoolHealth { open, idle: open.saturating_sub(in_use), in_use, max: cfg.max_connections };
        let got = pool_health(&pool);
        if got != want {
            Failure::new(format!("pool_health(&pool) while the check holds {in_use} of its connections"))
                .expected(format!("{want:?}: {open} open as pg_stat_activity counts them"))
                .got(format!("{got:?}"))
                .hint("The pool keeps the numbers: pool.size(), pool.num_idle(), pool.options().get_max_connections().")
                .fail();
        }
        drop(held);
        let _ = settle(&pool).await;
        let got = pool_health(&pool);
        if got.in_use != 0 || got.idle != got.open {
            Failure::new("pool_health(&pool) after the check gave every connection back")
                .expected("in_use 0, every open connection idle")
                .got(format!("{got:?}"))
                .fail();
        }
        pool.close().await;
    });
}

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

fn migrations() -> std::path::PathBuf {
    workbook::exercise::path("migrations")
}

/// A configuration that works, pointed at the check's relay, with limits
/// that differ on every run.
fn config(db: &Db) -> PoolConfig {
    PoolConfig {
        url: db.app_url(),
        application_name: format!("wb_{}_{}", data::word(6), data::int(100..999)),
        max_connections: data::int(2..5) as u32,
        min_connections: 1,
        acquire_timeout: Duration::from_millis(data::int(700..1200) as u64),
        request_timeout: Duration::from_millis(data::int(2000..4000) as u64),
        statement_timeout: Duration::from_millis(data::int(1100..1900) as u64),
        idle_timeout: Duration::from_secs(data::int(30..120) as u64),
        max_lifetime: Duration::from_secs(data::int(300..1800) as u64),
        replicas: data::int(1..4) as u32,
        reserved_connections: data::int(5..15) as u32,
    }
}

/// What `pool_size` must return.
fn sized(server: u32, reserved: u32, replicas: u32) -> Result<u32, SizingError> {
    if replicas == 0 {
        return Err(SizingError::NoReplicas);
    }
    if reserved >= server {
        return Err(SizingError::NothingLeft { server_max: server, reserved });
    }
    let available = server - reserved;
    if available < replicas {
        return Err(SizingError::TooManyReplicas { available, replicas });
    }
    Ok(available / replicas)
}

async fn built(cfg: &PoolConfig) -> PgPool {
    match build_pool(cfg).await {
        Ok(pool) => pool,
        Err(e) => Failure::new(format!(
            "build_pool(&config) with max_connections {}, min_connections {}, acquire_timeout {:?}",
            cfg.max_connections, cfg.min_connections, cfg.acquire_timeout
        ))
        .expected("Ok(pool): this configuration fits the server")
        .got(format!("Err({e:?})"))
        .fail(),
    }
}

/// How long past a configured timeout the check waits before it calls the
/// outcome wrong: a second and a half, plus twenty round trips measured now
/// on the check's own connection (a loaded machine is slow at everything),
/// at most five seconds. Each mistake it tells apart takes far longer: sqlx's
/// defaults are 30 s to acquire and 10 minutes idle, and the statements the
/// checks time out sleep for twice the limit.
async fn slack(db: &Db) -> Duration {
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let _: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("SELECT 1 (the check timing a round trip)", e));
        slowest = slowest.max(started.elapsed());
    }
    (Duration::from_millis(1500) + slowest * 20).min(Duration::from_secs(5))
}

/// Borrows `n` connections of `pool` at once. A pool whose acquire timeout
/// is a tenth of a second can time out opening a connection on a loaded
/// machine although it has room: the check asks again while the pool has
/// fewer than `n` open, for a few seconds.
async fn hold_all(pool: &PgPool, n: u32) -> Vec<PoolConnection<sqlx::Postgres>> {
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    for i in 0..n {
        let got = loop {
            match pool.acquire().await {
                Err(sqlx::Error::PoolTimedOut) if Instant::now() < deadline && pool.size() < n => continue,
                other => break other,
            }
        };
        match got {
            Ok(conn) => held.push(conn),
            Err(e) => Failure::new(format!("the check borrowing connection {} of {n} from your pool", i + 1))
                .expected("a connection: the pool has room for it")
                .got(e.to_string())
                .hint("The pool's max_connections comes from the config.")
                .fail(),
        }
    }
    held
}

/// Waits until every connection of `pool` is back (at most 3 s) and
/// returns how many are still out.
async fn settle(pool: &PgPool) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let out = pool.size().saturating_sub(pool.num_idle() as u32);
        if out == 0 || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits (up to three seconds) until every connection made through the
/// relay is closed; `Some(n)` when `n` are still open.
async fn wait_all_closed(db: &Db) -> Option<usize> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let open = db.wire().connections().iter().filter(|c| !c.closed).count();
        if open == 0 {
            return None;
        }
        if Instant::now() > deadline {
            return Some(open);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn server_max_connections(db: &Db) -> u32 {
    let n: i64 = sqlx::query_scalar("SELECT current_setting('max_connections')::bigint")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| query_failed("SHOW max_connections", e));
    n as u32
}

/// Sessions in this database named `app` waiting for a lock.
async fn lock_waiters(db: &Db, app: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 \
         AND wait_event_type = 'Lock'",
    )
    .bind(app)
    .fetch_one(db.pool())
    .await
    .unwrap_or_else(|e| query_failed("SELECT count(*) FROM pg_stat_activity", e))
}

/// Sessions in this database named `app`.
async fn server_count(db: &Db, app: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
    )
    .bind(app)
    .fetch_one(db.pool())
    .await
    .unwrap_or_else(|e| query_failed("SELECT count(*) FROM pg_stat_activity", e))
}

async fn backend_pids(db: &Db, app: &str) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY pid",
    )
    .bind(app)
    .fetch_all(db.pool())
    .await
    .unwrap_or_else(|e| query_failed("SELECT pid FROM pg_stat_activity", e))
}

async fn new_product(db: &Db, stock: i32) -> i64 {
    sqlx::query_scalar("INSERT INTO products (name, stock) VALUES ($1, $2) RETURNING id")
        .bind(format!("{} {}", data::word(5), data::word(4)))
        .bind(stock)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| query_failed("INSERT INTO products", e))
}

async fn stock_of(db: &Db, product: i64) -> i32 {
    sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(product)
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| query_failed("SELECT stock FROM products", e))
}

/// A transaction of the check's own holding `product`'s row lock.
async fn lock_row(db: &Db, product: i64) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = db.pool().begin().await.unwrap_or_else(|e| query_failed("BEGIN", e));
    sqlx::query("SELECT 1 FROM products WHERE id = $1 FOR UPDATE")
        .bind(product)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| query_failed("SELECT ... FOR UPDATE", e));
    tx
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn describe_pool(result: &Result<PgPool, ConfigError>) -> String {
    match result {
        Ok(_) => "Ok(pool)".to_owned(),
        Err(e) => format!("Err({e:?})"),
    }
}

fn describe_order(result: &Result<Order, OrderError>) -> String {
    match result {
        Ok(order) => format!("Ok({order:?})"),
        Err(OrderError::Database(sqlx::Error::Database(d))) => {
            format!("Err(OrderError::Database(..)): ERROR {}: {}", d.code().unwrap_or_default(), d.message())
        }
        Err(e) => format!("Err(OrderError::{e:?})"),
    }
}

fn query_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what.to_owned()).expected("the check's own query to run").got(e.to_string()).fail()
}

fn data_shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, data::int(0..i as i64 + 1) as usize);
    }
}
