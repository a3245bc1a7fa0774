//! Who is calling: a bearer token's secret resolved to an [`Actor`] (design §3), through a
//! short-lived cache so a hot read path does not hit the database for every request.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use super::error::{Error, Result};
use crate::domain::{Actor, Role};
use crate::store::tokens;

/// The actor a token secret stands for, or `Unauthorized`.
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
    cache.put(hash, actor.clone());
    Ok(actor)
}

/// Verified tokens by hash. Entries expire after `ttl`; a revoked token stops working within it.
pub struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Actor, Instant)>>,
}

impl TokenCache {
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &str) -> Option<Actor> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(a, _)| a.clone())
    }

    fn put(&self, hash: String, actor: Actor) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, (actor, Instant::now()));
    }
}
