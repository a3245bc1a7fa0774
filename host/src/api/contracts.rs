//! `/api/v1/contracts`: brand x KOL agreements, their lifecycle and their versions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::{Actor, ContractStatus, Platform};
use crate::service::contracts::{
    self, Amendment, Contract, ContractQuery, ContractVersion, NewContract, TermsPatch, Transition,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractFilter {
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
    pub status: Option<ContractStatus>,
    pub platform: Option<Platform>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(get_contract, update_contract))
        .routes(routes!(transition_contract))
        .routes(routes!(amend_contract))
        .routes(routes!(list_versions))
}

/// Lists contracts (brand and KOL tokens: only their own).
#[utoipa::path(get, path = "/contracts", tag = "contracts", params(ContractFilter),
    responses((status = 200, body = Page<Contract>), (status = 401, body = Problem)))]
async fn list_contracts(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<ContractFilter>,
) -> ApiResult<Json<Page<Contract>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = ContractQuery {
        brand_id: f.brand_id,
        kol_id: f.kol_id,
        status: f.status,
        platform: f.platform,
    };
    Ok(Json(contracts::list(&s.db, &actor, query, page).await?))
}

/// Drafts a contract (status `draft`, version 1).
#[utoipa::path(post, path = "/contracts", tag = "contracts", request_body = NewContract,
    responses((status = 201, body = Contract), (status = 422, body = Problem)))]
async fn create_contract(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewContract>,
) -> ApiResult<(StatusCode, Json<Contract>)> {
    let contract = contracts::create(&s.db, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(contract)))
}

/// One contract.
#[utoipa::path(get, path = "/contracts/{id}", tag = "contracts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Contract), (status = 404, body = Problem)))]
async fn get_contract(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Contract>> {
    Ok(Json(contracts::get(&s.db, &actor, id).await?))
}

/// Edits the terms of a draft or proposed contract in place. A signed contract changes only by
/// amendment (409).
#[utoipa::path(patch, path = "/contracts/{id}", tag = "contracts", params(("id" = Uuid, Path)), request_body = TermsPatch,
    responses((status = 200, body = Contract), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_contract(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(patch): JsonBody<TermsPatch>,
) -> ApiResult<Json<Contract>> {
    Ok(Json(contracts::update(&s.db, &actor, id, patch).await?))
}

/// Moves a contract along its lifecycle. An illegal move answers 409 with the allowed ones.
#[utoipa::path(post, path = "/contracts/{id}/transitions", tag = "contracts", params(("id" = Uuid, Path)), request_body = Transition,
    responses((status = 200, body = Contract), (status = 409, body = Problem)))]
async fn transition_contract(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(t): JsonBody<Transition>,
) -> ApiResult<Json<Contract>> {
    Ok(Json(contracts::transition(&s.db, &actor, id, t).await?))
}

/// Amends a signed or active contract: a new version with the changed terms and a reason.
/// Earlier versions stay readable at `/versions`.
#[utoipa::path(post, path = "/contracts/{id}/amendments", tag = "contracts", params(("id" = Uuid, Path)), request_body = Amendment,
    responses((status = 201, body = Contract), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn amend_contract(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(a): JsonBody<Amendment>,
) -> ApiResult<(StatusCode, Json<Contract>)> {
    let contract = contracts::amend(&s.db, &actor, id, a).await?;
    Ok((StatusCode::CREATED, Json(contract)))
}

/// Every version of a contract's terms, oldest first.
#[utoipa::path(get, path = "/contracts/{id}/versions", tag = "contracts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Page<ContractVersion>), (status = 404, body = Problem)))]
async fn list_versions(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Page<ContractVersion>>> {
    Ok(Json(contracts::versions(&s.db, &actor, id).await?))
}
