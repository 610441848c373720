//! The checks for `transactions`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run transactions`.
//!
//! Every check opens a bank of its own from data generated for this run
//! (ids with gaps, balances and versions that vary), calls your code
//! through the check's wire relay, and compares with what that data says.
//! The concurrency checks do not wait for luck: the check holds a row lock
//! on its own connection and watches `pg_stat_activity` until your code is
//! waiting for it, then changes the row and lets go. A transfer that read
//! without `FOR UPDATE`, locked in the wrong order or ignored the version
//! therefore fails on every run, not one run in a hundred.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::PgDatabaseError;
use sqlx::{PgPool, Postgres};
use transactions::{BankError, Notifier, Receipt, transfer, withdraw, withdraw_covered};
use workbook::wire::{Ending, Mark, Traffic};
use workbook::{Db, Failure, check, data};

/// How many statements a failure message lists.
const SHOWN: usize = 12;

/// The attempts `withdraw` and `withdraw_covered` make before giving up,
/// as their documentation says.
const ATTEMPTS: u32 = 5;

/// How long one call may take before the check reports what it waits for.
const CALL_LIMIT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------
// transfer: the plain path
// ---------------------------------------------------------------------------

#[test]
fn transfer_moves_the_money_bumps_both_versions_and_writes_one_ledger_row() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(3..6) as usize, 1)).await;
        let (from, to) = two(&accounts);
        let amount = data::int(1..from.balance);
        let outbox = Outbox::new(&db);
        let called = format!("transfer(&pool, &notifier, {}, {}, {amount})", from.id, to.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, from.id, to.id, amount))).await;
        let receipt = expect_ok(&called, result, &sent);
        let want = Receipt {
            transfer_id: receipt.transfer_id,
            from: from.id,
            to: to.id,
            amount,
            from_balance: from.balance - amount,
            to_balance: to.balance + amount,
        };
        if receipt != want {
            Failure::new(&called)
                .expected(format!("{want:?}"))
                .got(format!("{receipt:?}"))
                .hint("The receipt's balances are the two accounts' balances right after the transfer.")
                .sent(&sent)
                .fail();
        }
        let mut expected = before(&accounts);
        moved(&mut expected, from.id, to.id, amount);
        expect_accounts(&db, &called, &expected, &sent).await;
        let ledger = ledger(&db).await;
        let row = LedgerRow { id: receipt.transfer_id, from_id: from.id, to_id: to.id, amount };
        if ledger != [row.clone()] {
            Failure::new(&called)
                .expected(format!("one row in transfers: {row:?}, its id in the receipt"))
                .got(format!("{ledger:?}"))
                .hint("INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3) RETURNING id, inside the transaction.")
                .sent(&sent)
                .fail();
        }

        // Emptying an account exactly is allowed: the balance only has to
        // cover the amount.
        let rest = from.balance - amount;
        let called =
            format!("transfer(&pool, &notifier, {}, {}, {rest}) (all that is left in {})", from.id, to.id, from.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, from.id, to.id, rest))).await;
        if let Err(e) = &result {
            Failure::new(&called)
                .expected(format!("Ok: account {} holds exactly {rest}, which covers {rest}", from.id))
                .got(outcome(&result))
                .hint(if matches!(e, BankError::InsufficientFunds { .. }) {
                    "Refuse only when the balance is LESS than the amount: balance < amount, not <=."
                } else {
                    "A transfer of everything an account holds is a transfer like any other."
                })
                .sent(&sent)
                .fail();
        }
        moved(&mut expected, from.id, to.id, rest);
        expect_accounts(&db, &called, &expected, &sent).await;
    });
}

#[test]
fn transfer_sends_every_statement_through_one_transaction() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..5) as usize, 1)).await;
        let (from, to) = two(&accounts);
        let amount = data::int(1..from.balance + 1);
        let outbox = Outbox::new(&db);
        let called = format!("transfer(&pool, &notifier, {}, {}, {amount})", from.id, to.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, from.id, to.id, amount))).await;
        expect_ok(&called, result, &sent);
        if let Err(why) = sent.in_one_transaction() {
            Failure::new(&called)
                .expected("every statement of the transfer inside ONE transaction, on one connection, committed")
                .got(why)
                .hint(
                    "Begin with `let mut tx = pool.begin().await?;` and pass `&mut *tx` to every query: \
                     `.fetch_one(&mut *tx)`, `.execute(&mut *tx)`. A query given `pool` instead takes another \
                     connection from the pool, outside the transaction: it commits on its own, even when the \
                     transfer rolls back, and it waits forever for a row your own transaction has locked.",
                )
                .sent(&sent)
                .fail();
        }
        let writes = sent.writes().len();
        if writes == 0 {
            Failure::new(&called)
                .expected("the transfer's UPDATEs and INSERT on the wire")
                .got("no statement that wrote a row")
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn refused_transfers_change_nothing() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..5) as usize, 1)).await;
        let (from, to) = two(&accounts);
        let amount = from.balance + data::int(1..60);
        let outbox = Outbox::new(&db);
        let called = format!(
            "transfer(&pool, &notifier, {}, {}, {amount}) (account {} holds {})",
            from.id, to.id, from.id, from.balance
        );
        let (result, sent) =
            db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, from.id, to.id, amount))).await;
        match &result {
            Err(BankError::InsufficientFunds { account, balance, wanted })
                if *account == from.id && *balance == from.balance && *wanted == amount => {}
            _ => Failure::new(&called)
                .expected(format!(
                    "Err(InsufficientFunds {{ account: {}, balance: {}, wanted: {amount} }})",
                    from.id, from.balance
                ))
                .got(outcome(&result))
                .hint("Compare the balance you read (FOR UPDATE) with the amount, and return the typed error, carrying what the account holds.")
                .sent(&sent)
                .fail(),
        }
        expect_nothing_changed(&db, &called, &accounts, &outbox, &sent).await;

        // The other refusals: an account that does not exist, on either
        // side, and amounts that are not money.
        let unknown = accounts.iter().map(|a| a.id).max().unwrap_or(0) + data::int(1..40);
        let amount = data::int(1..from.balance + 1);
        let negative = -data::int(1..100);
        let cases = [
            (from.id, unknown, amount, format!("NoSuchAccount({unknown})")),
            (unknown, to.id, amount, format!("NoSuchAccount({unknown})")),
            (from.id, to.id, 0, "InvalidAmount(0)".to_owned()),
            (from.id, to.id, negative, format!("InvalidAmount({negative})")),
        ];
        let mark = db.wire().mark();
        for (f, t, a, want) in cases {
            let called = format!("transfer(&pool, &notifier, {f}, {t}, {a})");
            let (result, sent) =
                db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, f, t, a))).await;
            let fine = match &result {
                Err(BankError::NoSuchAccount(id)) => want == format!("NoSuchAccount({id})"),
                Err(BankError::InvalidAmount(n)) => want == format!("InvalidAmount({n})"),
                _ => false,
            };
            if !fine {
                let hint = if a <= 0 {
                    "Refuse amounts of 0 or less before touching the database: a negative transfer would move money \
                     the other way."
                } else {
                    "SELECT ... WHERE id = ANY($1) FOR UPDATE returns only the rows that exist: when an id is missing \
                     from what came back, return NoSuchAccount(id), and the dropped transaction rolls back."
                };
                Failure::new(called)
                    .expected(format!("Err({want})"))
                    .got(outcome(&result))
                    .hint(hint)
                    .sent(&sent)
                    .fail();
            }
        }
        let sent = db.wire().since(mark).await;
        expect_nothing_changed(&db, "the four other refused transfers", &accounts, &outbox, &sent).await;
    });
}

// ---------------------------------------------------------------------------
// transfer under concurrency: the check holds the lock
// ---------------------------------------------------------------------------

