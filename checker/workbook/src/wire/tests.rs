//! The relay against a live server: what it records, and that the code
//! under test cannot tell it is there.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection, Row};

use super::{Ending, TxStatus, Value};
use crate::check;

#[test]
fn statements_binds_rows_and_tags_are_recorded_in_order() {
    check(async |db| {
        sqlx::raw_sql("CREATE TABLE people (id int PRIMARY KEY, name text, born date)")
            .execute(db.pool())
            .await
            .unwrap();
        let app = db.app_pool();
        let ((), sent) = db
            .wire()
            .during(async {
                sqlx::query("INSERT INTO people (id, name) VALUES ($1, $2), ($3, $4)")
                    .bind(7)
                    .bind("O'Brien")
                    .bind(8)
                    .bind(None::<String>)
                    .execute(app)
                    .await
                    .unwrap();
                let names: Vec<Option<String>> =
                    sqlx::query_scalar("SELECT name FROM people WHERE id >= $1 ORDER BY id")
                        .bind(1i64)
                        .fetch_all(app)
                        .await
                        .unwrap();
                assert_eq!(names, [Some("O'Brien".to_owned()), None]);
            })
            .await;
        let q = sent.queries();
        assert_eq!(q.len(), 2, "{}", sent.describe(9));
        assert_eq!(q[0].params, [Value::Int(7), Value::from("O'Brien"), Value::Int(8), Value::Null]);
        assert_eq!(q[0].tag.as_deref(), Some("INSERT 0 2"));
        assert_eq!(q[0].rows_affected(), 2);
        assert!(!q[0].simple);
        assert_eq!(q[1].sql, "SELECT name FROM people WHERE id >= $1 ORDER BY id");
        assert_eq!(q[1].rows_returned, 2);
        assert_eq!(q[1].columns, ["name"]);
        assert_eq!(q[1].rows, [vec![Value::from("O'Brien")], vec![Value::Null]]);
        assert!(sent.bound("O'Brien"));
        assert!(sent.bound(8));
        assert!(!sent.bound("Brien"));
        assert!(sent.pasted("O'Brien").is_none());
        assert_eq!(sent.rows_returned(), 2);
        let shown = sent.describe(9);
        assert!(
            shown.contains("$2 = 'O''Brien'") && shown.contains("→ INSERT 0 2") && shown.contains("→ 2 rows"),
            "{shown}"
        );
    });
}

#[test]
fn what_the_check_itself_sends_is_not_recorded() {
    check(async |db| {
        sqlx::query("SELECT 1").execute(db.pool()).await.unwrap();
        let ((), sent) = db.wire().during(async {}).await;
        assert!(sent.all().is_empty(), "{}", sent.describe(5));
        assert!(db.wire().everything().await.all().is_empty());
    });
}

#[test]
fn a_committed_transaction_on_one_connection_is_recognised_and_the_pool_beside_it_is_not() {
    check(async |db| {
        sqlx::raw_sql("CREATE TABLE n (v int)").execute(db.pool()).await.unwrap();
        let app = db.app_pool();
        let ((), sent) = db
            .wire()
            .during(async {
                let mut tx = app.begin().await.unwrap();
                sqlx::query("INSERT INTO n VALUES ($1)").bind(1).execute(&mut *tx).await.unwrap();
                sqlx::query("SELECT v FROM n FOR UPDATE").fetch_all(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            })
            .await;
        assert_eq!(sent.in_one_transaction(), Ok(()), "{}", sent.describe(9));
        let txs = sent.transactions();
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].ending, Ending::Committed);
        assert_eq!(txs[0].statements.len(), 2);

        let ((), sent) = db
            .wire()
            .during(async {
                let mut tx = app.begin().await.unwrap();
                sqlx::query("INSERT INTO n VALUES ($1)").bind(2).execute(&mut *tx).await.unwrap();
                // The mistake the transactions lesson is about: the pool,
                // not the transaction.
                sqlx::query("UPDATE n SET v = v + 1 WHERE v = $1").bind(1).execute(app).await.unwrap();
                tx.commit().await.unwrap();
            })
            .await;
        let err = sent.in_one_transaction().unwrap_err();
        assert!(err.contains("UPDATE n SET") && err.contains("pool"), "{err}");
        assert_eq!(sent.connections_used().len(), 2);
    });
}

