//! Settlements (design §6a): a contract's settlement for a period, its approval, and its
//! statement as CSV. The arithmetic and its definitions are in [`crate::domain::settlement`].
//!
//! Computing a draft of the same contract and period again supersedes the older draft (kept,
//! status `superseded`). Approval makes a draft immutable: it is never recomputed or edited, and
//! what arrives later for its orders (refunds, late-settled orders) is carried into the
//! contract's next settlement as adjustment lines. Approved settlements of one contract never
//! overlap in period, so no order is counted twice.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::actor::{Actor, MANAGERS, Scope};
use crate::domain::money;
use crate::domain::settlement::{self as calc, Guarantee, Line, Totals};
use crate::domain::{ContractStatus, GuaranteeRemedy, TaxStatus, Validator};
use crate::service::visibility;
use crate::service::{Error, Page, PageRequest, Result};
use crate::store::entities::{
    contract, kol, order, session, session_slot, settlement, settlement_item,
};
use crate::store::{self, audit};

pub const DRAFT: &str = "draft";
pub const APPROVED: &str = "approved";
pub const SUPERSEDED: &str = "superseded";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Settlement {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    /// The contract version whose terms were applied.
    pub contract_version: i32,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// `draft`, `superseded` or `approved` (immutable).
    pub status: String,
    /// Whether this settlement assessed the contract's GMV guarantee.
    pub guarantee_assessed: bool,
    pub commission_bp: i64,
    pub revenue_share_bp: i64,
    pub tax_status: TaxStatus,
    #[serde(flatten)]
    pub totals: Totals,
    /// Every amount with how it was computed.
    pub lines: Vec<Line>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSettlement {
    pub contract_id: Uuid,
    /// Start of the period, inclusive.
    pub period_start: DateTime<Utc>,
    /// End of the period, exclusive.
    pub period_end: DateTime<Utc>,
}

/// Which settlements to list.
#[derive(Debug, Default)]
pub struct SettlementQuery {
    pub contract_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
    /// `draft`, `superseded` or `approved`.
    pub status: Option<String>,
}

/// A CSV download: its file name and its RFC 4180 body.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub filename: String,
    pub body: String,
}

/// Settlements, newest last (brand and KOL tokens: only their own).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: SettlementQuery,
    page: PageRequest,
) -> Result<Page<Settlement>> {
    let mut q = settlement::Entity::find();
    match actor.scope() {
        Scope::All => {}
        Scope::Brand(b) => q = q.filter(settlement::Column::BrandId.eq(b)),
        Scope::Kol(k) => q = q.filter(settlement::Column::KolId.eq(k)),
    }
    if let Some(c) = query.contract_id {
        q = q.filter(settlement::Column::ContractId.eq(c));
    }
    if let Some(b) = query.brand_id {
        q = q.filter(settlement::Column::BrandId.eq(b));
    }
    if let Some(k) = query.kol_id {
        q = q.filter(settlement::Column::KolId.eq(k));
    }
    if let Some(st) = &query.status {
        if ![DRAFT, APPROVED, SUPERSEDED].contains(&st.as_str()) {
            return Err(Error::BadRequest(
                "status must be draft, superseded or approved".into(),
            ));
        }
        q = q.filter(settlement::Column::Status.eq(st.as_str()));
    }
    let Page { items, next_cursor } = page.fetch(db, q, settlement::Column::Id).await?;
    let items = items
        .into_iter()
        .map(Settlement::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page { items, next_cursor })
}

pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<Settlement> {
    Settlement::try_from(visibility::find::<settlement::Entity, _>(db, actor, id).await?)
}