#[test]
fn transfer_waits_for_a_locked_account_and_loses_no_concurrent_deposit() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let (from, to) = two(&accounts);
        let amount = data::int(1..from.balance + 1);
        let (d_from, d_to) = (data::int(10..90), data::int(10..90));
        let outbox = Outbox::new(&db);
        let called = format!("transfer(&pool, &notifier, {}, {}, {amount})", from.id, to.id);

        // The check's own transaction deposits into both accounts and keeps
        // their rows locked until the transfer is waiting for them.
        let mut holder = holder(&db).await;
        exec(
            &mut holder,
            sqlx::query(
                "UPDATE accounts SET balance = balance + CASE WHEN id = $1 THEN $3 ELSE $4 END, version = version + 1
                 WHERE id IN ($1, $2)",
            )
            .bind(from.id)
            .bind(to.id)
            .bind(d_from)
            .bind(d_to),
        )
        .await;
        let (result, waited, sent) =
            with_lock_held(&db, &called, holder, transfer(db.app_pool(), &outbox, from.id, to.id, amount)).await;
        let mut expected = before(&accounts);
        deposit_into(&mut expected, from.id, d_from);
        deposit_into(&mut expected, to.id, d_to);
        moved(&mut expected, from.id, to.id, amount);

        let receipt = expect_ok(&called, result, &sent);
        let now = accounts_now(&db).await;
        let lost: Vec<String> = [(from.id, d_from), (to.id, d_to)]
            .iter()
            .filter(|(id, _)| now.get(id).map(|s| s.0) != expected.get(id).map(|s| s.0))
            .map(|(id, d)| {
                format!("account {id} holds {}, not {}", now.get(id).map_or(0, |s| s.0), expected[id].0)
                    + &format!(" (the deposit of {d} is gone)")
            })
            .collect();
        if !lost.is_empty() {
            Failure::new(&called)
                .expected(format!(
                    "the check's deposits ({d_from} into {}, {d_to} into {}), committed while the transfer waited, kept",
                    from.id, to.id
                ))
                .got(format!("{}. The transfer waited at {}", lost.join("; "), waited_at(&waited)))
                .hint(
                    "A lost update: the transfer read the balance before the check's transaction let go of the row \
                     (a plain SELECT does not wait for locks), then wrote a balance computed from that old value \
                     over the deposit. Read with SELECT ... FOR UPDATE: it waits for the lock, then returns the \
                     newest balance. See \"Row locks\" in the chapter.",
                )
                .sent(&sent)
                .fail();
        }
        expect_accounts(&db, &called, &expected, &sent).await;
        if receipt.from_balance != expected[&from.id].0 || receipt.to_balance != expected[&to.id].0 {
            Failure::new(&called)
                .expected(format!(
                    "a receipt with from_balance {} and to_balance {}, the balances after the deposits and the transfer",
                    expected[&from.id].0, expected[&to.id].0
                ))
                .got(format!("{receipt:?}"))
                .hint("Compute the receipt from the balances your FOR UPDATE read returned, after the lock was granted.")
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn transfer_checks_the_balance_after_the_lock_is_granted_and_never_overdraws() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let (from, to) = two(&accounts);
        // Enough before the check's withdrawal, not enough after it.
        let withdrawn = data::int(from.balance / 2 + 1..from.balance + 1);
        let left = from.balance - withdrawn;
        let amount = data::int(left + 1..from.balance + 1);
        let outbox = Outbox::new(&db);
        let called = format!(
            "transfer(&pool, &notifier, {}, {}, {amount}) while the check withdraws {withdrawn} of account {}'s {}",
            from.id, to.id, from.id, from.balance
        );
        let mut holder = holder(&db).await;
        exec(
            &mut holder,
            sqlx::query("UPDATE accounts SET balance = balance - $2, version = version + 1 WHERE id = $1")
                .bind(from.id)
                .bind(withdrawn),
        )
        .await;
        let (result, waited, sent) =
            with_lock_held(&db, &called, holder, transfer(db.app_pool(), &outbox, from.id, to.id, amount)).await;
        let now = accounts_now(&db).await;
        let balance = now.get(&from.id).map_or(0, |s| s.0);
        if balance < 0 {
            Failure::new(&called)
                .expected(format!(
                    "Err(InsufficientFunds): once the check's withdrawal committed, account {} held {left}",
                    from.id
                ))
                .got(format!(
                    "{}, and account {} is overdrawn: {balance}. The transfer waited at {}",
                    outcome(&result),
                    from.id,
                    waited_at(&waited)
                ))
                .hint(
                    "The transfer decided on a balance read before the lock was free, so the decision was stale by \
                     the time it wrote. Lock the rows as you read them (SELECT ... FOR UPDATE): the read then waits \
                     for the check's transaction and sees what is really left.",
                )
                .sent(&sent)
                .fail();
        }
        if balance != left {
            Failure::new(&called)
                .expected(format!(
                    "account {} left at {left}: the check's withdrawal of {withdrawn} kept, the transfer refused",
                    from.id
                ))
                .got(format!(
                    "{}, and account {} holds {balance}. The transfer waited at {}",
                    outcome(&result),
                    from.id,
                    waited_at(&waited)
                ))
                .hint(
                    "A lost update: the transfer wrote a balance it computed from a read made before the lock was \
                     free, over the check's withdrawal. Read with SELECT ... FOR UPDATE.",
                )
                .sent(&sent)
                .fail();
        }
        match &result {
            Err(BankError::InsufficientFunds { account, balance, wanted })
                if *account == from.id && *balance == left && *wanted == amount => {}
            _ => Failure::new(&called)
                .expected(format!(
                    "Err(InsufficientFunds {{ account: {}, balance: {left}, wanted: {amount} }})",
                    from.id
                ))
                .got(outcome(&result))
                .hint("The balance in the error is the one your FOR UPDATE read returned once the lock was granted.")
                .sent(&sent)
                .fail(),
        }
        let mut expected = before(&accounts);
        withdraw_from(&mut expected, from.id, withdrawn);
        expect_accounts(&db, &called, &expected, &sent).await;
        expect_ledger_empty(&db, &called, &sent).await;
        expect_no_notification(&called, &outbox, &sent);
    });
}

#[test]
fn opposite_transfers_at_the_same_moment_do_not_deadlock() {
    check(async |db| {
        let accounts = bank(&db, households(2, 1)).await;
        let (a, b) = two(&accounts);
        let (x, y) = (data::int(1..a.balance + 1), data::int(1..b.balance + 1));
        let outbox = Outbox::new(&db);
        let called = format!(
            "transfer(&pool, &notifier, {}, {}, {x}) and transfer(&pool, &notifier, {}, {}, {y}) at the same moment",
            a.id, b.id, b.id, a.id
        );
        // The check locks each row in a transaction of its own, so each
        // transfer stops at its first lock. It lets go of the lower id
        // first and waits until the transfers are stuck again, then of the
        // higher. Transfers that lock in argument order now hold one row
        // each and wait for each other; transfers that lock the lower id
        // first just queue behind one another.
        let (lo, hi) = if a.id < b.id { (a.id, b.id) } else { (b.id, a.id) };
        let lock = "SELECT id FROM accounts WHERE id = $1 FOR UPDATE";
        let mut hold_lo = holder(&db).await;
        exec(&mut hold_lo, sqlx::query(lock).bind(lo)).await;
        let lo_pid = backend_pid(&mut hold_lo).await;
        let mut hold_hi = holder(&db).await;
        exec(&mut hold_hi, sqlx::query(lock).bind(hi)).await;
        let (one_done, two_done) = (Cell::new(false), Cell::new(false));
        let one = async {
            let r = transfer(db.app_pool(), &outbox, a.id, b.id, x).await;
            one_done.set(true);
            r
        };
        let two_ = async {
            let r = transfer(db.app_pool(), &outbox, b.id, a.id, y).await;
            two_done.set(true);
            r
        };
        let release = async {
            let waited = until_waiting(&db, &called, 2, None, || one_done.get() && two_done.get()).await;
            commit(hold_lo).await;
            until_waiting(&db, &called, 2, Some(lo_pid), || one_done.get() || two_done.get()).await;
            commit(hold_hi).await;
            waited
        };
        let ((r1, r2, waited), sent) =
            db.wire().during(bounded(&db, &called, async { tokio::join!(one, two_, release) })).await;
        for (r, (f, t, n)) in [(&r1, (a.id, b.id, x)), (&r2, (b.id, a.id, y))] {
            if let Err(BankError::Database(e)) = r
                && code(e).as_deref() == Some("40P01")
            {
                Failure::new(&called)
                    .expected("both transfers to succeed, one after the other")
                    .got(format!(
                        "transfer(.., {f}, {t}, {n}) was aborted: {}{}",
                        db_error(e),
                        detail(e)
                            .map(|d| format!("\n          DETAIL: {}", d.replace('\n', "\n                  ")))
                            .unwrap_or_default()
                    ))
                    .hint(format!(
                        "A deadlock: each transfer locked its first row and then waited for the other's. The transfer \
                         from {f} locked {f} first, the one from {t} locked {t} first; PostgreSQL noticed after \
                         deadlock_timeout (1 s) and aborted one of them. Lock the two rows in the same order whichever \
                         way the money moves: the lower id first (`WHERE id = ANY($1) ORDER BY id FOR UPDATE`). See \
                         \"Deadlocks\" in the chapter."
                    ))
                    .sent(&sent)
                    .fail();
            }
        }
        if waited.len() < 2 {
            Failure::new(&called)
                .expected("both transfers to wait for the rows the check had locked")
                .got(format!("{} waited; {}, {}", waited.len(), outcome(&r1), outcome(&r2)))
                .hint("Each transfer must lock the accounts it changes (SELECT ... FOR UPDATE) before it writes them.")
                .sent(&sent)
                .fail();
        }
        let r1 = expect_ok(&format!("transfer(&pool, &notifier, {}, {}, {x})", a.id, b.id), r1, &sent);
        let r2 = expect_ok(&format!("transfer(&pool, &notifier, {}, {}, {y})", b.id, a.id), r2, &sent);
        let mut expected = before(&accounts);
        moved(&mut expected, a.id, b.id, x);
        moved(&mut expected, b.id, a.id, y);
        expect_accounts(&db, &called, &expected, &sent).await;
        if r1.transfer_id == r2.transfer_id {
            Failure::new(&called).expected("two ledger rows").got(format!("{r1:?} and {r2:?}")).fail();
        }
    });
}

