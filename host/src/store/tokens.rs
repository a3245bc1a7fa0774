//! API tokens. A token is shown once, at creation; only its SHA-256 is stored. Tokens carry
//! 256 bits of randomness, so a fast hash is enough: there is nothing to brute-force.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::entities::api_token;
use crate::domain::Role;

/// Prefix that makes kolhost tokens recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "kh_";

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
}

/// Stores `secret` (or a freshly generated one) and returns it with its row; it never expires.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: NewToken,
    secret: Option<String>,
) -> Result<(String, api_token::Model), DbErr> {
    create_expiring(db, new, secret, None).await
}

/// [`create`], for a token that stops working at `expires_at`.
pub async fn create_expiring<C: ConnectionTrait>(
    db: &C,
    new: NewToken,
    secret: Option<String>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(String, api_token::Model), DbErr> {
    let secret = secret.unwrap_or_else(generate);
    let row = api_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(new.name),
        role: Set(new.role.as_str().to_owned()),
        brand_id: Set(new.brand_id),
        kol_id: Set(new.kol_id),
        token_hash: Set(hash(&secret)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((secret, row))
}

/// The live (neither revoked nor expired) token with this secret, if any.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    secret: &str,
) -> Result<Option<api_token::Model>, DbErr> {
    let now = Utc::now();
    api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash(secret)))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(api_token::Column::ExpiresAt.is_null())
                .add(api_token::Column::ExpiresAt.gt(now)),
        )
        .one(db)
        .await
}

/// Notes that token `id` was used at `at`.
pub async fn touch<C: ConnectionTrait>(db: &C, id: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(at))
        .filter(api_token::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes token `id` (if it is not revoked already); answers its row, None if unknown.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<api_token::Model>, DbErr> {
    let Some(row) = api_token::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return Ok(Some(row));
    }
    let mut active: api_token::ActiveModel = row.into();
    active.revoked_at = Set(Some(at));
    active.update(db).await.map(Some)
}

/// A brand or KOL token must name a brand or KOL that exists.
pub async fn check_owner<C: ConnectionTrait>(
    db: &C,
    role: Role,
    brand: Option<Uuid>,
    kol: Option<Uuid>,
) -> anyhow::Result<()> {
    use super::entities::{brand as brand_entity, kol as kol_entity};
    if let (Role::Brand, Some(b)) = (role, brand)
        && brand_entity::Entity::find_by_id(b).one(db).await?.is_none()
    {
        anyhow::bail!("no brand {b}");
    }
    if let (Role::Kol, Some(k)) = (role, kol)
        && kol_entity::Entity::find_by_id(k).one(db).await?.is_none()
    {
        anyhow::bail!("no KOL {k}");
    }
    Ok(())
}
