use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use reqwest::Method;
use serde_json::json;

use crate::fixtures::{agency, contract_in, id};

both_databases!(
    unauthenticated_is_401,
    roles_are_enforced,
    brand_token_sees_only_its_own,
    kol_token_sees_only_its_own
);

async fn unauthenticated_is_401(app: &TestApp) {
    for path in [
        "/api/v1/brands",
        "/api/v1/contracts",
        "/api/v1/audit",
        "/api/v1/me",
    ] {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
    }
    let (status, _) = app.get("/api/v1/brands", "kh_not_a_token").await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/brands",
            None,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 401);
}

async fn roles_are_enforced(app: &TestApp) {
    let scripter = app.token(Role::Scripter, None).await;
    let (status, problem) = app
        .post("/api/v1/brands", &scripter, json!({"name": "x"}))
        .await;
    assert_eq!(status, 403, "{problem}");
    let (status, _) = app.get("/api/v1/brands", &scripter).await;
    assert_eq!(status, 200, "staff may read");
    let (status, _) = app.get("/api/v1/audit", &scripter).await;
    assert_eq!(status, 403);
    let manager = app.token(Role::Manager, None).await;
    let (status, _) = app
        .post("/api/v1/brands", &manager, json!({"name": "经理建的品牌"}))
        .await;
    assert_eq!(status, 201);
    let (_, me) = app.get("/api/v1/me", &manager).await;
    assert_eq!(me["role"], "manager");
}

async fn brand_token_sees_only_its_own(app: &TestApp) {
    let a = agency(app).await;
    let mine = contract_in(app, &a.brand_a, &a.head, "douyin", "signed").await;
    let theirs = contract_in(app, &a.brand_b, &a.head, "douyin", "signed").await;
    let brand = app
        .token(Role::Brand, Some(id(&a.brand_a).parse().unwrap()))
        .await;

    let (status, list) = app.get("/api/v1/contracts", &brand).await;
    assert_eq!(status, 200);
    let ids: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, vec![mine["id"].clone()]);
    let (status, _) = app
        .get(&format!("/api/v1/contracts/{}", id(&theirs)), &brand)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(
            &format!("/api/v1/contracts/{}/versions", id(&theirs)),
            &brand,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(&format!("/api/v1/contracts/{}", id(&mine)), &brand)
        .await;
    assert_eq!(status, 200);
    // Filters cannot widen the scope.
    let (_, list) = app
        .get(
            &format!("/api/v1/contracts?brand_id={}", id(&a.brand_b)),
            &brand,
        )
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // Other brands and their products are invisible; writes are forbidden.
    let (status, _) = app
        .get(&format!("/api/v1/brands/{}", id(&a.brand_b)), &brand)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(&format!("/api/v1/products/{}", id(&a.product_b)), &brand)
        .await;
    assert_eq!(status, 404);
    let (_, products) = app.get("/api/v1/products", &brand).await;
    assert_eq!(products["items"].as_array().unwrap().len(), 1);
    let (status, _) = app
        .post(
            &format!("/api/v1/contracts/{}/transitions", id(&mine)),
            &brand,
            json!({"to": "active"}),
        )
        .await;
    assert_eq!(status, 403);

    // Sessions: the brand sees those carrying its products, and only its own slots in them.
    let session = app
        .create("/api/v1/sessions", json!({"kol_id": a.head["id"], "platform": "douyin", "title": "专场",
            "starts_at": "2027-03-01T12:00:00Z", "ends_at": "2027-03-01T16:00:00Z",
            "lineup": [
                {"product_id": a.product_a["id"], "contract_id": mine["id"], "position": 1, "live_price_fen": 9_900, "units": 100},
                {"product_id": a.product_b["id"], "contract_id": theirs["id"], "position": 2, "live_price_fen": 45_000, "units": 50}
            ]}))
        .await;
    let (status, seen) = app
        .get(&format!("/api/v1/sessions/{}", id(&session)), &brand)
        .await;
    assert_eq!(status, 200);
    assert_eq!(seen["lineup"].as_array().unwrap().len(), 1);
    assert_eq!(seen["lineup"][0]["product_id"], a.product_a["id"]);
    let other_brand = app
        .token(Role::Brand, Some(id(&a.brand_b).parse().unwrap()))
        .await;
    let (_, list) = app.get("/api/v1/sessions", &other_brand).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let lonely = app
        .create("/api/v1/brands", json!({"name": "新品牌"}))
        .await;
    let lonely = app
        .token(Role::Brand, Some(id(&lonely).parse().unwrap()))
        .await;
    let (status, _) = app
        .get(&format!("/api/v1/sessions/{}", id(&session)), &lonely)
        .await;
    assert_eq!(status, 404);
}

async fn kol_token_sees_only_its_own(app: &TestApp) {
    let a = agency(app).await;
    let head_contract = contract_in(app, &a.brand_b, &a.head, "douyin", "signed").await;
    let tail_contract = contract_in(app, &a.brand_b, &a.tail, "kuaishou", "signed").await;
    let kol = app
        .token(Role::Kol, Some(id(&a.tail).parse().unwrap()))
        .await;
    let (_, list) = app.get("/api/v1/contracts", &kol).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], tail_contract["id"]);
    let (status, _) = app
        .get(&format!("/api/v1/contracts/{}", id(&head_contract)), &kol)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(&format!("/api/v1/kols/{}", id(&a.head)), &kol)
        .await;
    assert_eq!(status, 404);
    let (status, me) = app
        .get(&format!("/api/v1/kols/{}", id(&a.tail)), &kol)
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["tier"], "tail");
    // Its counterparty brand is visible, the other is not.
    let (status, _) = app
        .get(&format!("/api/v1/brands/{}", id(&a.brand_b)), &kol)
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .get(&format!("/api/v1/brands/{}", id(&a.brand_a)), &kol)
        .await;
    assert_eq!(status, 404);
}