#[test]
fn dozens_of_concurrent_transfers_keep_the_total_and_never_overdraw() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(6..10) as usize, 1)).await;
        // Eight or more waves of the app pool's five connections over a
        // handful of accounts: most transfers meet another on a row. The
        // races themselves are forced by the checks above; this one proves
        // the whole under load, so it needs no more load than that.
        let n = data::int(40..49) as usize;
        let plan: Vec<(i64, i64, i64)> = (0..n)
            .map(|_| {
                let (f, t) = two(&accounts);
                (f.id, t.id, data::int(1..90))
            })
            .collect();
        let outbox = Outbox::new(&db);
        let called = format!("{n} transfers at once among {} accounts", accounts.len());
        let pool: &PgPool = db.app_pool();
        let calls = plan.iter().map(|&(f, t, a)| {
            let outbox = &outbox;
            async move { transfer(pool, outbox, f, t, a).await }
        });
        // Six seconds, plus eight round trips per transfer timed now on the
        // check's own connection: a loaded machine is slow at everything,
        // and what this limit catches (a wait PostgreSQL cannot see) never
        // ends at all.
        let mut slowest = Duration::ZERO;
        for _ in 0..3 {
            let started = Instant::now();
            let _: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(db.pool())
                .await
                .unwrap_or_else(|e| setup_failed("SELECT 1 (timing a round trip)", e));
            slowest = slowest.max(started.elapsed());
        }
        let limit = (Duration::from_secs(6) + slowest * 8 * n as u32).min(Duration::from_secs(30));
        let (results, sent) = db
            .wire()
            .during(async {
                let mut all = std::pin::pin!(futures_util::future::join_all(calls));
                tokio::select! {
                    results = &mut all => results,
                    () = tokio::time::sleep(limit) => Failure::new(&called)
                        .expected(format!("all of them done within {limit:.1?}"))
                        .got(format!("still running after {limit:.1?}{}", lock_waits(&db).await))
                        .hint("Something waits far longer than a transfer takes: a deadlock PostgreSQL cannot see (a statement on the pool waiting for your own transaction's lock), or a lock held too long.")
                        .fail(),
                }
            })
            .await;

        let mut receipts = Vec::new();
        let mut refused = 0;
        for ((f, t, a), r) in plan.iter().zip(results) {
            match r {
                Ok(receipt) => receipts.push(receipt),
                Err(BankError::InsufficientFunds { .. }) => refused += 1,
                other => {
                    let hint = match &other {
                        Err(BankError::Database(e)) if code(e).as_deref() == Some("40P01") => {
                            "A deadlock: two transfers locked the same two rows in opposite orders. Lock the lower id first."
                        }
                        _ => "Under load, a transfer either succeeds or is refused for lack of money; nothing else.",
                    };
                    Failure::new(format!("transfer(&pool, &notifier, {f}, {t}, {a}), one of {called}"))
                        .expected("Ok(receipt) or Err(InsufficientFunds)")
                        .got(outcome(&other))
                        .hint(hint)
                        .sent(&sent)
                        .fail();
                }
            }
        }

        let now = accounts_now(&db).await;
        let total_before: i64 = accounts.iter().map(|a| a.balance).sum();
        let total_now: i64 = now.values().map(|s| s.0).sum();
        let overdrawn: Vec<String> =
            now.iter().filter(|(_, s)| s.0 < 0).map(|(id, s)| format!("account {id}: {}", s.0)).collect();
        if !overdrawn.is_empty() {
            Failure::new(&called)
                .expected("no balance below zero")
                .got(format!("{} ({} transfers succeeded, {refused} refused)", overdrawn.join(", "), receipts.len()))
                .hint(
                    "Two transfers both saw enough money and both took it. Lock the rows (FOR UPDATE) before deciding.",
                )
                .sent(&sent)
                .fail();
        }
        if total_now != total_before {
            Failure::new(&called)
                .expected(format!("the bank's total unchanged: {total_before}"))
                .got(format!("{total_now}: {} of money {}", (total_now - total_before).abs(), if total_now > total_before { "appeared" } else { "vanished" }))
                .hint("Lost updates: a transfer wrote a balance computed from a stale read over another transfer's change. Read with FOR UPDATE, inside the transaction.")
                .sent(&sent)
                .fail();
        }
        let mut expected = before(&accounts);
        for r in &receipts {
            moved(&mut expected, r.from, r.to, r.amount);
        }
        let wrong: Vec<String> = expected
            .iter()
            .filter(|(id, s)| now.get(id).map(|n| n.0) != Some(s.0))
            .map(|(id, s)| {
                format!("account {id}: {} where its receipts add up to {}", now.get(id).map_or(0, |n| n.0), s.0)
            })
            .collect();
        if !wrong.is_empty() {
            Failure::new(&called)
                .expected("every balance equal to its opening balance plus what the successful transfers moved")
                .got(wrong.join("; "))
                .hint("Some transfer's change was overwritten, or a refused transfer changed a balance.")
                .sent(&sent)
                .fail();
        }
        let ledger = ledger(&db).await;
        let mut ids: Vec<i64> = receipts.iter().map(|r| r.transfer_id).collect();
        ids.sort_unstable();
        let rows: Vec<i64> = ledger.iter().map(|l| l.id).collect();
        if rows != ids {
            Failure::new(&called)
                .expected(format!("{} rows in transfers, one per successful transfer, with the receipts' ids", ids.len()))
                .got(format!("{} rows", rows.len()))
                .hint("Insert the ledger row in the same transaction as the balances, and only for a transfer that happens.")
                .fail();
        }
        let told = outbox.sent().len();
        if told != receipts.len() {
            Failure::new(&called)
                .expected(format!("{} notifications, one per successful transfer", receipts.len()))
                .got(format!("{told}"))
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// transfer: telling the world only after COMMIT
// ---------------------------------------------------------------------------

#[test]
fn the_customer_is_notified_once_and_only_after_commit() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let (from, to) = two(&accounts);
        let amount = data::int(1..from.balance + 1);
        let outbox = Outbox::new(&db);
        let called = format!("transfer(&pool, &notifier, {}, {}, {amount})", from.id, to.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, from.id, to.id, amount))).await;
        let receipt = expect_ok(&called, result, &sent);
        let told = outbox.sent();
        let [(notified, at)] = told.as_slice() else {
            Failure::new(&called)
                .expected("notifier.transferred(&receipt) called exactly once")
                .got(format!("called {} times", told.len()))
                .hint("Call the notifier once, after tx.commit().await? has returned.")
                .sent(&sent)
                .fail();
        };
        if *notified != receipt {
            Failure::new(&called)
                .expected(format!("the notification to carry the receipt returned: {receipt:?}"))
                .got(format!("{notified:?}"))
                .fail();
        }
        let after = db.wire().since(*at).await;
        if after.all().iter().any(|s| matches!(s.verb().as_str(), "COMMIT" | "END")) {
            Failure::new(&called)
                .expected("the notification after COMMIT has succeeded")
                .got(format!(
                    "the notifier was called before the transaction committed; after it, the transfer still sent:\n{}",
                    after.describe(SHOWN)
                ))
                .hint(
                    "Until COMMIT succeeds the transfer may still roll back, and an email cannot be unsent. This is \
                     Sequelize's afterCommit hook; in Rust it is simply the line after `tx.commit().await?;`.",
                )
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn nothing_is_sent_when_the_commit_fails() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let (from, to) = two(&accounts);
        let amount = data::int(1..from.balance + 1);
        // A deferred constraint trigger runs at COMMIT: the check's auditor
        // refuses any change to `from` there, after every statement of the
        // transfer has succeeded.
        batch(
            &db,
            &format!(
                "CREATE FUNCTION wb_auditor() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     RAISE EXCEPTION 'the auditor refuses this transfer at COMMIT' USING ERRCODE = 'check_violation';
                 END $$;
                 CREATE CONSTRAINT TRIGGER wb_auditor AFTER UPDATE ON accounts DEFERRABLE INITIALLY DEFERRED
                     FOR EACH ROW WHEN (NEW.id = {}) EXECUTE FUNCTION wb_auditor();",
                from.id
            ),
        )
        .await;
        let outbox = Outbox::new(&db);
        let called = format!(
            "transfer(&pool, &notifier, {}, {}, {amount}) when the database refuses it at COMMIT",
            from.id, to.id
        );
        let (result, sent) =
            db.wire().during(bounded(&db, &called, transfer(db.app_pool(), &outbox, from.id, to.id, amount))).await;
        let commit_failed = sent.all().iter().any(|s| {
            matches!(s.verb().as_str(), "COMMIT" | "END") && s.error.as_ref().is_some_and(|e| e.code == "23514")
        });
        if !commit_failed {
            Failure::new(&called)
                .expected("the transfer to reach COMMIT, where the check's auditor refuses it")
                .got(format!("{}, and no COMMIT failed on the wire", outcome(&result)))
                .hint(
                    "The transfer updates account `from` inside a transaction and commits it with tx.commit().await?.",
                )
                .sent(&sent)
                .fail();
        }
        let told = outbox.sent();
        if !told.is_empty() {
            Failure::new(&called)
                .expected("no notification: COMMIT failed, so the transfer never happened")
                .got(format!("the customer was told {:?}", told[0].0))
                .hint(
                    "Notify only after `tx.commit().await?` has succeeded: the `?` returns the error before the \
                     notifier is reached. A notification sent before COMMIT, or after a COMMIT whose error was \
                     ignored, tells the customer about money that never moved.",
                )
                .sent(&sent)
                .fail();
        }
        match &result {
            Err(BankError::Database(e)) if code(e).as_deref() == Some("23514") => {}
            _ => Failure::new(&called)
                .expected("Err(Database(..)) carrying the COMMIT's error (SQLSTATE 23514)")
                .got(outcome(&result))
                .hint("tx.commit().await? passes COMMIT's error on; do not ignore it (`let _ = tx.commit().await` would).")
                .sent(&sent)
                .fail(),
        }
        expect_accounts(&db, &called, &before(&accounts), &sent).await;
        expect_ledger_empty(&db, &called, &sent).await;
    });
}

