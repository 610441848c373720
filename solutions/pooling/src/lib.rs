//! Exercise `pooling`: a connection pool built from configuration, sized
//! against what the server allows, with its settings on every connection,
//! and a request handler that gives every connection back.
//!
//! Read the chapter "Connection pools" in the book first. Each `todo!()`
//! below says what to write; `cargo checker` re-runs the checks every time
//! you save.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Everything the pool is built from, as a service would read it from its
/// environment at start-up.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The database's URL.
    pub url: String,
    /// The name every connection shows in `pg_stat_activity`.
    pub application_name: String,
    /// The most connections this replica's pool may open.
    pub max_connections: u32,
    /// Connections kept open (warm) even when nothing is running.
    pub min_connections: u32,
    /// How long a request may wait for a free connection.
    pub acquire_timeout: Duration,
    /// How long a whole request may take: the acquire timeout must be
    /// shorter.
    pub request_timeout: Duration,
    /// The longest a single statement may run on any connection.
    pub statement_timeout: Duration,
    /// A connection idle this long is closed.
    pub idle_timeout: Duration,
    /// A connection this old is closed and replaced, however busy.
    pub max_lifetime: Duration,
    /// How many copies of the service run, each with a pool like this one.
    pub replicas: u32,
    /// Server connections kept free for everyone else: superusers,
    /// migrations, monitoring, a person with psql.
    pub reserved_connections: u32,
}

/// Why no pool size fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizingError {
    #[error("there must be at least one replica")]
    NoReplicas,
    #[error("the server allows {server_max} connections and {reserved} are reserved: none are left")]
    NothingLeft { server_max: u32, reserved: u32 },
    #[error("{available} connections cannot give each of {replicas} replicas one")]
    TooManyReplicas { available: u32, replicas: u32 },
}

