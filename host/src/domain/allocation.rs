//! Allocation: the plain data a strategy sees (`ctx`), what it returns, and the validator that
//! checks every assignment before anything is applied (design §6).
//!
//! Pure: no I/O. Money is integer fen, rates basis points, times RFC 3339 UTC, IDs UUID strings.
//! Field names are the HTTP API's (design §4).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::{ContractStatus, ProductRole, TaxStatus, Tier};

/// Everything a strategy may look at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllocationContext {
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub kols: Vec<Kol>,
    #[serde(default)]
    pub contracts: Vec<Contract>,
    #[serde(default)]
    pub sessions: Vec<Session>,
    /// Free-form strategy parameters (`POST /api/v1/allocations` `params`).
    #[serde(default = "empty_object")]
    pub params: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub brand_id: String,
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub name: String,
    pub category: String,
    pub role: ProductRole,
    pub list_price_fen: i64,
    pub floor_price_fen: i64,
    pub stock_units: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KolAccount {
    pub platform: String,
    pub account_id: String,
    #[serde(default)]
    pub followers: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kol {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub tier: Tier,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub accounts: Vec<KolAccount>,
    #[serde(default)]
    pub revenue_share_bp: i64,
    pub tax_status: TaxStatus,
}

impl Kol {
    /// Followers of this KOL's accounts on `platform` (summed if there are several).
    pub fn followers_on(&self, platform: &str) -> i64 {
        self.accounts
            .iter()
            .filter(|a| a.platform == platform)
            .map(|a| a.followers.max(0))
            .fold(0i64, i64::saturating_add)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    pub brand_id: String,
    pub kol_id: String,
    pub platform: String,
    pub status: ContractStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub slot_fee_fen: i64,
    #[serde(default)]
    pub commission_bp: i64,
    #[serde(default)]
    pub lowest_price_clause: bool,
    #[serde(default)]
    pub exclusive: bool,
}

impl Contract {
    /// The contract is in force for the whole of `[starts_at, ends_at]`.
    pub fn covers(&self, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> bool {
        self.starts_at <= starts_at && ends_at <= self.ends_at
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineupSlot {
    pub product_id: String,
    #[serde(default)]
    pub contract_id: Option<String>,
    #[serde(default)]
    pub position: i64,
    pub live_price_fen: i64,
    pub units: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub kol_id: String,
    pub platform: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub status: String,
    /// Maximum number of lineup slots (existing lineup included).
    pub slot_capacity: i64,
    /// The lineup already in the session.
    #[serde(default)]
    pub lineup: Vec<LineupSlot>,
}

/// One product placed with one KOL in one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub product_id: String,
    pub kol_id: String,
    pub session_id: String,
    pub units: i64,
    pub live_price_fen: i64,
    #[serde(default)]
    pub reason: String,
}

/// What a strategy run produces once validated: `POST /api/v1/allocations` answers this.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllocationResult {
    pub assignments: Vec<Assignment>,
    pub violations: Vec<Violation>,
    pub notes: Vec<String>,
}

/// Stable machine-readable violation codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    UnknownProduct,
    UnknownKol,
    UnknownSession,
    SessionKolMismatch,
    NoContract,
    NonPositiveUnits,
    StockExceeded,
    PriceBelowFloor,
    PriceAboveList,
    SessionCapacityExceeded,
    DuplicateProductInSession,
    LowestPriceClause,
}

impl ViolationCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownProduct => "unknown_product",
            Self::UnknownKol => "unknown_kol",
            Self::UnknownSession => "unknown_session",
            Self::SessionKolMismatch => "session_kol_mismatch",
            Self::NoContract => "no_contract",
            Self::NonPositiveUnits => "non_positive_units",
            Self::StockExceeded => "stock_exceeded",
            Self::PriceBelowFloor => "price_below_floor",
            Self::PriceAboveList => "price_above_list",
            Self::SessionCapacityExceeded => "session_capacity_exceeded",
            Self::DuplicateProductInSession => "duplicate_product_in_session",
            Self::LowestPriceClause => "lowest_price_clause",
        }
    }
}

