//! Settlement of one contract for one period (design §6a), as a pure computation.
//!
//! Definitions, for contract C and the period [start, end):
//! - **Orders**: orders attributed to C, not void, whose `settled_at` (when the platform marked
//!   them settled) is in the period, and not already counted by an approved settlement.
//! - **GMV** = Σ `paid_fen`; **refunds** = Σ `refunded_fen` known when the settlement is
//!   computed; **net GMV** = GMV − refunds + adjustments.
//! - **Adjustments** (carried, never written into an approved settlement): a refund that
//!   arrived after the settlement counting its order was approved (the difference between the
//!   order's refunds now and the refunds approved settlements counted) lowers net GMV here; an
//!   order whose `settled_at` falls in an approved period but that arrived after its approval
//!   is counted here with its net amount.
//! - **Terms by version**: each order is settled on the contract version in force at its
//!   `paid_at` (an amendment never reprices the past), each slot on the version in force when
//!   its session started. A settlement spanning an amendment shows one commission (and slot
//!   fee) line per version, each line naming its version and window; the total is the sum of
//!   those lines.
//! - **Commission** = net GMV × `commission_bp` / 10000, per version.
//! - **Slot fees** = `slot_fee_fen` × the lineup slots under C in sessions that took place:
//!   not cancelled and started before the computation time (the service passes only those),
//!   starting in the period.
//! - **GMV guarantee**, assessed once, in the first settlement whose period reaches the
//!   contract's end after that end has passed (or the termination time of a terminated
//!   contract): shortfall = max(0, `gmv_guarantee_fen` − the net
//!   GMV of all C's settled orders up to the period's end). Remedy `slot_fee_refund_pro_rata`:
//!   the brand gets back slot fees × shortfall / guarantee, on all of C's slot fees up to the
//!   period's end; `make_good_session`: a line noting an extra session owed (0 fen); `none`.
//! - **Platform fees**: the platform's own commission where orders carry it; shown, not
//!   deducted (the agency's commission is on net GMV, so it is not counted twice).
//! - **KOL share** = (commission + slot fees − guarantee refund) × `revenue_share_bp` / 10000.
//! - **Tax withheld**: labour remuneration by the month ([`super::tax::monthly`]): the tax on
//!   the KOL's income from the agency in the CST month of approval (this settlement included)
//!   minus what was already withheld that month; none for a company. A draft shows the figure
//!   as if approved when computed; approval fixes it ([`apply_tax`]).
//! - **Payable**: brand → agency = commission + slot fees − guarantee refund; agency → KOL =
//!   KOL share − tax; agency → tax authority = tax. A negative amount flows the other way.
//!
//! Rounding: commission, guarantee refund, KOL share and tax are each computed exactly from the
//! inputs (fractions of a fen kept as i128 fractions) and rounded to the fen once, half away
//! from zero. The tax is computed on the KOL share as paid (whole fen), so the income report
//! can be checked by hand from its own figures. The payable lines add up the rounded lines
//! above them, so a statement adds up to the fen.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::money::{self, Exact};
use super::tax::{self, MonthContext};
use super::{GuaranteeRemedy, Params, TaxStatus, params};

/// One version of the contract's terms and when it took effect (`None`: since the start).
#[derive(Debug, Clone)]
pub struct Version {
    pub version: i32,
    pub effective_from: Option<DateTime<Utc>>,
    pub commission_bp: i64,
    pub slot_fee_fen: i64,
}

/// The contract terms a settlement uses: every version (oldest first, at least one), and the
/// guarantee of the current terms.
#[derive(Debug, Clone)]
pub struct Terms {
    pub versions: Vec<Version>,
    pub gmv_guarantee_fen: Option<i64>,
    pub guarantee_remedy: GuaranteeRemedy,
    /// When the guarantee is due: the contract's end, or its termination.
    pub ends_at: DateTime<Utc>,
}

impl Terms {
    /// Terms of a single version (no amendments).
    pub fn single(
        version: i32,
        commission_bp: i64,
        slot_fee_fen: i64,
        gmv_guarantee_fen: Option<i64>,
        guarantee_remedy: GuaranteeRemedy,
        ends_at: DateTime<Utc>,
    ) -> Self {
        Terms {
            versions: vec![Version {
                version,
                effective_from: None,
                commission_bp,
                slot_fee_fen,
            }],
            gmv_guarantee_fen,
            guarantee_remedy,
            ends_at,
        }
    }

    /// The index of the version in force at `at`: the latest one that took effect by then
    /// (the first version covers everything before the first amendment).
    pub fn index_at(&self, at: DateTime<Utc>) -> usize {
        self.versions
            .iter()
            .rposition(|v| v.effective_from.is_none_or(|e| e <= at))
            .unwrap_or(0)
    }

    pub fn at(&self, at: DateTime<Utc>) -> &Version {
        &self.versions[self.index_at(at)]
    }

    /// `"contract version 2, in force [2026-07-15T00:00:00+00:00, open)"`.
    pub fn window(&self, i: usize) -> String {
        let v = &self.versions[i];
        let from = v
            .effective_from
            .map_or("the contract's start".to_owned(), |e| e.to_rfc3339());
        let until = self
            .versions
            .get(i + 1)
            .and_then(|n| n.effective_from)
            .map_or("open".to_owned(), |e| e.to_rfc3339());
        format!("contract version {}, in force [{from}, {until})", v.version)
    }
}

