//! `/api/v1/reports`: statements an agency hands on (`service::reports`). `kol-income` is the
//! half-year income of KOLs from approved settlements, as the agency reports it to the tax
//! authority.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{CsvDownload, FileDownload, Query};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::reports::{
    self, Income, IncomeQuery, IncomeReport, Withholding, WithholdingQuery, WithholdingReport,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncomeFilter {
    /// One KOL; all KOLs when absent (staff only).
    pub kol_id: Option<Uuid>,
    /// `YYYY-H1` or `YYYY-H2`.
    #[param(pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-H[12]$")]
    pub half: String,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kol_income))
        .routes(routes!(withholding))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WithholdingFilter {
    /// `YYYY-MM` (CST), 1970-01 to 9998-12.
    #[param(
        pattern = "^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])$"
    )]
    pub month: String,
    /// `json` (default), `csv` or `xlsx`.
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
}

/// The month's labour-remuneration withholding declaration (扣缴申报), per individual KOL, in
/// the column order of the natural-person withholding client's import sheet (admin, manager).
#[utoipa::path(get, path = "/reports/withholding", tag = "reports", params(WithholdingFilter),
    responses((status = 200, description = "the declaration: JSON, or CSV or XLSX by `format`", content(
            (WithholdingReport = "application/json"), (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn withholding(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<WithholdingFilter>,
) -> ApiResult<Response> {
    let query = WithholdingQuery {
        month: f.month,
        format: f.format,
    };
    let method = s.config.tax_method;
    Ok(
        match reports::withholding(&s.db, &actor, query, &s.secrets, method).await? {
            Withholding::Report(report) => Json(report).into_response(),
            Withholding::File(file) => FileDownload(file).into_response(),
        },
    )
}

/// KOL income for a half year, from approved settlements (JSON, or CSV with `format=csv`).
/// Staff see every KOL; a KOL token sees only itself; brand tokens may not.
#[utoipa::path(get, path = "/reports/kol-income", tag = "reports", params(IncomeFilter),
    responses((status = 200, description = "the report: JSON, or CSV by `format`", content(
            (IncomeReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn kol_income(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<IncomeFilter>,
) -> ApiResult<Response> {
    let query = IncomeQuery {
        kol_id: f.kol_id,
        half: f.half,
        format: f.format,
    };
    Ok(match reports::kol_income(&s.db, &actor, query).await? {
        Income::Report(report) => Json(report).into_response(),
        Income::Csv(file) => CsvDownload(file).into_response(),
    })
}
