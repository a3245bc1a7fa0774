//! API tokens, listed and revoked by admins (design §4 `/api/v1/tokens`). A token's secret is
//! shown once, when it is created (`kolhost token create`); neither it nor its hash is ever
//! shown again.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::TokenCache;
use super::{Error, Page, PageRequest, Result};
use crate::domain::{Actor, Role};
use crate::store::changes::{self, Change};
use crate::store::entities::api_token;
use crate::store::{self, audit, tokens};

/// A token as admins see it: who it stands for and its lifecycle, never its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Token {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

impl From<api_token::Model> for Token {
    fn from(t: api_token::Model) -> Self {
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at.is_some_and(|e| e <= Utc::now()) {
            "expired"
        } else {
            "active"
        };
        Token {
            id: t.id,
            name: t.name,
            role: t.role,
            brand_id: t.brand_id,
            kol_id: t.kol_id,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            status: status.into(),
        }
    }
}

/// Every token, oldest first (admin).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<Token>> {
    actor.require(&[Role::Admin])?;
    let page = page
        .fetch(db, api_token::Entity::find(), api_token::Column::Id)
        .await?;
    Ok(page.map(Token::from))
}

/// Revokes a token (admin): it fails from its next request on, on this host at once and, on
/// PostgreSQL, on every other host as soon as the announcement in its transaction arrives.
/// Revoking a revoked token changes nothing; the token making the request cannot revoke itself
/// (409), so an admin cannot lock the last admin token out by mistake.
pub async fn revoke(
    db: &DatabaseConnection,
    cache: &TokenCache,
    actor: &Actor,
    id: Uuid,
) -> Result<Token> {
    actor.require(&[Role::Admin])?;
    if actor.token_id == Some(id) {
        return Err(Error::conflict(
            "revoke_self",
            "a token cannot revoke itself; revoke it with another admin token or `kolhost token revoke`",
        ));
    }
    let txn = store::write_txn(db).await?;
    let before = api_token::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("token"))?;
    if before.revoked_at.is_some() {
        txn.rollback().await?;
        return Ok(before.into());
    }
    let after = tokens::revoke(&txn, id, Utc::now())
        .await?
        .ok_or(Error::NotFound("token"))?;
    let (before, after) = (Token::from(before), Token::from(after));
    audit::changed(&txn, actor, "token.revoke", ("token", id), &before, &after).await?;
    changes::announce(&txn, &Change::Token(id)).await?;
    txn.commit().await?;
    cache.forget(id);
    Ok(after)
}

/// Reads a lifetime such as `30d`, `12h`, `90m` or `3600s` (`kolhost token create --expires-in`).
pub fn parse_lifetime(s: &str) -> Option<Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()]
        .parse()
        .ok()
        .filter(|n| *n > 0)?;
    match unit {
        'd' => Duration::try_days(n),
        'h' => Duration::try_hours(n),
        'm' => Duration::try_minutes(n),
        's' => Duration::try_seconds(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("30d"), Some(Duration::days(30)));
        assert_eq!(parse_lifetime("12h"), Some(Duration::hours(12)));
        assert_eq!(parse_lifetime("90m"), Some(Duration::minutes(90)));
        assert_eq!(parse_lifetime("5s"), Some(Duration::seconds(5)));
        assert_eq!(parse_lifetime("0d"), None);
        assert_eq!(parse_lifetime("d"), None);
        assert_eq!(parse_lifetime("3w"), None);
        assert_eq!(parse_lifetime("-1d"), None);
    }
}
