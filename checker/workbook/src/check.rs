//! Running one check: a fresh database, a time limit, cleanup that always
//! happens, and a structured report of how it failed.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::admin;
use crate::failure::{self, Failure};

/// The database a check runs in: created for it, dropped after it.
#[derive(Clone)]
pub struct Db {
    name: String,
    url: String,
    pool: PgPool,
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

    /// A pool the check itself uses to look at the database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
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
    failure::install_hook();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("starting the async runtime");

    let db = runtime.block_on(setup());
    let limit = crate::report::check_timeout();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            let fut = body(db.clone());
            tokio::time::timeout(limit, fut).await
        })
    }));
    runtime.block_on(teardown(db));
    drop(runtime);

    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_elapsed)) => {
            let failure = Failure::new("the check")
                .expected(format!("to finish within {} s", limit.as_secs_f64()))
                .got("still running: stopped at the time limit")
                .hint(
                    "Something is waiting forever: a lock held by another transaction, \
                     a pool with no free connection, or a loop that never ends.",
                )
                .timed_out();
            failure.report(&test_name);
            std::panic::panic_any(failure);
        }
        Err(payload) => {
            let failure = Failure::from_panic(payload.as_ref());
            failure.report(&test_name);
            resume_unwind(payload);
        }
    }
}

async fn setup() -> Db {
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
    let url = admin::url_for_database(admin::admin_url(), &name);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(&url)
        .expect("the check server's URL parses");
    Db { name, url, pool }
}

async fn teardown(db: Db) {
    db.pool.close().await;
    // A fresh admin connection: the one used at setup may have timed out
    // while a long check ran.
    if let Ok(mut admin_conn) = admin::admin_connection().await {
        // Failing to drop is not the student's fault: the checker sweeps
        // whatever is left when the run ends.
        let _ = admin::drop_database(&mut admin_conn, &db.name).await;
    }
}
