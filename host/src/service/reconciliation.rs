//! Reconciliation of push against pull (design §4 `/api/v1/reconciliation`): for one platform
//! and a pay-time window, the orders a push announced that no pull has confirmed, the orders a
//! pull brought that no push announced, and the orders whose amounts the two disagree on, each
//! with its count. Staff who run the agency's books act on it (admin, manager).
//!
//! An order's `pushed_at` / `pushed_fen` and `pulled_at` / `pulled_fen` are written by ingestion
//! the first time each channel reports it (`ingest::apply`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{BinOper, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::FieldError;
use crate::domain::actor::{Actor, MANAGERS};
use crate::service::Result;
use crate::store::entities::order;

/// Most orders listed per difference (the counts are always complete).
pub const MAX_LISTED: u64 = 500;
/// Longest window, days.
pub const MAX_WINDOW_DAYS: i64 = 92;

/// What to reconcile.
#[derive(Debug, Clone)]
pub struct ReconciliationQuery {
    pub platform: String,
    /// Paid at or after.
    pub from: DateTime<Utc>,
    /// Paid before.
    pub to: DateTime<Utc>,
}

/// One order that differs between push and pull.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Difference {
    pub order_id: Uuid,
    pub platform_order_id: String,
    pub sub_order_id: Option<String>,
    pub paid_at: DateTime<Utc>,
    /// What the push said, when a push reported the order.
    pub pushed_fen: Option<i64>,
    pub pushed_at: Option<DateTime<Utc>>,
    /// What the pull said, when a pull reported the order.
    pub pulled_fen: Option<i64>,
    pub pulled_at: Option<DateTime<Utc>>,
    /// pulled − pushed, when both said an amount.
    pub difference_fen: Option<i64>,
    pub status: String,
    pub platform_status: Option<String>,
    pub awaiting_detail: bool,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Counts {
    /// Orders of the platform paid in the window that a push or a pull reported.
    pub orders: u64,
    pub pushed_not_pulled: u64,
    pub pulled_not_pushed: u64,
    pub amount_mismatches: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reconciliation {
    pub platform: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub counts: Counts,
    /// Seen by push, never confirmed by a pull (oldest first, at most [`MAX_LISTED`]).
    pub pushed_not_pulled: Vec<Difference>,
    /// Brought by a pull, never pushed.
    pub pulled_not_pushed: Vec<Difference>,
    /// Both reported the order, with different amounts.
    pub amount_mismatches: Vec<Difference>,
}

fn check(q: &ReconciliationQuery) -> Result<()> {
    let p = q.platform.trim();
    if p.is_empty()
        || p.len() > 32
        || !p
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(
            FieldError::format("platform", "a platform name (a-z, 0-9, -)", "douyin").into(),
        );
    }
    if q.to <= q.from {
        return Err(FieldError::not_after("to", "from").into());
    }
    if q.to - q.from > chrono::Duration::days(MAX_WINDOW_DAYS) {
        return Err(FieldError::new(
            "to",
            "window_too_long",
            format!("the window is at most {MAX_WINDOW_DAYS} days"),
        )
        .with_param("max_days", MAX_WINDOW_DAYS)
        .into());
    }
    Ok(())
}

fn difference(o: order::Model) -> Difference {
    Difference {
        order_id: o.id,
        difference_fen: match (o.pushed_fen, o.pulled_fen) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        platform_order_id: o.platform_order_id,
        sub_order_id: Some(o.sub_order_id).filter(|s| !s.is_empty()),
        paid_at: o.paid_at,
        pushed_fen: o.pushed_fen,
        pushed_at: o.pushed_at,
        pulled_fen: o.pulled_fen,
        pulled_at: o.pulled_at,
        status: o.status,
        platform_status: o.platform_status,
        awaiting_detail: o.awaiting_detail,
    }
}

/// Push against pull for `q.platform`, orders paid in `[from, to)`.
pub async fn report(
    db: &DatabaseConnection,
    actor: &Actor,
    q: ReconciliationQuery,
) -> Result<Reconciliation> {
    actor.require(MANAGERS)?;
    check(&q)?;
    let platform = q.platform.trim().to_owned();
    let base = || -> Select<order::Entity> {
        order::Entity::find()
            .filter(order::Column::Platform.eq(platform.as_str()))
            .filter(order::Column::PaidAt.gte(q.from))
            .filter(order::Column::PaidAt.lt(q.to))
    };
    let pushed_only = || {
        base()
            .filter(order::Column::PushedAt.is_not_null())
            .filter(order::Column::PulledAt.is_null())
    };
    let pulled_only = || {
        base()
            .filter(order::Column::PulledAt.is_not_null())
            .filter(order::Column::PushedAt.is_null())
    };
    let mismatched = || {
        base()
            .filter(order::Column::PushedFen.is_not_null())
            .filter(order::Column::PulledFen.is_not_null())
            .filter(
                Expr::col(order::Column::PushedFen)
                    .binary(BinOper::NotEqual, Expr::col(order::Column::PulledFen)),
            )
    };
    let list = |s: Select<order::Entity>| {
        s.order_by_asc(order::Column::PaidAt)
            .order_by_asc(order::Column::Id)
            .limit(MAX_LISTED)
            .all(db)
    };
    let counts = Counts {
        orders: base()
            .filter(
                Condition::any()
                    .add(order::Column::PushedAt.is_not_null())
                    .add(order::Column::PulledAt.is_not_null()),
            )
            .count(db)
            .await?,
        pushed_not_pulled: pushed_only().count(db).await?,
        pulled_not_pushed: pulled_only().count(db).await?,
        amount_mismatches: mismatched().count(db).await?,
    };
    Ok(Reconciliation {
        platform: platform.clone(),
        from: q.from,
        to: q.to,
        counts,
        pushed_not_pulled: list(pushed_only())
            .await?
            .into_iter()
            .map(difference)
            .collect(),
        pulled_not_pushed: list(pulled_only())
            .await?
            .into_iter()
            .map(difference)
            .collect(),
        amount_mismatches: list(mismatched())
            .await?
            .into_iter()
            .map(difference)
            .collect(),
    })
}