/// Computes a draft settlement of a contract for `[period_start, period_end)` (manager, admin).
pub async fn compute(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewSettlement,
) -> Result<Settlement> {
    actor.require(MANAGERS)?;
    let mut v = Validator::new();
    v.check(
        input.period_end > input.period_start,
        "period_end",
        "must be after period_start",
    );
    v.check(
        input.period_end - input.period_start <= chrono::Duration::days(3660),
        "period_end",
        "a settlement period lasts at most 10 years",
    );
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let c = visibility::find::<contract::Entity, _>(&txn, actor, input.contract_id)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::field("contract_id", "no such contract"),
            other => other,
        })?;
    let status = ContractStatus::parse(&c.status).unwrap_or(ContractStatus::Draft);
    if matches!(
        status,
        ContractStatus::Draft | ContractStatus::Proposed | ContractStatus::Cancelled
    ) {
        return Err(Error::Conflict(format!(
            "a {status} contract was never signed and has nothing to settle"
        )));
    }
    if input.period_end <= c.starts_at {
        return Err(Error::field(
            "period_end",
            format!(
                "the period ends before the contract starts ({})",
                c.starts_at.to_rfc3339()
            ),
        ));
    }
    let k = kol::Entity::find_by_id(c.kol_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("contract {} lacks its KOL", c.id)))?;
    let approved = approved_of(&txn, c.id).await?;
    if let Some(o) = overlapping(&approved, input.period_start, input.period_end, None) {
        return Err(overlap_error(o));
    }
    let calc_input = gather(
        &txn,
        &c,
        &k,
        &approved,
        input.period_start,
        input.period_end,
    )
    .await?;
    let computed = calc::compute(&calc_input);

    // An older draft of the same contract and period is superseded, not deleted.
    settlement::Entity::update_many()
        .col_expr(settlement::Column::Status, Expr::value(SUPERSEDED))
        .filter(settlement::Column::ContractId.eq(c.id))
        .filter(settlement::Column::PeriodStart.eq(input.period_start))
        .filter(settlement::Column::PeriodEnd.eq(input.period_end))
        .filter(settlement::Column::Status.eq(DRAFT))
        .exec(&txn)
        .await?;
    let id = Uuid::now_v7();
    let t = &computed.totals;
    let row = settlement::ActiveModel {
        id: Set(id),
        contract_id: Set(c.id),
        brand_id: Set(c.brand_id),
        kol_id: Set(c.kol_id),
        contract_version: Set(c.version),
        period_start: Set(input.period_start),
        period_end: Set(input.period_end),
        status: Set(DRAFT.into()),
        guarantee_assessed: Set(computed.guarantee_assessed),
        commission_bp: Set(c.commission_bp),
        revenue_share_bp: Set(k.revenue_share_bp),
        tax_status: Set(calc_input.payee.tax_status.as_str().into()),
        order_count: Set(t.order_count),
        gmv_fen: Set(t.gmv_fen),
        refunds_fen: Set(t.refunds_fen),
        adjustments_fen: Set(t.adjustments_fen),
        net_gmv_fen: Set(t.net_gmv_fen),
        commission_fen: Set(t.commission_fen),
        slot_fees_fen: Set(t.slot_fees_fen),
        guarantee_shortfall_fen: Set(t.guarantee_shortfall_fen),
        guarantee_refund_fen: Set(t.guarantee_refund_fen),
        platform_fees_fen: Set(t.platform_fees_fen),
        kol_share_fen: Set(t.kol_share_fen),
        tax_withheld_fen: Set(t.tax_withheld_fen),
        brand_payable_fen: Set(t.brand_payable_fen),
        kol_payable_fen: Set(t.kol_payable_fen),
        lines: Set(serde_json::to_value(&computed.lines).map_err(|e| Error::Internal(e.into()))?),
        created_by: Set(actor.name.clone()),
        created_at: Set(Utc::now()),
        approved_by: Set(None),
        approved_at: Set(None),
    }
    .insert(&txn)
    .await?;
    for item in &computed.items {
        settlement_item::ActiveModel {
            id: Set(Uuid::now_v7()),
            settlement_id: Set(id),
            order_id: Set(item.order_id),
            kind: Set(item.kind.into()),
            paid_fen: Set(item.paid_fen),
            refunded_fen: Set(item.refunded_fen),
        }
        .insert(&txn)
        .await?;
    }
    let view = Settlement::try_from(row)?;
    audit::record(
        &txn,
        actor,
        "settlement.compute",
        "settlement",
        id,
        None::<&Settlement>,
        Some(&view),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Approves a draft settlement (manager, admin): from now on it is immutable. A settlement
/// already approved, superseded, or stale (another approval counted the same orders since it
/// was computed: compute it again) is a conflict.
pub async fn approve(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<Settlement> {
    actor.require(MANAGERS)?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find_for_write::<settlement::Entity, _>(&txn, id).await?;
    let before = Settlement::try_from(row.clone())?;
    if row.status != DRAFT {
        return Err(Error::Conflict(format!(
            "the settlement is {}; only a draft is approved, and an approved settlement never changes",
            row.status
        )));
    }
    let approved = approved_of(&txn, row.contract_id).await?;
    if let Some(o) = overlapping(&approved, row.period_start, row.period_end, Some(id)) {
        return Err(overlap_error(o));
    }
    if row.guarantee_assessed && approved.iter().any(|a| a.guarantee_assessed) {
        return Err(stale());
    }
    // What approved settlements counted of this one's orders must leave room for it.
    let items = settlement_item::Entity::find()
        .filter(settlement_item::Column::SettlementId.eq(id))
        .all(&txn)
        .await?;
    let counted = counted_by(&txn, &approved).await?;
    let order_ids: Vec<Uuid> = items.iter().map(|i| i.order_id).collect();
    let orders: HashMap<Uuid, order::Model> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    for item in &items {
        let (paid, refunded, _) = counted.get(&item.order_id).copied().unwrap_or_default();
        let now_refunded = orders.get(&item.order_id).map_or(0, |o| o.refunded_fen);
        if (item.kind != "late_refund" && paid != 0) || refunded + item.refunded_fen > now_refunded
        {
            return Err(stale());
        }
    }
    let now = Utc::now();
    // Conditional on still being a draft, so two approvals cannot both win.
    let done = settlement::Entity::update_many()
        .col_expr(settlement::Column::Status, Expr::value(APPROVED))
        .col_expr(
            settlement::Column::ApprovedBy,
            Expr::value(actor.name.clone()),
        )
        .col_expr(settlement::Column::ApprovedAt, Expr::value(now))
        .filter(settlement::Column::Id.eq(id))
        .filter(settlement::Column::Status.eq(DRAFT))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(Error::Conflict(
            "the settlement is no longer a draft".into(),
        ));
    }
    let after =
        Settlement::try_from(visibility::find_for_write::<settlement::Entity, _>(&txn, id).await?)?;
    audit::record(
        &txn,
        actor,
        "settlement.approve",
        "settlement",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The settlement as CSV: one row per line, each with the settlement's identity and `how`.
pub async fn statement_csv(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<CsvFile> {
    let st = get(db, actor, id).await?;
    let mut out = String::from(
        "settlement_id,contract_id,brand_id,kol_id,period_start,period_end,status,line,kind,label,amount_fen,amount_yuan,how\r\n",
    );
    for (i, l) in st.lines.iter().enumerate() {
        let row = [
            st.id.to_string(),
            st.contract_id.to_string(),
            st.brand_id.to_string(),
            st.kol_id.to_string(),
            st.period_start.to_rfc3339(),
            st.period_end.to_rfc3339(),
            st.status.clone(),
            (i + 1).to_string(),
            l.kind.clone(),
            l.label.clone(),
            l.amount_fen.to_string(),
            money::yuan(l.amount_fen),
            l.how.clone(),
        ];
        out.push_str(&csv_row(&row));
    }
    Ok(CsvFile {
        filename: format!("settlement-{}.csv", st.id),
        body: out,
    })
}

/// One CSV record (RFC 4180), CRLF-terminated.
pub fn csv_row(fields: &[String]) -> String {
    let mut row = fields
        .iter()
        .map(|f| {
            // A leading =, +, - or @ would be a formula in a spreadsheet; quote it as text.
            let f = if f.starts_with(['=', '+', '@']) {
                format!("'{f}")
            } else {
                f.clone()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    row.push_str("\r\n");
    row
}

async fn approved_of<C: ConnectionTrait>(
    db: &C,
    contract_id: Uuid,
) -> Result<Vec<settlement::Model>> {
    Ok(settlement::Entity::find()
        .filter(settlement::Column::ContractId.eq(contract_id))
        .filter(settlement::Column::Status.eq(APPROVED))
        .order_by_asc(settlement::Column::PeriodStart)
        .all(db)
        .await?)
}

fn overlapping(
    approved: &[settlement::Model],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<Uuid>,
) -> Option<&settlement::Model> {
    approved
        .iter()
        .find(|a| Some(a.id) != except && a.period_start < end && start < a.period_end)
}

fn overlap_error(o: &settlement::Model) -> Error {
    Error::Conflict(format!(
        "approved settlement {} already covers [{}, {}) of this contract; approved settlements do not change, so later refunds are carried into the next period",
        o.id,
        o.period_start.to_rfc3339(),
        o.period_end.to_rfc3339()
    ))
}

fn stale() -> Error {
    Error::Conflict(
        "another approved settlement has counted some of these orders, refunds or the guarantee since this one was computed; compute it again".into(),
    )
}

/// Per order: (GMV counted, refunds counted, the last approved settlement counting it).
async fn counted_by<C: ConnectionTrait>(
    db: &C,
    approved: &[settlement::Model],
) -> Result<HashMap<Uuid, (i64, i64, Uuid)>> {
    let mut out: HashMap<Uuid, (i64, i64, Uuid)> = HashMap::new();
    if approved.is_empty() {
        return Ok(out);
    }
    let ids: Vec<Uuid> = approved.iter().map(|a| a.id).collect();
    for item in settlement_item::Entity::find()
        .filter(settlement_item::Column::SettlementId.is_in(ids))
        .order_by_asc(settlement_item::Column::Id)
        .all(db)
        .await?
    {
        let e = out
            .entry(item.order_id)
            .or_insert((0, 0, item.settlement_id));
        e.0 += item.paid_fen;
        e.1 += item.refunded_fen;
        e.2 = item.settlement_id;
    }
    Ok(out)
}

/// Reads what the computation needs: orders, carried adjustments, slots, guarantee figures.
async fn gather<C: ConnectionTrait>(
    db: &C,
    c: &contract::Model,
    k: &kol::Model,
    approved: &[settlement::Model],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<calc::Input> {
    let counted = counted_by(db, approved).await?;
    let orders = order::Entity::find()
        .filter(order::Column::ContractId.eq(c.id))
        .filter(order::Column::Attributed.eq(true))
        .filter(order::Column::SettledAt.is_not_null())
        .filter(order::Column::Status.ne("void"))
        .order_by_asc(order::Column::SettledAt)
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let facts = |o: &order::Model| calc::OrderFacts {
        id: o.id,
        paid_fen: o.paid_fen,
        refunded_fen: o.refunded_fen,
        platform_commission_fen: o.platform_commission_fen,
    };
    let mut in_period = Vec::new();
    let mut late_orders = Vec::new();
    let mut late_refunds = Vec::new();
    let mut total_net = 0i64;
    let mut total_orders = 0usize;
    for o in &orders {
        let Some(settled_at) = o.settled_at else {
            continue;
        };
        if settled_at < end {
            total_net += o.paid_fen - o.refunded_fen;
            total_orders += 1;
        }
        if let Some((_, refunded, by)) = counted.get(&o.id) {
            let carried = o.refunded_fen - refunded;
            if carried != 0 {
                late_refunds.push(calc::LateRefund {
                    order_id: o.id,
                    refunded_fen: carried,
                    approved_in: *by,
                });
            }
        } else if start <= settled_at && settled_at < end {
            in_period.push(facts(o));
        } else if let Some(a) = approved
            .iter()
            .find(|a| a.period_start <= settled_at && settled_at < a.period_end)
        {
            late_orders.push(calc::LateOrder {
                order: facts(o),
                approved_in: a.id,
            });
        }
    }

    let slot_rows = session_slot::Entity::find()
        .filter(session_slot::Column::ContractId.eq(c.id))
        .all(db)
        .await?;
    let session_ids: BTreeSet<Uuid> = slot_rows.iter().map(|s| s.session_id).collect();
    let sessions: HashMap<Uuid, session::Model> = if session_ids.is_empty() {
        HashMap::new()
    } else {
        session::Entity::find()
            .filter(session::Column::Id.is_in(session_ids))
            .filter(session::Column::Status.ne("cancelled"))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    let mut slots = Vec::new();
    let mut slots_to_end = 0usize;
    for slot in &slot_rows {
        let Some(sess) = sessions.get(&slot.session_id) else {
            continue;
        };
        if sess.starts_at < end {
            slots_to_end += 1;
        }
        if start <= sess.starts_at && sess.starts_at < end {
            slots.push(calc::SlotFacts {
                session_id: sess.id,
                starts_at: sess.starts_at,
            });
        }
    }

    let guarantee = match c.gmv_guarantee_fen {
        Some(_) if end >= c.ends_at => match approved.iter().find(|a| a.guarantee_assessed) {
            Some(a) => Guarantee::Assessed {
                settlement_id: a.id,
            },
            None => Guarantee::Due {
                total_net_gmv_fen: total_net,
                settled_orders: total_orders,
                total_slot_fees_fen: slots_to_end as i64 * c.slot_fee_fen,
                total_slots: slots_to_end,
            },
        },
        _ => Guarantee::NotDue,
    };
    Ok(calc::Input {
        terms: calc::Terms {
            version: c.version,
            commission_bp: c.commission_bp,
            slot_fee_fen: c.slot_fee_fen,
            gmv_guarantee_fen: c.gmv_guarantee_fen,
            guarantee_remedy: GuaranteeRemedy::parse(&c.guarantee_remedy)
                .unwrap_or(GuaranteeRemedy::None),
            ends_at: c.ends_at,
        },
        payee: calc::Payee {
            revenue_share_bp: k.revenue_share_bp,
            tax_status: TaxStatus::parse(&k.tax_status).unwrap_or(TaxStatus::Individual),
        },
        period_start: start,
        period_end: end,
        orders: in_period,
        late_orders,
        late_refunds,
        slots,
        guarantee,
    })
}

impl TryFrom<settlement::Model> for Settlement {
    type Error = Error;

    fn try_from(m: settlement::Model) -> Result<Self> {
        let lines: Vec<Line> =
            serde_json::from_value(m.lines).map_err(|e| Error::Internal(e.into()))?;
        Ok(Settlement {
            id: m.id,
            contract_id: m.contract_id,
            brand_id: m.brand_id,
            kol_id: m.kol_id,
            contract_version: m.contract_version,
            period_start: m.period_start,
            period_end: m.period_end,
            status: m.status,
            guarantee_assessed: m.guarantee_assessed,
            commission_bp: m.commission_bp,
            revenue_share_bp: m.revenue_share_bp,
            tax_status: TaxStatus::parse(&m.tax_status).unwrap_or(TaxStatus::Individual),
            totals: Totals {
                order_count: m.order_count,
                gmv_fen: m.gmv_fen,
                refunds_fen: m.refunds_fen,
                adjustments_fen: m.adjustments_fen,
                net_gmv_fen: m.net_gmv_fen,
                commission_fen: m.commission_fen,
                slot_fees_fen: m.slot_fees_fen,
                guarantee_shortfall_fen: m.guarantee_shortfall_fen,
                guarantee_refund_fen: m.guarantee_refund_fen,
                platform_fees_fen: m.platform_fees_fen,
                kol_share_fen: m.kol_share_fen,
                tax_withheld_fen: m.tax_withheld_fen,
                brand_payable_fen: m.brand_payable_fen,
                kol_payable_fen: m.kol_payable_fen,
                tax_payable_fen: m.tax_withheld_fen,
            },
            lines,
            created_by: m.created_by,
            created_at: m.created_at,
            approved_by: m.approved_by,
            approved_at: m.approved_at,
        })
    }
}
