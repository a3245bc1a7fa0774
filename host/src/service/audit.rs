//! The audit trail, read back: every successful write with who did it, before and after.
//! (Writes record themselves through `store::audit`, inside their own transaction.)

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Page, PageRequest, Result};
use crate::domain::actor::{Actor, MANAGERS};
use crate::store::entities::audit_event;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The token's name, or the server itself for its own work.
    pub actor: String,
    pub actor_role: String,
    pub actor_token_id: Option<Uuid>,
    /// `entity.verb`, e.g. `contract.amend`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Which events to list.
#[derive(Debug, Default)]
pub struct AuditQuery {
    pub entity_id: Option<Uuid>,
    pub entity_type: Option<String>,
    pub action: Option<String>,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(e: audit_event::Model) -> Self {
        AuditEvent {
            id: e.id,
            at: e.at,
            actor: e.actor,
            actor_role: e.actor_role,
            actor_token_id: e.actor_token_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            before: e.before,
            after: e.after,
        }
    }
}

/// The audit trail, oldest first (admin and manager).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: AuditQuery,
    page: PageRequest,
) -> Result<Page<AuditEvent>> {
    actor.require(MANAGERS)?;
    let mut q = audit_event::Entity::find();
    if let Some(e) = query.entity_id {
        q = q.filter(audit_event::Column::EntityId.eq(e));
    }
    if let Some(t) = &query.entity_type {
        q = q.filter(audit_event::Column::EntityType.eq(t.as_str()));
    }
    if let Some(a) = &query.action {
        q = q.filter(audit_event::Column::Action.eq(a.as_str()));
    }
    let page = page.fetch(db, q, audit_event::Column::Id).await?;
    Ok(page.map(AuditEvent::from))
}