#[test]
fn a_spawned_task_and_a_second_pool_are_seen() {
    check(async |db| {
        let url = db.app_url();
        let ((), sent) = db
            .wire()
            .during(async move {
                let pool = PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
                tokio::spawn(async move {
                    sqlx::query("SELECT $1::int").bind(41).fetch_one(&pool).await.unwrap();
                    pool.close().await;
                })
                .await
                .unwrap();
            })
            .await;
        assert_eq!(sent.len(), 1, "{}", sent.describe(9));
        assert!(sent.bound(41));
    });
}

#[test]
fn several_statements_in_one_string_are_recorded_one_by_one() {
    check(async |db| {
        let app = db.app_pool();
        let ((), sent) = db
            .wire()
            .during(async {
                sqlx::raw_sql("CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2); SELECT n FROM t")
                    .execute(app)
                    .await
                    .unwrap();
            })
            .await;
        let q = sent.queries();
        assert_eq!(q.len(), 3, "{}", sent.describe(9));
        assert!(q.iter().all(|s| s.simple));
        assert_eq!(q[1].sql, "INSERT INTO t VALUES (1), (2)");
        assert_eq!(q[1].tag.as_deref(), Some("INSERT 0 2"));
        assert_eq!(q[2].rows_returned, 2);
        assert_eq!(q[2].rows[1], [Value::from("2")]);
        // Values in a simple query are text: "pasted", as a check sees it.
        assert!(sent.pasted("(1), (2)").is_some());
    });
}

#[test]
fn an_error_mid_transaction_is_recorded_and_the_rest_of_the_batch_is_not_run() {
    check(async |db| {
        sqlx::raw_sql("CREATE TABLE u (email text UNIQUE)").execute(db.pool()).await.unwrap();
        let app = db.app_pool();
        let ((), sent) = db
            .wire()
            .during(async {
                let mut tx = app.begin().await.unwrap();
                sqlx::query("INSERT INTO u VALUES ($1)").bind("a@x").execute(&mut *tx).await.unwrap();
                let dup = sqlx::query("INSERT INTO u VALUES ($1)").bind("a@x").execute(&mut *tx).await;
                assert!(dup.is_err());
                let after = sqlx::query("SELECT 1").execute(&mut *tx).await;
                assert!(after.is_err(), "a failed transaction refuses more statements");
                tx.rollback().await.unwrap();
                // A syntax error is recorded too, with its SQL.
                assert!(sqlx::query("SELEC 1").execute(app).await.is_err());
            })
            .await;
        let q = sent.queries();
        assert_eq!(q[1].error.as_ref().map(|e| e.code.as_str()), Some("23505"), "{}", sent.describe(9));
        assert_eq!(q[1].tx_after, Some(TxStatus::Failed));
        assert_eq!(q[2].error.as_ref().map(|e| e.code.as_str()), Some("25P02"));
        assert_eq!(sent.transactions()[0].ending, Ending::RolledBack);
        let syntax = q.iter().find(|s| s.sql == "SELEC 1").expect("the statement that did not parse");
        assert_eq!(syntax.error.as_ref().map(|e| e.code.as_str()), Some("42601"));
        assert!(sent.describe(9).contains("ERROR 23505"));
    });
}

#[test]
fn a_connection_left_inside_a_transaction_is_found() {
    check(async |db| {
        let mut conn = PgConnection::connect(&db.app_url()).await.unwrap();
        conn.execute("BEGIN").await.unwrap();
        sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
        let left = db.wire().left_in_transaction().await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].status, TxStatus::InTransaction);
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await.unwrap();
        assert_eq!(left[0].backend_pid, Some(pid), "the relay knows which server process serves it");
        conn.execute("COMMIT").await.unwrap();
        assert!(db.wire().left_in_transaction().await.is_empty());
        conn.close().await.unwrap();
        wait_closed(&db).await;
        let conns = db.wire().connections();
        assert_eq!(conns[0].database, db.name());
    });
}

