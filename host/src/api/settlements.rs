//! `/api/v1/settlements`: a contract's settlement for a period (design §6a), its approval, and
//! its statement as CSV. The use cases are `service::settlement`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{FileDownload, JsonBody, Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::privacy::SettlementView;
use crate::service::settlement::{
    self, BatchResult, NewBatch, NewSettlement, Policy, Settlement, SettlementQuery,
};
use crate::service::statements::{self, Format, Lang};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SettlementFilter {
    pub contract_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
    /// `draft`, `superseded` or `approved`.
    #[param(pattern = "^(draft|superseded|approved)$")]
    pub status: Option<String>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_settlements, create_settlement))
        .routes(routes!(batch_settlements))
        .routes(routes!(get_settlement))
        .routes(routes!(approve_settlement))
        .routes(routes!(statement_csv))
        .routes(routes!(statement_xlsx))
}

/// Lists settlements, newest last (brand and KOL tokens: only their own).
#[utoipa::path(get, path = "/settlements", tag = "settlements", params(SettlementFilter),
    responses((status = 200, body = Page<SettlementView>), (status = 401, body = Problem)))]
async fn list_settlements(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<SettlementFilter>,
) -> ApiResult<Json<Page<SettlementView>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = SettlementQuery {
        contract_id: f.contract_id,
        brand_id: f.brand_id,
        kol_id: f.kol_id,
        status: f.status,
    };
    Ok(Json(settlement::list(&s.db, &actor, query, page).await?))
}

/// Computes a draft settlement of a contract for `[period_start, period_end)` (manager, admin).
#[utoipa::path(post, path = "/settlements", tag = "settlements", request_body = NewSettlement,
    responses((status = 201, body = Settlement), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_settlement(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewSettlement>,
) -> ApiResult<(StatusCode, Json<Settlement>)> {
    let view = settlement::compute(&s.db, &actor, input, &Policy::from(&*s.config)).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Month-end in one request (manager, admin): drafts for every contract with activity in the
/// period (orders settled or carried, slots held, a guarantee due), and what was skipped and why.
#[utoipa::path(post, path = "/settlements/batch", tag = "settlements", request_body = NewBatch,
    responses((status = 201, body = BatchResult), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn batch_settlements(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewBatch>,
) -> ApiResult<(StatusCode, Json<BatchResult>)> {
    let result = settlement::batch(&s.db, &actor, input, &Policy::from(&*s.config)).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

/// One settlement.
#[utoipa::path(get, path = "/settlements/{id}", tag = "settlements", params(("id" = Uuid, Path)),
    responses((status = 200, body = SettlementView), (status = 404, body = Problem)))]
async fn get_settlement(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<SettlementView>> {
    Ok(Json(settlement::get(&s.db, &actor, id).await?))
}

/// Approves a draft settlement (manager, admin): from now on it is immutable. A settlement
/// already approved, superseded, or stale (another approval counted the same orders since it
/// was computed: compute it again) answers 409.
#[utoipa::path(post, path = "/settlements/{id}/approve", tag = "settlements", params(("id" = Uuid, Path)),
    responses((status = 200, body = Settlement), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn approve_settlement(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Settlement>> {
    Ok(Json(
        settlement::approve(&s.db, &actor, id, &Policy::from(&*s.config)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// `zh` (default) or `en` headers.
    #[param(pattern = "^(zh|en)$")]
    pub lang: Option<String>,
}

/// The settlement's statement as CSV (UTF-8 with BOM): one row per order counted, then one per
/// line; Chinese headers (`?lang=en`: English), names beside ids, CST times. A brand's
/// statement leaves out the KOL's split.
#[utoipa::path(get, path = "/settlements/{id}/statement.csv", tag = "settlements",
    params(("id" = Uuid, Path), StatementQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = Problem)))]
async fn statement_csv(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(q): Query<StatementQuery>,
) -> ApiResult<FileDownload> {
    let lang = Lang::parse(q.lang.as_deref())?;
    Ok(FileDownload(
        statements::settlement_statement(&s.db, &actor, id, Format::Csv, lang).await?,
    ))
}

/// The settlement's statement as an XLSX workbook, the same table as the CSV.
#[utoipa::path(get, path = "/settlements/{id}/statement.xlsx", tag = "settlements",
    params(("id" = Uuid, Path), StatementQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, body = Problem)))]
async fn statement_xlsx(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(q): Query<StatementQuery>,
) -> ApiResult<FileDownload> {
    let lang = Lang::parse(q.lang.as_deref())?;
    Ok(FileDownload(
        statements::settlement_statement(&s.db, &actor, id, Format::Xlsx, lang).await?,
    ))
}
