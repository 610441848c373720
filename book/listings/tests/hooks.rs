//! Runs the listings of the chapter "Hooks and audit trails" against a live
//! server, and proves the chapter shows what they really print: what a
//! query sent through the pool beside a transaction sees and does.

use listings::hooks::{SCHEMA, forgotten_transaction, hash_password, sign_up, verify_password};
use workbook::check;

const CHAPTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/hooks_audit/index.md");

#[test]
fn a_hash_verifies_its_password_and_no_other() {
    let stored = hash_password("correct horse");
    assert!(stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{stored}");
    assert!(verify_password("correct horse", &stored));
    assert!(!verify_password("correct horse!", &stored));
    assert!(!verify_password("correct horse", "plain text"));
    assert_ne!(stored, hash_password("correct horse"), "a fresh salt every time");
}

#[test]
fn sign_up_stores_the_hash_and_its_audit_row_together() {
    check(async |db| {
        let pool = db.pool();
        sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
        let id = sign_up(pool, "admin", "ada@shop.example", "s3cret words").await.unwrap();
        let (hash, after): (String, String) = sqlx::query_as(
            "SELECT c.password_hash, a.after::text FROM customers c JOIN audit_log a ON a.row_id = c.id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(verify_password("s3cret words", &hash));
        assert!(!after.contains("password"), "the audit row leaves the hash out: {after}");
        // A second sign-up with the same email fails, and leaves no audit row.
        assert!(sign_up(pool, "admin", "ada@shop.example", "other").await.is_err());
        let audits: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(pool).await.unwrap();
        assert_eq!(audits, 1);
    });
}

#[test]
fn the_pool_beside_a_transaction_reads_nothing_uncommitted_and_commits_alone() {
    check(async |db| {
        let pool = db.pool();
        sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
        sqlx::raw_sql("INSERT INTO customers (email, password_hash) VALUES ('ada@shop.example', 'h')")
            .execute(pool)
            .await
            .unwrap();
        let seen = forgotten_transaction(pool).await.unwrap();
        assert_eq!(
            seen,
            [
                "the transaction sees 1 new customer",
                "the pool sees 0",
                "the pool at READ UNCOMMITTED sees 0",
                "the pool, updating a row the transaction changed: canceling statement due to lock timeout",
                "after the rollback: 0 customer, 1 audit row about it",
            ]
        );
        let chapter = std::fs::read_to_string(CHAPTER).expect("reading the hooks chapter");
        let shown = seen.join("\n");
        assert!(chapter.contains(&shown), "book/src/hooks_audit/index.md should show exactly:\n{shown}");
    });
}
