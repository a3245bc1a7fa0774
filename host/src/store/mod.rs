//! Storage: sea-orm over SQLite (embedded, the default) or PostgreSQL.

pub mod audit;
pub mod changes;
pub mod entities;
pub mod leases;
pub mod plugins;
pub mod rotation;
pub mod scripts;
pub mod secrets;
pub mod startup;
pub mod tokens;

use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// How the connection to PostgreSQL is encrypted (`database_sslmode`); SQLite ignores it.
///
/// `auto` (the default) follows an `sslmode` in the URL if there is one; otherwise it turns TLS
/// off for a server on this machine (a loopback address, `localhost` or a Unix socket), where it
/// only costs CPU, and requires it for any other host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    #[default]
    Auto,
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The mode to connect `url` with; `None` leaves it to the URL's own `sslmode`.
    pub fn resolve(self, url: &str) -> Option<PgSslMode> {
        Some(match self {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
            SslMode::Auto => {
                let opts = PgConnectOptions::from_str(url).ok()?;
                let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
                if query
                    .split('&')
                    .any(|kv| kv.starts_with("sslmode=") || kv.starts_with("ssl-mode="))
                {
                    return None;
                }
                if is_local_host(opts.get_host()) {
                    PgSslMode::Disable
                } else {
                    PgSslMode::Require
                }
            }
        })
    }
}

/// Whether a PostgreSQL host is this machine: a loopback address, `localhost`, or a Unix
/// socket directory.
fn is_local_host(host: &str) -> bool {
    let host = host.trim_matches(|c| c == '[' || c == ']');
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Connections in the PostgreSQL pool: the ingest writer holds one per group commit, and
/// readers and the other writers share the rest.
pub const POSTGRES_POOL: u32 = 32;

/// Connects to `url` with the default settings (`SslMode::Auto`).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, SslMode::Auto).await
}

/// Connects to `url`. SQLite files are created on first use, in WAL mode with a busy timeout,
/// and with foreign keys enforced, so both databases keep the same guarantees. PostgreSQL
/// connections set `TCP_NODELAY` (sqlx 0.9.1 does it for every TCP socket; without it a
/// multi-segment statement waits ~40 ms for a delayed ACK) and use TLS as `sslmode` says.
pub async fn connect_with(url: &str, sslmode: SslMode) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_parent_dir(url) {
            std::fs::create_dir_all(&dir)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
        opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            // WAL + FULL: every commit fsyncs the WAL, so a delivery acknowledged after its
            // group commit survives a power loss or an OS crash, not only a killed process
            // (NORMAL fsyncs only at checkpoints, and may lose the last commits). Group commit
            // makes that one fsync per group, not per delivery.
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    } else {
        let ssl = sslmode.resolve(url);
        opts.max_connections(POSTGRES_POOL)
            .map_sqlx_postgres_opts(move |o| match ssl {
                Some(mode) => o.ssl_mode(mode),
                None => o,
            });
    }
    Database::connect(opts).await
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so it waits its turn under the busy timeout instead of failing when
/// another writer commits between its first read and its first write; on PostgreSQL it is a
/// plain transaction.
pub async fn write_txn<C>(db: &C) -> Result<DatabaseTransaction, DbErr>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Brings the schema up to date. Safe to run on every start.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Everything a server needs before it serves: the schema, the bundled strategies and the
/// bundled plugins, and current planner statistics; on PostgreSQL under the start-up lock, and
/// never on a schema newer than this build knows (see [`startup`]).
pub async fn prepare(db: &DatabaseConnection) -> Result<(), DbErr> {
    startup::prepare(db).await
}

/// The tables ingest grows by the thousands of rows a second.
pub const HOT_TABLES: [&str; 6] = [
    "orders",
    "platform_events",
    "webhook_deliveries",
    "order_refunds",
    "order_status_history",
    "live_stats",
];

/// Refreshes PostgreSQL's planner statistics of `tables` (all tables when empty). Without
/// them (autovacuum off, or not yet run on new tables) the planner guesses row counts, and the
/// batch's order look-up by `platform_order_id` took an index on another column and filtered
/// every order. Autovacuum's own analyze is not relied on: it may be off server-wide, which
/// per-table settings cannot override. SQLite plans these look-ups by its indexes without
/// statistics; nothing to do there.
pub async fn analyze(db: &DatabaseConnection, tables: &[&str]) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    let sql = if tables.is_empty() {
        "ANALYZE".to_owned()
    } else {
        format!("ANALYZE {}", tables.join(", "))
    };
    db.execute_unprepared(&sql).await.map(|_| ())
}

pub(crate) fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_sslmode_is_off_on_this_machine_and_required_elsewhere() {
        let auto = |url| format!("{:?}", SslMode::Auto.resolve(url));
        let mode = |m: Option<PgSslMode>| format!("{m:?}");
        assert_eq!(
            auto("postgres://u@127.0.0.1:5432/db"),
            mode(Some(PgSslMode::Disable))
        );
        assert_eq!(
            auto("postgres://u@localhost/db"),
            mode(Some(PgSslMode::Disable))
        );
        assert_eq!(
            auto("postgres://u@[::1]:5432/db"),
            mode(Some(PgSslMode::Disable))
        );
        assert_eq!(
            auto("postgres://u@%2Fvar%2Frun%2Fpostgresql/db"),
            mode(Some(PgSslMode::Disable))
        );
        assert_eq!(
            auto("postgres://u@db.example.com/db"),
            mode(Some(PgSslMode::Require))
        );
        assert_eq!(
            auto("postgres://u@10.0.0.5/db"),
            mode(Some(PgSslMode::Require))
        );
        // The URL's own sslmode is kept.
        assert_eq!(
            auto("postgres://u@db.example.com/db?sslmode=disable"),
            mode(None)
        );
        // An explicit setting wins over everything.
        assert_eq!(
            format!(
                "{:?}",
                SslMode::Require.resolve("postgres://u@127.0.0.1/db?sslmode=disable")
            ),
            mode(Some(PgSslMode::Require))
        );
        assert_eq!(
            format!(
                "{:?}",
                SslMode::Disable.resolve("postgres://u@db.example.com/db")
            ),
            mode(Some(PgSslMode::Disable))
        );
    }
}