/// Why the pool was not built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("max_connections must be at least 1")]
    NoConnections,
    #[error("min_connections ({min}) is above max_connections ({max})")]
    MinAboveMax { min: u32, max: u32 },
    #[error("acquire_timeout ({acquire:?}) must be shorter than request_timeout ({request:?})")]
    AcquireNotShorterThanRequest { acquire: Duration, request: Duration },
    #[error("a pool of {asked} per replica is more than the server allows: at most {allowed}")]
    TooLarge { asked: u32, allowed: u32 },
    #[error("no pool size fits: {0}")]
    Sizing(#[from] SizingError),
    #[error("could not reach the database: {0}")]
    Connect(#[source] sqlx::Error),
}

/// The most connections each replica's pool may hold: what the server
/// allows, less the reserve, shared equally between the replicas (rounded
/// down). Errors are checked in this order: no replicas, nothing left
/// after the reserve, fewer connections left than replicas.
pub fn pool_size(server_max_connections: u32, reserved: u32, replicas: u32) -> Result<u32, SizingError> {
    if replicas == 0 {
        return Err(SizingError::NoReplicas);
    }
    // checked_sub: a reserve larger than the server is an error, not an
    // overflow.
    let available = match server_max_connections.checked_sub(reserved) {
        Some(n) if n > 0 => n,
        _ => return Err(SizingError::NothingLeft { server_max: server_max_connections, reserved }),
    };
    if available < replicas {
        return Err(SizingError::TooManyReplicas { available, replicas });
    }
    Ok(available / replicas)
}

/// Builds the pool `config` describes, or says why not. The checks that
/// need no server come first; then the pool opens its warm connections and
/// asks the server for its `max_connections`, and a pool larger than its
/// share is refused (and closed).
pub async fn build_pool(config: &PoolConfig) -> Result<PgPool, ConfigError> {
    if config.max_connections == 0 {
        return Err(ConfigError::NoConnections);
    }
    if config.min_connections > config.max_connections {
        return Err(ConfigError::MinAboveMax { min: config.min_connections, max: config.max_connections });
    }
    if config.acquire_timeout >= config.request_timeout {
        return Err(ConfigError::AcquireNotShorterThanRequest {
            acquire: config.acquire_timeout,
            request: config.request_timeout,
        });
    }
    if config.replicas == 0 {
        return Err(SizingError::NoReplicas.into());
    }

    // The application name travels in the startup message, so the server
    // shows it from the first moment of every connection.
    let options = PgConnectOptions::from_str(&config.url)
        .map_err(ConfigError::Connect)?
        .application_name(&config.application_name);
    let statement_timeout = format!("{}ms", config.statement_timeout.as_millis());
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(config.idle_timeout)
        .max_lifetime(config.max_lifetime)
        // Runs on every connection the pool opens, the first and every
        // replacement, before anyone can use it.
        .after_connect(move |conn, _meta| {
            let statement_timeout = statement_timeout.clone();
            Box::pin(async move {
                sqlx::query("SELECT set_config('statement_timeout', $1, false)")
                    .bind(statement_timeout)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(ConfigError::Connect)?;

    let refused = async {
        let server_max: i64 = sqlx::query_scalar("SELECT current_setting('max_connections')::bigint")
            .fetch_one(&pool)
            .await
            .map_err(ConfigError::Connect)?;
        let server_max = u32::try_from(server_max).unwrap_or(u32::MAX);
        let allowed = pool_size(server_max, config.reserved_connections, config.replicas)?;
        if config.max_connections > allowed {
            return Err(ConfigError::TooLarge { asked: config.max_connections, allowed });
        }
        Ok(())
    };
    if let Err(e) = refused.await {
        pool.close().await;
        return Err(e);
    }
    Ok(pool)
}

/// An order that was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i32,
    /// The product's stock after this order.
    pub stock_left: i32,
}

/// Why an order was not placed. A web handler would answer 404, 409, 503,
/// 504 and 500 for these.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("no product {0}")]
    NotFound(i64),
    #[error("product {product_id} has only {available} left")]
    OutOfStock { product_id: i64, available: i32 },
    /// No connection came free within the pool's acquire timeout.
    #[error("the database is busy: no connection came free in time")]
    Busy,
    /// A statement ran past `statement_timeout` and the server cancelled
    /// it (SQLSTATE 57014).
    #[error("the database took too long and the statement was cancelled")]
    Timeout,
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> OrderError {
        match &e {
            sqlx::Error::PoolTimedOut => OrderError::Busy,
            sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => OrderError::Timeout,
            _ => OrderError::Database(e),
        }
    }
}

/// Places an order for `quantity` of product `product_id`, in one
/// transaction: lock the product's row, check its stock, record the order,
/// take the stock. Every path, the early returns and the errors included,
/// gives the connection back to the pool outside any transaction.
pub async fn place_order(pool: &PgPool, product_id: i64, quantity: i32) -> Result<Order, OrderError> {
    // A Transaction rolls back when it is dropped: every `return` and `?`
    // below ends the transaction before the connection goes back.
    let mut tx = pool.begin().await?;
    let stock: Option<i32> = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1 FOR UPDATE")
        .bind(product_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(stock) = stock else {
        return Err(OrderError::NotFound(product_id));
    };
    if stock < quantity {
        return Err(OrderError::OutOfStock { product_id, available: stock });
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO orders (product_id, quantity) VALUES ($1, $2) RETURNING id")
        .bind(product_id)
        .bind(quantity)
        .fetch_one(&mut *tx)
        .await?;
    let stock_left: i32 = sqlx::query_scalar("UPDATE products SET stock = stock - $2 WHERE id = $1 RETURNING stock")
        .bind(product_id)
        .bind(quantity)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Order { id, product_id, quantity, stock_left })
}

/// The pool's state, for a health endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolHealth {
    /// Connections open: in use and idle.
    pub open: u32,
    /// Open and waiting to be lent.
    pub idle: u32,
    /// Lent out right now.
    pub in_use: u32,
    /// The most the pool may open.
    pub max: u32,
}

/// What the pool holds right now.
pub fn pool_health(pool: &PgPool) -> PoolHealth {
    let open = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
    PoolHealth { open, idle, in_use: open - idle, max: pool.options().get_max_connections() }
}
