//! The pyramid strategy of `scripts/pyramid.lua`, step for step in Rust: the benchmark's baseline
//! and a cross-check of the Lua version (both give the same assignments on the same ctx).
//!
//! 1. Index: KOLs by id with their categories, open sessions per KOL (by start time), existing
//!    lineups (slots used, products already in a session, units already taken), signed or active
//!    contracts per brand (by id).
//! 2. Products in order: role (launch, traffic, profit), then stock value (list price x stock)
//!    descending, then id.
//! 3. For each product, the KOLs of the role's tier (launch: head, traffic: waist, profit: tail)
//!    that sell its category and hold a contract with its brand; per KOL the first open session on
//!    the contract's platform inside the contract's period with a free slot and without the
//!    product. Weight: followers on that platform x the tier factor.
//! 4. Keep the `max_kols_per_product` heaviest; split the remaining stock by weight (floor), the
//!    rest to the heaviest; live price = list price less the role's discount, never under the
//!    floor price nor over the list price.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use crate::domain::allocation::{AllocationContext, Assignment, Kol, ProductRole, Session, Tier};

/// Pyramid parameters; `from_params` reads the same keys as `pyramid.lua`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyramidParams {
    pub discount_bp: [i64; 3],
    pub tier_for_role: [Tier; 3],
    pub tier_factor: [i64; 3],
    pub max_kols_per_product: usize,
}

impl Default for PyramidParams {
    fn default() -> Self {
        Self {
            discount_bp: [500, 2500, 1000],
            tier_for_role: [Tier::Head, Tier::Waist, Tier::Tail],
            tier_factor: [100, 40, 15],
            max_kols_per_product: 3,
        }
    }
}

fn role_ix(r: ProductRole) -> usize {
    match r {
        ProductRole::Launch => 0,
        ProductRole::Traffic => 1,
        ProductRole::Profit => 2,
    }
}

fn tier_ix(t: Tier) -> usize {
    match t {
        Tier::Head => 0,
        Tier::Waist => 1,
        Tier::Tail => 2,
    }
}

impl PyramidParams {
    /// Reads `discount_bp.{launch,traffic,profit}`, `tier_for_role.{...}`,
    /// `tier_factor.{head,waist,tail}` and `max_kols_per_product` from the ctx params.
    pub fn from_params(params: &serde_json::Value) -> Self {
        let mut p = Self::default();
        let roles = ["launch", "traffic", "profit"];
        let tiers = ["head", "waist", "tail"];
        for (i, r) in roles.iter().enumerate() {
            if let Some(v) = params
                .pointer(&format!("/discount_bp/{r}"))
                .and_then(|v| v.as_i64())
            {
                p.discount_bp[i] = v;
            }
            if let Some(t) = params
                .pointer(&format!("/tier_for_role/{r}"))
                .and_then(|v| serde_json::from_value::<Tier>(v.clone()).ok())
            {
                p.tier_for_role[i] = t;
            }
        }
        for (i, t) in tiers.iter().enumerate() {
            if let Some(v) = params
                .pointer(&format!("/tier_factor/{t}"))
                .and_then(|v| v.as_i64())
            {
                p.tier_factor[i] = v;
            }
        }
        if let Some(v) = params.get("max_kols_per_product").and_then(|v| v.as_u64()) {
            p.max_kols_per_product = v as usize;
        }
        p
    }
}

struct Entry<'a> {
    kol: &'a Kol,
    cats: &'a HashSet<&'a str>,
    sessions: Vec<&'a Session>,
    w: i64,
}

/// Session statuses that take no more products.
pub const CLOSED_SESSION_STATUSES: [&str; 3] = ["cancelled", "completed", "ended"];