/// What a settlement needs to know of the KOL.
#[derive(Debug, Clone, Copy)]
pub struct Payee {
    pub revenue_share_bp: i64,
    pub tax_status: TaxStatus,
}

#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub id: Uuid,
    /// When the buyer paid: the order is settled on the terms in force then.
    pub paid_at: DateTime<Utc>,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub platform_commission_fen: Option<i64>,
}

/// A refund carried from an approved settlement: `refunded_fen` more than it counted.
#[derive(Debug, Clone)]
pub struct LateRefund {
    pub order_id: Uuid,
    pub paid_at: DateTime<Utc>,
    pub refunded_fen: i64,
    pub approved_in: Uuid,
}

/// An order settled within an approved settlement's period but known only after its approval.
#[derive(Debug, Clone)]
pub struct LateOrder {
    pub order: OrderFacts,
    pub approved_in: Uuid,
}

/// A lineup slot under the contract.
#[derive(Debug, Clone)]
pub struct SlotFacts {
    pub session_id: Uuid,
    pub starts_at: DateTime<Utc>,
}

/// Whether this settlement assesses the GMV guarantee.
#[derive(Debug, Clone)]
pub enum Guarantee {
    /// No guarantee, or the period does not reach the contract's end.
    NotDue,
    /// This settlement assesses it, with the contract's figures up to the period's end.
    Due {
        total_net_gmv_fen: i64,
        settled_orders: usize,
        total_slot_fees_fen: i64,
        total_slots: usize,
    },
    /// An approved settlement assessed it already.
    Assessed { settlement_id: Uuid },
}

pub struct Input {
    pub terms: Terms,
    pub payee: Payee,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub orders: Vec<OrderFacts>,
    pub late_orders: Vec<LateOrder>,
    pub late_refunds: Vec<LateRefund>,
    pub slots: Vec<SlotFacts>,
    pub guarantee: Guarantee,
    /// What was approved to the KOL earlier in the withholding month (or year).
    pub tax: MonthContext,
}

/// One line of a settlement: what it is, the amount (negative lowers what the brand owes or
/// flows the other way), and how it was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub kind: String,
    pub label: String,
    pub amount_fen: i64,
    pub how: String,
    /// The values `how` names, for a client writing it in its own language (`kind` says which
    /// computation it is). Amounts end in `_fen`; exact intermediate amounts are decimal fen
    /// strings. Lines computed before these existed have none.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Params,
    /// The contract version the line applies (commission and slot fee lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// The settlement's totals, in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
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
    pub kol_share_fen: i64,
    pub tax_withheld_fen: i64,
    pub brand_payable_fen: i64,
    pub kol_payable_fen: i64,
    pub tax_payable_fen: i64,
    /// The KOL's income from the agency in the withholding month (cumulative method: the tax
    /// year) with this settlement, the tax due on it, and what was withheld before.
    pub month_income_fen: i64,
    pub month_tax_due_fen: i64,
    pub month_tax_withheld_before_fen: i64,
}

/// What the settlement counted of one order (for carrying later differences).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub order_id: Uuid,
    pub kind: &'static str,
    pub paid_fen: i64,
    pub refunded_fen: i64,
}

#[derive(Debug, Clone)]
pub struct Computed {
    pub lines: Vec<Line>,
    pub totals: Totals,
    pub items: Vec<Item>,
    pub guarantee_assessed: bool,
}

fn line(kind: &str, label: &str, amount_fen: i64, how: String) -> Line {
    Line {
        kind: kind.into(),
        label: label.into(),
        amount_fen,
        how,
        params: Params::new(),
        version: None,
    }
}

impl Line {
    /// The line with the values its `how` names.
    fn with(mut self, params: Params) -> Line {
        self.params = params;
        self
    }
}

/// Up to 8 amounts written out as a sum, e.g. `"100 + 250 = 350 fen"`.
fn sum_text(amounts: &[i64]) -> String {
    let total: i64 = amounts.iter().sum();
    if amounts.len() <= 1 || amounts.len() > 8 {
        return money::fen(total);
    }
    let parts: Vec<String> = amounts.iter().map(|a| a.to_string()).collect();
    format!("{} = {}", parts.join(" + "), money::fen(total))
}

fn short(id: Uuid) -> String {
    id.to_string()
}

