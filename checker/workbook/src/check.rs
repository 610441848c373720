//! Running one check: a fresh database, a time limit, cleanup that always
//! happens, and a structured report of how it failed.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgPool};

use crate::admin;
use crate::failure::{self, Failure};
use crate::wire::{Relay, Upstream};

/// The database a check runs in: created for it, dropped after it.
///
/// It has two doors. The check itself looks around through [`Db::pool`]
/// and [`Db::url`], straight to the server. The code under test gets
/// [`Db::app_pool`] or [`Db::app_url`], which lead to the same database
/// through the check's relay ([`Db::wire`]), so every statement it sends is
/// on the record.
#[derive(Clone)]
pub struct Db {
    name: String,
    /// Created by this process (run by hand), so dropped by it too; the
    /// checker drops the databases it made itself.
    made_here: bool,
    url: String,
    pool: PgPool,
    /// Started the first time the code under test needs it.
    relay: Arc<OnceLock<Relay>>,
    app_pool: Arc<OnceLock<PgPool>>,
}

impl Db {
    /// The database's name, different on every run.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for this database, as the student's code would receive it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool the check itself uses to look at the database. What it sends
    /// is not recorded: hand the code under test [`Db::app_pool`] instead.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The URL the code under test connects with: the same database and
    /// credentials, reached through the check's relay.
    pub fn app_url(&self) -> String {
        self.wire().url_for(&self.url)
    }

    /// A pool for the code under test (five connections, opened on demand),
    /// whose every statement the relay records.
    pub fn app_pool(&self) -> &PgPool {
        self.app_pool.get_or_init(|| {
            PgPoolOptions::new()
                .max_connections(5)
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy(&self.app_url())
                .expect("the relay's URL parses")
        })
    }

    /// The record of what the code under test sent.
    pub fn wire(&self) -> &Relay {
        self.relay.get_or_init(|| {
            let upstream = Upstream::of_url(&self.url).expect("the check server's URL parses");
            Relay::start(upstream).unwrap_or_else(|e| panic!("could not start the check's relay on 127.0.0.1: {e}"))
        })
    }

    /// The record, if the relay was ever started.
    fn started_wire(&self) -> Option<&Relay> {
        self.relay.get()
    }

    /// Applies every migration in `dir` (usually the exercise's
    /// `migrations/`), failing the check with PostgreSQL's message if one
    /// does not apply.
    pub async fn migrate(&self, dir: impl AsRef<Path>) {
        let dir = dir.as_ref();
        // `migrations::up` runs on a connection of its own and closes it:
        // a failed run keeps its advisory lock on that session.
        if let Err(e) = crate::migrations::up(&self.url, dir).await {
            crate::migrations::failure(format!("applying the migrations in {}/", crate::migrations::shown(dir)), &e)
                .fail();
        }
    }
}

