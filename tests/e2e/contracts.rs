use kolhost_e2e::{TestApp, both_databases};
use serde_json::json;

use crate::fixtures::{agency, contract_body, contract_in, id};

both_databases!(
    commission_over_100_percent_is_refused_and_nothing_stored,
    illegal_transition_is_a_conflict,
    signed_terms_change_only_by_amendment,
    lifecycle_to_completion
);

async fn count(app: &TestApp, path: &str) -> usize {
    let (_, v) = app.get(path, &app.admin).await;
    v["items"].as_array().unwrap().len()
}

async fn commission_over_100_percent_is_refused_and_nothing_stored(app: &TestApp) {
    let a = agency(app).await;
    let mut body = contract_body(&a.brand_a, &a.head, "douyin");
    body["commission_bp"] = json!(20000);
    let res = app
        .http
        .post(format!("{}/api/v1/contracts", app.base))
        .bearer_auth(&app.admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["errors"][0]["field"], "commission_bp");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("commission_bp")
    );
    assert_eq!(count(app, "/api/v1/contracts").await, 0);
}

async fn illegal_transition_is_a_conflict(app: &TestApp) {
    let a = agency(app).await;
    let c = contract_in(app, &a.brand_a, &a.head, "douyin", "draft").await;
    let path = format!("/api/v1/contracts/{}/transitions", id(&c));
    let (status, problem) = app
        .post(&path, &app.admin, json!({"to": "completed"}))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("allowed: proposed, cancelled"),
        "{problem}"
    );
    let (_, now) = app
        .get(&format!("/api/v1/contracts/{}", id(&c)), &app.admin)
        .await;
    assert_eq!(now["status"], "draft");
    // An unknown state is not a conflict but a bad value.
    let (status, problem) = app.post(&path, &app.admin, json!({"to": "married"})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "to");
}

async fn signed_terms_change_only_by_amendment(app: &TestApp) {
    let a = agency(app).await;
    let c = contract_in(app, &a.brand_a, &a.head, "douyin", "draft").await;
    let path = format!("/api/v1/contracts/{}", id(&c));
    // Drafts are edited in place.
    let (status, edited) = app
        .patch(&path, &app.admin, json!({"commission_bp": 1800}))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["commission_bp"], 1800);
    assert_eq!(edited["version"], 1);
    let c = contract_in_from(app, &edited, "signed").await;

    let (status, problem) = app
        .patch(&path, &app.admin, json!({"commission_bp": 2500}))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("amendment"));

    let amend = format!("{path}/amendments");
    let (status, problem) = app
        .post(
            &amend,
            &app.admin,
            json!({"reason": "", "commission_bp": 2500}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "reason");
    let (status, problem) = app
        .post(
            &amend,
            &app.admin,
            json!({"reason": "same", "commission_bp": 1800}),
        )
        .await;
    assert_eq!(status, 422, "an amendment that changes nothing: {problem}");

    let (status, v2) = app
        .post(&amend, &app.admin, json!({"reason": "双十一加码 Singles' Day uplift", "commission_bp": 2500, "slot_fee_fen": 6_000_000}))
        .await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["commission_bp"], 2500);
    assert_eq!(v2["status"], c["status"]);

    let (_, versions) = app.get(&format!("{path}/versions"), &app.admin).await;
    let versions = versions["items"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["terms"]["commission_bp"], 1800);
    assert_eq!(versions[0]["terms"]["slot_fee_fen"], 5_000_000);
    assert_eq!(versions[1]["version"], 2);
    assert_eq!(versions[1]["terms"]["commission_bp"], 2500);
    assert_eq!(versions[1]["reason"], "双十一加码 Singles' Day uplift");

    // Amending a draft is not how drafts change.
    let d = contract_in(app, &a.brand_b, &a.head, "douyin", "draft").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/contracts/{}/amendments", id(&d)),
            &app.admin,
            json!({"reason": "x", "commission_bp": 100}),
        )
        .await;
    assert_eq!(status, 409);
}

async fn contract_in_from(app: &TestApp, c: &serde_json::Value, to: &str) -> serde_json::Value {
    let mut c = c.clone();
    for step in ["proposed", "signed", "active"] {
        if c["status"] == to {
            break;
        }
        let (status, v) = app
            .post(
                &format!("/api/v1/contracts/{}/transitions", id(&c)),
                &app.admin,
                json!({"to": step}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        c = v;
    }
    c
}

async fn lifecycle_to_completion(app: &TestApp) {
    let a = agency(app).await;
    let c = contract_in(app, &a.brand_a, &a.head, "douyin", "active").await;
    let path = format!("/api/v1/contracts/{}/transitions", id(&c));
    let (status, done) = app
        .post(&path, &app.admin, json!({"to": "completed"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "completed");
    let (status, _) = app
        .post(&path, &app.admin, json!({"to": "terminated"}))
        .await;
    assert_eq!(status, 409, "completed is final");
    // A contract on a platform the KOL is not on is refused.
    let (status, problem) = app
        .post(
            "/api/v1/contracts",
            &app.admin,
            contract_body(&a.brand_a, &a.head, "taobao"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "platform");
    let mut filtered = app
        .get(
            &format!("/api/v1/contracts?status=completed&kol_id={}", id(&a.head)),
            &app.admin,
        )
        .await
        .1;
    assert_eq!(filtered["items"].as_array_mut().unwrap().len(), 1);
}
