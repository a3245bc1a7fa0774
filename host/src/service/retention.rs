//! Retention of webhook deliveries: refused ones (`rejected`, `malformed`) are deleted after
//! `rejected_retention_days`; accepted ones keep their row, but their raw body is dropped after
//! `accepted_body_retention_days` (their events were applied when they were accepted). Orders,
//! refunds, events and deliveries kept for replay (`failed`) are never touched.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::Result;
use crate::store::entities::webhook_delivery;
use crate::store::leases::{Holding, Leases};

/// What is kept how long; `None`: forever.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub refused: Option<chrono::Duration>,
    pub accepted_bodies: Option<chrono::Duration>,
    /// How often the job runs.
    pub every: Duration,
}

/// What one run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub refused_deleted: u64,
    pub bodies_dropped: u64,
}

/// One run of the policy as of `now`.
pub async fn run_once(
    db: &DatabaseConnection,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    if let Some(keep) = policy.refused {
        pruned.refused_deleted = webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::Status.is_in(["rejected", "malformed"]))
            .filter(webhook_delivery::Column::ReceivedAt.lt(now - keep))
            .exec(db)
            .await?
            .rows_affected;
    }
    if let Some(keep) = policy.accepted_bodies {
        pruned.bodies_dropped = webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::SizeBytes,
                Expr::cust("COALESCE(size_bytes, CAST(length(body) AS BIGINT))"),
            )
            .col_expr(
                webhook_delivery::Column::Body,
                Expr::value(Vec::<u8>::new()),
            )
            .filter(webhook_delivery::Column::Status.eq("accepted"))
            .filter(webhook_delivery::Column::ReceivedAt.lt(now - keep))
            .filter(Expr::cust("length(body) > 0"))
            .exec(db)
            .await?
            .rows_affected;
    }
    if pruned != Pruned::default() {
        tracing::info!(
            refused_deleted = pruned.refused_deleted,
            bodies_dropped = pruned.bodies_dropped,
            "retention: old deliveries pruned"
        );
    }
    metrics::counter!("kolhost_retention_deleted_total", "what" => "refused_deliveries")
        .increment(pruned.refused_deleted);
    metrics::counter!("kolhost_retention_deleted_total", "what" => "accepted_bodies")
        .increment(pruned.bodies_dropped);
    Ok(pruned)
}

/// The lease the retention job runs under.
pub const LEASE: &str = "job:retention";

/// Runs the policy every `policy.every` for as long as the process lives, on the one host that
/// holds the job's lease (on SQLite: this host); another host takes over within a lease length
/// of the holder's death, and runs the job at once.
pub fn spawn(db: DatabaseConnection, policy: Policy, leases: Leases) {
    tokio::spawn(async move {
        let mut holding: Option<Holding> = None;
        let mut last: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1).min(policy.every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if holding.as_ref().is_some_and(|h| h.current().is_none()) {
                holding = None;
                last = None;
            }
            if holding.is_none() {
                match leases.hold(LEASE).await {
                    Ok(h) => holding = h,
                    Err(e) => tracing::warn!(error = %e, "taking the retention lease failed"),
                }
            }
            if holding.is_none() || last.is_some_and(|t| t.elapsed() < policy.every) {
                continue;
            }
            last = Some(Instant::now());
            if let Err(e) = run_once(&db, &policy, Utc::now()).await {
                tracing::warn!(error = %e, "retention run failed; trying again later");
            }
        }
    });
}
