//! `/api/v1/orders`: ingested platform orders with their attribution, GMV figures, and the
//! deliveries they came from (`service::orders`).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::orders::{
    self, DeliveryQuery, DeliveryView, GmvBy, GmvQuery, GmvReport, Order, OrderDetail, OrderQuery,
    Reattributed,
};

/// The order filters, with the page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// `false`: only orders that could not be attributed; `true`: only attributed ones.
    pub attributed: Option<bool>,
    pub kol_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub platform: Option<String>,
    #[param(pattern = "^(paid|partially_refunded|refunded|settled)$")]
    pub status: Option<String>,
    /// Paid at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Paid before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl OrderFilter {
    fn query(self) -> OrderQuery {
        OrderQuery {
            attributed: self.attributed,
            kol_id: self.kol_id,
            brand_id: self.brand_id,
            contract_id: self.contract_id,
            session_id: self.session_id,
            product_id: self.product_id,
            platform: self.platform,
            status: self.status,
            from: self.from,
            to: self.to,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GmvFilter {
    /// What to group by: `session`, `kol`, `brand`, `contract`, `product`, `platform` or `day`.
    pub by: GmvBy,
    /// For `by=day`: the offset of the agency's day from UTC in minutes (480 for China);
    /// default 0.
    #[param(minimum = -720, maximum = 840)]
    pub tz_offset_minutes: Option<i32>,
    // The order filters (no paging: the answer is one row per group). Not `serde(flatten)`:
    // flattening turns every query value into a string and breaks numbers and booleans.
    pub attributed: Option<bool>,
    pub kol_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub platform: Option<String>,
    /// Paid at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Paid before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

impl GmvFilter {
    fn query(self) -> GmvQuery {
        // The order filters without status and paging.
        let orders = OrderFilter {
            attributed: self.attributed,
            kol_id: self.kol_id,
            brand_id: self.brand_id,
            contract_id: self.contract_id,
            session_id: self.session_id,
            product_id: self.product_id,
            platform: self.platform,
            status: None,
            from: self.from,
            to: self.to,
            limit: None,
            cursor: None,
        };
        GmvQuery {
            by: self.by,
            tz_offset_minutes: self.tz_offset_minutes,
            orders: orders.query(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    pub platform: Option<String>,
    pub status: Option<String>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(gmv))
        .routes(routes!(reattribute))
        .routes(routes!(list_deliveries))
}

/// Lists orders, newest last (brand and KOL tokens: only their own attributed orders).
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderFilter),
    responses((status = 200, body = Page<Order>), (status = 401, body = Problem)))]
async fn list_orders(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<OrderFilter>,
) -> ApiResult<Json<Page<Order>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    Ok(Json(orders::list(&s.db, &actor, f.query(), page).await?))
}

/// One order with its refunds.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    responses((status = 200, body = OrderDetail), (status = 404, body = Problem)))]
async fn get_order(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(orders::get(&s.db, &actor, id).await?))
}

/// GMV and net GMV per session, KOL, brand, contract, product, platform or day.
#[utoipa::path(get, path = "/gmv", tag = "orders", params(GmvFilter),
    responses((status = 200, body = GmvReport), (status = 400, body = Problem)))]
async fn gmv(
    State(s): State<AppState>,
    actor: Actor,
    Query(q): Query<GmvFilter>,
) -> ApiResult<Json<GmvReport>> {
    Ok(Json(orders::gmv(&s.db, &actor, q.query()).await?))
}

/// Runs attribution again over the unattributed orders, e.g. after a KOL account, a product
/// listing or a contract was added. Audited as `orders.reattribute`.
#[utoipa::path(post, path = "/orders/reattribute", tag = "orders",
    responses((status = 200, body = Reattributed), (status = 403, body = Problem)))]
async fn reattribute(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Reattributed>> {
    Ok(Json(orders::reattribute(&s.db, &actor).await?))
}

/// Webhook deliveries as received, e.g. `?status=rejected` (admin and integrator; staff read).
#[utoipa::path(get, path = "/webhook-deliveries", tag = "orders", params(DeliveryFilter),
    responses((status = 200, body = Page<DeliveryView>), (status = 403, body = Problem)))]
async fn list_deliveries(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<DeliveryFilter>,
) -> ApiResult<Json<Page<DeliveryView>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = DeliveryQuery {
        platform: f.platform,
        status: f.status,
    };
    Ok(Json(orders::deliveries(&s.db, &actor, query, page).await?))
}
