//! What a brand or KOL token may see (design §3): its own records, and the records of its
//! counterparties through contracts. Anything else answers 404, as if it did not exist.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::auth::Scope;
use crate::store::entities::{contract, session_slot};

/// Brand ids visible to `scope`; `None` means all.
pub async fn visible_brands<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
) -> Result<Option<Vec<Uuid>>, DbErr> {
    Ok(match scope {
        Scope::All => None,
        Scope::Brand(b) => Some(vec![b]),
        Scope::Kol(k) => Some(
            contract_column(db, contract::Column::KolId.eq(k), contract::Column::BrandId).await?,
        ),
    })
}

/// KOL ids visible to `scope`; `None` means all.
pub async fn visible_kols<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
) -> Result<Option<Vec<Uuid>>, DbErr> {
    Ok(match scope {
        Scope::All => None,
        Scope::Kol(k) => Some(vec![k]),
        Scope::Brand(b) => Some(
            contract_column(db, contract::Column::BrandId.eq(b), contract::Column::KolId).await?,
        ),
    })
}

pub async fn brand_visible<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(visible_brands(db, scope)
        .await?
        .is_none_or(|ids| ids.contains(&id)))
}

pub async fn kol_visible<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(visible_kols(db, scope)
        .await?
        .is_none_or(|ids| ids.contains(&id)))
}

/// Whether a contract between `brand_id` and `kol_id` is visible to `scope`.
pub fn contract_visible(scope: Scope, brand_id: Uuid, kol_id: Uuid) -> bool {
    match scope {
        Scope::All => true,
        Scope::Brand(b) => b == brand_id,
        Scope::Kol(k) => k == kol_id,
    }
}

/// Session ids a brand can see: those whose lineup holds a slot under one of its contracts.
pub async fn brand_session_ids<C: ConnectionTrait>(
    db: &C,
    brand_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let contracts = contract_column(
        db,
        contract::Column::BrandId.eq(brand_id),
        contract::Column::Id,
    )
    .await?;
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = session_slot::Entity::find()
        .select_only()
        .column(session_slot::Column::SessionId)
        .filter(session_slot::Column::ContractId.is_in(contracts))
        .into_tuple()
        .all(db)
        .await?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

async fn contract_column<C: ConnectionTrait>(
    db: &C,
    filter: sea_orm::sea_query::SimpleExpr,
    column: contract::Column,
) -> Result<Vec<Uuid>, DbErr> {
    let mut ids: Vec<Uuid> = contract::Entity::find()
        .select_only()
        .column(column)
        .filter(filter)
        .into_tuple()
        .all(db)
        .await?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}
