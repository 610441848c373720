//! Exercise `transactions`: a bank whose money never appears, vanishes or
//! goes below zero, however many customers use it at once.
//!
//! Read the chapter "Transactions and locking" in the book first. The
//! schema is given in `migrations/0001_bank.up.sql`; everything you write
//! is in this file. The checks do not hope for races: they make them
//! happen. A check holds a lock on an account, changes it while your code
//! waits, runs two opposite transfers at the same moment, or makes a
//! COMMIT fail, so a mistake fails every run. `cargo checker` re-runs the
//! checks every time you save.

use std::time::Duration;

use sqlx::PgPool;

// The checks use these types and this constant: keep their names and
// fields as they are.

/// How many times `withdraw` and `withdraw_covered` try before giving up
/// with [`BankError::TooManyConflicts`].
pub const MAX_ATTEMPTS: u32 = 5;

/// What a transfer did, once it is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The id of its row in `transfers`.
    pub transfer_id: i64,
    pub from: i64,
    pub to: i64,
    pub amount: i64,
    /// The balances of the two accounts right after the transfer.
    pub from_balance: i64,
    pub to_balance: i64,
}

/// Something outside the database that hears about transfers: an email to
/// the customer, a message on a queue. A rollback cannot take it back.
pub trait Notifier: Send + Sync {
    fn transferred(&self, receipt: &Receipt);
}

