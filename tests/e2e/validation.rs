use kolhost_e2e::{TestApp, both_databases};
use serde_json::json;

use crate::fixtures::{agency, id};

both_databases!(
    malformed_and_misshapen_bodies,
    oversized_body_is_413,
    product_rules,
    duplicate_accounts_and_listings
);

async fn malformed_and_misshapen_bodies(app: &TestApp) {
    let post_raw = |body: &'static str| {
        app.http
            .post(format!("{}/api/v1/brands", app.base))
            .bearer_auth(&app.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let res = post_raw("{\"name\": ").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let (status, p) = app
        .post(
            "/api/v1/brands",
            &app.admin,
            json!({"name": "x", "colour": "red"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "colour");
    let (status, p) = app
        .post("/api/v1/brands", &app.admin, json!({"categories": []}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "name");
    let (status, p) = app
        .post("/api/v1/brands", &app.admin, json!({"name": 5}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "name");
    let (status, p) = app
        .post(
            "/api/v1/brands",
            &app.admin,
            json!({"name": "x", "categories": ["Food!"]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "categories[0]");
    let (status, _) = app.get("/api/v1/brands/not-a-uuid", &app.admin).await;
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/brands?limit=0", &app.admin).await;
    assert_eq!(status, 400);
    let (status, _) = app
        .get(
            &format!("/api/v1/brands/{}", uuid::Uuid::now_v7()),
            &app.admin,
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.get("/api/v1/brands", &app.admin).await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
}

async fn oversized_body_is_413(app: &TestApp) {
    let name = "x".repeat(100 * 1024);
    let (status, p) = app
        .post("/api/v1/brands", &app.admin, json!({"name": name}))
        .await;
    assert_eq!(status, 413, "{p}");
    assert_eq!(p["status"], 413);
}

async fn product_rules(app: &TestApp) {
    let a = agency(app).await;
    let (status, p) = app
        .post(
            "/api/v1/products",
            &app.admin,
            json!({"brand_id": a.brand_a["id"], "sku": "X-1", "name": "x", "category": "food",
            "role": "profit", "list_price_fen": 1000, "floor_price_fen": 2000, "stock_units": -1}),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<_> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["floor_price_fen", "stock_units"]);
    let (status, p) = app
        .post(
            "/api/v1/products",
            &app.admin,
            json!({"brand_id": a.brand_a["id"], "sku": "HT-1", "name": "dup", "category": "food",
            "role": "profit", "list_price_fen": 1000, "floor_price_fen": 900, "stock_units": 1}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "sku");
    let (status, p) = app
        .post(
            "/api/v1/products",
            &app.admin,
            json!({"brand_id": uuid::Uuid::now_v7(), "sku": "Z", "name": "z", "category": "food",
            "role": "profit", "list_price_fen": 1000, "floor_price_fen": 900, "stock_units": 1}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "brand_id");
    // A patch is validated against the whole product: floor above the current list price.
    let (status, p) = app
        .patch(
            &format!("/api/v1/products/{}", id(&a.product_a)),
            &app.admin,
            json!({"floor_price_fen": 20_000}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "floor_price_fen");
    let (status, p) = app
        .patch(
            &format!("/api/v1/products/{}", id(&a.product_a)),
            &app.admin,
            json!({"floor_price_fen": 9_500, "role": "profit"}),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["floor_price_fen"], 9_500);
    assert_eq!(p["listings"][0]["item_id"], "369001");
}

async fn duplicate_accounts_and_listings(app: &TestApp) {
    let a = agency(app).await;
    let (status, p) = app
        .post("/api/v1/kols", &app.admin, json!({"name": "冒名", "tier": "tail", "accounts": [{"platform": "douyin", "account_id": "dy_1001", "followers": 1}],
            "revenue_share_bp": 3000, "tax_status": "individual"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "accounts[0].account_id");
    let (status, p) = app
        .patch(
            &format!("/api/v1/products/{}", id(&a.product_b)),
            &app.admin,
            json!({"listings": [{"platform": "douyin", "item_id": "369001"}]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "listings[0].item_id");
    let (status, p) = app
        .patch(
            &format!("/api/v1/kols/{}", id(&a.tail)),
            &app.admin,
            json!({"revenue_share_bp": 10_001}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "revenue_share_bp");
    let (status, k) = app
        .patch(&format!("/api/v1/kols/{}", id(&a.tail)), &app.admin, json!({"tier": "waist", "accounts": [{"platform": "kuaishou", "account_id": "ks_2002", "followers": 900_000}]}))
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["tier"], "waist");
    assert_eq!(k["accounts"][0]["followers"], 900_000);
}