#[test]
fn a_server_that_drops_the_connection_ends_it_for_the_client_too() {
    check(async |db| {
        let mut conn = PgConnection::connect(&db.app_url()).await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await.unwrap();
        let killed: bool =
            sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(db.pool()).await.unwrap();
        assert!(killed);
        // The client hears of it at once: an error, not a hang.
        let next = tokio::time::timeout(Duration::from_secs(5), sqlx::query("SELECT 1").execute(&mut conn)).await;
        assert!(matches!(next, Ok(Err(_))), "{next:?}");
        wait_closed(&db).await;
    });
}

#[test]
fn a_cut_closes_every_connection_refuses_new_ones_at_once_and_restore_lets_them_in() {
    check(async |db| {
        let app = db.app_pool();
        sqlx::query("SELECT 1").execute(app).await.unwrap();
        db.wire().cut();
        wait_closed(&db).await;
        // Fails fast, not after the pool's 5 s acquire timeout: the new
        // connection is closed as it opens, which the pool does not retry.
        let started = std::time::Instant::now();
        let during = sqlx::query("SELECT 1").execute(app).await;
        assert!(during.is_err(), "a query through a cut relay succeeded");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        // The check's own door is not the relay.
        sqlx::query("SELECT 1").execute(db.pool()).await.unwrap();
        db.wire().restore();
        let (after, sent) = db.wire().during(sqlx::query_scalar::<_, i32>("SELECT 41 + 1").fetch_one(app)).await;
        assert_eq!(after.unwrap(), 42);
        assert_eq!(sent.queries().len(), 1, "{}", sent.describe(5));
        assert!(db.wire().connections().iter().filter(|c| !c.closed).count() >= 1);
    });
}

/// Waits until the relay has seen its first connection close.
async fn wait_closed(db: &crate::Db) {
    for _ in 0..200 {
        if db.wire().connections()[0].closed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the relay never saw the connection close");
}

#[test]
fn application_name_and_rows_of_many_types_are_decoded() {
    check(async |db| {
        let mut conn = PgConnection::connect(&format!("{}?application_name=wb_probe", db.app_url())).await.unwrap();
        let row = sqlx::query("SELECT $1::bigint[] AS ids, 2.50::numeric AS price, true AS ok, now() AS at")
            .bind(vec![3i64, 4])
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let _: bool = row.get("ok");
        sqlx::query("SET application_name = 'renamed'").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let sent = db.wire().everything().await;
        let q = sent.queries();
        assert!(q[0].binds(&Value::Int(4)));
        assert_eq!(q[0].rows[0][0], Value::Array(vec![Value::Int(3), Value::Int(4)]));
        assert_eq!(q[0].rows[0][1], Value::Numeric("2.50".into()));
        assert_eq!(q[0].rows[0][2], Value::Bool(true));
        assert!(matches!(q[0].rows[0][3], Value::Timestamp(_)));
        assert_eq!(sent.connections()[0].application_name.as_deref(), Some("renamed"));
    });
}

#[test]
fn a_failed_check_reports_the_sql_the_code_sent() {
    let failed = std::thread::Builder::new()
        .name("wire_failure_report".into())
        .spawn(|| {
            check(async |db| {
                sqlx::query("SELECT $1::text").bind("shown").execute(db.app_pool()).await.unwrap();
                crate::Failure::new("a call").expected("x").got("y").fail();
            })
        })
        .unwrap()
        .join();
    let payload = failed.expect_err("the check fails");
    let failure = payload.downcast_ref::<crate::Failure>().expect("a Failure");
    let sql = failure.sql.as_deref().expect("the SQL sent");
    assert!(sql.contains("SELECT $1::text") && sql.contains("$1 = 'shown'"), "{sql}");
}

/// Regression: closing the code's pool waits for its connections, and a
/// lesson about leaks holds one forever; the check must still end.
#[test]
fn a_connection_held_forever_does_not_hold_up_the_end_of_the_check() {
    let started = std::time::Instant::now();
    check(async |db| {
        let conn = db.app_pool().acquire().await.unwrap();
        tokio::spawn(async move {
            let _held = conn;
            std::future::pending::<()>().await
        });
    });
    assert!(started.elapsed() < Duration::from_secs(30), "the check hung in its teardown");
}
