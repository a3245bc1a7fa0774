//! Settlements (design §6a): a contract's settlement for a period, month-end batches and
//! approval (statements: [`super::statements`]). The arithmetic and its definitions are in [`crate::domain::settlement`].
//!
//! Computing a draft of the same contract and period again supersedes the older draft (kept,
//! status `superseded`). Approval makes a draft immutable: it is never recomputed or edited, and
//! what arrives later for its orders (refunds, late-settled orders) is carried into the
//! contract's next settlement as adjustment lines. Approved settlements of one contract never
//! overlap in period, so no order is counted twice.
//!
//! A period may not end in the future (422 `period_in_future`): what has not happened yet is
//! not settled. Slot fees count the sessions that took place: not cancelled and started before
//! the computation time (a session still `scheduled` whose start has passed counts; one that
//! has not started does not). The GMV guarantee is assessed once, by the first settlement whose
//! period reaches the contract's end after that end has passed, or the termination time of a
//! terminated contract.
//!
//! Income tax is withheld by the month ([`crate::domain::tax::monthly`]): a draft shows the
//! withholding as if approved when computed; approval fixes it against what was approved to the
//! KOL in the CST month of the approval (the KOL's row is locked, so two approvals for one KOL
//! take turns). Approval needs four eyes (403 `four_eyes` when the approver computed it, unless
//! `four_eyes = false`) and, for an individual KOL who is paid, a tax identity (422
//! `tax_identity_missing`).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::Config;
use crate::domain::actor::{Actor, MANAGERS, Scope};
use crate::domain::contract::ContractTerms;
use crate::domain::settlement::{self as calc, Guarantee, Line, Totals};
use crate::domain::tax::{self, MonthContext};
use crate::domain::{ContractStatus, FieldError, GuaranteeRemedy, TaxMethod, TaxStatus, Validator};
use crate::service::privacy::{self, SettlementView};
use crate::service::visibility;
use crate::service::{Error, Page, PageRequest, Result};
use crate::store::entities::{
    contract, contract_version, kol, order, session, session_slot, settlement, settlement_item,
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

/// The settings approval and withholding follow (from the server's configuration).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Whether the approver must differ from who computed the settlement.
    pub four_eyes: bool,
    pub tax_method: TaxMethod,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            four_eyes: true,
            tax_method: TaxMethod::PerMonth,
        }
    }
}

impl From<&Config> for Policy {
    fn from(c: &Config) -> Self {
        Policy {
            four_eyes: c.four_eyes,
            tax_method: c.tax_method,
        }
    }
}

/// Month-end in one request: drafts for every contract with activity in the period.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
}

/// A contract the batch made no draft for, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Skipped {
    pub contract_id: Uuid,
    /// `no_activity`, `already_approved`, `not_signed` or `starts_after_period`.
    pub reason_code: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResult {
    pub created: Vec<Settlement>,
    pub skipped: Vec<Skipped>,
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
) -> Result<Page<SettlementView>> {
    // Scripters and integrators read no money.
    visibility::require_money_reader(actor)?;
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
        .map(|m| Ok(privacy::settlement(actor, Settlement::try_from(m)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page { items, next_cursor })
}

/// One settlement, as the actor may read it (brands: [`privacy::BrandSettlement`]).
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<SettlementView> {
    Ok(privacy::settlement(actor, get_full(db, actor, id).await?))
}

/// One visible settlement with every field; callers filter it for the actor.
pub(crate) async fn get_full<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: Uuid,
) -> Result<Settlement> {
    visibility::require_money_reader(actor)?;
    Settlement::try_from(visibility::find::<settlement::Entity, _>(db, actor, id).await?)
}

/// Checks a period: it ends after it starts, lasts at most 10 years and has ended.
fn check_period(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    let mut v = Validator::new();
    v.after(end, start, "period_end", "period_start");
    v.check_with(end - start <= chrono::Duration::days(3660), || {
        FieldError::new(
            "period_end",
            "period_too_long",
            "a settlement period lasts at most 10 years",
        )
        .with_param("max_years", 10)
    });
    v.finish()?;
    if end > now {
        return Err(Error::rule(
            "period_in_future",
            Some("period_end"),
            format!(
                "the period ends in the future ({}); only what has happened is settled",
                end.to_rfc3339()
            ),
        ));
    }
    Ok(())
}

/// Computes a draft settlement of a contract for `[period_start, period_end)` (manager, admin).
pub async fn compute(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewSettlement,
    policy: &Policy,
) -> Result<Settlement> {
    actor.require(MANAGERS)?;
    let now = Utc::now();
    check_period(input.period_start, input.period_end, now)?;
    let txn = store::write_txn(db).await?;
    let c = visibility::find::<contract::Entity, _>(&txn, actor, input.contract_id)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => FieldError::unknown("contract_id", "contract").into(),
            other => other,
        })?;
    let status = ContractStatus::parse(&c.status).unwrap_or(ContractStatus::Draft);
    if matches!(
        status,
        ContractStatus::Draft | ContractStatus::Proposed | ContractStatus::Cancelled
    ) {
        return Err(Error::conflict(
            "never_signed",
            format!("a {status} contract was never signed and has nothing to settle"),
        )
        .with_param("status", status.to_string()));
    }
    if input.period_end <= c.starts_at {
        return Err(FieldError::new(
            "period_end",
            "before_contract",
            format!(
                "the period ends before the contract starts ({})",
                c.starts_at.to_rfc3339()
            ),
        )
        .with_param("starts_at", c.starts_at.to_rfc3339())
        .into());
    }
    let approved = approved_of(&txn, c.id).await?;
    if let Some(o) = overlapping(&approved, input.period_start, input.period_end, None) {
        return Err(overlap_error(o));
    }
    let draft = prepare(
        &txn,
        &c,
        &approved,
        input.period_start,
        input.period_end,
        policy,
        now,
    )
    .await?;
    let view = store_draft(&txn, actor, &c, draft).await?;
    txn.commit().await?;
    Ok(view)
}

