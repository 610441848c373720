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
    let _ = (pool, notifier, from, to, amount);
    todo!(
        "pool.begin(), then SELECT id, balance FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE on &mut *tx; \
         decide; two UPDATEs and an INSERT INTO transfers ... RETURNING id; tx.commit().await?; then notify"
    )
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
    let _ = (pool, account, amount);
    todo!(
        "loop: SELECT balance, version; UPDATE ... WHERE id = $1 AND version = $2; rows_affected() == 1 means done, \
         0 means try again"
    )
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
    let _ = (pool, account, amount);
    todo!(
        "each attempt: pool.begin_with(\"BEGIN ISOLATION LEVEL SERIALIZABLE\"), read the owner's total, UPDATE, \
         commit; on an error whose code() is 40001, try again"
    )
}
