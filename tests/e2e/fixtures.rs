//! A tiny agency built through the API: two brands, two KOLs, products and contracts.

use kolhost_e2e::TestApp;
use serde_json::{Value, json};

pub struct Agency {
    pub brand_a: Value,
    pub brand_b: Value,
    pub head: Value,
    pub tail: Value,
    pub product_a: Value,
    pub product_b: Value,
}

pub async fn agency(app: &TestApp) -> Agency {
    let brand_a = app
        .create(
            "/api/v1/brands",
            json!({"name": "禾田优选", "categories": ["food"]}),
        )
        .await;
    let brand_b = app
        .create(
            "/api/v1/brands",
            json!({"name": "露芽美妆", "categories": ["beauty"]}),
        )
        .await;
    let head = app
        .create(
            "/api/v1/kols",
            json!({"name": "林小满", "tier": "head", "categories": ["food", "beauty"],
            "accounts": [{"platform": "douyin", "account_id": "dy_1001", "followers": 12_000_000}],
            "revenue_share_bp": 5000, "tax_status": "company"}),
        )
        .await;
    let tail = app
        .create(
            "/api/v1/kols",
            json!({"name": "糖糖", "tier": "tail", "categories": ["beauty"],
            "accounts": [{"platform": "kuaishou", "account_id": "ks_2002", "followers": 300_000}],
            "revenue_share_bp": 3500, "tax_status": "individual"}),
        )
        .await;
    let product_a = app
        .create("/api/v1/products", json!({"brand_id": brand_a["id"], "sku": "HT-1", "name": "每日坚果", "category": "food",
            "role": "traffic", "list_price_fen": 12_900, "floor_price_fen": 8_900, "stock_units": 1000,
            "copy": "好吃", "listings": [{"platform": "douyin", "item_id": "369001"}]}))
        .await;
    let product_b = app
        .create("/api/v1/products", json!({"brand_id": brand_b["id"], "sku": "LY-1", "name": "修护精华", "category": "beauty",
            "role": "launch", "list_price_fen": 49_900, "floor_price_fen": 39_900, "stock_units": 500}))
        .await;
    Agency {
        brand_a,
        brand_b,
        head,
        tail,
        product_a,
        product_b,
    }
}

pub fn contract_body(brand: &Value, kol: &Value, platform: &str) -> Value {
    json!({
        "brand_id": brand["id"], "kol_id": kol["id"], "platform": platform,
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
        "slot_fee_fen": 5_000_000, "commission_bp": 2000,
        "gmv_guarantee_fen": 300_000_000, "guarantee_remedy": "slot_fee_refund_pro_rata",
        "exclusive": false, "lowest_price_clause": true, "sessions_committed": 4
    })
}

/// A contract moved through the lifecycle up to `to` (`draft`, `proposed`, `signed` or `active`).
pub async fn contract_in(
    app: &TestApp,
    brand: &Value,
    kol: &Value,
    platform: &str,
    to: &str,
) -> Value {
    let mut c = app
        .create("/api/v1/contracts", contract_body(brand, kol, platform))
        .await;
    for step in ["proposed", "signed", "active"] {
        if c["status"] == to {
            break;
        }
        let (status, v) = app
            .post(
                &format!(
                    "/api/v1/contracts/{}/transitions",
                    c["id"].as_str().unwrap()
                ),
                &app.admin,
                json!({"to": step}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        c = v;
    }
    assert_eq!(c["status"], to);
    c
}

pub fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}