/// Drafts for every contract with activity in `[period_start, period_end)`: orders settled (or
/// carried) in it, slots held in it, or a guarantee due. One transaction: all the drafts or none.
pub async fn batch(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewBatch,
    policy: &Policy,
) -> Result<BatchResult> {
    actor.require(MANAGERS)?;
    let now = Utc::now();
    let (start, end) = (input.period_start, input.period_end);
    check_period(start, end, now)?;
    let txn = store::write_txn(db).await?;
    let contracts = contract::Entity::find()
        .filter(contract::Column::Status.ne(ContractStatus::Cancelled.as_str()))
        .order_by_asc(contract::Column::Id)
        .all(&txn)
        .await?;
    let mut created = Vec::new();
    let mut skipped = Vec::new();
    let mut skip = |c: &contract::Model, code: &str, reason: String| {
        skipped.push(Skipped {
            contract_id: c.id,
            reason_code: code.into(),
            reason,
        })
    };
    for c in &contracts {
        let status = ContractStatus::parse(&c.status).unwrap_or(ContractStatus::Draft);
        if matches!(status, ContractStatus::Draft | ContractStatus::Proposed) {
            if c.starts_at < end && start < c.ends_at {
                skip(
                    c,
                    "not_signed",
                    format!("a {status} contract was never signed and has nothing to settle"),
                );
            }
            continue;
        }
        if end <= c.starts_at {
            skip(
                c,
                "starts_after_period",
                format!(
                    "the contract starts {}, after the period",
                    c.starts_at.to_rfc3339()
                ),
            );
            continue;
        }
        let approved = approved_of(&txn, c.id).await?;
        if let Some(o) = overlapping(&approved, start, end, None) {
            skip(
                c,
                "already_approved",
                format!(
                    "approved settlement {} already covers [{}, {})",
                    o.id,
                    o.period_start.to_rfc3339(),
                    o.period_end.to_rfc3339()
                ),
            );
            continue;
        }
        let draft = prepare(&txn, c, &approved, start, end, policy, now).await?;
        if !draft.has_activity() {
            skip(
                c,
                "no_activity",
                "no order settled or carried, no slot held and no guarantee due in the period"
                    .into(),
            );
            continue;
        }
        created.push(store_draft(&txn, actor, c, draft).await?);
    }
    txn.commit().await?;
    Ok(BatchResult { created, skipped })
}

/// A computed draft, not yet stored.
struct Draft {
    kol: kol::Model,
    input: calc::Input,
    computed: calc::Computed,
}

impl Draft {
    fn has_activity(&self) -> bool {
        !self.computed.items.is_empty()
            || !self.input.slots.is_empty()
            || matches!(self.input.guarantee, Guarantee::Due { .. })
    }
}

