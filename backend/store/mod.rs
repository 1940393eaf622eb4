//! Persistence through sea-orm. Everything that differs between SQLite and PostgreSQL is
//! decided here, one function per difference, so services never ask which backend runs.

pub mod account_tokens;
pub mod agencies;
pub mod appeals;
pub mod attachments;
pub mod bulk;
pub mod calendar;
pub mod counters;
pub mod coverage;
pub mod deferred;
pub mod entity;
pub mod events;
pub mod idempotency;
pub mod jobs;
pub mod outbox;
pub mod reference;
pub mod refresh_tokens;
pub mod rulesets;
pub mod stints;
pub mod tallies;
pub mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, RuntimeErr, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::config::DatabaseSettings;

/// A failure in the storage layer, classified so callers can react to what they can handle.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write: the thing already exists.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A foreign key refused the write: something it points to does not exist, or (a delete)
    /// something still points to the row.
    #[error("a foreign key refused the write: {0}")]
    MissingReference(String),
    /// The row to change was not there (or no longer matched the expected version).
    #[error("not found")]
    NotFound,
    /// The database URL names a backend Murojiat does not support.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(what)) => StoreError::Conflict(what),
            Some(SqlErr::ForeignKeyConstraintViolation(what)) => StoreError::MissingReference(what),
            _ => StoreError::Db(err),
        }
    }
}

impl StoreError {
    /// Whether the database could not be reached at all (no connection from the pool within
    /// its timeout, the pool closed, or the connection broke mid-statement), as while the
    /// database restarts: nothing about the request was wrong, and the same request may
    /// succeed a moment later. A transaction cut off this way rolls back.
    pub fn is_unavailable(&self) -> bool {
        use sea_orm::RuntimeErr;
        use sea_orm::sqlx::Error as Sqlx;
        match self {
            StoreError::Db(DbErr::ConnectionAcquire(_)) => true,
            StoreError::Db(DbErr::Conn(RuntimeErr::SqlxError(e)))
            | StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(e)))
            | StoreError::Db(DbErr::Query(RuntimeErr::SqlxError(e))) => matches!(
                e.as_ref(),
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed
            ),
            _ => false,
        }
    }
}

impl From<sea_orm::TransactionError<StoreError>> for StoreError {
    fn from(err: sea_orm::TransactionError<StoreError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(store) => store,
        }
    }
}

/// Which database engine is behind the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The application's database: a pool plus what it needs to know about the backend.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    backend: Backend,
}