// ---------------------------------------------------------------------------
// withdraw: optimistic locking
// ---------------------------------------------------------------------------

#[test]
fn withdraw_takes_the_money_bumps_the_version_and_refuses_what_is_not_there() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let account = accounts[data::int(0..accounts.len() as i64) as usize].clone();
        let amount = data::int(1..account.balance);
        let mut expected = before(&accounts);

        let called = format!("withdraw(&pool, {}, {amount}) (it holds {})", account.id, account.balance);
        let (result, sent) = db.wire().during(bounded(&db, &called, withdraw(db.app_pool(), account.id, amount))).await;
        let left = account.balance - amount;
        match &result {
            Ok(n) if *n == left => {}
            _ => Failure::new(&called).expected(format!("Ok({left})")).got(outcome(&result)).sent(&sent).fail(),
        }
        withdraw_from(&mut expected, account.id, amount);
        expect_accounts(&db, &called, &expected, &sent).await;
        expect_version_compared(&called, &sent, account.version);

        let too_much = left + data::int(1..50);
        let called = format!("withdraw(&pool, {}, {too_much}) (it holds {left})", account.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, withdraw(db.app_pool(), account.id, too_much))).await;
        match &result {
            Err(BankError::InsufficientFunds { account: a, balance, wanted })
                if *a == account.id && *balance == left && *wanted == too_much => {}
            _ => Failure::new(&called)
                .expected(format!(
                    "Err(InsufficientFunds {{ account: {}, balance: {left}, wanted: {too_much} }})",
                    account.id
                ))
                .got(outcome(&result))
                .sent(&sent)
                .fail(),
        }
        expect_accounts(&db, &called, &expected, &sent).await;

        let unknown = accounts.iter().map(|a| a.id).max().unwrap_or(0) + data::int(1..40);
        for (id, n, want) in
            [(unknown, amount, format!("NoSuchAccount({unknown})")), (account.id, 0, "InvalidAmount(0)".into())]
        {
            let called = format!("withdraw(&pool, {id}, {n})");
            let (result, sent) = db.wire().during(bounded(&db, &called, withdraw(db.app_pool(), id, n))).await;
            let fine = match &result {
                Err(BankError::NoSuchAccount(i)) => want == format!("NoSuchAccount({i})"),
                Err(BankError::InvalidAmount(i)) => want == format!("InvalidAmount({i})"),
                _ => false,
            };
            if !fine {
                Failure::new(called).expected(format!("Err({want})")).got(outcome(&result)).sent(&sent).fail();
            }
        }
        expect_accounts(&db, "withdraw's refusals", &expected, &Traffic::default()).await;
    });
}

