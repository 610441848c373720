//! Runs the listings of the chapter "Soft deletes" against a live server:
//! the default scope hides a closed account, closing twice keeps the first
//! time, reopening an account whose email was taken is the typed error the
//! chapter shows, and erasure is all or nothing.

use listings::soft_delete::{
    ReopenError, SCHEMA, close_account, erase_account, erase_account_again, erase_on, find_account,
    find_account_with_deleted, reopen_account,
};
use workbook::check;

async fn shop(db: &workbook::Db) {
    sqlx::raw_sql(SCHEMA).execute(db.pool()).await.expect("creating the chapter's tables");
    sqlx::raw_sql(
        "INSERT INTO accounts (email, name) VALUES ('ada@shop.example', 'Ada Quill'), ('bram@shop.example', 'Bram Inkwell');
         INSERT INTO invoices (account_id, total_cents, billing_name) VALUES (1, 1200, 'Ada Quill'), (2, 800, 'Bram Inkwell');",
    )
    .execute(db.pool())
    .await
    .expect("two accounts and their invoices");
}

#[test]
fn a_closed_account_is_hidden_and_closing_twice_keeps_the_first_time() {
    check(async |db| {
        shop(&db).await;
        let pool = db.pool();
        assert!(close_account(pool, 1).await.unwrap());
        assert_eq!(find_account(pool, 1).await.unwrap(), None);
        let closed = find_account_with_deleted(pool, 1).await.unwrap().expect("the row is kept");
        assert!(closed.deleted_at.is_some());
        assert!(!close_account(pool, 1).await.unwrap(), "closing a closed account changes nothing");
        assert_eq!(find_account_with_deleted(pool, 1).await.unwrap(), Some(closed));
        assert!(find_account(pool, 2).await.unwrap().is_some());
    });
}

#[test]
fn reopening_an_account_whose_email_was_taken_is_email_taken() {
    check(async |db| {
        shop(&db).await;
        let pool = db.pool();
        close_account(pool, 1).await.unwrap();
        sqlx::query("INSERT INTO accounts (email, name) VALUES ('ada@shop.example', 'Ada Newcomer')")
            .execute(pool)
            .await
            .expect("a closed account's email is free");
        match reopen_account(pool, 1).await {
            Err(ReopenError::EmailTaken(email)) => assert_eq!(email, "ada@shop.example"),
            other => panic!("expected EmailTaken, got {other:?}"),
        }
        assert!(find_account_with_deleted(pool, 1).await.unwrap().unwrap().deleted_at.is_some(), "still closed");
        let bram = close_account(pool, 2).await.and(reopen_account(pool, 2).await.map_err(|e| panic!("{e}")));
        assert!(bram.unwrap().is_some_and(|a| a.deleted_at.is_none()));
    });
}

#[test]
fn erasure_is_all_or_nothing() {
    check(async |db| {
        shop(&db).await;
        let pool = db.pool();
        // Make the last step fail: nothing may be erased.
        sqlx::raw_sql(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
             CREATE TRIGGER refuse BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .execute(pool)
        .await
        .unwrap();
        assert!(erase_account(pool, 1).await.is_err());
        let name: Option<String> =
            sqlx::query_scalar("SELECT billing_name FROM invoices WHERE id = 1").fetch_one(pool).await.unwrap();
        assert_eq!(name.as_deref(), Some("Ada Quill"), "the invoice kept its name: the UPDATE rolled back");
        sqlx::raw_sql("DROP TRIGGER refuse ON accounts").execute(pool).await.unwrap();
        assert!(erase_account(pool, 1).await.unwrap());
        let left: (i64, Option<String>) = sqlx::query_as("SELECT total_cents, billing_name FROM invoices WHERE id = 1")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(left, (1200, None), "the invoice is kept for the accounts, without the name");
    });
}

#[test]
fn the_erasure_on_a_connection_joins_the_transaction_it_is_given() {
    check(async |db| {
        shop(&db).await;
        let pool = db.pool();
        sqlx::raw_sql(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
             CREATE TRIGGER refuse BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .execute(pool)
        .await
        .unwrap();
        assert!(erase_account_again(pool, 1).await.is_err());
        let name: Option<String> =
            sqlx::query_scalar("SELECT billing_name FROM invoices WHERE id = 1").fetch_one(pool).await.unwrap();
        assert_eq!(name.as_deref(), Some("Ada Quill"), "erase_on's UPDATE ran in the transaction, and rolled back");

        // On a connection borrowed from the pool, with no transaction, each
        // statement commits on its own: the UPDATE stays when the DELETE fails.
        let mut conn = pool.acquire().await.unwrap();
        assert!(erase_on(&mut conn, 1).await.is_err());
        drop(conn);
        let name: Option<String> =
            sqlx::query_scalar("SELECT billing_name FROM invoices WHERE id = 1").fetch_one(pool).await.unwrap();
        assert_eq!(name, None, "outside a transaction the first statement was kept");

        sqlx::raw_sql("DROP TRIGGER refuse ON accounts").execute(pool).await.unwrap();
        assert!(erase_account_again(pool, 1).await.unwrap());
        assert!(!erase_account_again(pool, 1).await.unwrap(), "nothing left to erase");
    });
}