impl Db {
    /// Connects, creating the SQLite file (and its folder) when it does not exist yet. On
    /// SQLite every pooled connection gets WAL, a busy timeout and foreign keys.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let url = settings.url.as_str();
        let backend = backend_of(url)?;
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(settings.max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            // A ping on every checkout costs a round trip each time (two per filing).
            .test_before_acquire_if_idle_for(Duration::from_millis(settings.ping_after_idle_ms))
            .sqlx_logging(false);
        if backend == Backend::Sqlite {
            create_sqlite_parent_dir(url)?;
            let busy = Duration::from_millis(settings.sqlite_busy_timeout_ms);
            options.map_sqlx_sqlite_opts(move |opts: SqliteConnectOptions| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
        }
        if backend == Backend::Postgres && tls_on_loopback(url, std::env::var("PGSSLMODE").ok().as_deref()) {
            tracing::warn!(
                "PostgreSQL is on this machine and reached over TCP with TLS allowed (sslmode=prefer, \
                 the default): encryption on loopback costs CPU and protects nothing; use the Unix socket \
                 or add ?sslmode=disable to database.url (docs/operations.md, PostgreSQL)"
            );
        }
        let conn = Database::connect(options).await?;
        Ok(Self { conn, backend })
    }

    /// The pool, for reads and single-statement writes.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many write transactions may usefully run at once when `wanted` are asked for:
    /// PostgreSQL runs them side by side; SQLite has one writer, so more than one would only
    /// queue on its lock.
    pub fn concurrent_writers(&self, wanted: usize) -> usize {
        match self.backend {
            Backend::Postgres => wanted.max(1),
            Backend::Sqlite => 1,
        }
    }

    /// Begins a write transaction. On SQLite it begins IMMEDIATE, taking the write lock at
    /// once, so two writers queue on the busy timeout instead of failing on lock upgrade.
    pub async fn write(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: (self.backend == Backend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    /// Begins a write transaction whose commit does not wait for the write-ahead log to reach
    /// disk: PostgreSQL's `synchronous_commit = off`, for this transaction only. For leases
    /// (the outbox's) and nothing else: a crash of PostgreSQL may undo such a commit (the
    /// lease is gone and the work is claimed again, as after any lost claim), but never
    /// partly, and never one whose effect a later transaction recorded, because a later
    /// ordinary commit flushes the log up to itself, this transaction's record included. A
    /// lease commit that waits for nothing leaves the flush to the commit that records the
    /// work. SQLite: as [`Db::write`] (its durability is set per connection).
    pub async fn write_unflushed(&self) -> Result<DatabaseTransaction, StoreError> {
        self.write_setting("synchronous_commit", "off").await
    }

    /// Begins a write transaction that PostgreSQL ends if its client leaves it idle for
    /// `idle` between two statements (`idle_in_transaction_session_timeout`, for this
    /// transaction only): the session is closed and the transaction rolls back. For
    /// transactions that hold rows others wait for, as a scheduler's batch holds its appeals:
    /// a process that hangs with its connection open lets go of them after `idle`, as one
    /// that dies does at once. SQLite: as [`Db::write`] (its one process holds the only write
    /// lock, and a hung process holds it until it is stopped).
    pub async fn write_holding(&self, idle: Duration) -> Result<DatabaseTransaction, StoreError> {
        let ms = idle.as_millis().clamp(1, i32::MAX as u128);
        self.write_setting("idle_in_transaction_session_timeout", &ms.to_string()).await
    }

    /// A write transaction with PostgreSQL's `setting` at `value` for it alone (`SET LOCAL`);
    /// on SQLite a plain [`Db::write`]. `setting` and `value` are this module's, never a
    /// client's text.
    async fn write_setting(&self, setting: &str, value: &str) -> Result<DatabaseTransaction, StoreError> {
        let txn = self.write().await?;
        if self.backend == Backend::Postgres {
            txn.execute_unprepared(&format!("SET LOCAL {setting} = {value}")).await?;
        }
        Ok(txn)
    }

    /// Begins a read-only transaction for a report's several queries: they see one
    /// snapshot, and on PostgreSQL each is planned for the values it is given. A statement
    /// the pool has prepared gets a generic plan after five runs, and the generic plan of a
    /// report query guesses a handful of rows for a year's range: it read the open stays
    /// serially where the plan for the values reads them in parallel, and the year report
    /// went from 75 to 230 ms. SQLite plans every statement for its values already.
    pub async fn report(&self) -> Result<DatabaseTransaction, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(self.conn.begin().await?),
            Backend::Postgres => {
                let options = TransactionOptions {
                    isolation_level: Some(IsolationLevel::RepeatableRead),
                    access_mode: Some(AccessMode::ReadOnly),
                    ..Default::default()
                };
                let txn = self.conn.begin_with_options(options).await?;
                txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan").await?;
                Ok(txn)
            }
        }
    }

    /// Applies every pending migration.
    pub async fn migrate_up(&self) -> Result<(), StoreError> {
        Ok(Migrator::up(&self.conn, None).await?)
    }

    /// Reverts the last `steps` migrations.
    pub async fn migrate_down(&self, steps: u32) -> Result<(), StoreError> {
        Ok(Migrator::down(&self.conn, Some(steps)).await?)
    }

    /// Names of applied and pending migrations, in order.
    pub async fn migration_status(&self) -> Result<Vec<(String, bool)>, StoreError> {
        let applied: Vec<String> =
            Migrator::get_applied_migrations(&self.conn).await?.iter().map(|m| m.name().to_owned()).collect();
        Ok(Migrator::migrations()
            .iter()
            .map(|m| {
                let name = m.name().to_owned();
                let done = applied.contains(&name);
                (name, done)
            })
            .collect())
    }

    /// Whether the database answers and every migration is applied.
    pub async fn is_ready(&self) -> bool {
        let alive = self.conn.execute_unprepared("SELECT 1").await.is_ok();
        alive && Migrator::get_pending_migrations(&self.conn).await.is_ok_and(|pending| pending.is_empty())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

/// Which backend a URL names; anything but SQLite and PostgreSQL is refused.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        _ => Err(StoreError::UnsupportedUrl(url.to_owned())),
    }
}

/// Whether a PostgreSQL URL reaches a server on this machine over TCP while leaving TLS to
/// the server's offer (`sslmode` absent, from the URL and from `PGSSLMODE` alike, or
/// `prefer`/`allow`). A Unix socket (`host=/path`) or any explicit mode that asks for TLS
/// (`require`, `verify-*`: the operator chose it) is not this case.
pub fn tls_on_loopback(url: &str, env_sslmode: Option<&str>) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    let query = |name: &str| parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if query("host").is_some_and(|h| h.starts_with('/')) {
        return false;
    }
    let loopback = match parsed.host() {
        // `postgres:` is not a scheme the URL standard knows, so an IPv4 address arrives as
        // a name.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let mode = query("sslmode").or_else(|| env_sslmode.map(str::to_owned));
    loopback && matches!(mode.as_deref(), None | Some("prefer") | Some("allow"))
}

impl From<Backend> for DbBackend {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }
}