pub fn compute(input: &Input) -> Computed {
    let t = &input.terms;
    let period = format!(
        "[{}, {})",
        input.period_start.to_rfc3339(),
        input.period_end.to_rfc3339()
    );
    let mut lines = Vec::new();
    let mut items = Vec::new();

    // GMV and refunds of the period's orders.
    let paid: Vec<i64> = input.orders.iter().map(|o| o.paid_fen).collect();
    let refunded: Vec<i64> = input
        .orders
        .iter()
        .map(|o| o.refunded_fen)
        .filter(|r| *r != 0)
        .collect();
    let gmv: i64 = paid.iter().sum();
    let refunds: i64 = refunded.iter().sum();
    for o in &input.orders {
        items.push(Item {
            order_id: o.id,
            kind: "order",
            paid_fen: o.paid_fen,
            refunded_fen: o.refunded_fen,
        });
    }
    lines.push(line(
        "gmv",
        "GMV",
        gmv,
        format!(
            "paid_fen of the {} order(s) attributed to the contract whose settled_at is in {period}: {}",
            input.orders.len(),
            sum_text(&paid)
        ),
    )
    .with(params([
        ("orders", input.orders.len().into()),
        ("gmv_fen", gmv.into()),
    ])));
    lines.push(
        line(
            "refunds",
            "Refunds",
            -refunds,
            format!(
                "refunds known at computation on those orders ({} refunded): {}",
                refunded.len(),
                sum_text(&refunded)
            ),
        )
        .with(params([
            ("refunded_orders", refunded.len().into()),
            ("refunds_fen", refunds.into()),
        ])),
    );

    // Adjustments carried from approved settlements.
    let mut adjustments = 0i64;
    if !input.late_orders.is_empty() {
        let nets: Vec<i64> = input
            .late_orders
            .iter()
            .map(|l| l.order.paid_fen - l.order.refunded_fen)
            .collect();
        let amount: i64 = nets.iter().sum();
        adjustments += amount;
        let mut from: Vec<String> = input
            .late_orders
            .iter()
            .map(|l| short(l.approved_in))
            .collect();
        from.dedup();
        for l in &input.late_orders {
            items.push(Item {
                order_id: l.order.id,
                kind: "late_order",
                paid_fen: l.order.paid_fen,
                refunded_fen: l.order.refunded_fen,
            });
        }
        lines.push(line(
            "adjustment_late_order",
            "Adjustment: orders settled in an approved period, known after its approval",
            amount,
            format!(
                "{} order(s) whose settled_at falls in the period of approved settlement {} but that arrived after it was approved; net (paid − refunded) each: {}. The approved settlement is not changed.",
                nets.len(),
                from.join(", "),
                sum_text(&nets)
            ),
        )
        .with(params([
            ("orders", nets.len().into()),
            ("settlements", from.join(", ").into()),
            ("amount_fen", amount.into()),
        ])));
    }
    if !input.late_refunds.is_empty() {
        let amounts: Vec<i64> = input.late_refunds.iter().map(|r| r.refunded_fen).collect();
        let amount: i64 = amounts.iter().sum();
        adjustments -= amount;
        let mut from: Vec<String> = input
            .late_refunds
            .iter()
            .map(|r| short(r.approved_in))
            .collect();
        from.sort();
        from.dedup();
        for r in &input.late_refunds {
            items.push(Item {
                order_id: r.order_id,
                kind: "late_refund",
                paid_fen: 0,
                refunded_fen: r.refunded_fen,
            });
        }
        lines.push(line(
            "adjustment_late_refund",
            "Adjustment: refunds after approval",
            -amount,
            format!(
                "refunds on {} order(s) counted by approved settlement {} that arrived after it was approved, carried into this settlement: −({}). The approved settlement is not changed.",
                amounts.len(),
                from.join(", "),
                sum_text(&amounts)
            ),
        )
        .with(params([
            ("orders", amounts.len().into()),
            ("settlements", from.join(", ").into()),
            ("amount_fen", amount.into()),
        ])));
    }
    let net = gmv - refunds + adjustments;
    lines.push(
        line(
            "net_gmv",
            "Net GMV",
            net,
            format!(
                "GMV {gmv} − refunds {refunds}{} = {}",
                if adjustments != 0 {
                    format!(" + adjustments ({adjustments})")
                } else {
                    String::new()
                },
                money::fen(net)
            ),
        )
        .with(params([
            ("gmv_fen", gmv.into()),
            ("refunds_fen", refunds.into()),
            ("adjustments_fen", adjustments.into()),
            ("net_gmv_fen", net.into()),
        ])),
    );

    // Commission, per version in force at each order's pay time.
    let fallback = t.index_at(input.period_end - chrono::Duration::seconds(1));
    // Per version index: (net GMV, of which adjustments, orders).
    let mut by_version: std::collections::BTreeMap<usize, (i64, i64, usize)> =
        std::collections::BTreeMap::new();
    for o in &input.orders {
        let e = by_version.entry(t.index_at(o.paid_at)).or_default();
        e.0 += o.paid_fen - o.refunded_fen;
        e.2 += 1;
    }
    for l in &input.late_orders {
        let e = by_version.entry(t.index_at(l.order.paid_at)).or_default();
        e.0 += l.order.paid_fen - l.order.refunded_fen;
        e.1 += l.order.paid_fen - l.order.refunded_fen;
        e.2 += 1;
    }
    for r in &input.late_refunds {
        let e = by_version.entry(t.index_at(r.paid_at)).or_default();
        e.0 -= r.refunded_fen;
        e.1 -= r.refunded_fen;
        e.2 += 1;
    }
    if by_version.is_empty() {
        by_version.insert(fallback, (0, 0, 0));
    }
    let split = by_version.len() > 1;
    let mut commission = Exact::ZERO;
    let mut adj_commission = Exact::ZERO;
    let mut commission_fen = 0i64;
    for (&i, &(v_net, v_adj, v_orders)) in &by_version {
        let v = &t.versions[i];
        let c = Exact::fen(v_net).times(v.commission_bp as i128, 10_000);
        let c_fen = c.round();
        commission = commission + c;
        adj_commission = adj_commission + Exact::fen(v_adj).times(v.commission_bp as i128, 10_000);
        commission_fen += c_fen;
        let adj_note = if v_adj != 0 {
            let part = Exact::fen(v_adj).times(v.commission_bp as i128, 10_000);
            format!(
                "; of which the carried adjustments: {v_adj} × {} = {part}",
                money::percent(v.commission_bp)
            )
        } else {
            String::new()
        };
        let scope = if split {
            format!(
                "net GMV of the {v_orders} order(s) paid while {}: ",
                t.window(i)
            )
        } else {
            String::new()
        };
        let mut l = line(
            "commission",
            if split {
                "Commission (by contract version)"
            } else {
                "Commission"
            },
            c_fen,
            format!(
                "{scope}net GMV {v_net} fen × commission_bp {} / 10000 ({}, {}) = {c}, rounded half away from zero to {}{adj_note}",
                v.commission_bp,
                money::percent(v.commission_bp),
                t.window(i),
                money::fen(c_fen)
            ),
        )
        .with(params([
            ("orders", v_orders.into()),
            ("net_gmv_fen", v_net.into()),
            ("commission_bp", v.commission_bp.into()),
            ("exact_fen", c.decimal().into()),
            ("adjustments_fen", v_adj.into()),
            ("commission_fen", c_fen.into()),
        ]));
        l.version = Some(v.version);
        lines.push(l);
    }

    // Slot fees, per version in force when each session started.
    let mut slots_by_version: std::collections::BTreeMap<usize, Vec<&SlotFacts>> =
        std::collections::BTreeMap::new();
    for slot in &input.slots {
        slots_by_version
            .entry(t.index_at(slot.starts_at))
            .or_default()
            .push(slot);
    }
    if slots_by_version.is_empty() {
        slots_by_version.insert(fallback, Vec::new());
    }
    let split_slots = slots_by_version.len() > 1;
    let mut slot_fees = 0i64;
    for (&i, slots) in &slots_by_version {
        let v = &t.versions[i];
        let count = slots.len() as i64;
        let fees = count * v.slot_fee_fen;
        slot_fees += fees;
        let mut sessions: Vec<(DateTime<Utc>, Uuid)> =
            slots.iter().map(|s| (s.starts_at, s.session_id)).collect();
        sessions.sort();
        sessions.dedup();
        let mut l = line(
            "slot_fees",
            if split_slots {
                "Slot fees (by contract version)"
            } else {
                "Slot fees"
            },
            fees,
            format!(
                "{count} lineup slot(s) under the contract in {} session(s) starting in {period} that took place (not cancelled, started before the computation) × slot_fee_fen {} ({}) = {}",
                sessions.len(),
                v.slot_fee_fen,
                t.window(i),
                money::fen(fees)
            ),
        )
        .with(params([
            ("slots", count.into()),
            ("sessions", sessions.len().into()),
            ("slot_fee_fen", v.slot_fee_fen.into()),
            ("slot_fees_fen", fees.into()),
        ]));
        l.version = Some(v.version);
        lines.push(l);
    }

    // The GMV guarantee.
    let mut guarantee_refund = Exact::ZERO;
    let mut shortfall_fen = None;
    let mut assessed = false;
    match (&input.guarantee, t.gmv_guarantee_fen) {
        (
            Guarantee::Due {
                total_net_gmv_fen,
                settled_orders,
                total_slot_fees_fen,
                total_slots,
            },
            Some(g),
        ) => {
            assessed = true;
            let shortfall = (g - total_net_gmv_fen).max(0);
            shortfall_fen = Some(shortfall);
            let pct = Exact::fen(shortfall * 100).times(1, g as i128);
            lines.push(line(
                "guarantee_shortfall",
                "GMV guarantee shortfall",
                shortfall,
                format!(
                    "the period reaches the contract's end or termination ({}), which has passed, so the guarantee is assessed: max(0, gmv_guarantee_fen {g} − net GMV {total_net_gmv_fen} of all {settled_orders} settled order(s) of the contract up to the period's end) = {} ({}% of the guarantee); shown, not payable by itself",
                    t.ends_at.to_rfc3339(),
                    money::fen(shortfall),
                    pct.decimal()
                ),
            )
            .with(params([
                ("ends_at", t.ends_at.to_rfc3339().into()),
                ("gmv_guarantee_fen", g.into()),
                ("net_gmv_fen", (*total_net_gmv_fen).into()),
                ("orders", (*settled_orders).into()),
                ("shortfall_fen", shortfall.into()),
                ("percent", pct.decimal().into()),
            ])));
            match t.guarantee_remedy {
                GuaranteeRemedy::SlotFeeRefundProRata => {
                    guarantee_refund =
                        -Exact::fen(*total_slot_fees_fen).times(shortfall as i128, g as i128);
                    let r = guarantee_refund.round();
                    lines.push(line(
                        "guarantee_remedy",
                        "Guarantee remedy: slot fees refunded pro rata",
                        r,
                        format!(
                            "remedy slot_fee_refund_pro_rata: the contract's slot fees up to the period's end ({total_slots} slot(s), {total_slot_fees_fen} fen) × shortfall {shortfall} / guarantee {g} = {}, refunded to the brand, rounded to {}",
                            -guarantee_refund,
                            money::fen(-r)
                        ),
                    )
                    .with(params([
                        ("remedy", "slot_fee_refund_pro_rata".into()),
                        ("slots", (*total_slots).into()),
                        ("slot_fees_fen", (*total_slot_fees_fen).into()),
                        ("shortfall_fen", shortfall.into()),
                        ("gmv_guarantee_fen", g.into()),
                        ("refund_fen", (-r).into()),
                    ])));
                }
                GuaranteeRemedy::MakeGoodSession => lines.push(line(
                    "guarantee_remedy",
                    "Guarantee remedy: make-good session owed",
                    0,
                    if shortfall > 0 {
                        "remedy make_good_session: the KOL owes the brand an extra session; no money changes hands in this settlement".into()
                    } else {
                        "remedy make_good_session: the guarantee was met, nothing is owed".into()
                    },
                )
                .with(params([
                    ("remedy", "make_good_session".into()),
                    ("owed", (shortfall > 0).into()),
                ]))),
                GuaranteeRemedy::None => lines.push(line(
                    "guarantee_remedy",
                    "Guarantee remedy: none",
                    0,
                    "the contract agrees no remedy".into(),
                )
                .with(params([("remedy", "none".into())]))),
            }
        }
        (Guarantee::Assessed { settlement_id }, Some(_)) => lines.push(line(
            "guarantee_remedy",
            "GMV guarantee: assessed earlier",
            0,
            format!(
                "the guarantee was assessed by approved settlement {settlement_id}; it is assessed once"
            ),
        )
        .with(params([
            ("remedy", "assessed_earlier".into()),
            ("settlement_id", settlement_id.to_string().into()),
        ]))),
        _ => {}
    }
    let guarantee_refund_fen = guarantee_refund.round();

    // Platform fees: shown only.
    let known: Vec<i64> = input
        .orders
        .iter()
        .chain(input.late_orders.iter().map(|l| &l.order))
        .filter_map(|o| o.platform_commission_fen)
        .collect();
    let platform_fees: i64 = known.iter().sum();
    lines.push(line(
        "platform_fees",
        "Platform fees (for reference)",
        platform_fees,
        format!(
            "the platform's own commission where the order reports it ({} of {} order(s)): {}; shown for reference and not deducted, since commission here is on net GMV",
            known.len(),
            input.orders.len() + input.late_orders.len(),
            sum_text(&known)
        ),
    )
    .with(params([
        ("known_orders", known.len().into()),
        ("orders", (input.orders.len() + input.late_orders.len()).into()),
        ("platform_fees_fen", platform_fees.into()),
    ])));

    // The KOL's share, on exact amounts.
    let base = commission + Exact::fen(slot_fees) + guarantee_refund;
    let share = base.times(input.payee.revenue_share_bp as i128, 10_000);
    let share_fen = share.round();
    lines.push(line(
        "kol_share",
        "KOL share",
        share_fen,
        format!(
            "(commission {commission} + slot fees {slot_fees} fen{}) = {base}, × revenue_share_bp {} / 10000 ({}) = {share}, rounded half away from zero to {}{}",
            if guarantee_refund != Exact::ZERO {
                format!(" − guarantee refund {}", -guarantee_refund)
            } else {
                String::new()
            },
            input.payee.revenue_share_bp,
            money::percent(input.payee.revenue_share_bp),
            money::fen(share_fen),
            if adjustments != 0 {
                let part =
                    adj_commission.times(input.payee.revenue_share_bp as i128, 10_000);
                format!("; of which the carried adjustments: {part}")
            } else {
                String::new()
            }
        ),
    )
    .with(params([
        ("commission_exact_fen", commission.decimal().into()),
        ("slot_fees_fen", slot_fees.into()),
        ("guarantee_refund_exact_fen", guarantee_refund.decimal().into()),
        ("base_exact_fen", base.decimal().into()),
        ("revenue_share_bp", input.payee.revenue_share_bp.into()),
        ("share_exact_fen", share.decimal().into()),
        ("kol_share_fen", share_fen.into()),
    ])));

    // Payable by the brand: the sum of the rounded lines above it.
    let brand_payable = commission_fen + slot_fees + guarantee_refund_fen;
    lines.push(line(
        "payable_brand_to_agency",
        "Payable by the brand to the agency",
        brand_payable,
        format!(
            "commission {commission_fen} + slot fees {slot_fees} + guarantee remedy {guarantee_refund_fen} = {}{}",
            money::fen(brand_payable),
            direction(brand_payable, "the agency owes the brand this amount")
        ),
    )
    .with(params([
        ("commission_fen", commission_fen.into()),
        ("slot_fees_fen", slot_fees.into()),
        ("guarantee_refund_fen", guarantee_refund_fen.into()),
        ("payable_fen", brand_payable.into()),
    ])));

    let mut totals = Totals {
        order_count: input.orders.len() as i64,
        gmv_fen: gmv,
        refunds_fen: refunds,
        adjustments_fen: adjustments,
        net_gmv_fen: net,
        commission_fen,
        slot_fees_fen: slot_fees,
        guarantee_shortfall_fen: shortfall_fen,
        guarantee_refund_fen,
        platform_fees_fen: platform_fees,
        kol_share_fen: share_fen,
        brand_payable_fen: brand_payable,
        ..Totals::default()
    };
    apply_tax(&mut lines, &mut totals, input.payee.tax_status, &input.tax);
    Computed {
        lines,
        totals,
        items,
        guarantee_assessed: assessed,
    }
}