#[test]
fn withdraw_retries_when_the_version_changed_after_it_read() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let account = accounts[data::int(0..accounts.len() as i64) as usize].clone();
        let theirs = data::int(1..account.balance / 3 + 1);
        let amount = data::int(1..account.balance - theirs + 1);
        let called = format!(
            "withdraw(&pool, {}, {amount}) while another writer withdraws {theirs} (account holds {}, version {})",
            account.id, account.balance, account.version
        );
        // The check's write is in flight when withdraw reads: withdraw sees
        // the old balance and version, and its UPDATE waits for the row.
        let mut holder = holder(&db).await;
        exec(
            &mut holder,
            sqlx::query("UPDATE accounts SET balance = balance - $2, version = version + 1 WHERE id = $1")
                .bind(account.id)
                .bind(theirs),
        )
        .await;
        let (result, waited, sent) =
            with_lock_held(&db, &called, holder, withdraw(db.app_pool(), account.id, amount)).await;
        if waited.iter().any(|q| is_locking_read(q)) {
            Failure::new(&called)
                .expected("withdraw to read without waiting for any lock, and let the version catch the conflict")
                .got(format!("it waited at {}", waited_at(&waited)))
                .hint(
                    "SELECT ... FOR UPDATE is pessimistic locking, transfer's way. withdraw practises the other way: \
                     read with a plain SELECT, then UPDATE ... WHERE id = $1 AND version = $2.",
                )
                .sent(&sent)
                .fail();
        }
        let now = accounts_now(&db).await;
        let want = account.balance - theirs - amount;
        let got = now.get(&account.id).map_or(0, |s| s.0);
        if got == account.balance - amount {
            Failure::new(&called)
                .expected(format!("account {} at {want}: the other writer's {theirs} kept", account.id))
                .got(format!(
                    "{got}: withdraw overwrote the other writer's change ({}). It waited at {}",
                    outcome(&result),
                    waited_at(&waited)
                ))
                .hint(
                    "The UPDATE must only match the row if it is still the version you read: \
                     `WHERE id = $1 AND version = $2`. Then a row changed in between matches nothing \
                     (rows_affected() == 0) instead of being overwritten.",
                )
                .sent(&sent)
                .fail();
        }
        match &result {
            Ok(n) if *n == want => {}
            _ => Failure::new(&called)
                .expected(format!("Ok({want}) after a second attempt that read the new balance and version"))
                .got(outcome(&result))
                .hint("When the UPDATE matched no row, read the account again and try again (up to MAX_ATTEMPTS).")
                .sent(&sent)
                .fail(),
        }
        let updates: Vec<_> = sent.queries().into_iter().filter(|s| s.verb() == "UPDATE").collect();
        let shape: Vec<u64> = updates.iter().map(|s| s.rows_affected()).collect();
        if shape != [0, 1] {
            Failure::new(&called)
                .expected("two UPDATEs: the first, with the version read before the other writer committed, matching no row (UPDATE 0); the second matching it (UPDATE 1)")
                .got(format!("UPDATEs that matched {shape:?} rows"))
                .hint("This is optimistic locking: compare the version in the UPDATE's WHERE, look at rows_affected(), and retry on 0.")
                .sent(&sent)
                .fail();
        }
        expect_version_compared(&called, &sent, account.version);
        let version = now.get(&account.id).map_or(0, |s| s.1);
        if version != account.version + 2 {
            Failure::new(&called)
                .expected(format!("version {} (the other writer's +1, then withdraw's +1)", account.version + 2))
                .got(format!("version {version}"))
                .hint("Every write to the row adds 1 to version: SET ..., version = version + 1.")
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn withdraw_gives_up_after_five_attempts() {
    check(async |db| {
        let accounts = bank(&db, households(data::int(2..4) as usize, 1)).await;
        let account = accounts[data::int(0..accounts.len() as i64) as usize].clone();
        let amount = data::int(1..account.balance + 1);
        // As if another writer always got there first: every UPDATE of this
        // account matches no row (a BEFORE trigger that skips it).
        batch(
            &db,
            &format!(
                "CREATE FUNCTION wb_always_beaten() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
                 CREATE TRIGGER wb_always_beaten BEFORE UPDATE ON accounts
                     FOR EACH ROW WHEN (OLD.id = {}) EXECUTE FUNCTION wb_always_beaten();",
                account.id
            ),
        )
        .await;
        let called =
            format!("withdraw(&pool, {}, {amount}) when every UPDATE of the account matches no row", account.id);
        let mark = db.wire().mark();
        let result = match tokio::time::timeout(CALL_LIMIT, withdraw(db.app_pool(), account.id, amount)).await {
            Ok(r) => r,
            Err(_) => {
                let sent = db.wire().since(mark).await;
                let n = updates(&sent);
                Failure::new(&called)
                    .expected(format!("Err(TooManyConflicts {{ attempts: {ATTEMPTS} }}) after {ATTEMPTS} attempts"))
                    .got(format!("still retrying after {} s and {n} UPDATEs", CALL_LIMIT.as_secs()))
                    .hint("Bound the loop: `for attempt in 1..=MAX_ATTEMPTS { ... }`, then return TooManyConflicts.")
                    .sent(&sent)
                    .fail()
            }
        };
        let sent = db.wire().since(mark).await;
        match &result {
            Err(BankError::TooManyConflicts { attempts }) if *attempts == ATTEMPTS => {}
            _ => Failure::new(&called)
                .expected(format!("Err(TooManyConflicts {{ attempts: {ATTEMPTS} }})"))
                .got(outcome(&result))
                .hint("rows_affected() == 0 means another writer won: read again and retry, MAX_ATTEMPTS times in all, then give up with TooManyConflicts.")
                .sent(&sent)
                .fail(),
        }
        let n = updates(&sent);
        if n != ATTEMPTS as usize {
            Failure::new(&called)
                .expected(format!("{ATTEMPTS} UPDATEs on the wire, one per attempt"))
                .got(format!("{n}"))
                .hint("Each attempt is one read and one UPDATE; MAX_ATTEMPTS attempts in all.")
                .sent(&sent)
                .fail();
        }
        expect_accounts(&db, &called, &before(&accounts), &sent).await;
    });
}

// ---------------------------------------------------------------------------
// withdraw_covered: SERIALIZABLE, and its retry
// ---------------------------------------------------------------------------

#[test]
fn withdraw_covered_lets_the_accounts_of_one_owner_cover_each_other() {
    check(async |db| {
        let owner = data::name();
        let rich = format!("{} {}", data::name(), data::word(3));
        let small = data::int(10..60);
        let large = data::int(100..300);
        let accounts =
            bank(&db, vec![(owner.clone(), small), (owner.clone(), large), (rich.clone(), data::int(2000..5000))])
                .await;
        let (a, b) = (&accounts[0], &accounts[1]);
        let mut expected = before(&accounts);

        // More than the account holds, less than the owner's two together.
        let amount = data::int(small + 1..small + large + 1);
        let called =
            format!("withdraw_covered(&pool, {}, {amount}) ({owner}'s accounts hold {small} and {large})", a.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, withdraw_covered(db.app_pool(), a.id, amount))).await;
        let left = small - amount;
        match &result {
            Ok(n) if *n == left => {}
            _ => Failure::new(&called)
                .expected(format!("Ok({left}): the account may go below zero while {owner}'s other account covers it"))
                .got(outcome(&result))
                .hint("The rule is on the owner's total: SELECT sum(balance) FROM accounts WHERE owner = (the account's owner).")
                .sent(&sent)
                .fail(),
        }
        withdraw_from(&mut expected, a.id, amount);
        expect_accounts(&db, &called, &expected, &sent).await;

        // More than the owner has left, though the bank as a whole has plenty.
        let total = small + large - amount;
        let too_much = total + data::int(1..100);
        let called =
            format!("withdraw_covered(&pool, {}, {too_much}) ({owner}'s accounts hold {total} together)", b.id);
        let (result, sent) =
            db.wire().during(bounded(&db, &called, withdraw_covered(db.app_pool(), b.id, too_much))).await;
        match &result {
            Err(BankError::NotCovered { owner: o, total: t, wanted }) if *o == owner && *t == total && *wanted == too_much => {}
            _ => Failure::new(&called)
                .expected(format!("Err(NotCovered {{ owner: {owner:?}, total: {total}, wanted: {too_much} }})"))
                .got(outcome(&result))
                .hint("Sum only this owner's accounts (other customers' money covers nothing), and cast the sum: sum(bigint) is numeric, `::bigint` makes it an i64.")
                .sent(&sent)
                .fail(),
        }
        expect_accounts(&db, &called, &expected, &sent).await;

        let unknown = accounts.iter().map(|a| a.id).max().unwrap_or(0) + data::int(1..40);
        for (id, n, want) in [(unknown, 5, format!("NoSuchAccount({unknown})")), (b.id, -3, "InvalidAmount(-3)".into())]
        {
            let called = format!("withdraw_covered(&pool, {id}, {n})");
            let (result, sent) = db.wire().during(bounded(&db, &called, withdraw_covered(db.app_pool(), id, n))).await;
            let fine = match &result {
                Err(BankError::NoSuchAccount(i)) => want == format!("NoSuchAccount({i})"),
                Err(BankError::InvalidAmount(i)) => want == format!("InvalidAmount({i})"),
                _ => false,
            };
            if !fine {
                Failure::new(called).expected(format!("Err({want})")).got(outcome(&result)).sent(&sent).fail();
            }
        }
    });
}

