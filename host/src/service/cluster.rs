//! Several hosts on one PostgreSQL: each host listens to the change announcements
//! (`store::changes`) and brings its memory in step: a plugin named in one is reloaded from the
//! database, a token named in one leaves the token cache. When the listening connection drops,
//! the token cache is bypassed until it is back; on (re)connecting, the host resyncs every plugin
//! in full and starts with an empty token cache, so nothing announced while it was deaf is
//! missed. With SQLite (one host) there is nothing to listen to.
//!
//! Also what `/readyz` reports: start-up done, the database answering, and (on PostgreSQL) the
//! host hearing announcements.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::TokenCache;
use crate::plugins::Registry;
use crate::store::changes::{CHANNEL, Change};
use crate::store::entities::api_token;
use crate::store::secrets::SecretBox;

/// Whether this host is ready to serve.
pub struct Status {
    pub host_id: String,
    started: AtomicBool,
    listening: AtomicBool,
}

impl Status {
    pub fn new(host_id: String) -> Status {
        Status {
            host_id,
            started: AtomicBool::new(false),
            listening: AtomicBool::new(false),
        }
    }

    /// Start-up is done: plugins loaded, background work running.
    pub fn set_started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::SeqCst);
    }
}

/// What `/readyz` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not ready`.
    pub status: String,
    pub host_id: String,
    /// Start-up done (plugins loaded, pollers and jobs running).
    pub started: bool,
    /// The database answered a ping.
    pub database: bool,
    /// This host hears other hosts' changes (always true on SQLite: there are none).
    pub changes: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.started && self.database && self.changes
    }
}

/// Checks readiness now (pings the database).
pub async fn readiness(db: &DatabaseConnection, status: &Status) -> Readiness {
    let database = match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            false
        }
        Err(_) => {
            tracing::warn!("readiness: database ping timed out");
            false
        }
    };
    let mut r = Readiness {
        status: String::new(),
        host_id: status.host_id.clone(),
        started: status.started.load(Ordering::SeqCst),
        database,
        changes: status.listening.load(Ordering::SeqCst),
    };
    r.status = if r.ready() { "ready" } else { "not ready" }.into();
    r
}

/// Listens to change announcements until the process ends (PostgreSQL); on SQLite marks the
/// host as hearing everything there is and watches for tokens another process revoked.
pub fn spawn(
    db: DatabaseConnection,
    registry: Arc<Registry>,
    tokens: Arc<TokenCache>,
    status: Arc<Status>,
    secrets: Arc<SecretBox>,
) {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        status.set_listening(true);
        // One server owns an SQLite file, but `kolhost token revoke` is another process.
        tokio::spawn(watch_revocations(db, tokens));
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&db, &registry, &tokens, &status, &secrets).await {
                tracing::warn!(error = %e, "change announcements lost; reconnecting");
            }
            status.set_listening(false);
            tokens.set_bypass(true);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// How often an SQLite host looks for tokens another process revoked.
const REVOCATION_POLL: Duration = Duration::from_millis(250);

/// SQLite: tokens revoked by another process (the CLI) leave this server's cache within
/// [`REVOCATION_POLL`], as announcements do on PostgreSQL. Revoked tokens are few, so reading all
/// their ids each time is cheap and misses none, whatever order their revocations commit in.
async fn watch_revocations(db: DatabaseConnection, tokens: Arc<TokenCache>) {
    let mut known: Option<HashSet<Uuid>> = None;
    loop {
        let revoked: Result<Vec<Uuid>, _> = api_token::Entity::find()
            .select_only()
            .column(api_token::Column::Id)
            .filter(api_token::Column::RevokedAt.is_not_null())
            .into_tuple()
            .all(&db)
            .await;
        match revoked {
            Ok(ids) => {
                let ids: HashSet<Uuid> = ids.into_iter().collect();
                if let Some(before) = &known {
                    for id in ids.difference(before) {
                        tokens.forget(*id);
                    }
                }
                known = Some(ids);
            }
            Err(e) => tracing::warn!(error = %e, "looking for revoked tokens failed"),
        }
        tokio::time::sleep(REVOCATION_POLL).await;
    }
}

/// One listening connection's life: subscribe, resync in full, then apply announcements; after
/// a reconnection inside the listener, resync again.
async fn listen(
    db: &DatabaseConnection,
    registry: &Arc<Registry>,
    tokens: &TokenCache,
    status: &Status,
    secrets: &Arc<SecretBox>,
) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    // Reconnect inside `try_recv` and say so (`None`), so this loop resyncs.
    listener.eager_reconnect(true);
    listener.listen(CHANNEL).await?;
    resync(db, registry, tokens, status, secrets).await?;
    loop {
        match listener.try_recv().await? {
            Some(n) => match Change::decode(n.payload()) {
                Some(change) => apply(db, registry, tokens, secrets, change).await,
                None => tracing::debug!(payload = n.payload(), "unknown change announcement"),
            },
            None => {
                tracing::warn!(
                    "change announcements: connection lost and re-established; resyncing"
                );
                status.set_listening(false);
                tokens.set_bypass(true);
                resync(db, registry, tokens, status, secrets).await?;
            }
        }
    }
}

/// Everything reloaded: every plugin, an empty token cache.
async fn resync(
    db: &DatabaseConnection,
    registry: &Registry,
    tokens: &TokenCache,
    status: &Status,
    secrets: &SecretBox,
) -> anyhow::Result<()> {
    crate::store::plugins::restore(db, registry, secrets).await?;
    tokens.set_bypass(false);
    status.set_listening(true);
    metrics::counter!("kolhost_cluster_resyncs_total").increment(1);
    Ok(())
}

/// Applies one announcement. A plugin is reloaded as a task of its own: loading a new version
/// may mean a long compile, which must not hold up the announcements after it (a revoked
/// token). Reloads read what the database holds when they apply it, so they may overlap.
async fn apply(
    db: &DatabaseConnection,
    registry: &Arc<Registry>,
    tokens: &TokenCache,
    secrets: &Arc<SecretBox>,
    change: Change,
) {
    metrics::counter!("kolhost_cluster_changes_total").increment(1);
    match change {
        Change::Token(id) => tokens.forget(id),
        Change::Plugin(name) => {
            let (db, registry, secrets) = (db.clone(), registry.clone(), secrets.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::store::plugins::reload(&db, &registry, &secrets, &name).await
                {
                    // The next announcement or resync brings it in step; until then it is stale.
                    tracing::warn!(plugin = %name, error = %e, "reloading an announced plugin failed");
                }
            });
        }
    }
}
