use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use serde_json::json;

use crate::fixtures::{agency, contract_body, contract_in, id};

both_databases!(every_write_is_audited_and_rejected_ones_are_not);

async fn every_write_is_audited_and_rejected_ones_are_not(app: &TestApp) {
    let a = agency(app).await;
    let manager = app.token(Role::Manager, None).await;
    let c = contract_in(app, &a.brand_a, &a.head, "douyin", "signed").await;
    let (_, before) = app.get("/api/v1/audit?limit=500", &app.admin).await;
    let before = before["items"].as_array().unwrap().len();
    // 2 brands + 2 KOLs + 2 products + create + 2 transitions.
    assert_eq!(before, 9);

    // Rejected writes of every kind leave no trace.
    let mut bad = contract_body(&a.brand_a, &a.head, "douyin");
    bad["commission_bp"] = json!(20000);
    assert_eq!(app.post("/api/v1/contracts", &manager, bad).await.0, 422);
    assert_eq!(
        app.post(
            &format!("/api/v1/contracts/{}/transitions", id(&c)),
            &manager,
            json!({"to": "draft"})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        app.patch(
            &format!("/api/v1/contracts/{}", id(&c)),
            &manager,
            json!({"commission_bp": 1})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        app.post("/api/v1/brands", &manager, json!({"name": " "}))
            .await
            .0,
        422
    );
    let brand = app
        .token(Role::Brand, Some(id(&a.brand_a).parse().unwrap()))
        .await;
    assert_eq!(
        app.post("/api/v1/brands", &brand, json!({"name": "x"}))
            .await
            .0,
        403
    );
    let (_, after) = app.get("/api/v1/audit?limit=500", &app.admin).await;
    assert_eq!(after["items"].as_array().unwrap().len(), before);

    // A successful write appears with its actor, before and after.
    let (status, _) = app
        .post(
            &format!("/api/v1/contracts/{}/amendments", id(&c)),
            &manager,
            json!({"reason": "加量", "sessions_committed": 6}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, trail) = app
        .get(&format!("/api/v1/audit?entity_id={}", id(&c)), &app.admin)
        .await;
    let trail = trail["items"].as_array().unwrap();
    let actions: Vec<_> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "contract.create",
            "contract.transition.proposed",
            "contract.transition.signed",
            "contract.amend"
        ]
    );
    let last = trail.last().unwrap();
    assert_eq!(last["actor"], "test manager");
    assert_eq!(last["actor_role"], "manager");
    assert_eq!(last["before"]["sessions_committed"], 4);
    assert_eq!(last["after"]["sessions_committed"], 6);
    assert_eq!(last["after"]["version"], 2);
    assert!(trail[0]["before"].is_null());
    assert_eq!(trail[0]["actor"], "test admin");
}
