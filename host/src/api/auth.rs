//! Bearer-token authentication and role checks (design §3).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::ApiError;
use crate::app::AppState;
use crate::domain::Role;
use crate::store::tokens;

/// Roles that see everything (the agency's own staff).
pub const STAFF: &[Role] = &[Role::Admin, Role::Manager, Role::Integrator, Role::Scripter];
/// Roles that change the roster, contracts and sessions.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager];

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
}

/// What a principal may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Brand(Uuid),
    Kol(Uuid),
}

impl Principal {
    /// The server itself, for work it does on its own (demo data, migrations).
    pub fn system(name: &str) -> Self {
        Principal {
            token_id: None,
            name: name.into(),
            role: Role::Admin,
            brand_id: None,
            kol_id: None,
        }
    }

    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }

    pub fn scope(&self) -> Scope {
        match (self.role, self.brand_id, self.kol_id) {
            (Role::Brand, Some(b), _) => Scope::Brand(b),
            (Role::Kol, _, Some(k)) => Scope::Kol(k),
            // A brand or KOL token without its id is refused at creation; never widen it here.
            (Role::Brand | Role::Kol, _, _) => Scope::Brand(Uuid::nil()),
            _ => Scope::All,
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let hash = tokens::hash(secret);
        if let Some(p) = state.tokens.get(&hash) {
            return Ok(p);
        }
        let row = tokens::find(&state.db, secret)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let role = Role::parse(&row.role).ok_or(ApiError::Unauthorized)?;
        let principal = Principal {
            token_id: Some(row.id),
            name: row.name,
            role,
            brand_id: row.brand_id,
            kol_id: row.kol_id,
        };
        state.tokens.put(hash, principal.clone());
        Ok(principal)
    }
}

/// A short-lived cache of verified tokens, so a hot read path does not hit the database for
/// every request. Entries expire after `ttl`; a revoked token stops working within it.
pub struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Principal, Instant)>>,
}

impl TokenCache {
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &str) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(p, _)| p.clone())
    }

    fn put(&self, hash: String, principal: Principal) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, (principal, Instant::now()));
    }
}
