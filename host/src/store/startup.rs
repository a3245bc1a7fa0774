//! What a host does to a database before it serves: refuse a schema newer than it knows, then
//! migrate, install the bundled strategies and plugins, and refresh planner statistics. On PostgreSQL, where several hosts
//! may start at once, all of it runs under one advisory lock, so exactly one host migrates and
//! installs while the others wait and then find nothing left to do. SQLite has one host.

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgAdvisoryLock;
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr};

/// The advisory lock start-up runs under (the key is derived from this name).
const LOCK: &str = "kolhost:startup";

/// Brings the database up to date for this build, under the start-up lock on PostgreSQL.
pub async fn prepare(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return prepare_unlocked(db).await;
    }
    // A session lock on one connection of the pool, held while the work runs on others; if
    // this process dies, PostgreSQL ends the session and the lock with it.
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(|e| DbErr::Custom(format!("start-up lock: {e}")))?;
    let lock = PgAdvisoryLock::new(LOCK);
    tracing::debug!("waiting for the start-up lock");
    let guard = lock
        .acquire(&mut conn)
        .await
        .map_err(|e| DbErr::Custom(format!("start-up lock: {e}")))?;
    let done = prepare_unlocked(db).await;
    let released = guard.release_now().await;
    done?;
    released.map_err(|e| DbErr::Custom(format!("releasing the start-up lock: {e}")))?;
    Ok(())
}

async fn prepare_unlocked(db: &DatabaseConnection) -> Result<(), DbErr> {
    refuse_newer_schema(db).await?;
    super::migrate(db).await?;
    super::scripts::sync_bundled(db).await?;
    super::plugins::sync_bundled(db).await?;
    super::analyze(db, &[]).await
}

/// Fails with a clear message when the database has migrations applied that this build does
/// not have: a newer kolhost migrated it, and this older one must not run on its schema.
pub async fn refuse_newer_schema(db: &DatabaseConnection) -> Result<(), DbErr> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let unknown: Vec<String> = Migrator::get_migration_models(db)
        .await?
        .into_iter()
        .map(|m| m.version)
        .filter(|v| !known.contains(v))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(DbErr::Custom(newer_schema_message(&unknown)))
}

/// The message a host that is too old for its database stops with.
pub fn newer_schema_message(unknown: &[String]) -> String {
    format!(
        "the database schema is newer than this kolhost {}: it has migration(s) {} that this \
         build does not know; a newer kolhost migrated it. Run that newer version on every host \
         (this one refuses to start rather than run on a schema it does not understand)",
        env!("CARGO_PKG_VERSION"),
        unknown.join(", ")
    )
}
