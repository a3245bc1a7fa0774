//! Least privilege, as a matrix: every read operation of the OpenAPI document, with every
//! record id in its path and as every filter, for brand, KOL, scripter and integrator tokens.
//! No answer may carry what belongs to another party (its ids, its contracts, its live
//! prices); scripters and integrators read no money and no raw deliveries.

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases_with};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{agency, contract_in, id};

both_databases_with!(
    no_party_sees_another_through_any_read => |c: &mut kolhost::config::Config| {
        c.token_requests_per_second = 0;
    },
);

/// A distinctive live price and how it shows in JSON and in messages.
fn price_marks(fen: i64) -> Vec<String> {
    vec![
        format!(":{fen}"),
        format!("¥{}.{:02}", fen / 100, fen % 100),
        format!("{}.{:02}", fen / 100, fen % 100),
    ]
}

async fn no_party_sees_another_through_any_read(app: &TestApp) {
    let a = agency(app).await;
    let (status, v) = app
        .call(
            Method::PUT,
            "/api/v1/compliance/rules",
            Some(&app.admin),
            Some(json!({"rules": [{"rule": "lowest_price", "mode": "warn"}, {"rule": "floor_price", "mode": "warn"}]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let c_a = contract_in(app, &a.brand_a, &a.head, "douyin", "active").await;
    let c_b = contract_in(app, &a.brand_b, &a.head, "douyin", "active").await;
    let c_t = contract_in(app, &a.brand_b, &a.tail, "kuaishou", "active").await;
    // The tail KOL's session sells brand B's product cheaper than the head KOL's session does.
    let tail_session = app
        .create("/api/v1/sessions", json!({"kol_id": a.tail["id"], "platform": "kuaishou", "title": "尾部专场",
            "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z",
            "lineup": [{"product_id": a.product_b["id"], "contract_id": c_t["id"], "position": 1, "live_price_fen": 44_321, "units": 10}]}))
        .await;
    // A session both brands share.
    let shared = app
        .create("/api/v1/sessions", json!({"kol_id": a.head["id"], "platform": "douyin", "title": "联合专场",
            "starts_at": "2027-03-01T12:00:00Z", "ends_at": "2027-03-01T16:00:00Z",
            "lineup": [
                {"product_id": a.product_a["id"], "contract_id": c_a["id"], "position": 1, "live_price_fen": 9_901, "units": 100},
                {"product_id": a.product_b["id"], "contract_id": c_b["id"], "position": 2, "live_price_fen": 45_123, "units": 50}
            ]}))
        .await;
    // Staff see the finding in full: brand B's promise broken, against the tail's session.
    let (_, all) = app
        .get(
            &format!("/api/v1/compliance/findings?entity_id={}", id(&shared)),
            &app.admin,
        )
        .await;
    let all = all["items"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["contract_id"], c_b["id"]);
    assert_eq!(all[0]["related_id"], tail_session["id"]);

    let brand_a = app
        .token(Role::Brand, Some(id(&a.brand_a).parse().unwrap()))
        .await;
    let brand_b = app
        .token(Role::Brand, Some(id(&a.brand_b).parse().unwrap()))
        .await;
    let head = app
        .token(Role::Kol, Some(id(&a.head).parse().unwrap()))
        .await;
    let tail = app
        .token(Role::Kol, Some(id(&a.tail).parse().unwrap()))
        .await;
    let scripter = app.token(Role::Scripter, None).await;
    let integrator = app.token(Role::Integrator, None).await;

    // The finding, as each party sees it.
    let finding_for = |token: String| {
        let path = format!("/api/v1/compliance/findings?entity_id={}", id(&shared));
        async move {
            app.get(&path, &token).await.1["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    assert!(
        finding_for(brand_a.clone()).await.is_empty(),
        "not brand A's slot"
    );
    let b_sees = finding_for(brand_b.clone()).await;
    assert_eq!(b_sees.len(), 1);
    assert_eq!(
        b_sees[0]["related_id"], tail_session["id"],
        "brand B's own sessions"
    );
    let head_sees = finding_for(head.clone()).await;
    assert_eq!(
        head_sees.len(),
        1,
        "the head KOL's own session and contract"
    );
    assert!(head_sees[0]["related_id"].is_null(), "{head_sees:?}");
    assert!(finding_for(tail.clone()).await.is_empty());

    let str_id = |v: &Value| id(v).to_owned();
    let mut forbidden: Vec<(&str, String, Vec<String>)> = Vec::new();
    let mut marks = vec![
        str_id(&a.brand_b),
        str_id(&a.product_b),
        str_id(&c_b),
        str_id(&c_t),
        str_id(&a.tail),
        str_id(&tail_session),
    ];
    marks.extend(price_marks(45_123));
    marks.extend(price_marks(44_321));
    forbidden.push(("brand A", brand_a.clone(), marks));
    let mut marks = vec![
        str_id(&a.brand_a),
        str_id(&a.product_a),
        str_id(&c_a),
        str_id(&c_b),
        str_id(&a.head),
        str_id(&shared),
    ];
    marks.extend(price_marks(9_901));
    marks.extend(price_marks(45_123));
    forbidden.push(("tail KOL", tail.clone(), marks));
    let mut marks = vec![str_id(&a.tail), str_id(&c_t), str_id(&tail_session)];
    marks.extend(price_marks(44_321));
    forbidden.push(("head KOL", head.clone(), marks));
    let mut marks = vec![str_id(&a.brand_a), str_id(&a.product_a), str_id(&c_a)];
    marks.extend(price_marks(9_901));
    forbidden.push(("brand B", brand_b.clone(), marks));

    // Every read, with every id.
    let (_, doc) = app.get("/api/v1/openapi.json", &app.admin).await;
    let ids: Vec<String> = [
        &a.brand_a,
        &a.brand_b,
        &a.head,
        &a.tail,
        &a.product_a,
        &a.product_b,
        &c_a,
        &c_b,
        &c_t,
        &shared,
        &tail_session,
    ]
    .iter()
    .map(|v| str_id(v))
    .collect();
    let filters = [
        "entity_id",
        "brand_id",
        "kol_id",
        "contract_id",
        "session_id",
        "product_id",
    ];
    let mut requests: Vec<String> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if ops.get("get").is_none()
            || !path.starts_with("/api/v1")
            || path.ends_with("openapi.json")
        {
            continue;
        }
        if path.contains("{id}") {
            for x in &ids {
                requests.push(path.replace("{id}", x));
            }
        } else if path.contains('{') {
            requests.push(
                path.replace("{name}", "douyin")
                    .replace("{platform}", "douyin"),
            );
        } else {
            requests.push(path.clone());
            for f in filters {
                for x in &ids {
                    requests.push(format!("{path}?{f}={x}"));
                }
            }
        }
    }
    requests.push("/api/v1/reports/kol-income?half=2027-H1".into());
    assert!(requests.len() > 200, "{}", requests.len());
    for (who, token, marks) in &forbidden {
        for path in &requests {
            let res = app
                .http
                .get(format!("{}{path}", app.base))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            assert!(
                !status.is_server_error(),
                "{who} GET {path}: {status} {text}"
            );
            for m in marks {
                assert!(
                    !text.contains(m.as_str()),
                    "{who} GET {path} ({status}) shows {m:?}: {text}"
                );
            }
        }
    }
    // Scripters and integrators: no money, no raw deliveries.
    for (who, token) in [("scripter", &scripter), ("integrator", &integrator)] {
        for path in [
            "/api/v1/settlements".to_owned(),
            format!("/api/v1/settlements/{}", uuid::Uuid::now_v7()),
            format!("/api/v1/settlements/{}/statement.csv", uuid::Uuid::now_v7()),
            "/api/v1/reports/kol-income?half=2027-H1".to_owned(),
            "/api/v1/webhook-deliveries".to_owned(),
            "/api/v1/audit".to_owned(),
        ] {
            let (status, p) = app.get(&path, token).await;
            assert_eq!(status, 403, "{who} GET {path}: {p}");
        }
    }
}