fn direction(amount: i64, back: &str) -> String {
    if amount < 0 {
        format!("; negative: {back}")
    } else {
        String::new()
    }
}

/// Sets the tax withheld and what follows from it (the KOL's and the tax authority's payable
/// lines and totals, the month's figures) from the KOL share already in `totals`, given what
/// was approved to the KOL earlier in the withholding window. Used when computing (as if
/// approved now) and at approval (fixed against what was approved by then); the lines are
/// replaced in place, so a statement keeps its order.
pub fn apply_tax(
    lines: &mut Vec<Line>,
    totals: &mut Totals,
    status: super::TaxStatus,
    ctx: &MonthContext,
) {
    let share_fen = totals.kol_share_fen;
    let w = tax::monthly(status, ctx, share_fen);
    let kol_payable = share_fen - w.tax_fen;
    let new = [
        line(
            "tax_withheld",
            "Income tax withheld",
            w.tax_fen,
            w.how.clone(),
        )
        .with(params([
            ("tax_status", status.as_str().into()),
            ("month", ctx.month.to_string().into()),
            ("income_before_fen", ctx.income_before_fen.into()),
            ("income_fen", share_fen.into()),
            ("total_income_fen", w.total_income_fen.into()),
            ("taxable_exact_fen", w.taxable.decimal().into()),
            ("rate_percent", w.rate_percent.into()),
            ("quick_deduction_fen", w.quick_deduction_fen.into()),
            ("tax_due_fen", w.tax_due_fen.into()),
            ("withheld_before_fen", w.withheld_before_fen.into()),
            ("tax_fen", w.tax_fen.into()),
        ])),
        line(
            "payable_agency_to_kol",
            "Payable by the agency to the KOL",
            kol_payable,
            format!(
                "KOL share {share_fen} − tax withheld {} = {}{}",
                w.tax_fen,
                money::fen(kol_payable),
                direction(kol_payable, "the KOL owes the agency this amount")
            ),
        )
        .with(params([
            ("kol_share_fen", share_fen.into()),
            ("tax_fen", w.tax_fen.into()),
            ("payable_fen", kol_payable.into()),
        ])),
        line(
            "payable_agency_to_tax_authority",
            "Tax payable by the agency to the tax authority",
            w.tax_fen,
            format!(
                "the tax withheld: {}{}",
                money::fen(w.tax_fen),
                direction(
                    w.tax_fen,
                    "the month's tax due fell below what was already withheld; the difference goes back to the KOL"
                )
            ),
        )
        .with(params([("tax_fen", w.tax_fen.into())])),
    ];
    for l in new {
        match lines.iter_mut().find(|x| x.kind == l.kind) {
            Some(old) => *old = l,
            None => lines.push(l),
        }
    }
    totals.tax_withheld_fen = w.tax_fen;
    totals.tax_payable_fen = w.tax_fen;
    totals.kol_payable_fen = kol_payable;
    totals.month_income_fen = w.total_income_fen;
    totals.month_tax_due_fen = w.tax_due_fen;
    totals.month_tax_withheld_before_fen = w.withheld_before_fen;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn order(paid: i64, refunded: i64) -> OrderFacts {
        OrderFacts {
            id: Uuid::now_v7(),
            paid_at: at("2026-07-05T00:00:00Z"),
            paid_fen: paid,
            refunded_fen: refunded,
            platform_commission_fen: None,
        }
    }

    fn input(orders: Vec<OrderFacts>, slots: usize, tax_status: TaxStatus) -> Input {
        Input {
            terms: Terms::single(
                1,
                2000,
                1_000_000,
                None,
                GuaranteeRemedy::None,
                at("2026-12-31T00:00:00Z"),
            ),
            payee: Payee {
                revenue_share_bp: 5000,
                tax_status,
            },
            period_start: at("2026-07-01T00:00:00Z"),
            period_end: at("2026-08-01T00:00:00Z"),
            orders,
            late_orders: vec![],
            late_refunds: vec![],
            slots: (0..slots)
                .map(|_| SlotFacts {
                    session_id: Uuid::nil(),
                    starts_at: at("2026-07-10T12:00:00Z"),
                })
                .collect(),
            guarantee: Guarantee::NotDue,
            tax: MonthContext::first(crate::domain::TaxMethod::PerMonth, "2026-08"),
        }
    }

    fn amount(c: &Computed, kind: &str) -> i64 {
        c.lines
            .iter()
            .find(|l| l.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} line"))
            .amount_fen
    }

    #[test]
    fn a_plain_month() {
        // Orders 600,000 + 400,000 fen, 100,000 refunded: net 900,000 fen.
        // Commission 900,000 × 20% = 180,000. Slot fees 2 × 1,000,000 = 2,000,000.
        // Share (180,000 + 2,000,000) × 50% = 1,090,000 fen = 10,900 yuan:
        // taxable 10,900 × 80% = 8,720 yuan, tax 20% = 1,744 yuan = 174,400 fen.
        let c = compute(&input(
            vec![order(600_000, 100_000), order(400_000, 0)],
            2,
            TaxStatus::Individual,
        ));
        let t = &c.totals;
        assert_eq!(t.net_gmv_fen, 900_000);
        assert_eq!(t.commission_fen, 180_000);
        assert_eq!(t.slot_fees_fen, 2_000_000);
        assert_eq!(t.kol_share_fen, 1_090_000);
        assert_eq!(t.tax_withheld_fen, 174_400);
        assert_eq!(t.brand_payable_fen, 2_180_000);
        assert_eq!(t.kol_payable_fen, 1_090_000 - 174_400);
        assert_eq!(amount(&c, "refunds"), -100_000);
        assert!(c.lines.iter().all(|l| !l.how.is_empty()));
    }

    #[test]
    fn rounds_once_at_the_end() {
        // Net GMV 12,345 fen × 10% = 1,234.5 fen -> 1,235 (half away from zero).
        // Share 1,234.5 × 50% = 617.25 -> 617 (from the exact commission; 1,235 × 50% would
        // give 617.5 -> 618, a second rounding).
        let mut i = input(vec![order(12_345, 0)], 0, TaxStatus::Company);
        i.terms.versions[0].commission_bp = 1000;
        let c = compute(&i);
        assert_eq!(c.totals.commission_fen, 1_235);
        assert_eq!(c.totals.kol_share_fen, 617);
        assert_eq!(c.totals.tax_withheld_fen, 0);
        // A negative half: net −12,345 × 10% = −1,234.5 -> −1,235.
        let mut i = input(vec![], 0, TaxStatus::Company);
        i.terms.versions[0].commission_bp = 1000;
        i.late_refunds = vec![LateRefund {
            order_id: Uuid::nil(),
            paid_at: at("2026-06-05T00:00:00Z"),
            refunded_fen: 12_345,
            approved_in: Uuid::nil(),
        }];
        let c = compute(&i);
        assert_eq!(c.totals.net_gmv_fen, -12_345);
        assert_eq!(c.totals.commission_fen, -1_235);
        assert_eq!(c.totals.brand_payable_fen, -1_235);
    }

    #[test]
    fn guarantee_missed_by_40_percent_refunds_slot_fees_pro_rata() {
        // Guarantee 10,000,000 fen; the contract's net GMV 6,000,000: shortfall 4,000,000 (40%).
        // Slot fees over the contract 3 × 1,000,000 = 3,000,000; refund 3,000,000 × 0.4 = 1,200,000.
        let mut i = input(vec![order(6_000_000, 0)], 1, TaxStatus::Company);
        i.terms.gmv_guarantee_fen = Some(10_000_000);
        i.terms.guarantee_remedy = GuaranteeRemedy::SlotFeeRefundProRata;
        i.guarantee = Guarantee::Due {
            total_net_gmv_fen: 6_000_000,
            settled_orders: 1,
            total_slot_fees_fen: 3_000_000,
            total_slots: 3,
        };
        let c = compute(&i);
        assert_eq!(c.totals.guarantee_shortfall_fen, Some(4_000_000));
        assert_eq!(c.totals.guarantee_refund_fen, -1_200_000);
        // Brand: commission 1,200,000 + slot fees 1,000,000 − 1,200,000 = 1,000,000.
        assert_eq!(c.totals.brand_payable_fen, 1_000_000);
        // KOL: (1,200,000 + 1,000,000 − 1,200,000) × 50% = 500,000.
        assert_eq!(c.totals.kol_share_fen, 500_000);
        assert!(c.guarantee_assessed);
        let how = &c
            .lines
            .iter()
            .find(|l| l.kind == "guarantee_shortfall")
            .unwrap()
            .how;
        assert!(how.contains("(40% of the guarantee)"), "{how}");
    }

    #[test]
    fn make_good_session_costs_nothing_here() {
        let mut i = input(vec![order(1_000, 0)], 0, TaxStatus::Company);
        i.terms.gmv_guarantee_fen = Some(10_000);
        i.terms.guarantee_remedy = GuaranteeRemedy::MakeGoodSession;
        i.guarantee = Guarantee::Due {
            total_net_gmv_fen: 1_000,
            settled_orders: 1,
            total_slot_fees_fen: 0,
            total_slots: 0,
        };
        let c = compute(&i);
        assert_eq!(c.totals.guarantee_shortfall_fen, Some(9_000));
        assert_eq!(amount(&c, "guarantee_remedy"), 0);
        assert!(
            c.lines
                .iter()
                .any(|l| l.how.contains("owes the brand an extra session"))
        );
    }

    #[test]
    fn lines_that_sum_do_sum() {
        // Property over many small inputs: net GMV is GMV − refunds + adjustments, brand
        // payable adds its lines, KOL payable is share − tax, tax never exceeds 40% of a
        // positive share.
        let mut seed = 7u64;
        let mut next = |m: i64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as i64) % m
        };
        for _ in 0..500 {
            let orders: Vec<_> = (0..next(5))
                .map(|_| {
                    let paid = next(10_000_000);
                    order(paid, next(paid + 1))
                })
                .collect();
            let mut i = input(orders, next(4) as usize, TaxStatus::Individual);
            i.terms.versions[0].commission_bp = next(10_001);
            i.payee.revenue_share_bp = next(10_001);
            let c = compute(&i);
            let t = &c.totals;
            assert_eq!(t.net_gmv_fen, t.gmv_fen - t.refunds_fen + t.adjustments_fen);
            assert_eq!(
                t.brand_payable_fen,
                t.commission_fen + t.slot_fees_fen + t.guarantee_refund_fen
            );
            assert_eq!(t.kol_payable_fen, t.kol_share_fen - t.tax_withheld_fen);
            assert!(t.tax_withheld_fen * 10 <= t.kol_share_fen.max(0) * 4);
            // Commission within half a fen of the exact value.
            let exact = t.net_gmv_fen as i128 * i.terms.versions[0].commission_bp as i128;
            assert!((t.commission_fen as i128 * 10_000 - exact).abs() <= 5_000);
        }
    }

    #[test]
    fn an_amendment_mid_period_settles_each_order_on_its_version() {
        // Version 1 at 20% until 2026-07-15, version 2 at 10% from then (slot fee 500,000).
        let mut i = input(vec![], 0, TaxStatus::Company);
        i.terms.versions.push(Version {
            version: 2,
            effective_from: Some(at("2026-07-15T00:00:00Z")),
            commission_bp: 1000,
            slot_fee_fen: 500_000,
        });
        let mut early = order(1_000_000, 0);
        early.paid_at = at("2026-07-10T00:00:00Z");
        let mut late = order(2_000_000, 0);
        late.paid_at = at("2026-07-20T00:00:00Z");
        i.orders = vec![early, late];
        i.slots = vec![
            SlotFacts {
                session_id: Uuid::nil(),
                starts_at: at("2026-07-12T12:00:00Z"),
            },
            SlotFacts {
                session_id: Uuid::max(),
                starts_at: at("2026-07-22T12:00:00Z"),
            },
        ];
        let c = compute(&i);
        // Version 1: 1,000,000 × 20% = 200,000; version 2: 2,000,000 × 10% = 200,000.
        let commission: Vec<(Option<i32>, i64)> = c
            .lines
            .iter()
            .filter(|l| l.kind == "commission")
            .map(|l| (l.version, l.amount_fen))
            .collect();
        assert_eq!(commission, [(Some(1), 200_000), (Some(2), 200_000)]);
        assert_eq!(c.totals.commission_fen, 400_000);
        // Slots: 1 × 1,000,000 (v1) + 1 × 500,000 (v2) = 1,500,000.
        assert_eq!(c.totals.slot_fees_fen, 1_500_000);
        let v2 = c
            .lines
            .iter()
            .find(|l| l.kind == "commission" && l.version == Some(2))
            .unwrap();
        assert!(
            v2.how
                .contains("contract version 2, in force [2026-07-15T00:00:00+00:00, open)"),
            "{}",
            v2.how
        );
    }

    #[test]
    fn tax_is_the_months_and_approval_can_refix_it() {
        // Share 500,000 fen = 5,000 yuan, 3,000 yuan already approved this month with 440
        // withheld: the month's 8,000 owes 1,280, so 840 here.
        let mut i = input(vec![order(1_000_000, 0)], 0, TaxStatus::Individual);
        i.terms.versions[0].commission_bp = 10_000;
        i.terms.versions[0].slot_fee_fen = 0;
        i.tax = MonthContext {
            income_before_fen: 300_000,
            withheld_before_fen: 44_000,
            ..i.tax
        };
        let mut c = compute(&i);
        assert_eq!(c.totals.kol_share_fen, 500_000);
        assert_eq!(c.totals.tax_withheld_fen, 84_000);
        assert_eq!(c.totals.month_income_fen, 800_000);
        assert_eq!(c.totals.month_tax_due_fen, 128_000);
        assert_eq!(c.totals.month_tax_withheld_before_fen, 44_000);
        assert_eq!(c.totals.kol_payable_fen, 416_000);
        // Approved in a month with nothing before: 5,000 × 80% × 20% = 800.
        let n = c.lines.len();
        apply_tax(
            &mut c.lines,
            &mut c.totals,
            TaxStatus::Individual,
            &MonthContext::first(crate::domain::TaxMethod::PerMonth, "2026-09"),
        );
        assert_eq!(c.lines.len(), n);
        assert_eq!(c.totals.tax_withheld_fen, 80_000);
        assert_eq!(amount(&c, "payable_agency_to_kol"), 420_000);
        assert!(amount(&c, "tax_withheld") == 80_000);
    }
}
