//! The audit trail: every successful write records who did what, with the entity before and
//! after, inside the write's own transaction, so a rejected write leaves no trace either.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbErr, Set};
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

/// Records `action` changing `entity` (its type and id) from `before` to `after`.
pub async fn changed<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    action: &str,
    (entity_type, entity_id): (&str, Uuid),
    before: &impl Serialize,
    after: &impl Serialize,
) -> Result<(), DbErr> {
    record(
        db,
        actor,
        action,
        entity_type,
        entity_id,
        Some(before),
        Some(after),
    )
    .await
}

/// Records `action` producing `after` for `entity` (its type and id), with nothing before.
pub async fn wrote<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    action: &str,
    (entity_type, entity_id): (&str, Uuid),
    after: &impl Serialize,
) -> Result<(), DbErr> {
    record(
        db,
        actor,
        action,
        entity_type,
        entity_id,
        None::<&()>,
        Some(after),
    )
    .await
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
    wrote(db, actor, &action, (entity_type, entity_id), after).await
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
    changed(db, actor, &action, (entity_type, entity_id), before, after).await
}

/// The last step of a create: records it (as [`created`]) and commits the write's transaction,
/// so the record and its trail land together or not at all. Answers the view.
pub async fn commit_created<T: Serialize>(
    txn: DatabaseTransaction,
    actor: &Actor,
    entity_type: &str,
    entity_id: Uuid,
    view: T,
) -> Result<T, DbErr> {
    created(&txn, actor, entity_type, entity_id, &view).await?;
    txn.commit().await?;
    Ok(view)
}

/// The last step of an update: records it (as [`updated`]) and commits. Answers `after`.
pub async fn commit_updated<T: Serialize>(
    txn: DatabaseTransaction,
    actor: &Actor,
    entity_type: &str,
    entity_id: Uuid,
    before: &T,
    after: T,
) -> Result<T, DbErr> {
    updated(&txn, actor, entity_type, entity_id, before, &after).await?;
    txn.commit().await?;
    Ok(after)
}

fn to_json(v: Option<&impl Serialize>) -> Result<Option<serde_json::Value>, DbErr> {
    v.map(serde_json::to_value)
        .transpose()
        .map_err(|e| DbErr::Custom(format!("audit serialisation: {e}")))
}