async fn prepare(
    txn: &DatabaseTransaction,
    c: &contract::Model,
    approved: &[settlement::Model],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Draft> {
    let k = kol::Entity::find_by_id(c.kol_id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("contract {} lacks its KOL", c.id)))?;
    let tax = month_context(txn, k.id, now, policy.tax_method, None).await?;
    let input = gather(txn, c, &k, approved, start, end, now, tax).await?;
    let computed = calc::compute(&input);
    Ok(Draft {
        kol: k,
        input,
        computed,
    })
}

/// Stores a draft (superseding an older draft of the same contract and period) with its items
/// and its audit row.
async fn store_draft(
    txn: &DatabaseTransaction,
    actor: &Actor,
    c: &contract::Model,
    d: Draft,
) -> Result<Settlement> {
    let (start, end) = (d.input.period_start, d.input.period_end);
    // An older draft of the same contract and period is superseded, not deleted.
    settlement::Entity::update_many()
        .col_expr(settlement::Column::Status, Expr::value(SUPERSEDED))
        .filter(settlement::Column::ContractId.eq(c.id))
        .filter(settlement::Column::PeriodStart.eq(start))
        .filter(settlement::Column::PeriodEnd.eq(end))
        .filter(settlement::Column::Status.eq(DRAFT))
        .exec(txn)
        .await?;
    let id = Uuid::now_v7();
    let t = &d.computed.totals;
    // The terms in force at the period's end name the settlement's version.
    let last = d.input.terms.at(end - chrono::Duration::seconds(1));
    let row = settlement::ActiveModel {
        id: Set(id),
        contract_id: Set(c.id),
        brand_id: Set(c.brand_id),
        kol_id: Set(c.kol_id),
        contract_version: Set(last.version),
        period_start: Set(start),
        period_end: Set(end),
        status: Set(DRAFT.into()),
        guarantee_assessed: Set(d.computed.guarantee_assessed),
        commission_bp: Set(last.commission_bp),
        revenue_share_bp: Set(d.kol.revenue_share_bp),
        tax_status: Set(d.input.payee.tax_status.as_str().into()),
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
        lines: Set(serde_json::to_value(&d.computed.lines).map_err(|e| Error::Internal(e.into()))?),
        created_by: Set(actor.name.clone()),
        created_at: Set(Utc::now()),
        approved_by: Set(None),
        approved_at: Set(None),
        month_income_fen: Set(t.month_income_fen),
        month_tax_due_fen: Set(t.month_tax_due_fen),
        month_tax_withheld_before_fen: Set(t.month_tax_withheld_before_fen),
        created_by_token_id: Set(actor.token_id),
    }
    .insert(txn)
    .await?;
    for item in &d.computed.items {
        settlement_item::ActiveModel {
            id: Set(Uuid::now_v7()),
            settlement_id: Set(id),
            order_id: Set(item.order_id),
            kind: Set(item.kind.into()),
            paid_fen: Set(item.paid_fen),
            refunded_fen: Set(item.refunded_fen),
        }
        .insert(txn)
        .await?;
    }
    let view = Settlement::try_from(row)?;
    audit::wrote(txn, actor, "settlement.compute", ("settlement", id), &view).await?;
    Ok(view)
}

/// What was approved to `kol_id` earlier in the withholding window of `at` (the CST month;
/// the CST year for the cumulative method), leaving out `except`.
async fn month_context<C: ConnectionTrait>(
    db: &C,
    kol_id: Uuid,
    at: DateTime<Utc>,
    method: TaxMethod,
    except: Option<Uuid>,
) -> Result<MonthContext> {
    let (month, m_from, m_to) = tax::cst_month(at);
    let (from, to) = match method {
        TaxMethod::PerMonth => (m_from, m_to),
        TaxMethod::Cumulative => tax::cst_year(at),
    };
    let mut q = settlement::Entity::find()
        .filter(settlement::Column::KolId.eq(kol_id))
        .filter(settlement::Column::Status.eq(APPROVED))
        .filter(settlement::Column::ApprovedAt.gte(from))
        .filter(settlement::Column::ApprovedAt.lt(to));
    if let Some(id) = except {
        q = q.filter(settlement::Column::Id.ne(id));
    }
    let rows = q.all(db).await?;
    let mut months: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.approved_at.map(|a| tax::cst_month(a).0))
        .collect();
    months.insert(month.clone());
    Ok(MonthContext {
        method,
        month,
        income_before_fen: rows.iter().map(|r| r.kol_share_fen).sum(),
        withheld_before_fen: rows.iter().map(|r| r.tax_withheld_fen).sum(),
        months_with_income: months.len() as i64,
    })
}

