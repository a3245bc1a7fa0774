//! Rules for a session's lineup of product slots, over plain data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ContractStatus, Platform, Validator};

/// A slot as requested.
#[derive(Debug, Clone)]
pub struct Slot {
    pub product_id: Uuid,
    pub contract_id: Uuid,
    pub position: i64,
    pub live_price_fen: i64,
    pub units: i64,
}

/// What the store knows of a slot's product.
#[derive(Debug, Clone)]
pub struct ProductFacts {
    pub brand_id: Uuid,
    pub list_price_fen: i64,
    pub floor_price_fen: i64,
    pub stock_units: i64,
}

/// What the store knows of a slot's contract.
#[derive(Debug, Clone)]
pub struct ContractFacts {
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    pub platform: Platform,
    pub status: ContractStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// The session a lineup belongs to.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub kol_id: Uuid,
    pub platform: Platform,
    pub starts_at: DateTime<Utc>,
    pub slot_capacity: i64,
}

/// Checks every slot; `lookup` gives the facts of a slot's product and contract, if they exist.
pub fn validate(
    v: &mut Validator,
    session: &SessionFacts,
    slots: &[Slot],
    lookup: impl Fn(&Slot) -> (Option<ProductFacts>, Option<ContractFacts>),
) {
    v.check(
        slots.len() as i64 <= session.slot_capacity,
        "lineup",
        format!(
            "holds {} slots; the session has room for {}",
            slots.len(),
            session.slot_capacity
        ),
    );
    for (i, slot) in slots.iter().enumerate() {
        let f = |name: &str| format!("lineup[{i}].{name}");
        v.check(
            slot.position >= 1 && slot.position <= 10_000,
            f("position"),
            "must be between 1 and 10000",
        );
        if slots[..i].iter().any(|s| s.position == slot.position) {
            v.error(f("position"), "is used by another slot");
        }
        if slots[..i].iter().any(|s| s.product_id == slot.product_id) {
            v.error(f("product_id"), "is already in the lineup");
        }
        v.check(slot.units > 0, f("units"), "must be positive");
        v.fen(slot.live_price_fen, &f("live_price_fen"));
        let (product, contract) = lookup(slot);
        let Some(product) = product else {
            v.error(f("product_id"), "no such product");
            continue;
        };
        let Some(contract) = contract else {
            v.error(f("contract_id"), "no such contract");
            continue;
        };
        v.check(
            slot.live_price_fen >= product.floor_price_fen,
            f("live_price_fen"),
            format!(
                "is under the product's floor price of {} fen",
                product.floor_price_fen
            ),
        );
        v.check(
            slot.live_price_fen <= product.list_price_fen,
            f("live_price_fen"),
            format!(
                "is above the product's list price of {} fen",
                product.list_price_fen
            ),
        );
        v.check(
            slot.units <= product.stock_units,
            f("units"),
            format!(
                "exceeds the product's stock of {} units",
                product.stock_units
            ),
        );
        v.check(
            contract.brand_id == product.brand_id,
            f("contract_id"),
            "is not with the product's brand",
        );
        v.check(
            contract.kol_id == session.kol_id,
            f("contract_id"),
            "is not with the session's KOL",
        );
        v.check(
            contract.platform == session.platform,
            f("contract_id"),
            "is for another platform",
        );
        v.check(
            contract.status.in_force(),
            f("contract_id"),
            format!(
                "is {}; only a signed or active contract can fill a slot",
                contract.status
            ),
        );
        v.check(
            contract.starts_at <= session.starts_at && session.starts_at < contract.ends_at,
            f("contract_id"),
            "does not cover the session's start time",
        );
    }
}