/// `SELECT count(*) AS n FROM <entity> WHERE <condition>`, the statement [`count_of`] runs.
pub(crate) fn counting(entity: impl sea_orm::EntityTrait, condition: sea_orm::Condition) -> SelectStatement {
    Query::select().expr_as(Expr::cust("count(*)"), "n").from(entity).cond_where(condition).to_owned()
}

/// Runs `counting`, a statement whose one row has the count in column `n`; 0 for no row.
pub(crate) async fn count_of(
    db: &impl ConnectionTrait,
    counting: &SelectStatement,
) -> Result<u64, StoreError> {
    let row = db.query_one_raw(db.get_database_backend().build(counting)).await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// `instant` moved into years 1 to 9999, the range in which both backends compare instants
/// correctly: SQLite compares stored instants as text, which orders only four-digit years
/// (year +10000 would sort before 2026), and PostgreSQL refuses instants before 4713 BC.
/// Every stored instant lies inside, so a query bound a client sent, moved to the edge,
/// selects the same rows.
pub fn comparable(instant: DateTime<Utc>) -> DateTime<Utc> {
    let edge = |y, m, d, micros| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|day| day.and_hms_micro_opt(0, 0, 0, 0))
            .map(|midnight| (midnight + TimeDelta::microseconds(micros)).and_utc())
    };
    let (Some(first), Some(last)) = (edge(1, 1, 1, 0), edge(9999, 12, 31, 86_400_000_000 - 1)) else {
        return instant;
    };
    instant.clamp(first, last)
}

fn create_sqlite_parent_dir(url: &str) -> Result<(), StoreError> {
    let Ok(opts) = SqliteConnectOptions::from_str(url) else {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    };
    let path = opts.get_filename();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !Path::new(parent).exists()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Db(DbErr::Conn(RuntimeErr::Internal(format!(
                "cannot create {}: {e}",
                parent.display()
            ))))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_left_to_a_server_on_this_machine_is_noticed() {
        let base = "postgres://murojiat@127.0.0.1:5432/murojiat";
        assert!(tls_on_loopback(base, None));
        assert!(tls_on_loopback("postgres://m@localhost/m", None));
        assert!(tls_on_loopback("postgresql://m@[::1]:5432/m?sslmode=prefer", None));
        assert!(tls_on_loopback("postgres://m@127.0.0.2/m?sslmode=allow", None));
        assert!(!tls_on_loopback(&format!("{base}?sslmode=disable"), None));
        assert!(!tls_on_loopback(base, Some("disable")), "PGSSLMODE counts when the URL says nothing");
        assert!(tls_on_loopback(&format!("{base}?sslmode=prefer"), Some("disable")), "the URL wins");
        assert!(!tls_on_loopback(&format!("{base}?sslmode=verify-full"), None), "asked for on purpose");
        assert!(!tls_on_loopback("postgres://m@localhost/m?host=/var/run/postgresql", None), "a socket");
        assert!(!tls_on_loopback("postgres://m@db.example.tj/m", None), "another machine");
        assert!(!tls_on_loopback("not a url", None));
    }

    #[test]
    fn instants_outside_years_1_to_9999_are_moved_to_the_nearer_edge() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let first = at("0001-01-01T00:00:00Z");
        let last = at("9999-12-31T23:59:59.999999Z");
        assert_eq!(comparable(at("2026-03-17T10:00:00.123456Z")), at("2026-03-17T10:00:00.123456Z"));
        assert_eq!(comparable(first), first);
        assert_eq!(comparable(last), last);
        assert_eq!(comparable(at("+10000-01-01T00:00:00Z")), last);
        assert_eq!(comparable(DateTime::<Utc>::MAX_UTC), last);
        assert_eq!(comparable(at("-4714-01-01T00:00:00Z")), first);
        assert_eq!(comparable(DateTime::<Utc>::MIN_UTC), first);
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(backend_of("sqlite://data/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(backend_of("postgresql://u@h/db").unwrap(), Backend::Postgres);
        let err = backend_of("mysql://u@h/db").unwrap_err();
        assert!(err.to_string().contains("mysql://"), "{err}");
    }
}