/// A rule an assignment breaks. `index` is the 0-based position in `assignments` (null for
/// violations not tied to one assignment); `field` is a JSON path such as `assignments[3].units`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub index: Option<usize>,
    pub code: ViolationCode,
    pub field: String,
    pub message: String,
    /// The values the message names (amounts in fen, units), for a client's own text.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: super::Params,
}

impl Violation {
    /// The same violation naming these values.
    fn with(mut self, params: super::Params) -> Self {
        self.params = params;
        self
    }

    fn at(index: usize, code: ViolationCode, field: &str, message: String) -> Self {
        Self {
            index: Some(index),
            code,
            field: format!("assignments[{index}].{field}"),
            message,
            params: super::Params::new(),
        }
    }
}

/// Checks every assignment against the context (design §6). Never panics; returns all violations
/// found, in assignment order. An empty vector means the allocation may be applied.
pub fn validate(ctx: &AllocationContext, assignments: &[Assignment]) -> Vec<Violation> {
    use ViolationCode as C;

    let products: HashMap<&str, &Product> =
        ctx.products.iter().map(|p| (p.id.as_str(), p)).collect();
    let kols: HashMap<&str, &Kol> = ctx.kols.iter().map(|k| (k.id.as_str(), k)).collect();
    let sessions: HashMap<&str, &Session> =
        ctx.sessions.iter().map(|s| (s.id.as_str(), s)).collect();
    // Contracts allowing allocation, by (brand, kol, platform).
    let mut contracts: HashMap<(&str, &str, &str), Vec<&Contract>> = HashMap::new();
    for c in ctx.contracts.iter().filter(|c| c.status.in_force()) {
        contracts
            .entry((c.brand_id.as_str(), c.kol_id.as_str(), c.platform.as_str()))
            .or_default()
            .push(c);
    }

    // Units and slots already taken by existing lineups.
    let mut units_used: HashMap<&str, i128> = HashMap::new();
    let mut slots_used: HashMap<&str, i64> = HashMap::new();
    let mut in_session: HashSet<(&str, &str)> = HashSet::new();
    for s in &ctx.sessions {
        slots_used.insert(s.id.as_str(), s.lineup.len() as i64);
        for slot in &s.lineup {
            *units_used.entry(slot.product_id.as_str()).or_default() += i128::from(slot.units);
            in_session.insert((s.id.as_str(), slot.product_id.as_str()));
        }
    }

    // The lowest live price each product gets anywhere in this result.
    let mut lowest_price: HashMap<&str, i64> = HashMap::new();
    for a in assignments {
        let e = lowest_price
            .entry(a.product_id.as_str())
            .or_insert(a.live_price_fen);
        *e = (*e).min(a.live_price_fen);
    }

    let mut out = Vec::new();
    for (i, a) in assignments.iter().enumerate() {
        let product = products.get(a.product_id.as_str()).copied();
        let kol = kols.get(a.kol_id.as_str()).copied();
        let session = sessions.get(a.session_id.as_str()).copied();
        if product.is_none() {
            out.push(Violation::at(
                i,
                C::UnknownProduct,
                "product_id",
                format!("unknown product {:?}", a.product_id),
            ));
        }
        if kol.is_none() {
            out.push(Violation::at(
                i,
                C::UnknownKol,
                "kol_id",
                format!("unknown KOL {:?}", a.kol_id),
            ));
        }
        if session.is_none() {
            out.push(Violation::at(
                i,
                C::UnknownSession,
                "session_id",
                format!("unknown session {:?}", a.session_id),
            ));
        }
        if let Some(s) = session
            && s.kol_id != a.kol_id
        {
            out.push(Violation::at(
                i,
                C::SessionKolMismatch,
                "session_id",
                format!(
                    "session {} belongs to KOL {}, not to KOL {}",
                    s.id, s.kol_id, a.kol_id
                ),
            ));
        }

        if a.units <= 0 {
            out.push(
                Violation::at(
                    i,
                    C::NonPositiveUnits,
                    "units",
                    format!("units must be positive, got {}", a.units),
                )
                .with(super::params([("units", a.units.into())])),
            );
        }

        let mut clause_applies = false;
        if let (Some(p), Some(s)) = (product, session) {
            let matching: Vec<&Contract> = contracts
                .get(&(p.brand_id.as_str(), a.kol_id.as_str(), s.platform.as_str()))
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|c| c.covers(s.starts_at, s.ends_at))
                        .collect()
                })
                .unwrap_or_default();
            if matching.is_empty() {
                out.push(Violation::at(
                    i,
                    C::NoContract,
                    "kol_id",
                    format!(
                        "no signed or active contract between brand {} and KOL {} on {} covering session {} ({} to {})",
                        p.brand_id,
                        a.kol_id,
                        s.platform,
                        s.id,
                        s.starts_at.to_rfc3339(),
                        s.ends_at.to_rfc3339()
                    ),
                ));
            }
            clause_applies = matching.iter().any(|c| c.lowest_price_clause);
        }

        if let Some(p) = product {
            if a.live_price_fen < p.floor_price_fen {
                out.push(
                    Violation::at(
                        i,
                        C::PriceBelowFloor,
                        "live_price_fen",
                        format!(
                            "live price {} fen is under the floor price {} fen of {}",
                            a.live_price_fen, p.floor_price_fen, p.sku
                        ),
                    )
                    .with(super::params([
                        ("live_price_fen", a.live_price_fen.into()),
                        ("floor_price_fen", p.floor_price_fen.into()),
                    ])),
                );
            }
            if a.live_price_fen > p.list_price_fen {
                out.push(
                    Violation::at(
                        i,
                        C::PriceAboveList,
                        "live_price_fen",
                        format!(
                            "live price {} fen is above the list price {} fen of {}",
                            a.live_price_fen, p.list_price_fen, p.sku
                        ),
                    )
                    .with(super::params([
                        ("live_price_fen", a.live_price_fen.into()),
                        ("list_price_fen", p.list_price_fen.into()),
                    ])),
                );
            }
            if a.units > 0 {
                let used = units_used.entry(p.id.as_str()).or_default();
                *used += i128::from(a.units);
                if *used > i128::from(p.stock_units) {
                    out.push(Violation::at(
                        i,
                        C::StockExceeded,
                        "units",
                        format!(
                            "{} units of {} allocated in total (existing lineups included), stock is {}",
                            used, p.sku, p.stock_units
                        ),
                    )
.with(super::params([("units", i64::try_from(*used).unwrap_or(i64::MAX).into()), ("stock_units", p.stock_units.into())])));
                }
            }
            if clause_applies
                && let Some(&lowest) = lowest_price.get(a.product_id.as_str())
                && a.live_price_fen > lowest
            {
                out.push(Violation::at(
                    i,
                    C::LowestPriceClause,
                    "live_price_fen",
                    format!(
                        "the contract has a lowest-price clause: live price {} fen is above {} fen, the lowest price of {} elsewhere in this allocation",
                        a.live_price_fen, lowest, p.sku
                    ),
                )
.with(super::params([("live_price_fen", a.live_price_fen.into()), ("lowest_price_fen", lowest.into())])));
            }
        }

        if let Some(s) = session {
            if !in_session.insert((s.id.as_str(), a.product_id.as_str())) {
                out.push(Violation::at(
                    i,
                    C::DuplicateProductInSession,
                    "product_id",
                    format!("product {} is already in session {}", a.product_id, s.id),
                ));
            } else {
                let used = slots_used.entry(s.id.as_str()).or_default();
                *used += 1;
                if *used > s.slot_capacity {
                    out.push(Violation::at(
                        i,
                        C::SessionCapacityExceeded,
                        "session_id",
                        format!(
                            "session {} has {} slots; this is slot {} (existing lineup included)",
                            s.id, s.slot_capacity, used
                        ),
                    )
.with(super::params([("capacity", s.slot_capacity.into())])));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn ctx() -> AllocationContext {
        AllocationContext {
            products: vec![Product {
                id: "p1".into(),
                brand_id: "b1".into(),
                sku: "SKU-1".into(),
                name: "Tea".into(),
                category: "food".into(),
                role: ProductRole::Launch,
                list_price_fen: 10_000,
                floor_price_fen: 8_000,
                stock_units: 100,
            }],
            kols: vec![
                Kol {
                    id: "k1".into(),
                    name: "Head".into(),
                    tier: Tier::Head,
                    categories: vec!["food".into()],
                    accounts: vec![KolAccount {
                        platform: "douyin".into(),
                        account_id: "dy1".into(),
                        followers: 1_000_000,
                    }],
                    revenue_share_bp: 5000,
                    tax_status: TaxStatus::Company,
                },
                Kol {
                    id: "k2".into(),
                    name: "Other".into(),
                    tier: Tier::Tail,
                    categories: vec!["food".into()],
                    accounts: vec![],
                    revenue_share_bp: 5000,
                    tax_status: TaxStatus::Individual,
                },
            ],
            contracts: vec![Contract {
                id: "c1".into(),
                brand_id: "b1".into(),
                kol_id: "k1".into(),
                platform: "douyin".into(),
                status: ContractStatus::Signed,
                starts_at: t("2026-11-01T00:00:00Z"),
                ends_at: t("2026-12-31T00:00:00Z"),
                slot_fee_fen: 0,
                commission_bp: 2000,
                lowest_price_clause: true,
                exclusive: false,
            }],
            sessions: vec![
                Session {
                    id: "s1".into(),
                    kol_id: "k1".into(),
                    platform: "douyin".into(),
                    starts_at: t("2026-11-30T12:00:00Z"),
                    ends_at: t("2026-11-30T16:00:00Z"),
                    status: "scheduled".into(),
                    slot_capacity: 1,
                    lineup: vec![],
                },
                Session {
                    id: "s2".into(),
                    kol_id: "k1".into(),
                    platform: "douyin".into(),
                    starts_at: t("2026-12-01T12:00:00Z"),
                    ends_at: t("2026-12-01T16:00:00Z"),
                    status: "scheduled".into(),
                    slot_capacity: 5,
                    lineup: vec![],
                },
                Session {
                    id: "s3".into(),
                    kol_id: "k2".into(),
                    platform: "douyin".into(),
                    starts_at: t("2026-12-01T12:00:00Z"),
                    ends_at: t("2026-12-01T16:00:00Z"),
                    status: "scheduled".into(),
                    slot_capacity: 5,
                    lineup: vec![],
                },
            ],
            params: empty_object(),
        }
    }

    fn a(kol: &str, session: &str, units: i64, price: i64) -> Assignment {
        Assignment {
            product_id: "p1".into(),
            kol_id: kol.into(),
            session_id: session.into(),
            units,
            live_price_fen: price,
            reason: String::new(),
        }
    }

    fn codes(v: &[Violation]) -> Vec<(Option<usize>, &'static str)> {
        v.iter().map(|v| (v.index, v.code.as_str())).collect()
    }

    #[test]
    fn a_valid_assignment_passes() {
        assert!(validate(&ctx(), &[a("k1", "s1", 50, 9_000)]).is_empty());
    }

    #[test]
    fn flags_each_rule() {
        let c = ctx();
        let v = validate(&c, &[a("k1", "s1", 0, 7_000)]);
        assert_eq!(
            codes(&v),
            vec![
                (Some(0), "non_positive_units"),
                (Some(0), "price_below_floor")
            ]
        );
        let v = validate(&c, &[a("k1", "s1", 10, 10_001)]);
        assert_eq!(codes(&v), vec![(Some(0), "price_above_list")]);
        assert_eq!(v[0].field, "assignments[0].live_price_fen");
        let v = validate(&c, &[a("k2", "s3", 10, 9_000)]);
        assert_eq!(codes(&v), vec![(Some(0), "no_contract")]);
        let v = validate(&c, &[a("k2", "s1", 10, 9_000)]);
        assert_eq!(
            codes(&v),
            vec![(Some(0), "session_kol_mismatch"), (Some(0), "no_contract")]
        );
        let v = validate(&c, &[a("nobody", "nowhere", 10, 9_000)]);
        assert_eq!(
            codes(&v),
            vec![(Some(0), "unknown_kol"), (Some(0), "unknown_session")]
        );
        let mut bad = a("k1", "s1", 10, 9_000);
        bad.product_id = "p404".into();
        assert_eq!(
            codes(&validate(&c, &[bad])),
            vec![(Some(0), "unknown_product")]
        );
    }

    #[test]
    fn stock_capacity_duplicates_and_lowest_price() {
        let mut c = ctx();
        let v = validate(
            &c,
            &[
                a("k1", "s1", 60, 9_000),
                a("k1", "s2", 50, 8_500),
                a("k1", "s2", 1, 8_500),
            ],
        );
        assert_eq!(
            codes(&v),
            vec![
                (Some(0), "lowest_price_clause"),
                (Some(1), "stock_exceeded"),
                (Some(2), "stock_exceeded"),
                (Some(2), "duplicate_product_in_session"),
            ]
        );
        // Existing lineups count against stock and capacity.
        c.sessions[0].lineup.push(LineupSlot {
            product_id: "p9".into(),
            contract_id: None,
            position: 1,
            live_price_fen: 1,
            units: 1,
        });
        c.sessions[1].lineup.push(LineupSlot {
            product_id: "p1".into(),
            contract_id: Some("c1".into()),
            position: 1,
            live_price_fen: 9_000,
            units: 95,
        });
        let v = validate(&c, &[a("k1", "s1", 10, 9_000)]);
        assert_eq!(
            codes(&v),
            vec![
                (Some(0), "stock_exceeded"),
                (Some(0), "session_capacity_exceeded")
            ]
        );
    }

    #[test]
    fn contract_must_be_signed_and_cover_the_session() {
        let mut c = ctx();
        c.contracts[0].status = ContractStatus::Proposed;
        assert_eq!(
            codes(&validate(&c, &[a("k1", "s1", 1, 9_000)])),
            vec![(Some(0), "no_contract")]
        );
        c.contracts[0].status = ContractStatus::Active;
        c.contracts[0].ends_at = t("2026-11-30T13:00:00Z");
        assert_eq!(
            codes(&validate(&c, &[a("k1", "s1", 1, 9_000)])),
            vec![(Some(0), "no_contract")]
        );
    }

    #[test]
    fn extreme_numbers_do_not_panic() {
        let c = ctx();
        let v = validate(
            &c,
            &[
                a("k1", "s1", i64::MAX, i64::MIN),
                a("k1", "s2", i64::MAX, i64::MAX),
            ],
        );
        assert!(v.iter().any(|v| v.code == ViolationCode::StockExceeded));
    }

    #[test]
    fn ctx_reads_the_api_json() {
        let json = serde_json::json!({
            "products": [{"id": "p", "brand_id": "b", "sku": "S", "name": "N", "category": "food",
                          "role": "traffic", "list_price_fen": 100, "floor_price_fen": 50, "stock_units": 3}],
            "kols": [{"id": "k", "name": "K", "tier": "waist", "categories": ["food"],
                      "accounts": [{"platform": "taobao", "account_id": "a", "followers": 10}],
                      "revenue_share_bp": 3000, "tax_status": "individual"}],
            "contracts": [{"id": "c", "brand_id": "b", "kol_id": "k", "platform": "taobao",
                           "status": "active", "starts_at": "2026-01-01T08:00:00+08:00",
                           "ends_at": "2026-12-31T00:00:00Z", "slot_fee_fen": 0, "commission_bp": 100,
                           "lowest_price_clause": false, "exclusive": false}],
            "sessions": [{"id": "s", "kol_id": "k", "platform": "taobao", "starts_at": "2026-06-01T12:00:00Z",
                          "ends_at": "2026-06-01T14:00:00Z", "status": "scheduled", "slot_capacity": 10,
                          "lineup": []}]
        });
        let c: AllocationContext = serde_json::from_value(json).unwrap();
        assert_eq!(c.contracts[0].starts_at, t("2026-01-01T00:00:00Z"));
        assert_eq!(c.params, empty_object());
        assert_eq!(c.kols[0].followers_on("taobao"), 10);
    }
}
