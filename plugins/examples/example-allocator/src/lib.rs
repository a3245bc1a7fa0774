//! An example allocator plugin: the agency pyramid (design §1). Launch products go to head
//! KOLs, traffic products to waist KOLs, profit products to tail KOLs, each only where a signed
//! or active contract links the product's brand and the KOL; a product's stock is split evenly
//! over its KOLs, at the list price less `discount_bp` (params) but never under the floor.
//! Grants it needs: `log`.

use kolhost_plugin_sdk::allocator::*;
use kolhost_plugin_sdk::host;

struct Pyramid;

fn tier_for(role: ProductRole) -> Tier {
    match role {
        ProductRole::Launch => Tier::Head,
        ProductRole::Traffic => Tier::Waist,
        ProductRole::Profit => Tier::Tail,
    }
}

impl Allocator for Pyramid {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "example-allocator".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: String::new(),
            description: "Example: pyramid allocation by tier and product role".into(),
        }
    }

    fn allocate(input: AllocateInput) -> Result<Allocation, PluginError> {
        let params: serde_json::Value = serde_json::from_str(if input.params_json.is_empty() {
            "{}"
        } else {
            &input.params_json
        })
        .map_err(|e| PluginError::Malformed(format!("params_json: {e}")))?;
        let discount_bp = params
            .get("discount_bp")
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
            .clamp(0, 10_000);
        let mut assignments = Vec::new();
        let mut notes = Vec::new();
        for p in &input.products {
            let want = tier_for(p.role);
            let kols: Vec<&Kol> = input
                .kols
                .iter()
                .filter(|k| k.tier == want)
                .filter(|k| {
                    input.contracts.iter().any(|c| {
                        c.brand_id == p.brand_id
                            && c.kol_id == k.id
                            && (c.status == "signed" || c.status == "active")
                    })
                })
                .collect();
            if kols.is_empty() || p.stock_units <= 0 {
                notes.push(format!(
                    "{}: no {:?} KOL under contract or no stock",
                    p.sku, want
                ));
                continue;
            }
            let price = (p.list_price_fen * (10_000 - discount_bp) / 10_000).max(p.floor_price_fen);
            let share = p.stock_units / kols.len() as i64;
            for k in kols {
                if share == 0 {
                    break;
                }
                let session_id = input
                    .sessions
                    .iter()
                    .find(|s| s.kol_id == k.id)
                    .map(|s| s.id.clone());
                assignments.push(Assignment {
                    product_id: p.id.clone(),
                    kol_id: k.id.clone(),
                    session_id,
                    units: share,
                    live_price_fen: price,
                    reason: format!("{:?} product to {:?} KOL", p.role, k.tier),
                });
            }
        }
        host::info(&format!("allocated {} assignments", assignments.len()));
        Ok(Allocation { assignments, notes })
    }
}

kolhost_plugin_sdk::export_allocator!(Pyramid);