/// Whether `actor` is who computed `row` (the same token; the same name for tokenless actors).
fn same_actor(row: &settlement::Model, actor: &Actor) -> bool {
    match (row.created_by_token_id, actor.token_id) {
        (Some(a), Some(b)) => a == b,
        _ => row.created_by == actor.name,
    }
}

/// Approves a draft settlement (manager, admin): from now on it is immutable. A settlement
/// already approved, superseded, or stale (another approval counted the same orders since it
/// was computed: compute it again) is a conflict. The approver must not be who computed it
/// (four-eyes, unless the policy turns it off); an individual KOL who is paid needs a tax
/// identity. Approval is the payment: the tax withheld is fixed here, against what was
/// approved to the KOL earlier in the CST month of approval.
pub async fn approve(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    policy: &Policy,
) -> Result<Settlement> {
    actor.require(MANAGERS)?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find_for_write::<settlement::Entity, _>(&txn, id).await?;
    let before = Settlement::try_from(row.clone())?;
    if row.status != DRAFT {
        return Err(Error::conflict(
            "not_draft",
            format!(
                "the settlement is {}; only a draft is approved, and an approved settlement never changes",
                row.status
            ),
        )
        .with_param("status", row.status.clone()));
    }
    if policy.four_eyes && same_actor(&row, actor) {
        return Err(Error::Denied {
            code: "four_eyes",
            detail: format!(
                "{} computed this settlement; another admin or manager approves it (four-eyes)",
                row.created_by
            ),
        });
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
    // The KOL's row is locked so approvals to one KOL take turns (PostgreSQL; SQLite's
    // write transaction already serialises them) and each sees the month as the other left it.
    let k = kol::Entity::find_by_id(row.kol_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("settlement {id} lacks its KOL")))?;
    let status = before.tax_status;
    if status == TaxStatus::Individual
        && before.totals.kol_share_fen > 0
        && (k.legal_name.is_none() || k.id_number_sealed.is_none())
    {
        return Err(Error::rule(
            "tax_identity_missing",
            None,
            format!(
                "the settlement pays {} as an individual, and income tax is declared under a legal name and ID number: set the KOL's legal_name, id_type and id_number first",
                k.name
            ),
        ));
    }
    let now = Utc::now();
    let ctx = month_context(&txn, row.kol_id, now, policy.tax_method, Some(id)).await?;
    let mut lines = before.lines.clone();
    let mut totals = before.totals.clone();
    calc::apply_tax(&mut lines, &mut totals, status, &ctx);
    let lines_json = serde_json::to_value(&lines).map_err(|e| Error::Internal(e.into()))?;
    // Conditional on still being a draft, so two approvals cannot both win.
    let done = settlement::Entity::update_many()
        .col_expr(settlement::Column::Status, Expr::value(APPROVED))
        .col_expr(
            settlement::Column::ApprovedBy,
            Expr::value(actor.name.clone()),
        )
        .col_expr(settlement::Column::ApprovedAt, Expr::value(now))
        .col_expr(
            settlement::Column::TaxWithheldFen,
            Expr::value(totals.tax_withheld_fen),
        )
        .col_expr(
            settlement::Column::KolPayableFen,
            Expr::value(totals.kol_payable_fen),
        )
        .col_expr(
            settlement::Column::MonthIncomeFen,
            Expr::value(totals.month_income_fen),
        )
        .col_expr(
            settlement::Column::MonthTaxDueFen,
            Expr::value(totals.month_tax_due_fen),
        )
        .col_expr(
            settlement::Column::MonthTaxWithheldBeforeFen,
            Expr::value(totals.month_tax_withheld_before_fen),
        )
        .col_expr(settlement::Column::Lines, Expr::value(lines_json))
        .filter(settlement::Column::Id.eq(id))
        .filter(settlement::Column::Status.eq(DRAFT))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(Error::conflict(
            "not_draft",
            "the settlement is no longer a draft",
        ));
    }
    let after =
        Settlement::try_from(visibility::find_for_write::<settlement::Entity, _>(&txn, id).await?)?;
    audit::changed(
        &txn,
        actor,
        "settlement.approve",
        ("settlement", id),
        &before,
        &after,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
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
    Error::conflict(
        "period_settled",
        format!(
            "approved settlement {} already covers [{}, {}) of this contract; approved settlements do not change, so later refunds are carried into the next period",
            o.id,
            o.period_start.to_rfc3339(),
            o.period_end.to_rfc3339()
        ),
    )
    .with_param("settlement_id", o.id.to_string())
    .with_param("period_start", o.period_start.to_rfc3339())
    .with_param("period_end", o.period_end.to_rfc3339())
}