/// Runs a check body in a database of its own.
///
/// The database is created before `body` runs and dropped after it
/// returns, fails, panics or runs out of time. A failure is re-raised as a
/// panic so the test harness marks the check failed, after a structured
/// copy is written for the checker.
pub fn check<F>(body: F)
where
    F: AsyncFnOnce(Db),
{
    let test_name = std::thread::current().name().unwrap_or("check").to_owned();
    crate::report::open_verdict_pipe();
    failure::install_hook();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("starting the async runtime");

    let started = crate::timing::now();
    let db = runtime.block_on(setup(&test_name));
    let created = crate::timing::now();
    let limit = crate::report::check_timeout();
    let outcome = failure::in_check(|| {
        catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async {
                let fut = body(db.clone());
                tokio::time::timeout(limit, fut).await
            })
        }))
    });
    let body_ended = crate::timing::now();
    // Read before teardown closes the relay: what the code sent is the
    // first thing a student needs to see beside a failure.
    let sent = match &outcome {
        Ok(Ok(())) => None,
        _ => db.started_wire().and_then(|wire| {
            let traffic = runtime.block_on(wire.everything());
            (!traffic.all().is_empty()).then(|| traffic.describe(8))
        }),
    };
    let migrations = crate::timing::take_migrations(db.url());
    runtime.block_on(teardown(db));
    drop(runtime);
    let dropped = crate::timing::now();
    crate::timing::write(&crate::timing::CheckTimes {
        check: test_name.clone(),
        started,
        created,
        body_ended,
        dropped,
        migrations,
    });

    let (failure, foreign) = match outcome {
        Ok(Ok(())) => {
            crate::report::send(&crate::report::Verdict { check: test_name, passed: true, report: None });
            return;
        }
        Ok(Err(_elapsed)) => {
            let failure = Failure::new("the check")
                .expected(format!("to finish within {} s", limit.as_secs_f64()))
                .got("still running: stopped at the time limit")
                .hint(
                    "Something is waiting forever: a lock held by another transaction, \
                     a pool with no free connection, or a loop that never ends.",
                )
                .timed_out();
            (failure, None)
        }
        Err(payload) => {
            let failure = Failure::from_panic(payload.as_ref());
            (failure, (!payload.is::<Failure>()).then_some(payload))
        }
    };
    let failure = failure.with_sql_if_unset(sent);
    failure.report(&test_name);
    match foreign {
        // A panic in the code under test: the harness has printed its
        // message already; add what the code sent, then let it go on.
        Some(payload) => {
            if let Some(sql) = &failure.sql {
                eprintln!("sent:\n{sql}");
            }
            resume_unwind(payload)
        }
        None => {
            eprintln!("check failed:\n{failure}");
            resume_unwind(Box::new(failure))
        }
    }
}

async fn setup(test_name: &str) -> Db {
    let (name, url, made_here) = match admin::given() {
        Some(Ok(given)) => match given.checks.get(test_name) {
            Some(db) => (db.name.clone(), db.url.clone(), false),
            None => panic!("the checker made no database for the check {test_name}: run it again"),
        },
        Some(Err(e)) => panic!("{e}"),
        None => {
            let name = create_by_hand().await;
            let url = admin::url_for_database(admin::admin_url(), &name);
            (name, url, true)
        }
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(&url)
        .expect("the check server's URL parses");
    Db { name, made_here, url, pool, relay: Arc::new(OnceLock::new()), app_pool: Arc::new(OnceLock::new()) }
}

/// Run by hand: a database of its own on the server [`admin::admin_url`]
/// names; returns its name.
async fn create_by_hand() -> String {
    let name = admin::unique_name();
    // Bounded: a server too busy to answer must fail the check, not hang it.
    let connecting = tokio::time::timeout(Duration::from_secs(15), admin::admin_connection()).await;
    let connected = connecting.unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut));
    let mut admin_conn = connected.unwrap_or_else(|e| {
        panic!(
            "could not connect to the check server at {}: {e}\n\
             Start it with `cargo checker db start`, or fix DATABASE_URL.",
            admin::redact(admin::admin_url())
        )
    });
    if let Err(e) = admin::create_database(&mut admin_conn, &name).await {
        panic!(
            "could not create a check database on {}: {e}\n\
             The role in DATABASE_URL needs the CREATEDB privilege.",
            admin::redact(admin::admin_url())
        );
    }
    let _ = admin_conn.close().await;
    name
}

async fn teardown(db: Db) {
    // Bounded: closing waits for connections to come back, and code under
    // test may hold one forever (a leak is what some lessons are about).
    // DROP DATABASE ... WITH (FORCE) ends whatever is still connected.
    let limit = Duration::from_secs(2);
    if let Some(app) = db.app_pool.get() {
        let _ = tokio::time::timeout(limit, app.close()).await;
    }
    let _ = tokio::time::timeout(limit, db.pool.close()).await;
    if !db.made_here {
        return; // the checker made it, and drops it once the verdict is out
    }
    // A fresh admin connection: the one used at setup may have timed out
    // while a long check ran.
    if let Ok(mut admin_conn) = admin::admin_connection().await {
        // Failing to drop is not the student's fault: the checker sweeps
        // whatever is left when the run ends.
        let _ = admin::drop_database(&mut admin_conn, &db.name).await;
    }
}