#[test]
fn withdraw_covered_is_serializable_so_two_withdrawals_cannot_spend_the_same_cover() {
    check(async |db| {
        let owner = data::name();
        let (ba, bb) = (data::int(40..200), data::int(40..200));
        let total = ba + bb;
        let accounts =
            bank(&db, vec![(owner.clone(), ba), (owner.clone(), bb), (data::name() + " Jr", data::int(50..500))]).await;
        let (a, b) = (&accounts[0], &accounts[1]);
        // Each withdrawal alone is covered; both together are not.
        let theirs = data::int(total / 2 + 1..total + 1);
        let amount = data::int(total - theirs + 1..total + 1);
        let called = format!(
            "withdraw_covered(&pool, {}, {amount}) while another serializable transaction withdraws {theirs} from {} \
             ({owner}'s accounts hold {ba} and {bb})",
            b.id, a.id
        );
        // The other withdrawal has read the owner's total and written its
        // account, but not committed, when withdraw_covered starts.
        let mut other = db.pool().begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await.expect("BEGIN SERIALIZABLE");
        let seen: i64 = sqlx::query_scalar("SELECT sum(balance)::bigint FROM accounts WHERE owner = $1")
            .bind(&owner)
            .fetch_one(&mut *other)
            .await
            .expect("the check's read of the owner's total");
        if seen != total {
            Failure::new("the check's own read of the owner's total")
                .expected(total.to_string())
                .got(seen.to_string())
                .fail();
        }
        exec(
            &mut other,
            sqlx::query("UPDATE accounts SET balance = balance - $2 WHERE id = $1").bind(a.id).bind(theirs),
        )
        .await;

        let done = Cell::new(false);
        let call = async {
            let r = withdraw_covered(db.app_pool(), b.id, amount).await;
            done.set(true);
            r
        };
        let finish_other = async {
            until_waiting(&db, &called, 1, None, || done.get()).await;
            // The student's transaction has committed (or waits for this
            // one): now the other one tries to commit.
            other.commit().await
        };
        let ((result, other_commit), sent) =
            db.wire().during(bounded(&db, &called, async { tokio::join!(call, finish_other) })).await;

        let now = accounts_now(&db).await;
        let owned: i64 = [a.id, b.id].iter().map(|id| now.get(id).map_or(0, |s| s.0)).sum();
        if owned < 0 {
            Failure::new(&called)
                .expected(format!("one of the two withdrawals refused: together they take {} of {owner}'s {total}", theirs + amount))
                .got(format!(
                    "both went through ({}, and the other transaction's COMMIT succeeded): {owner}'s accounts now hold {owned} together",
                    outcome(&result)
                ))
                .hint(
                    "Write skew: each transaction read the total before the other's change and wrote a different \
                     row, so no row lock ever met another. Only SERIALIZABLE sees that the two reads and writes \
                     cannot both stand: begin each attempt with \
                     pool.begin_with(\"BEGIN ISOLATION LEVEL SERIALIZABLE\"). REPEATABLE READ is not enough. See \
                     \"Isolation levels\" in the chapter.",
                )
                .sent(&sent)
                .fail();
        }
        match (&result, &other_commit) {
            // The usual outcome: the first to commit wins, the other is
            // aborted with 40001.
            (Ok(n), Err(e)) if *n == bb - amount && code(e).as_deref() == Some("40001") => {}
            // withdraw_covered waited for the other transaction and then saw
            // the cover was gone.
            (Err(BankError::NotCovered { total: t, .. }), Ok(())) if *t == total - theirs => {}
            _ => Failure::new(&called)
                .expected(format!(
                    "Ok({}) with the other transaction aborted at COMMIT (40001), or Err(NotCovered) if it went first",
                    bb - amount
                ))
                .got(format!(
                    "{}; the other transaction's COMMIT: {}",
                    outcome(&result),
                    match &other_commit {
                        Ok(()) => "succeeded".to_owned(),
                        Err(e) => db_error(e),
                    }
                ))
                .sent(&sent)
                .fail(),
        }
    });
}

#[test]
fn withdraw_covered_retries_after_a_serialization_failure() {
    check(async |db| {
        let owner = data::name();
        let (ba, bb) = (data::int(40..200), data::int(40..200));
        let accounts = bank(&db, vec![(owner.clone(), ba), (owner.clone(), bb)]).await;
        let a = &accounts[0];
        let deposit = data::int(5..50);
        let amount = data::int(1..ba + bb + 1);
        let called = format!(
            "withdraw_covered(&pool, {}, {amount}) while another transaction deposits {deposit} into the same account",
            a.id
        );
        let mut holder = holder(&db).await;
        exec(
            &mut holder,
            sqlx::query("UPDATE accounts SET balance = balance + $2, version = version + 1 WHERE id = $1")
                .bind(a.id)
                .bind(deposit),
        )
        .await;
        let (result, _waited, sent) =
            with_lock_held(&db, &called, holder, withdraw_covered(db.app_pool(), a.id, amount)).await;
        let attempts = attempts(&sent);
        let failed_first = attempts.first().is_some_and(|t| t.serialization_failure);
        match &result {
            Err(BankError::Database(e)) if code(e).as_deref() == Some("40001") => Failure::new(&called)
                .expected("a second attempt, in a new transaction, that succeeds")
                .got(format!("{} after {} attempt(s)", outcome(&result), attempts.len()))
                .hint(
                    "SQLSTATE 40001 means \"this transaction could not be fitted into a serial order; run it again\": \
                     it is SERIALIZABLE's normal answer to a conflict, not a bug. Catch it (e.as_database_error() \
                     and .code() == Some(\"40001\")), start a NEW transaction and try again, up to MAX_ATTEMPTS.",
                )
                .sent(&sent)
                .fail(),
            Ok(n) if *n == ba + deposit - amount => {}
            _ => Failure::new(&called)
                .expected(format!("Ok({}): the deposit of {deposit} counted", ba + deposit - amount))
                .got(outcome(&result))
                .sent(&sent)
                .fail(),
        }
        if !failed_first {
            let begin = sent
                .all()
                .iter()
                .find(|s| s.is_transaction_control())
                .map(|s| s.sql.clone())
                .unwrap_or_else(|| "no BEGIN".into());
            Failure::new(&called)
                .expected(
                    "the first attempt to fail with SQLSTATE 40001: the account changed after its transaction began",
                )
                .got(format!("{} attempt(s), none refused; the transaction began with `{begin}`", attempts.len()))
                .hint(
                    "At READ COMMITTED, PostgreSQL waits for the other transaction and then quietly works on the \
                     newer row; only REPEATABLE READ and SERIALIZABLE refuse with 40001. Begin each attempt with \
                     pool.begin_with(\"BEGIN ISOLATION LEVEL SERIALIZABLE\").",
                )
                .sent(&sent)
                .fail();
        }
        if attempts.len() < 2 || attempts.len() > ATTEMPTS as usize || !attempts.last().is_some_and(|t| t.committed) {
            Failure::new(&called)
                .expected(format!("2 to {ATTEMPTS} transactions, the last one committed"))
                .got(format!("{} transaction(s)", attempts.len()))
                .hint("Retry in a new transaction each time: the failed one can only roll back.")
                .sent(&sent)
                .fail();
        }
        let mut expected = before(&accounts);
        deposit_into(&mut expected, a.id, deposit);
        withdraw_from(&mut expected, a.id, amount);
        expect_accounts(&db, &called, &expected, &sent).await;
    });
}

#[test]
fn withdraw_covered_gives_up_after_five_attempts() {
    check(async |db| {
        let owner = data::name();
        let accounts = bank(&db, vec![(owner.clone(), data::int(40..200)), (owner, data::int(40..200))]).await;
        let a = &accounts[0];
        let amount = data::int(1..a.balance + 1);
        batch(
            &db,
            &format!(
                "CREATE FUNCTION wb_always_conflicts() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     RAISE EXCEPTION 'could not serialize access (the check refuses every attempt)'
                         USING ERRCODE = 'serialization_failure';
                 END $$;
                 CREATE TRIGGER wb_always_conflicts BEFORE UPDATE ON accounts
                     FOR EACH ROW WHEN (OLD.id = {}) EXECUTE FUNCTION wb_always_conflicts();",
                a.id
            ),
        )
        .await;
        let called = format!("withdraw_covered(&pool, {}, {amount}) when every attempt fails with 40001", a.id);
        let mark = db.wire().mark();
        let result = match tokio::time::timeout(CALL_LIMIT, withdraw_covered(db.app_pool(), a.id, amount)).await {
            Ok(r) => r,
            Err(_) => {
                let sent = db.wire().since(mark).await;
                Failure::new(&called)
                    .expected(format!("Err(TooManyConflicts {{ attempts: {ATTEMPTS} }}) after {ATTEMPTS} attempts"))
                    .got(format!(
                        "still retrying after {} s and {} attempts",
                        CALL_LIMIT.as_secs(),
                        attempts(&sent).len()
                    ))
                    .hint("Bound the retries: `for attempt in 1..=MAX_ATTEMPTS { ... }`, then TooManyConflicts.")
                    .sent(&sent)
                    .fail()
            }
        };
        let sent = db.wire().since(mark).await;
        match &result {
            Err(BankError::TooManyConflicts { attempts }) if *attempts == ATTEMPTS => {}
            _ => Failure::new(&called)
                .expected(format!("Err(TooManyConflicts {{ attempts: {ATTEMPTS} }})"))
                .got(outcome(&result))
                .hint("After MAX_ATTEMPTS serialization failures, stop and return TooManyConflicts: a caller can decide to try later.")
                .sent(&sent)
                .fail(),
        }
        let n = attempts(&sent).len();
        if n != ATTEMPTS as usize {
            Failure::new(&called)
                .expected(format!("{ATTEMPTS} transactions on the wire, one per attempt"))
                .got(format!("{n}"))
                .sent(&sent)
                .fail();
        }
        expect_accounts(&db, &called, &before(&accounts), &sent).await;
    });
}

// ---------------------------------------------------------------------------
// The bank each check opens
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Account {
    id: i64,
    owner: String,
    balance: i64,
    version: i32,
}

