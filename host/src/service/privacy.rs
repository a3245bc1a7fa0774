//! What each party may read of a record it can see (design §3): a brand sees a settlement's
//! GMV, refunds, commission, slot fees, guarantee and what the brand pays, and a KOL's public
//! profile, but never the KOL's share, tax, payout, revenue share, tax status or tax identity.
//! [`crate::service::visibility`] decides which records an actor sees; this module decides, in
//! one place, which fields: brand views are their own types, so a private field cannot leak by
//! a forgotten `if`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::roster::kols::{Account, Kol};
use super::settlement::Settlement;
use crate::domain::settlement::Line;
use crate::domain::{Actor, Role, Tier};

/// Settlement lines a brand reads; every other kind (the KOL's share, tax and payouts) is the
/// agency's and the KOL's business.
pub const BRAND_LINES: &[&str] = &[
    "gmv",
    "refunds",
    "adjustment_late_order",
    "adjustment_late_refund",
    "net_gmv",
    "commission",
    "slot_fees",
    "guarantee_shortfall",
    "guarantee_remedy",
    "platform_fees",
    "payable_brand_to_agency",
];

/// Whether `actor` reads brand views.
pub fn is_brand(actor: &Actor) -> bool {
    actor.role == Role::Brand
}

/// A settlement as its brand reads it: exactly these fields (`additionalProperties: false`), so
/// a full settlement never also reads as one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandSettlement {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    pub contract_version: i32,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub status: String,
    pub guarantee_assessed: bool,
    pub commission_bp: i64,
    pub order_count: i64,
    pub gmv_fen: i64,
    pub refunds_fen: i64,
    pub adjustments_fen: i64,
    pub net_gmv_fen: i64,
    pub commission_fen: i64,
    pub slot_fees_fen: i64,
    pub guarantee_shortfall_fen: Option<i64>,
    pub guarantee_refund_fen: i64,
    pub platform_fees_fen: i64,
    pub brand_payable_fen: i64,
    pub lines: Vec<Line>,
    pub created_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// A settlement as the actor may read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SettlementView {
    Full(Box<Settlement>),
    Brand(Box<BrandSettlement>),
}

impl From<&Settlement> for BrandSettlement {
    fn from(s: &Settlement) -> Self {
        let t = &s.totals;
        BrandSettlement {
            id: s.id,
            contract_id: s.contract_id,
            brand_id: s.brand_id,
            kol_id: s.kol_id,
            contract_version: s.contract_version,
            period_start: s.period_start,
            period_end: s.period_end,
            status: s.status.clone(),
            guarantee_assessed: s.guarantee_assessed,
            commission_bp: s.commission_bp,
            order_count: t.order_count,
            gmv_fen: t.gmv_fen,
            refunds_fen: t.refunds_fen,
            adjustments_fen: t.adjustments_fen,
            net_gmv_fen: t.net_gmv_fen,
            commission_fen: t.commission_fen,
            slot_fees_fen: t.slot_fees_fen,
            guarantee_shortfall_fen: t.guarantee_shortfall_fen,
            guarantee_refund_fen: t.guarantee_refund_fen,
            platform_fees_fen: t.platform_fees_fen,
            brand_payable_fen: t.brand_payable_fen,
            lines: brand_lines(&s.lines),
            created_at: s.created_at,
            approved_at: s.approved_at,
        }
    }
}

/// The lines a brand reads.
pub fn brand_lines(lines: &[Line]) -> Vec<Line> {
    lines
        .iter()
        .filter(|l| BRAND_LINES.contains(&l.kind.as_str()))
        .cloned()
        .collect()
}

/// The settlement as `actor` may read it.
pub fn settlement(actor: &Actor, s: Settlement) -> SettlementView {
    if is_brand(actor) {
        SettlementView::Brand(Box::new(BrandSettlement::from(&s)))
    } else {
        SettlementView::Full(Box::new(s))
    }
}

/// A KOL as a brand reads it: the public profile.
/// Exactly these fields (`additionalProperties: false`), so a full [`Kol`] never also reads as one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandKol {
    pub id: Uuid,
    pub name: String,
    pub tier: Tier,
    pub categories: Vec<String>,
    pub accounts: Vec<Account>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A KOL as the actor may read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum KolView {
    Full(Box<Kol>),
    Brand(BrandKol),
}

/// The KOL as `actor` may read it.
pub fn kol(actor: &Actor, k: Kol) -> KolView {
    if is_brand(actor) {
        KolView::Brand(BrandKol {
            id: k.id,
            name: k.name,
            tier: k.tier,
            categories: k.categories,
            accounts: k.accounts,
            created_at: k.created_at,
            updated_at: k.updated_at,
        })
    } else {
        KolView::Full(Box::new(k))
    }
}