/// Runs the pyramid strategy; assignments only (the Lua version also writes notes).
pub fn allocate(ctx: &AllocationContext, params: &PyramidParams) -> Vec<Assignment> {
    let kols: HashMap<&str, &Kol> = ctx.kols.iter().map(|k| (k.id.as_str(), k)).collect();
    let kol_cats: HashMap<&str, HashSet<&str>> = ctx
        .kols
        .iter()
        .map(|k| {
            (
                k.id.as_str(),
                k.categories.iter().map(String::as_str).collect(),
            )
        })
        .collect();

    let mut sessions_by_kol: HashMap<&str, Vec<&Session>> = HashMap::new();
    let mut used: HashMap<&str, i64> = HashMap::new();
    let mut has: HashSet<(&str, &str)> = HashSet::new();
    let mut taken: HashMap<&str, i64> = HashMap::new();
    for s in &ctx.sessions {
        used.insert(s.id.as_str(), s.lineup.len() as i64);
        for l in &s.lineup {
            has.insert((s.id.as_str(), l.product_id.as_str()));
            *taken.entry(l.product_id.as_str()).or_default() += l.units;
        }
        if !CLOSED_SESSION_STATUSES.contains(&s.status.as_str()) {
            sessions_by_kol
                .entry(s.kol_id.as_str())
                .or_default()
                .push(s);
        }
    }
    for list in sessions_by_kol.values_mut() {
        list.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
    }

    // Signed or active contracts by brand and by the KOL's tier (in id order), each with the
    // KOL's open sessions on the contract's platform inside its period (in time order).
    let mut contracts: Vec<_> = ctx
        .contracts
        .iter()
        .filter(|c| c.status.in_force())
        .collect();
    contracts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut by_brand_tier: HashMap<(&str, Tier), Vec<Entry>> = HashMap::new();
    for c in contracts {
        let Some(k) = kols.get(c.kol_id.as_str()) else {
            continue;
        };
        let sessions: Vec<&Session> = sessions_by_kol
            .get(k.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|s| {
                s.platform == c.platform && c.starts_at <= s.starts_at && s.ends_at <= c.ends_at
            })
            .collect();
        if sessions.is_empty() {
            continue;
        }
        by_brand_tier
            .entry((c.brand_id.as_str(), k.tier))
            .or_default()
            .push(Entry {
                kol: k,
                cats: &kol_cats[k.id.as_str()],
                sessions,
                w: k.followers_on(&c.platform).max(1) * params.tier_factor[tier_ix(k.tier)],
            });
    }

    let mut products: Vec<_> = ctx.products.iter().collect();
    products.sort_by(|a, b| {
        (
            role_ix(a.role),
            Reverse(i128::from(a.list_price_fen) * i128::from(a.stock_units)),
            &a.id,
        )
            .cmp(&(
                role_ix(b.role),
                Reverse(i128::from(b.list_price_fen) * i128::from(b.stock_units)),
                &b.id,
            ))
    });

    let mut out = Vec::new();
    let mut cands: Vec<(&Kol, &Session, i64)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for p in products {
        let remaining = p.stock_units - taken.get(p.id.as_str()).copied().unwrap_or(0);
        if remaining <= 0 {
            continue;
        }
        let tier = params.tier_for_role[role_ix(p.role)];
        cands.clear();
        seen.clear();
        for e in by_brand_tier
            .get(&(p.brand_id.as_str(), tier))
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if seen.contains(e.kol.id.as_str()) || !e.cats.contains(p.category.as_str()) {
                continue;
            }
            for s in &e.sessions {
                if used[s.id.as_str()] < s.slot_capacity
                    && !has.contains(&(s.id.as_str(), p.id.as_str()))
                {
                    cands.push((e.kol, s, e.w));
                    seen.insert(e.kol.id.as_str());
                    break;
                }
            }
        }
        if cands.is_empty() {
            continue;
        }
        cands.sort_by(|a, b| (Reverse(a.2), &a.0.id).cmp(&(Reverse(b.2), &b.0.id)));
        cands.truncate(params.max_kols_per_product.max(1));
        let total: i128 = cands.iter().map(|c| i128::from(c.2)).sum();
        let mut units: Vec<i64> = cands
            .iter()
            .map(|c| (i128::from(remaining) * i128::from(c.2) / total) as i64)
            .collect();
        units[0] += remaining - units.iter().sum::<i64>();
        let disc = params.discount_bp[role_ix(p.role)];
        let mut price = (i128::from(p.list_price_fen) * i128::from(10_000 - disc))
            .div_euclid(10_000)
            .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        if price < p.floor_price_fen {
            price = p.floor_price_fen;
        }
        if price > p.list_price_fen {
            price = p.list_price_fen;
        }
        let off_bp = if p.list_price_fen > 0 {
            (p.list_price_fen - price) * 10_000 / p.list_price_fen
        } else {
            0
        };
        for ((k, s, _), u) in cands.iter().zip(units) {
            if u <= 0 {
                continue;
            }
            // The same reason the Lua version writes, so both do the same work.
            out.push(Assignment {
                product_id: p.id.clone(),
                kol_id: k.id.clone(),
                session_id: s.id.clone(),
                units: u,
                live_price_fen: price,
                reason: format!(
                    "{} product -> {} KOL {} ({}): {u} of {remaining} units by expected GMV, {off_bp} bp off list",
                    p.role.as_str(),
                    tier.as_str(),
                    k.name,
                    p.category
                ),
            });
            *used.get_mut(s.id.as_str()).expect("indexed") += 1;
            has.insert((s.id.as_str(), p.id.as_str()));
        }
    }
    out
}