/// `n` customers with one account each (`per` accounts when more).
fn households(n: usize, per: usize) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for i in 0..n {
        let owner = format!("{} {i}", data::name());
        for _ in 0..per {
            out.push((owner.clone(), data::int(60..400)));
        }
    }
    out
}

/// Creates the schema and opens the accounts, in order, with increasing
/// ids that have gaps and versions that vary.
///
/// The schema is the course's, not the student's (only `src/` is
/// editable), so the check runs `0001_bank.up.sql` itself, in the same
/// round trip as its data, instead of through the migrator.
async fn bank(db: &Db, specs: Vec<(String, i64)>) -> Vec<Account> {
    let file = workbook::exercise::path("migrations/0001_bank.up.sql");
    let schema = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| Failure::new(format!("reading {}", file.display())).got(e.to_string()).fail());
    let mut id = data::int(1..500);
    let accounts: Vec<Account> = specs
        .into_iter()
        .map(|(owner, balance)| {
            id += data::int(1..7);
            Account { id, owner, balance, version: data::int(0..40) as i32 }
        })
        .collect();
    let rows: Vec<String> = accounts
        .iter()
        .map(|a| format!("({}, '{}', {}, {})", a.id, a.owner.replace('\'', "''"), a.balance, a.version))
        .collect();
    batch(
        db,
        &format!(
            "{schema}\n;INSERT INTO accounts (id, owner, balance, version) OVERRIDING SYSTEM VALUE VALUES {};",
            rows.join(", ")
        ),
    )
    .await;
    accounts
}

/// Two different accounts, in random order (so `from` is sometimes the
/// lower id, sometimes the higher).
fn two(accounts: &[Account]) -> (Account, Account) {
    let n = accounts.len() as i64;
    let i = data::int(0..n);
    let j = (i + data::int(1..n)) % n;
    (accounts[i as usize].clone(), accounts[j as usize].clone())
}

type State = BTreeMap<i64, (i64, i32)>;

fn before(accounts: &[Account]) -> State {
    accounts.iter().map(|a| (a.id, (a.balance, a.version))).collect()
}

fn moved(state: &mut State, from: i64, to: i64, amount: i64) {
    withdraw_from(state, from, amount);
    deposit_into(state, to, amount);
}

fn withdraw_from(state: &mut State, id: i64, amount: i64) {
    if let Some(s) = state.get_mut(&id) {
        s.0 -= amount;
        s.1 += 1;
    }
}

fn deposit_into(state: &mut State, id: i64, amount: i64) {
    if let Some(s) = state.get_mut(&id) {
        s.0 += amount;
        s.1 += 1;
    }
}

async fn accounts_now(db: &Db) -> State {
    let rows: Vec<(i64, i64, i32)> = sqlx::query_as("SELECT id, balance, version FROM accounts ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("reading the accounts", e));
    rows.into_iter().map(|(id, b, v)| (id, (b, v))).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct LedgerRow {
    id: i64,
    from_id: i64,
    to_id: i64,
    amount: i64,
}

async fn ledger(db: &Db) -> Vec<LedgerRow> {
    sqlx::query_as("SELECT id, from_id, to_id, amount FROM transfers ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("reading transfers", e))
}

/// Runs the check's own DDL or data changes in one round trip.
async fn batch(db: &Db, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("preparing the check's database", e));
}

// ---------------------------------------------------------------------------
// Holding a lock while the code under test runs
// ---------------------------------------------------------------------------

type Tx = sqlx::Transaction<'static, Postgres>;

/// The check's own transaction, straight to the server (not recorded).
async fn holder(db: &Db) -> Tx {
    db.pool().begin().await.unwrap_or_else(|e| setup_failed("BEGIN on the check's own connection", e))
}

async fn exec(tx: &mut Tx, q: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>) {
    q.execute(&mut **tx).await.unwrap_or_else(|e| setup_failed("the check's own statement", e));
}

async fn backend_pid(tx: &mut Tx) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut **tx)
        .await
        .unwrap_or_else(|e| setup_failed("SELECT pg_backend_pid()", e))
}

async fn commit(tx: Tx) {
    tx.commit().await.unwrap_or_else(|e| setup_failed("COMMIT of the check's own transaction", e));
}

/// Runs `call` while the check's transaction `holder` keeps its row locks:
/// once the call waits for one of them (or has returned without waiting),
/// the check commits, and the call goes on against the changed rows.
/// Returns the call's result, what it was running while it waited, and
/// what it sent.
async fn with_lock_held<T>(
    db: &Db,
    called: &str,
    holder: Tx,
    call: impl Future<Output = Result<T, BankError>>,
) -> (Result<T, BankError>, Vec<String>, Traffic) {
    let done = Cell::new(false);
    let call = async {
        let r = call.await;
        done.set(true);
        r
    };
    let release = async {
        let waited = until_waiting(db, called, 1, None, || done.get()).await;
        commit(holder).await;
        waited
    };
    let ((result, waited), sent) = db.wire().during(bounded(db, called, async { tokio::join!(call, release) })).await;
    (result, waited, sent)
}

/// Polls `pg_stat_activity` until `n` sessions of this database wait for
/// a lock, or `finished()`; returns the statements that were waiting.
///
/// A session counts only while some other session really blocks it (a
/// waiter the lock was just granted to may still show as waiting for a
/// moment), and, with `released`, only if that session is not among its
/// blockers: after the check lets go of a lock, this waits until its
/// waiters have moved on.
async fn until_waiting(
    db: &Db,
    called: &str,
    n: usize,
    released: Option<i32>,
    finished: impl Fn() -> bool,
) -> Vec<String> {
    let start = Instant::now();
    loop {
        let waiting: Vec<String> = sqlx::query_scalar(
            "SELECT query FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND cardinality(pg_blocking_pids(pid)) > 0 AND NOT $1 = ANY (pg_blocking_pids(pid))
             ORDER BY backend_start",
        )
        .bind(released.unwrap_or(0))
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("reading pg_stat_activity", e));
        if waiting.len() >= n || finished() {
            return waiting;
        }
        if start.elapsed() > CALL_LIMIT {
            Failure::new(called)
                .expected(format!("{n} of its transactions to wait for the rows the check had locked, or to return"))
                .got(format!("after {} s, {} wait and the call has not returned", CALL_LIMIT.as_secs(), waiting.len()))
                .hint("Is something waiting outside the database (a sleep, a mutex)?")
                .fail();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// What the sessions waiting for a lock are running, and who holds it.
async fn lock_waits(db: &Db) -> String {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT w.query, b.state, b.query
         FROM pg_stat_activity w
         LEFT JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid) ON true
         LEFT JOIN pg_stat_activity b ON b.pid = blocker.pid
         WHERE w.datname = current_database() AND w.wait_event_type = 'Lock'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap_or_default();
    if rows.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|(waiting, state, holding)| {
            format!(
                "\n          `{}` waits for a lock held by a session that is {} (its last statement: `{}`)",
                short(waiting),
                state.as_deref().unwrap_or("gone"),
                holding.as_deref().map(short).unwrap_or_default()
            )
        })
        .collect();
    format!(":{}", lines.concat())
}

/// Awaits `fut` for at most [`CALL_LIMIT`], failing with what waits for
/// what when it takes longer.
async fn bounded<F: Future>(db: &Db, called: &str, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    tokio::select! {
        out = &mut fut => out,
        () = tokio::time::sleep(CALL_LIMIT) => {
            // Read the waits while the call is still alive: dropping it
            // would roll its transaction back and free what it holds.
            let waits = lock_waits(db).await;
            let hint = if waits.contains("idle in transaction") {
                "A statement waits for a lock that a transaction holds while it waits for that statement: a query \
                 sent on the pool beside your own transaction waits for the rows the transaction locked, and the \
                 transaction waits for it. Pass `&mut *tx` to every query of the transfer."
            } else {
                "Something waits far longer than a transfer takes."
            };
            Failure::new(called)
                .expected(format!("an answer within {} s", CALL_LIMIT.as_secs()))
                .got(format!("no answer yet{waits}"))
                .hint(hint)
                .fail()
        }
    }
}

fn waited_at(waited: &[String]) -> String {
    match waited.first() {
        Some(q) => format!("`{}`", short(q)),
        None => "nothing: it never waited for the check's lock".to_owned(),
    }
}

