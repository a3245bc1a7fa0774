use kolhost_e2e::{TestApp, both_databases};
use serde_json::json;

use crate::fixtures::{agency, contract_in, id};

both_databases!(lineup_is_validated, session_status_moves_forward);

async fn lineup_is_validated(app: &TestApp) {
    let a = agency(app).await;
    let signed = contract_in(app, &a.brand_a, &a.head, "douyin", "signed").await;
    let draft = contract_in(app, &a.brand_b, &a.head, "douyin", "draft").await;
    let session = app
        .create("/api/v1/sessions", json!({"kol_id": a.head["id"], "platform": "douyin", "title": "年货节", "room_id": "r1",
            "starts_at": "2027-01-10T12:00:00Z", "ends_at": "2027-01-10T16:00:00Z", "slot_capacity": 2}))
        .await;
    assert_eq!(session["status"], "scheduled");
    let path = format!("/api/v1/sessions/{}", id(&session));
    let slot = |product: &serde_json::Value,
                contract: &serde_json::Value,
                pos: i64,
                price: i64,
                units: i64| {
        json!({"product_id": product["id"], "contract_id": contract["id"], "position": pos, "live_price_fen": price, "units": units})
    };

    let (status, p) = app
        .patch(
            &path,
            &app.admin,
            json!({"lineup": [slot(&a.product_a, &signed, 1, 8_000, 10)]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "lineup[0].live_price_fen");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("floor")
    );
    let (status, p) = app
        .patch(
            &path,
            &app.admin,
            json!({"lineup": [slot(&a.product_b, &draft, 1, 45_000, 10)]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "lineup[0].contract_id");
    let (status, p) = app
        .patch(
            &path,
            &app.admin,
            json!({"lineup": [slot(&a.product_b, &signed, 1, 45_000, 10)]}),
        )
        .await;
    assert_eq!(
        status, 422,
        "product of another brand than the contract: {p}"
    );
    let (status, _) = app
        .patch(
            &path,
            &app.admin,
            json!({"lineup": [slot(&a.product_a, &signed, 1, 9_900, 5_000)]}),
        )
        .await;
    assert_eq!(status, 422, "more units than stock");
    let (status, p) = app
        .patch(&path, &app.admin, json!({"slot_capacity": 1, "lineup": [slot(&a.product_a, &signed, 1, 9_900, 10), slot(&a.product_a, &signed, 1, 9_900, 10)]}))
        .await;
    assert_eq!(status, 422);
    let fields: Vec<_> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"lineup")
            && fields.contains(&"lineup[1].position")
            && fields.contains(&"lineup[1].product_id"),
        "{fields:?}"
    );
    let (_, unchanged) = app.get(&path, &app.admin).await;
    assert!(unchanged["lineup"].as_array().unwrap().is_empty());
    assert_eq!(unchanged["slot_capacity"], 2);

    let (status, s) = app
        .patch(
            &path,
            &app.admin,
            json!({"lineup": [slot(&a.product_a, &signed, 1, 9_900, 300)], "outline": "开场 福利"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["lineup"][0]["units"], 300);
    let (_, read) = app.get(&path, &app.admin).await;
    assert_eq!(read["lineup"], s["lineup"]);
    assert_eq!(read["outline"], "开场 福利");

    // A session for a platform the KOL is not on.
    let (status, p) = app
        .post(
            "/api/v1/sessions",
            &app.admin,
            json!({"kol_id": a.head["id"], "platform": "taobao", "title": "x",
            "starts_at": "2027-01-10T12:00:00Z", "ends_at": "2027-01-10T16:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "platform");
}

async fn session_status_moves_forward(app: &TestApp) {
    let a = agency(app).await;
    let s = app
        .create(
            "/api/v1/sessions",
            json!({"kol_id": a.tail["id"], "platform": "kuaishou", "title": "晚场",
            "starts_at": "2027-01-10T12:00:00Z", "ends_at": "2027-01-10T16:00:00Z"}),
        )
        .await;
    let path = format!("/api/v1/sessions/{}", id(&s));
    assert_eq!(
        app.patch(&path, &app.admin, json!({"status": "ended"}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.patch(&path, &app.admin, json!({"status": "live"}))
            .await
            .0,
        200
    );
    assert_eq!(
        app.patch(&path, &app.admin, json!({"status": "ended"}))
            .await
            .0,
        200
    );
    assert_eq!(
        app.patch(
            &path,
            &app.admin,
            json!({"starts_at": "2027-01-11T12:00:00Z"})
        )
        .await
        .0,
        409
    );
    let (_, list) = app
        .get(
            &format!("/api/v1/sessions?status=ended&kol_id={}", id(&a.tail)),
            &app.admin,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