fn stale() -> Error {
    Error::conflict(
        "settlement_stale",
        "another approved settlement has counted some of these orders, refunds or the guarantee since this one was computed; compute it again",
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

/// The contract's versions as settlement terms: each with its commission, slot fee and when it
/// took effect (version 1: since the start); the guarantee from the current terms, due at the
/// contract's end or its termination.
pub(crate) async fn terms_of<C: ConnectionTrait>(
    db: &C,
    c: &contract::Model,
) -> Result<calc::Terms> {
    let rows = contract_version::Entity::find()
        .filter(contract_version::Column::ContractId.eq(c.id))
        .order_by_asc(contract_version::Column::Version)
        .all(db)
        .await?;
    let mut versions = Vec::new();
    for v in rows {
        let terms: ContractTerms =
            serde_json::from_value(v.terms).map_err(|e| Error::Internal(e.into()))?;
        versions.push(calc::Version {
            version: v.version,
            effective_from: if v.version == 1 {
                None
            } else {
                v.effective_from
            },
            commission_bp: terms.commission_bp,
            slot_fee_fen: terms.slot_fee_fen,
        });
    }
    let remedy = GuaranteeRemedy::parse(&c.guarantee_remedy).unwrap_or(GuaranteeRemedy::None);
    let mut terms = calc::Terms::single(
        c.version,
        c.commission_bp,
        c.slot_fee_fen,
        c.gmv_guarantee_fen,
        remedy,
        due_at(c),
    );
    if !versions.is_empty() {
        terms.versions = versions;
    }
    Ok(terms)
}

/// When the contract's guarantee falls due: its end, or its termination if earlier.
fn due_at(c: &contract::Model) -> DateTime<Utc> {
    match (ContractStatus::parse(&c.status), c.terminated_at) {
        (Some(ContractStatus::Terminated), Some(t)) => t.min(c.ends_at),
        (Some(ContractStatus::Terminated), None) => c.updated_at.min(c.ends_at),
        _ => c.ends_at,
    }
}

/// Reads what the computation needs: orders, carried adjustments, slots, guarantee figures.
#[allow(clippy::too_many_arguments)]
async fn gather<C: ConnectionTrait>(
    db: &C,
    c: &contract::Model,
    k: &kol::Model,
    approved: &[settlement::Model],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
    tax: MonthContext,
) -> Result<calc::Input> {
    let terms = terms_of(db, c).await?;
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
        paid_at: o.paid_at,
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
                    paid_at: o.paid_at,
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

    // Slots of sessions that took place: not cancelled, started before now.
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
            .filter(session::Column::StartsAt.lt(now))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    let mut slots = Vec::new();
    let mut slots_to_end = 0usize;
    let mut slot_fees_to_end = 0i64;
    for slot in &slot_rows {
        let Some(sess) = sessions.get(&slot.session_id) else {
            continue;
        };
        if sess.starts_at < end {
            slots_to_end += 1;
            slot_fees_to_end += terms.at(sess.starts_at).slot_fee_fen;
        }
        if start <= sess.starts_at && sess.starts_at < end {
            slots.push(calc::SlotFacts {
                session_id: sess.id,
                starts_at: sess.starts_at,
            });
        }
    }

    // The guarantee: once, when the period reaches the due date and that date has passed.
    let due = terms.ends_at;
    let guarantee = match c.gmv_guarantee_fen {
        Some(_) if end >= due && due <= now => {
            match approved.iter().find(|a| a.guarantee_assessed) {
                Some(a) => Guarantee::Assessed {
                    settlement_id: a.id,
                },
                None => Guarantee::Due {
                    total_net_gmv_fen: total_net,
                    settled_orders: total_orders,
                    total_slot_fees_fen: slot_fees_to_end,
                    total_slots: slots_to_end,
                },
            }
        }
        _ => Guarantee::NotDue,
    };
    Ok(calc::Input {
        terms,
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
        tax,
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
                month_income_fen: m.month_income_fen,
                month_tax_due_fen: m.month_tax_due_fen,
                month_tax_withheld_before_fen: m.month_tax_withheld_before_fen,
            },
            lines,
            created_by: m.created_by,
            created_at: m.created_at,
            approved_by: m.approved_by,
            approved_at: m.approved_at,
        })
    }
}
