//! The audit trail: every successful write records who did what, with the entity before and
//! after, inside the write's own transaction, so a rejected write leaves no trace either.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde::Serialize;
use uuid::Uuid;

use super::entities::audit_event;
use crate::domain::Actor;

/// Records one write. `before`/`after` are the API views of the entity (None for create/delete).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> Result<(), DbErr> {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(Utc::now()),
        actor_token_id: Set(actor.token_id),
        actor: Set(actor.name.clone()),
        actor_role: Set(actor.role.as_str().to_owned()),
        action: Set(action.to_owned()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id),
        before: Set(to_json(before)?),
        after: Set(to_json(after)?),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records the creation of `entity_type` `id` as `"{entity_type}.create"`.
pub async fn created<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    entity_type: &str,
    entity_id: Uuid,
    after: &impl Serialize,
) -> Result<(), DbErr> {
    let action = format!("{entity_type}.create");
    record(
        db,
        actor,
        &action,
        entity_type,
        entity_id,
        None::<&()>,
        Some(after),
    )
    .await
}

/// Records a change of `entity_type` `id` as `"{entity_type}.update"`.
pub async fn updated<C: ConnectionTrait, T: Serialize>(
    db: &C,
    actor: &Actor,
    entity_type: &str,
    entity_id: Uuid,
    before: &T,
    after: &T,
) -> Result<(), DbErr> {
    let action = format!("{entity_type}.update");
    record(
        db,
        actor,
        &action,
        entity_type,
        entity_id,
        Some(before),
        Some(after),
    )
    .await
}

fn to_json(v: Option<&impl Serialize>) -> Result<Option<serde_json::Value>, DbErr> {
    v.map(serde_json::to_value)
        .transpose()
        .map_err(|e| DbErr::Custom(format!("audit serialisation: {e}")))
}