fn is_locking_read(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    upper.trim_start().starts_with("SELECT")
        && (upper.contains("FOR UPDATE") || upper.contains("FOR NO KEY UPDATE") || upper.contains("FOR SHARE"))
}

// ---------------------------------------------------------------------------
// The notifier the checks hand over
// ---------------------------------------------------------------------------

/// Records each notification with the moment on the wire it was sent, so a
/// check can tell what the code sent after it.
struct Outbox {
    db: Db,
    sent: Mutex<Vec<(Receipt, Mark)>>,
}

impl Outbox {
    fn new(db: &Db) -> Outbox {
        Outbox { db: db.clone(), sent: Mutex::new(Vec::new()) }
    }

    fn sent(&self) -> Vec<(Receipt, Mark)> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Notifier for Outbox {
    fn transferred(&self, receipt: &Receipt) {
        let at = self.db.wire().mark();
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push((receipt.clone(), at));
    }
}

// ---------------------------------------------------------------------------
// Judging
// ---------------------------------------------------------------------------

fn expect_ok<T: Debug>(called: &str, result: Result<T, BankError>, sent: &Traffic) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            let shown = outcome::<T>(&Err(e));
            Failure::new(called).expected("Ok(..)").got(shown).sent(sent).fail()
        }
    }
}

async fn expect_accounts(db: &Db, called: &str, expected: &State, sent: &Traffic) {
    let now = accounts_now(db).await;
    if &now == expected {
        return;
    }
    let mut lines = Vec::new();
    for (id, (b, v)) in expected {
        match now.get(id) {
            Some((nb, nv)) if nb == b && nv == v => {}
            Some((nb, nv)) => lines.push(format!(
                "account {id}: balance {nb}{}, version {nv}{}",
                if nb == b { String::new() } else { format!(" (expected {b})") },
                if nv == v { String::new() } else { format!(" (expected {v})") },
            )),
            None => lines.push(format!("account {id} is gone")),
        }
    }
    let version_only = expected.iter().all(|(id, (b, _))| now.get(id).is_some_and(|(nb, _)| nb == b));
    let hint = if version_only {
        "The balances are right; the versions are not. Every write to an account adds 1 to its version \
         (SET ..., version = version + 1), so that withdraw, which checks the version, notices the change."
    } else {
        "Compare the balances with what the calls should have done; a refused call must change nothing."
    };
    let f = Failure::new(called)
        .expected("the accounts as the calls leave them")
        .got(lines.iter().map(|l| format!("\n          {l}")).collect::<String>())
        .hint(hint);
    if sent.all().is_empty() { f.fail() } else { f.sent(sent).fail() }
}

async fn expect_ledger_empty(db: &Db, called: &str, sent: &Traffic) {
    let rows = ledger(db).await;
    if !rows.is_empty() {
        Failure::new(called)
            .expected("no row in transfers: the transfer did not happen")
            .got(format!("{rows:?}"))
            .hint("Insert into transfers inside the transaction: a rollback then takes the ledger row back too.")
            .sent(sent)
            .fail();
    }
}

fn expect_no_notification(called: &str, outbox: &Outbox, sent: &Traffic) {
    let told = outbox.sent();
    if !told.is_empty() {
        Failure::new(called)
            .expected("no notification for a transfer that did not happen")
            .got(format!("the customer was told {:?}", told[0].0))
            .sent(sent)
            .fail();
    }
}

/// A refused call: balances, versions and ledger as they were, nobody
/// told, no transaction committed with a write, none left open.
async fn expect_nothing_changed(db: &Db, called: &str, accounts: &[Account], outbox: &Outbox, sent: &Traffic) {
    expect_accounts(db, called, &before(accounts), sent).await;
    expect_ledger_empty(db, called, sent).await;
    expect_no_notification(called, outbox, sent);
    let committed_writes = sent.transactions().into_iter().any(|t| {
        t.ending == Ending::Committed
            && t.statements.iter().any(|seq| sent.all().iter().any(|s| s.seq == *seq && s.is_write()))
    });
    let loose_writes = sent.writes().iter().any(|s| !s.inside_transaction());
    if committed_writes || loose_writes {
        Failure::new(called)
            .expected("a refusal that writes nothing, or rolls back what it wrote")
            .got("a write that was committed")
            .hint("Decide before you write, inside the transaction; returning the error early drops the Transaction, which rolls it back.")
            .sent(sent)
            .fail();
    }
    let open = still_in_transaction(db).await;
    if open > 0 {
        Failure::new(called)
            .expected("every connection back in the pool outside any transaction")
            .got(format!("{open} connection(s) still inside a transaction"))
            .hint("Let the Transaction go out of scope (or call tx.rollback().await) on every path; never BEGIN by hand on a pool connection.")
            .sent(sent)
            .fail();
    }
}

/// Connections of the code under test inside a transaction, given time
/// for a dropped Transaction's queued ROLLBACK to reach the server (on a
/// loaded machine the pool's task that sends it can wait its turn for
/// long): as long as a call may take, returning as soon as none is left.
async fn still_in_transaction(db: &Db) -> usize {
    let start = Instant::now();
    loop {
        let open = db.wire().left_in_transaction().await.len();
        if open == 0 || start.elapsed() > CALL_LIMIT {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Fails unless one of withdraw's UPDATEs bound the version it had read.
fn expect_version_compared(called: &str, sent: &Traffic, version: i32) {
    let updates: Vec<_> = sent.queries().into_iter().filter(|s| s.verb() == "UPDATE").collect();
    let compared = updates
        .first()
        .is_some_and(|u| u.binds(&i64::from(version).into()) && u.sql.to_lowercase().contains("version"));
    if !compared {
        Failure::new(called)
            .expected(format!("the UPDATE to compare the version read, {version}, bound as a parameter: WHERE id = $1 AND version = $2"))
            .got(match updates.first() {
                Some(u) => format!("`{}` without it", short(&u.sql)),
                None => "no UPDATE at all".to_owned(),
            })
            .hint("Optimistic locking is the version in the WHERE clause: the write only lands on the row you read.")
            .sent(sent)
            .fail();
    }
}

fn updates(sent: &Traffic) -> usize {
    sent.queries().iter().filter(|s| s.verb() == "UPDATE").count()
}

/// One transaction of the code under test, as an attempt.
struct Attempt {
    committed: bool,
    serialization_failure: bool,
}

/// The transactions in `sent`, in the order they began: each BEGIN up to
/// its COMMIT or ROLLBACK on the same connection.
fn attempts(sent: &Traffic) -> Vec<Attempt> {
    let mut out: Vec<Attempt> = Vec::new();
    let mut open: BTreeMap<usize, usize> = BTreeMap::new();
    for s in sent.all() {
        let verb = s.verb();
        if verb == "BEGIN" || (verb == "START" && s.sql.to_ascii_uppercase().contains("TRANSACTION")) {
            out.push(Attempt { committed: false, serialization_failure: false });
            open.insert(s.conn, out.len() - 1);
            continue;
        }
        let Some(&i) = open.get(&s.conn) else { continue };
        if s.error.as_ref().is_some_and(|e| e.code == "40001") {
            out[i].serialization_failure = true;
        }
        match verb.as_str() {
            "COMMIT" | "END" => {
                out[i].committed = s.error.is_none() && s.tag.as_deref() != Some("ROLLBACK");
                open.remove(&s.conn);
            }
            "ROLLBACK" | "ABORT" if !s.sql.to_ascii_uppercase().contains(" TO ") => {
                open.remove(&s.conn);
            }
            _ => {}
        }
    }
    out
}

fn outcome<T: Debug>(result: &Result<T, BankError>) -> String {
    match result {
        Ok(v) => format!("Ok({v:?})"),
        Err(BankError::Database(e)) => format!("Err(Database({}))", db_error(e)),
        Err(e) => format!("Err({e:?})"),
    }
}

fn code(e: &sqlx::Error) -> Option<String> {
    e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
}

fn db_error(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(d) => format!("ERROR {}: {}", d.code().unwrap_or_default(), d.message()),
        None => e.to_string(),
    }
}

fn detail(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()?.try_downcast_ref::<PgDatabaseError>()?.detail().map(str::to_owned)
}

fn short(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 110 { format!("{} …", one.chars().take(110).collect::<String>()) } else { one }
}

fn setup_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what)
        .expected("the check's own SQL to run")
        .got(e.to_string())
        .hint("The checks use the tables in migrations/0001_bank.up.sql as given: keep them.")
        .fail()
}
