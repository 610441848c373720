//! Watching the SQL on the wire.
//!
//! Every check gets a [`Relay`]: a small PostgreSQL protocol relay on
//! 127.0.0.1 that the code under test connects through ([`crate::Db::app_pool`],
//! [`crate::Db::app_url`]) instead of reaching the server directly. It
//! forwards every byte untouched and records, per connection and in order,
//! each statement's text (simple `Query` and `Parse`), the values of each
//! `Bind`, the rows the server sent back, the command tags and errors, and
//! the transaction state from every `ReadyForQuery`. Because it sits on the
//! network path, it sees everything the code sends, whatever task or pool
//! sends it, and whatever the server's authentication (the handshake passes
//! through as it is).
//!
//! A check then reads the record like a sentence:
//!
//! ```ignore
//! let (made, sent) = db.wire().during(create(db.app_pool(), &new)).await;
//! assert!(sent.bound(&new.email));              // a bind parameter, not pasted text
//! assert!(sent.len() <= 2);                     // no N+1
//! sent.in_one_transaction()?;                   // one BEGIN .. COMMIT, one connection
//! let leaked = db.wire().left_in_transaction().await;
//! ```
//!
//! A check can also make the database go away for the code under test and
//! come back ([`Relay::cut`], [`Relay::restore`]), to see what a server
//! does when its database restarts.
//!
//! Every failed check shows what the code sent ([`Traffic::describe`]),
//! the way an ORM's query log would.
//!
//! Cost, measured on the course's 2-core machine (2000 `SELECT $1::int`
//! round trips, median of three runs): about 0.15 ms more per round trip
//! than going straight to the server (0.33 ms against 0.18 ms), and 2.4 ms
//! to start and stop a relay (a thread, a small runtime, a port), paid
//! only by a check that hands its code the app URL or pool.

mod conn;
mod relay;
mod split;
mod traffic;
mod value;

pub use relay::{Mark, Relay, Upstream};
pub use traffic::{ConnId, Connection, Ending, ROWS_KEPT, ServerError, Statement, Traffic, Transaction, TxStatus};
pub use value::Value;

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

impl Upstream {
    /// The server a PostgreSQL URL points at: its host and port, or the
    /// Unix socket its `host=/dir` option names.
    pub fn of_url(url: &str) -> Result<Upstream, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?;
        let port = options.get_port();
        Ok(match options.get_socket() {
            Some(dir) => Upstream::Unix(dir.join(format!(".s.PGSQL.{port}"))),
            None => Upstream::Tcp { host: options.get_host().to_owned(), port },
        })
    }
}

#[cfg(test)]
mod tests;
