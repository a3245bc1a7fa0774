//! Rules for a session's lineup of product slots, over plain data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ContractStatus, FieldError, Platform, Validator};

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
    v.check_with(slots.len() as i64 <= session.slot_capacity, || {
        FieldError::new(
            "lineup",
            "over_capacity",
            format!(
                "holds {} slots; the session has room for {}",
                slots.len(),
                session.slot_capacity
            ),
        )
        .with_param("slots", slots.len())
        .with_param("capacity", session.slot_capacity)
    });
    for (i, slot) in slots.iter().enumerate() {
        let f = |name: &str| format!("lineup[{i}].{name}");
        v.in_range(slot.position, f("position"), 1, 10_000);
        if slots[..i].iter().any(|s| s.position == slot.position) {
            v.error_code(f("position"), "duplicate", "is used by another slot");
        }
        if slots[..i].iter().any(|s| s.product_id == slot.product_id) {
            v.error_code(f("product_id"), "duplicate", "is already in the lineup");
        }
        v.positive(slot.units, f("units"));
        v.fen(slot.live_price_fen, &f("live_price_fen"));
        let (product, contract) = lookup(slot);
        let Some(product) = product else {
            v.push(FieldError::unknown(f("product_id"), "product"));
            continue;
        };
        let Some(contract) = contract else {
            v.push(FieldError::unknown(f("contract_id"), "contract"));
            continue;
        };
        v.check_with(slot.live_price_fen >= product.floor_price_fen, || {
            FieldError::new(
                f("live_price_fen"),
                "price_below_floor",
                format!(
                    "is under the product's floor price of {} fen",
                    product.floor_price_fen
                ),
            )
            .with_param("floor_price_fen", product.floor_price_fen)
        });
        v.check_with(slot.live_price_fen <= product.list_price_fen, || {
            FieldError::new(
                f("live_price_fen"),
                "price_above_list",
                format!(
                    "is above the product's list price of {} fen",
                    product.list_price_fen
                ),
            )
            .with_param("list_price_fen", product.list_price_fen)
        });
        v.check_with(slot.units <= product.stock_units, || {
            FieldError::new(
                f("units"),
                "over_stock",
                format!(
                    "exceeds the product's stock of {} units",
                    product.stock_units
                ),
            )
            .with_param("stock_units", product.stock_units)
        });
        v.check(
            contract.brand_id == product.brand_id,
            f("contract_id"),
            "contract_other_brand",
            "is not with the product's brand",
        );
        v.check(
            contract.kol_id == session.kol_id,
            f("contract_id"),
            "contract_other_kol",
            "is not with the session's KOL",
        );
        v.check(
            contract.platform == session.platform,
            f("contract_id"),
            "contract_other_platform",
            "is for another platform",
        );
        v.check_with(contract.status.in_force(), || {
            FieldError::new(
                f("contract_id"),
                "contract_not_in_force",
                format!(
                    "is {}; only a signed or active contract can fill a slot",
                    contract.status
                ),
            )
            .with_param("status", contract.status.to_string())
        });
        v.check(
            contract.starts_at <= session.starts_at && session.starts_at < contract.ends_at,
            f("contract_id"),
            "contract_not_covering",
            "does not cover the session's start time",
        );
    }
}
