//! Who is calling: a bearer token's secret resolved to an [`Actor`] (design §3), through a
//! short-lived cache so a hot read path does not hit the database for every request. A token
//! revoked on this host leaves the cache at once ([`TokenCache::forget`]); an expired one is never
//! answered from it.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::error::{Error, Result};
use crate::domain::{Actor, Role};
use crate::store::tokens;

/// The actor a token secret stands for, or `Unauthorized`. A lookup in the database (at most
/// once per token and cache period) also notes the token's `last_used_at`.
pub async fn authenticate(
    db: &DatabaseConnection,
    cache: &TokenCache,
    secret: &str,
) -> Result<Actor> {
    let hash = tokens::hash(secret);
    if let Some(actor) = cache.get(&hash) {
        return Ok(actor);
    }
    let row = tokens::find(db, secret).await?.ok_or(Error::Unauthorized)?;
    let role = Role::parse(&row.role).ok_or(Error::Unauthorized)?;
    let actor = Actor {
        token_id: Some(row.id),
        name: row.name,
        role,
        brand_id: row.brand_id,
        kol_id: row.kol_id,
    };
    tokens::touch(db, row.id, Utc::now()).await?;
    cache.put(hash, actor.clone(), row.expires_at);
    Ok(actor)
}

/// Verified tokens by hash. Entries expire after `ttl` or at the token's own expiry, whichever
/// comes first. With several hosts, a token revoked anywhere is forgotten when its announcement
/// arrives; while a host cannot hear announcements the cache is bypassed (every request is
/// checked against the database), and it starts empty when the host hears them again.
pub struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, Entry>>,
    bypass: AtomicBool,
}

struct Entry {
    actor: Actor,
    at: Instant,
    expires_at: Option<DateTime<Utc>>,
}

impl Entry {
    fn fresh(&self, ttl: Duration) -> bool {
        self.at.elapsed() < ttl && self.expires_at.is_none_or(|e| e > Utc::now())
    }
}

impl TokenCache {
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
            bypass: AtomicBool::new(false),
        }
    }

    fn get(&self, hash: &str) -> Option<Actor> {
        if self.bypass.load(Ordering::SeqCst) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|e| e.fresh(self.ttl))
            .map(|e| e.actor.clone())
    }

    fn put(&self, hash: String, actor: Actor, expires_at: Option<DateTime<Utc>>) {
        if self.bypass.load(Ordering::SeqCst) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, e| e.fresh(self.ttl));
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            hash,
            Entry {
                actor,
                at: Instant::now(),
                expires_at,
            },
        );
    }

    /// Drops token `id` from the cache: its next request is checked against the database.
    pub fn forget(&self, id: Uuid) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.actor.token_id != Some(id));
    }

    /// While `on`, nothing is cached or answered from the cache; turning it on or off empties it.
    pub fn set_bypass(&self, on: bool) {
        self.bypass.store(on, Ordering::SeqCst);
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
