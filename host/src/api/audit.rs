//! `/api/v1/audit`: the trail of every successful write.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::ApiResult;
use super::extract::Query;
use super::pagination::{Page, PageParams};
use crate::app::AppState;
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub entity_id: Option<Uuid>,
    pub entity_type: Option<String>,
    pub action: Option<String>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The audit trail, oldest first (admin and manager).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = super::error::Problem)))]
async fn list_audit(
    State(s): State<AppState>,
    p: Actor,
    Query(f): Query<AuditFilter>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    p.require(MANAGERS)?;
    let page = PageParams {
        limit: f.limit,
        cursor: f.cursor.clone(),
    };
    let limit = page.limit()?;
    let mut q = audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after()? {
        q = q.filter(audit_event::Column::Id.gt(after));
    }
    if let Some(e) = f.entity_id {
        q = q.filter(audit_event::Column::EntityId.eq(e));
    }
    if let Some(t) = &f.entity_type {
        q = q.filter(audit_event::Column::EntityType.eq(t.as_str()));
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_event::Column::Action.eq(a.as_str()));
    }
    let rows = q
        .all(&s.db)
        .await?
        .into_iter()
        .map(|e| AuditEvent {
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
        })
        .collect();
    Ok(Json(Page::from_rows(rows, limit, |e: &AuditEvent| e.id)))
}
