//! Ingested platform orders with their attribution, the GMV figures over them, attribution run
//! again, and the webhook deliveries they came from.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::actor::{Actor, MANAGERS, Scope};
use crate::domain::{FieldError, Validator};
use crate::ingest::attribution::{Attributor, OrderFacts};
use crate::service::visibility;
use crate::service::{Page, PageRequest, Result};
use crate::store::entities::{order, order_refund, order_status, webhook_delivery};
use crate::store::{self, audit};

/// An order as the API shows it. Money in fen; `net_fen` = paid − refunded (never below 0).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub platform: String,
    pub platform_order_id: String,
    pub sub_order_id: Option<String>,
    pub item_id: String,
    pub account_id: Option<String>,
    pub room_id: Option<String>,
    pub units: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub net_fen: i64,
    pub settled_fen: Option<i64>,
    pub platform_commission_fen: Option<i64>,
    pub commission_bp: Option<i32>,
    /// `paid`, `partially_refunded`, `refunded` or `settled`.
    pub status: String,
    pub paid_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub kol_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub attributed: bool,
    /// `awaiting_detail` while the order is known only from a push notice.
    pub unattributed_reason: Option<String>,
    /// Known only from a push notice (ids and amount): a pull brings item, KOL and room.
    pub awaiting_detail: bool,
    /// The platform's latest own status (Douyin tag or `flow_point`, `cpsOrderStatus`, ...).
    pub platform_status: Option<String>,
    /// The commission the platform computed (Buyin `real_commission`).
    pub reported_commission_fen: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<order::Model> for Order {
    fn from(o: order::Model) -> Self {
        Order {
            id: o.id,
            net_fen: (o.paid_fen - o.refunded_fen).max(0),
            platform: o.platform,
            platform_order_id: o.platform_order_id,
            sub_order_id: Some(o.sub_order_id).filter(|s| !s.is_empty()),
            item_id: o.item_id,
            account_id: o.account_id,
            room_id: o.room_id,
            units: o.units,
            paid_fen: o.paid_fen,
            refunded_fen: o.refunded_fen,
            settled_fen: o.settled_fen,
            platform_commission_fen: o.platform_commission_fen,
            commission_bp: o.commission_bp,
            status: o.status,
            paid_at: o.paid_at,
            settled_at: o.settled_at,
            kol_id: o.kol_id,
            product_id: o.product_id,
            brand_id: o.brand_id,
            contract_id: o.contract_id,
            session_id: o.session_id,
            attributed: o.attributed,
            unattributed_reason: o.unattributed_reason,
            awaiting_detail: o.awaiting_detail,
            platform_status: o.platform_status,
            reported_commission_fen: o.reported_commission_fen,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Refund {
    pub refund_id: String,
    pub refunded_fen: i64,
    pub refunded_at: DateTime<Utc>,
}

/// One platform status an event reported about the order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusChange {
    pub status: String,
    /// The event's kind (`order_notice`, `order_status`, `order_paid`, ...).
    pub kind: String,
    /// `webhook` or `poll`.
    pub source: String,
    /// When the platform says it happened, if it says.
    pub at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: Order,
    pub refunds: Vec<Refund>,
    /// The platform's statuses of the order, in arrival order.
    pub status_history: Vec<StatusChange>,
}

/// Filters shared by the order list and the GMV figures.
#[derive(Debug, Default)]
pub struct OrderQuery {
    /// `false`: only orders that could not be attributed; `true`: only attributed ones.
    pub attributed: Option<bool>,
    pub kol_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub platform: Option<String>,
    pub status: Option<String>,
    /// Paid at or after.
    pub from: Option<DateTime<Utc>>,
    /// Paid before.
    pub to: Option<DateTime<Utc>>,
}

impl OrderQuery {
    fn apply(&self, actor: &Actor, mut q: Select<order::Entity>) -> Select<order::Entity> {
        match actor.scope() {
            Scope::All => {}
            // Unattributed orders are the agency's to resolve; counterparties see theirs once
            // attributed.
            Scope::Brand(b) => {
                q = q
                    .filter(order::Column::BrandId.eq(b))
                    .filter(order::Column::Attributed.eq(true))
            }
            Scope::Kol(k) => {
                q = q
                    .filter(order::Column::KolId.eq(k))
                    .filter(order::Column::Attributed.eq(true))
            }
        }
        if let Some(a) = self.attributed {
            q = q.filter(order::Column::Attributed.eq(a));
        }
        let ids = [
            (self.kol_id, order::Column::KolId),
            (self.brand_id, order::Column::BrandId),
            (self.contract_id, order::Column::ContractId),
            (self.session_id, order::Column::SessionId),
            (self.product_id, order::Column::ProductId),
        ];
        for (v, col) in ids {
            if let Some(v) = v {
                q = q.filter(col.eq(v));
            }
        }
        if let Some(pl) = &self.platform {
            q = q.filter(order::Column::Platform.eq(pl.as_str()));
        }
        if let Some(st) = &self.status {
            q = q.filter(order::Column::Status.eq(st.as_str()));
        }
        if let Some(f) = self.from {
            q = q.filter(order::Column::PaidAt.gte(f));
        }
        if let Some(t) = self.to {
            q = q.filter(order::Column::PaidAt.lt(t));
        }
        q
    }

    fn check(&self) -> Result<()> {
        if let (Some(f), Some(t)) = (self.from, self.to)
            && t <= f
        {
            return Err(FieldError::not_after("to", "from").into());
        }
        if let Some(st) = &self.status
            && !["paid", "partially_refunded", "refunded", "settled"].contains(&st.as_str())
        {
            return Err(FieldError::one_of(
                "status",
                &["paid", "partially_refunded", "refunded", "settled"],
            )
            .into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GmvBy {
    Session,
    Kol,
    Brand,
    Contract,
    Product,
    Platform,
    Day,
}

/// What the GMV figures group by, over which orders.
#[derive(Debug)]
pub struct GmvQuery {
    pub by: GmvBy,
    /// For `by=day`: the offset of the agency's day from UTC in minutes; default 0.
    pub tz_offset_minutes: Option<i32>,
    pub orders: OrderQuery,
}

/// One group's figures. GMV = paid; net GMV = paid − refunded.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct GmvRow {
    /// The group: an id, a platform, or a day (`YYYY-MM-DD`); null for orders without one
    /// (e.g. no session).
    pub key: Option<String>,
    pub orders: i64,
    pub units: i64,
    pub gmv_fen: i64,
    pub refunded_fen: i64,
    pub net_gmv_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GmvReport {
    pub by: String,
    pub items: Vec<GmvRow>,
    pub total: GmvRow,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reattributed {
    /// Unattributed orders looked at.
    pub examined: usize,
    /// Of those, now attributed.
    pub attributed: usize,
}

/// A stored webhook delivery (the body itself is not listed).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub platform: String,
    pub plugin: String,
    /// `accepted`, `rejected`, `malformed` or `failed`.
    pub status: String,
    pub body_bytes: usize,
    pub events: i32,
    pub new_events: i32,
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// Orders, newest last (brand and KOL tokens: only their own attributed orders).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: OrderQuery,
    page: PageRequest,
) -> Result<Page<Order>> {
    query.check()?;
    let q = query.apply(actor, order::Entity::find());
    Ok(page.fetch(db, q, order::Column::Id).await?.map(Order::from))
}

/// One order with its refunds.
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<OrderDetail> {
    let o = visibility::find::<order::Entity, _>(db, actor, id).await?;
    let refunds = order_refund::Entity::find()
        .filter(order_refund::Column::OrderId.eq(id))
        .order_by_asc(order_refund::Column::RefundedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|r| Refund {
            refund_id: r.refund_id,
            refunded_fen: r.refunded_fen,
            refunded_at: r.refunded_at,
        })
        .collect();
    let mut ids = vec![o.platform_order_id.clone()];
    if !o.sub_order_id.is_empty() {
        ids.push(o.sub_order_id.clone());
    }
    let status_history = order_status::Entity::find()
        .filter(order_status::Column::Platform.eq(o.platform.as_str()))
        .filter(order_status::Column::PlatformOrderId.is_in(ids))
        .order_by_asc(order_status::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|h| {
            h.sub_order_id.is_empty()
                || h.sub_order_id == o.sub_order_id
                || h.platform_order_id == o.sub_order_id
        })
        .map(|h| StatusChange {
            status: h.status,
            kind: h.kind,
            source: h.source,
            at: h.at,
            received_at: h.received_at,
        })
        .collect();
    Ok(OrderDetail {
        order: o.into(),
        refunds,
        status_history,
    })
}

/// GMV and net GMV per session, KOL, brand, contract, product, platform or day.
pub async fn gmv(db: &DatabaseConnection, actor: &Actor, q: GmvQuery) -> Result<GmvReport> {
    let f = &q.orders;
    f.check()?;
    let offset = q.tz_offset_minutes.unwrap_or(0);
    let mut v = Validator::new();
    v.in_range(offset.into(), "tz_offset_minutes", -720, 840);
    v.finish()?;
    // Grouped by the database: only one row per group comes back, whatever the orders.
    let backend = db.get_database_backend();
    let key = match q.by {
        GmvBy::Session => Expr::col((order::Entity, order::Column::SessionId)),
        GmvBy::Kol => Expr::col((order::Entity, order::Column::KolId)),
        GmvBy::Brand => Expr::col((order::Entity, order::Column::BrandId)),
        GmvBy::Contract => Expr::col((order::Entity, order::Column::ContractId)),
        GmvBy::Product => Expr::col((order::Entity, order::Column::ProductId)),
        GmvBy::Platform => Expr::col((order::Entity, order::Column::Platform)),
        // The agency's calendar day; the offset is a checked integer, written into the SQL.
        GmvBy::Day => match backend {
            DatabaseBackend::Postgres => Expr::cust(format!(
                "to_char((\"orders\".\"paid_at\" AT TIME ZONE 'UTC') + \
                 make_interval(mins => {offset}), 'YYYY-MM-DD')"
            )),
            _ => Expr::cust(format!(
                "date(\"orders\".\"paid_at\", '{offset:+} minutes')"
            )),
        },
    };
    let sums = f
        .apply(actor, order::Entity::find())
        .select_only()
        .expr_as(key.clone(), "key")
        .expr_as(Expr::cust("COUNT(*)"), "orders")
        .expr_as(Expr::cust(r#"CAST(SUM("orders"."units") AS BIGINT)"#), "units")
        .expr_as(Expr::cust(r#"CAST(SUM("orders"."paid_fen") AS BIGINT)"#), "paid")
        .expr_as(
            // A refund is counted up to what was paid.
            Expr::cust(
                r#"CAST(SUM(CASE WHEN "orders"."refunded_fen" < "orders"."paid_fen" THEN "orders"."refunded_fen" ELSE "orders"."paid_fen" END) AS BIGINT)"#,
            ),
            "refunded",
        )
        .group_by(key);
    let rows: Vec<(Option<String>, i64, i64, i64, i64)> = match q.by {
        GmvBy::Platform | GmvBy::Day => sums.into_tuple().all(db).await?,
        _ => sums
            .into_tuple::<(Option<Uuid>, i64, i64, i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(k, o, u, p, r)| (k.map(|u| u.to_string()), o, u, p, r))
            .collect(),
    };
    let mut groups: BTreeMap<Option<String>, GmvRow> = BTreeMap::new();
    let mut total = GmvRow::default();
    for (key, orders, units, paid, refunded) in rows {
        for row in [
            groups.entry(key.clone()).or_insert_with(|| GmvRow {
                key,
                ..GmvRow::default()
            }),
            &mut total,
        ] {
            row.orders += orders;
            row.units += units;
            row.gmv_fen += paid;
            row.refunded_fen += refunded;
            row.net_gmv_fen += paid - refunded;
        }
    }
    let by = serde_json::to_value(q.by)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(GmvReport {
        by,
        items: groups.into_values().collect(),
        total,
    })
}

/// Runs attribution again over the unattributed orders, e.g. after a KOL account, a product
/// listing or a contract was added (manager, admin). Audited as `orders.reattribute`.
pub async fn reattribute(db: &DatabaseConnection, actor: &Actor) -> Result<Reattributed> {
    actor.require(MANAGERS)?;
    let txn = store::write_txn(db).await?;
    let mut examined = 0;
    let mut attributed = 0;
    let mut after: Option<Uuid> = None;
    loop {
        // Orders awaiting their detail have nothing to attribute yet: the pull does it.
        let mut q = order::Entity::find()
            .filter(order::Column::Attributed.eq(false))
            .filter(order::Column::AwaitingDetail.eq(false))
            .order_by_asc(order::Column::Id)
            .limit(500);
        if let Some(a) = after {
            q = q.filter(order::Column::Id.gt(a));
        }
        let batch = q.all(&txn).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        examined += batch.len();
        let facts: Vec<OrderFacts> = batch
            .iter()
            .map(|o| OrderFacts {
                platform: &o.platform,
                item_id: &o.item_id,
                account_id: o.account_id.as_deref(),
                room_id: o.room_id.as_deref(),
                paid_at: o.paid_at,
            })
            .collect();
        let who = Attributor::load(&txn, &facts).await?;
        for (o, f) in batch.iter().zip(&facts) {
            let a = who.attribute(f);
            if (
                a.kol_id,
                a.product_id,
                a.brand_id,
                a.contract_id,
                a.session_id,
                &a.reason,
            ) == (
                o.kol_id,
                o.product_id,
                o.brand_id,
                o.contract_id,
                o.session_id,
                &o.unattributed_reason,
            ) {
                continue;
            }
            attributed += usize::from(a.attributed());
            order::Entity::update_many()
                .col_expr(order::Column::KolId, a.kol_id.into())
                .col_expr(order::Column::ProductId, a.product_id.into())
                .col_expr(order::Column::BrandId, a.brand_id.into())
                .col_expr(order::Column::ContractId, a.contract_id.into())
                .col_expr(order::Column::SessionId, a.session_id.into())
                .col_expr(order::Column::Attributed, a.attributed().into())
                .col_expr(order::Column::UnattributedReason, a.reason.clone().into())
                .col_expr(order::Column::UpdatedAt, Utc::now().into())
                .filter(order::Column::Id.eq(o.id))
                .exec(&txn)
                .await?;
        }
    }
    let result = Reattributed {
        examined,
        attributed,
    };
    audit::wrote(
        &txn,
        actor,
        "orders.reattribute",
        ("orders", Uuid::nil()),
        &serde_json::json!({"examined": examined, "attributed": attributed}),
    )
    .await?;
    txn.commit().await?;
    Ok(result)
}

/// Which deliveries to list.
#[derive(Debug, Default)]
pub struct DeliveryQuery {
    pub platform: Option<String>,
    pub status: Option<String>,
}

/// Webhook deliveries as received, e.g. the rejected ones (staff).
pub async fn deliveries(
    db: &DatabaseConnection,
    actor: &Actor,
    query: DeliveryQuery,
    page: PageRequest,
) -> Result<Page<DeliveryView>> {
    actor.require(visibility::DELIVERY_READERS)?;
    // The body is only measured (its full size, also for a digest or a pruned body).
    let mut q = webhook_delivery::Entity::find()
        .select_only()
        .columns([
            webhook_delivery::Column::Id,
            webhook_delivery::Column::Platform,
            webhook_delivery::Column::Plugin,
            webhook_delivery::Column::Status,
            webhook_delivery::Column::Events,
            webhook_delivery::Column::NewEvents,
            webhook_delivery::Column::Error,
            webhook_delivery::Column::ReceivedAt,
        ])
        .expr_as(
            sea_orm::sea_query::Expr::cust("CAST(COALESCE(size_bytes, length(body)) AS BIGINT)"),
            "body_bytes",
        );
    if let Some(pl) = &query.platform {
        q = q.filter(webhook_delivery::Column::Platform.eq(pl.as_str()));
    }
    if let Some(st) = &query.status {
        q = q.filter(webhook_delivery::Column::Status.eq(st.as_str()));
    }
    let rows: Vec<(
        Uuid,
        String,
        String,
        String,
        i32,
        i32,
        Option<String>,
        DateTime<Utc>,
        i64,
    )> = page
        .window(q, webhook_delivery::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let items = rows
        .into_iter()
        .map(
            |(id, platform, plugin, status, events, new_events, error, received_at, body_bytes)| {
                DeliveryView {
                    id,
                    platform,
                    plugin,
                    status,
                    body_bytes: body_bytes as usize,
                    events,
                    new_events,
                    error,
                    received_at,
                }
            },
        )
        .collect();
    Ok(Page::from_rows(items, page.limit, |d: &DeliveryView| d.id))
}
