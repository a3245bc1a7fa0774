//! `POST /api/v1/allocations`: run a strategy on the agency's data, validate every assignment
//! (design §6), and with `apply: true` and no violations write the lineups in one transaction.

use axum::Json;
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiResult, Problem};
use super::extract::JsonBody;
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::allocation::{self, AllocationOutcome, AllocationRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(allocate))
}

/// Computes an allocation with a strategy; previews it, or applies it to the sessions' lineups.
#[utoipa::path(post, path = "/allocations", tag = "allocations", request_body = AllocationRequest,
    responses((status = 200, body = AllocationOutcome), (status = 403, body = Problem),
        (status = 422, description = "a script error (with `code` and `line`), or violations when applying", body = Problem)))]
async fn allocate(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(req): JsonBody<AllocationRequest>,
) -> ApiResult<Json<AllocationOutcome>> {
    Ok(Json(
        allocation::allocate(&s.db, &s.plugins, &actor, req).await?,
    ))
}