/// Why the bank said no.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// No account has this id.
    #[error("account {0} does not exist")]
    NoSuchAccount(i64),
    /// Amounts must be more than zero: a negative transfer would move
    /// money the other way.
    #[error("cannot move {0}: amounts must be more than zero")]
    InvalidAmount(i64),
    /// The account holds less than the amount. `balance` is what it holds.
    #[error("account {account} holds {balance}, less than the {wanted} asked for")]
    InsufficientFunds { account: i64, balance: i64, wanted: i64 },
    /// The owner's accounts together hold less than the amount
    /// (`withdraw_covered`). `total` is what they hold together.
    #[error("{owner}'s accounts hold {total} together, less than the {wanted} asked for")]
    NotCovered { owner: String, total: i64, wanted: i64 },
    /// Every attempt lost to another transaction; `attempts` were made.
    #[error("gave up after {attempts} attempts: other transactions kept changing the account")]
    TooManyConflicts { attempts: u32 },
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Moves `amount` from account `from` to account `to` (two different
/// accounts), pessimistically: in ONE transaction, with both rows locked
/// by `SELECT ... FOR UPDATE` before either is read for a decision, the
/// lower id always locked first (so two opposite transfers cannot
/// deadlock). Every statement goes through the transaction (`&mut *tx`),
/// none through the pool beside it.
///
/// It writes both balances (and adds 1 to both rows' `version`, as every
/// writer of `accounts` does, so `withdraw` notices), inserts one row into
/// `transfers`, commits, and only then tells `notifier`, once.
///
/// Refusals change nothing: `InvalidAmount` for an amount of 0 or less,
/// `NoSuchAccount` for an id that does not exist, `InsufficientFunds` when
/// `from` holds less than `amount`.
pub async fn transfer(
    pool: &PgPool,
    notifier: &dyn Notifier,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<Receipt, BankError> {
    if amount <= 0 {
        return Err(BankError::InvalidAmount(amount));
    }
    let mut tx = pool.begin().await?;
    // ORDER BY is applied before the rows are locked, so this locks the
    // lower id first whichever way the money moves.
    let locked: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, balance FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind([from, to])
            .fetch_all(&mut *tx)
            .await?;
    let balance_of = |id: i64| locked.iter().find(|(i, _)| *i == id).map(|(_, b)| *b).ok_or(BankError::NoSuchAccount(id));
    let from_balance = balance_of(from)?;
    let to_balance = balance_of(to)?;
    if from_balance < amount {
        // Returning drops `tx`, which rolls the transaction back.
        return Err(BankError::InsufficientFunds { account: from, balance: from_balance, wanted: amount });
    }
    sqlx::query(
        "UPDATE accounts SET balance = balance + CASE WHEN id = $1 THEN -$3 ELSE $3 END, version = version + 1
         WHERE id IN ($1, $2)",
    )
    .bind(from)
    .bind(to)
    .bind(amount)
    .execute(&mut *tx)
    .await?;
    let transfer_id: i64 =
        sqlx::query_scalar("INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3) RETURNING id")
            .bind(from)
            .bind(to)
            .bind(amount)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    // Only now is the transfer certain: COMMIT can still fail.
    let receipt = Receipt {
        transfer_id,
        from,
        to,
        amount,
        from_balance: from_balance - amount,
        to_balance: to_balance + amount,
    };
    notifier.transferred(&receipt);
    Ok(receipt)
}

/// Takes `amount` out of `account`, optimistically: no lock and no
/// transaction. Read the balance and version; refuse (`InsufficientFunds`)
/// if the balance is too small; then write the new balance with
/// `UPDATE ... SET ..., version = version + 1 WHERE id = $1 AND version = $2`,
/// the version you read. If that matched no row, someone changed the
/// account in between: read again and retry, at most [`MAX_ATTEMPTS`]
/// attempts in all, then `TooManyConflicts`. Returns the new balance.
///
/// `InvalidAmount` and `NoSuchAccount` as for `transfer`.
pub async fn withdraw(pool: &PgPool, account: i64, amount: i64) -> Result<i64, BankError> {
    if amount <= 0 {
        return Err(BankError::InvalidAmount(amount));
    }
    for attempt in 1..=MAX_ATTEMPTS {
        let (balance, version): (i64, i32) = sqlx::query_as("SELECT balance, version FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(pool)
            .await?
            .ok_or(BankError::NoSuchAccount(account))?;
        if balance < amount {
            return Err(BankError::InsufficientFunds { account, balance, wanted: amount });
        }
        // Writing the balance itself is safe here: the version in the
        // WHERE clause guarantees nobody changed it since we read it.
        let updated =
            sqlx::query("UPDATE accounts SET balance = $3, version = version + 1 WHERE id = $1 AND version = $2")
                .bind(account)
                .bind(version)
                .bind(balance - amount)
                .execute(pool)
                .await?;
        if updated.rows_affected() == 1 {
            return Ok(balance - amount);
        }
        pause_before_retry(attempt).await;
    }
    Err(BankError::TooManyConflicts { attempts: MAX_ATTEMPTS })
}

/// Takes `amount` out of `account`, which may go below zero as long as all
/// the accounts of the same owner together still hold at least `amount`
/// (the owner's other accounts cover it); otherwise `NotCovered`.
///
/// Row locks cannot protect that rule (a concurrent withdrawal from the
/// owner's other account changes a row this one never locks), so each
/// attempt is a transaction at `ISOLATION LEVEL SERIALIZABLE`. When
/// PostgreSQL aborts it with SQLSTATE 40001 (serialization failure), on
/// any statement or on COMMIT, start a new transaction and try again: at
/// most [`MAX_ATTEMPTS`] attempts, then `TooManyConflicts`. Bump the
/// account's `version` too. Returns the account's new balance.
///
/// `InvalidAmount` and `NoSuchAccount` as for `transfer`.
pub async fn withdraw_covered(pool: &PgPool, account: i64, amount: i64) -> Result<i64, BankError> {
    if amount <= 0 {
        return Err(BankError::InvalidAmount(amount));
    }
    for attempt in 1..=MAX_ATTEMPTS {
        match withdraw_covered_once(pool, account, amount).await {
            Err(BankError::Database(e)) if is_serialization_failure(&e) => pause_before_retry(attempt).await,
            done => return done,
        }
    }
    Err(BankError::TooManyConflicts { attempts: MAX_ATTEMPTS })
}

/// One attempt of `withdraw_covered`: one serializable transaction.
async fn withdraw_covered_once(pool: &PgPool, account: i64, amount: i64) -> Result<i64, BankError> {
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await?;
    let (owner, total): (String, i64) = sqlx::query_as(
        "SELECT owner, (SELECT sum(balance) FROM accounts WHERE owner = a.owner)::bigint FROM accounts a WHERE id = $1",
    )
    .bind(account)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(BankError::NoSuchAccount(account))?;
    if total < amount {
        return Err(BankError::NotCovered { owner, total, wanted: amount });
    }
    let balance: i64 = sqlx::query_scalar(
        "UPDATE accounts SET balance = balance - $2, version = version + 1 WHERE id = $1 RETURNING balance",
    )
    .bind(account)
    .bind(amount)
    .fetch_one(&mut *tx)
    .await?;
    // A serialization failure can come here too: SERIALIZABLE decides at
    // COMMIT whether the transactions it watched could have run one by one.
    tx.commit().await?;
    Ok(balance)
}

fn is_serialization_failure(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).as_deref() == Some("40001")
}

/// A little longer after each lost attempt, so two retrying callers do not
/// collide again in lockstep.
async fn pause_before_retry(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
}
