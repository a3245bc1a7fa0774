//! `/api/v1/products`: brands' SKUs with prices in fen, stock for livestreams, and listings.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{FileDownload, JsonBody, Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::{Actor, FieldError, ProductRole};
use crate::service::roster::product_sheets::{self, ImportReport, ImportRequest, MAX_SHEET_BYTES};
use crate::service::roster::products::{self, NewProduct, Product, ProductPatch, ProductQuery};
use crate::service::statements::{Format, Lang};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    pub brand_id: Option<Uuid>,
    pub category: Option<String>,
    pub role: Option<ProductRole>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Where and how a sheet is imported.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportTarget {
    /// The brand whose catalogue the sheet fills.
    pub brand_id: Uuid,
    /// `true`: check every row and report, write nothing. Default `false`.
    #[serde(default)]
    pub dry_run: bool,
}

/// A product sheet (`multipart/form-data`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SheetUpload {
    /// An XLSX workbook (its first worksheet) or a CSV file (UTF-8 or GB18030), with a header
    /// row: 商品名称, SKU, 类目, 角色, 标价, 最低价, 库存, and optionally 卖点文案, 平台商品ID (or
    /// name, sku, category, role, list_price, floor_price, stock_units, copy, item_id; prices in
    /// yuan, or in fen under list_price_fen / floor_price_fen).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_products))
        // The sheet and the form around it.
        .layer(DefaultBodyLimit::max(MAX_SHEET_BYTES + 64 * 1024))
        .routes(routes!(list_products, create_product))
        .routes(routes!(export_products))
        .routes(routes!(get_product, update_product))
}

/// Which products to export, and how.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// One brand's products (default: every product the token sees).
    pub brand_id: Option<Uuid>,
    /// `xlsx` (default) or `csv`.
    #[param(pattern = "^(xlsx|csv)$")]
    pub format: Option<String>,
    /// `zh` (default) or `en` headers and roles.
    #[param(pattern = "^(zh|zh-CN|en)$")]
    pub lang: Option<String>,
}

/// Lists products, optionally of one brand, category or role.
#[utoipa::path(get, path = "/products", tag = "products", params(ProductFilter),
    responses((status = 200, body = Page<Product>), (status = 401, body = Problem)))]
async fn list_products(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<ProductFilter>,
) -> ApiResult<Json<Page<Product>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = ProductQuery {
        brand_id: f.brand_id,
        category: f.category,
        role: f.role,
    };
    Ok(Json(products::list(&s.db, &actor, query, page).await?))
}

/// Adds a product to a brand's catalogue.
#[utoipa::path(post, path = "/products", tag = "products", request_body = NewProduct,
    responses((status = 201, body = Product), (status = 422, body = Problem)))]
async fn create_product(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let product = products::create(&s.db, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// One product.
#[utoipa::path(get, path = "/products/{id}", tag = "products", params(("id" = Uuid, Path)),
    responses((status = 200, body = Product), (status = 404, body = Problem)))]
async fn get_product(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Product>> {
    Ok(Json(products::get(&s.db, &actor, id).await?))
}

/// Changes a product.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", params(("id" = Uuid, Path)), request_body = ProductPatch,
    responses((status = 200, body = Product), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_product(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ProductPatch>,
) -> ApiResult<Json<Product>> {
    Ok(Json(products::update(&s.db, &actor, id, input).await?))
}

/// Imports a product sheet into a brand's catalogue, all or nothing: a row whose SKU the brand
/// has changes that product, any other adds one. Every row is checked as `POST /products` checks
/// a product. With `dry_run=true` the answer lists every row's errors and writes nothing; a real
/// import with any error is a 422 listing them (`row_errors`, by sheet row) and writes nothing.
#[utoipa::path(post, path = "/products/import", tag = "products", params(ImportTarget),
    request_body(content = SheetUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportReport), (status = 400, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn import_products(
    State(s): State<AppState>,
    actor: Actor,
    Query(target): Query<ImportTarget>,
    mut form: Multipart,
) -> ApiResult<Json<ImportReport>> {
    // A body past the route's limit is a 413, anything else unreadable a 400.
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("malformed upload: {e}"))
        }
    };
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        if field.name() == Some("file") {
            file = Some(field.bytes().await.map_err(unreadable)?);
        }
    }
    let file =
        file.ok_or_else(|| FieldError::new("file", "required", "the form has no file field"))?;
    let req = ImportRequest {
        brand_id: target.brand_id,
        dry_run: target.dry_run,
        file: file.into(),
    };
    Ok(Json(product_sheets::import(&s.db, &actor, req).await?))
}

/// The catalogue as a product sheet with the import's columns (XLSX, or CSV with `format=csv`):
/// prices in yuan, listings as `platform:item_id`; edit it and import it again.
#[utoipa::path(get, path = "/products/export", tag = "products", params(ExportQuery),
    responses((status = 200, description = "the sheet: XLSX, or CSV by `format`", content(
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv"))),
        (status = 422, body = Problem)))]
async fn export_products(
    State(s): State<AppState>,
    actor: Actor,
    Query(q): Query<ExportQuery>,
) -> ApiResult<FileDownload> {
    let format = match q.format.as_deref() {
        None | Some("xlsx") => Format::Xlsx,
        Some("csv") => Format::Csv,
        Some(_) => return Err(FieldError::one_of("format", &["xlsx", "csv"]).into()),
    };
    let lang = Lang::parse(q.lang.as_deref())?;
    Ok(FileDownload(
        product_sheets::export(&s.db, &actor, q.brand_id, format, lang).await?,
    ))
}
