use kolhost_e2e::{TestApp, both_databases};
use serde_json::{Value, json};

both_databases!(
    health_metrics_and_openapi,
    errors_speak_the_language_asked_for,
    rules_findings_and_lines_carry_codes_the_ui_writes_in_chinese
);

async fn health_metrics_and_openapi(app: &TestApp) {
    let res = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.get("/api/v1/brands", &app.admin).await;

    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "kolhost_http_requests_total{method=\"GET\",path=\"/api/v1/brands\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("kolhost_http_request_duration_seconds_bucket"));

    let (status, doc) = app.get("/api/v1/openapi.json", &app.admin).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/v1/brands", &["get", "post"][..]),
        ("/api/v1/brands/{id}", &["get", "patch"]),
        ("/api/v1/kols", &["get", "post"]),
        ("/api/v1/kols/{id}", &["get", "patch"]),
        ("/api/v1/products", &["get", "post"]),
        ("/api/v1/products/{id}", &["get", "patch"]),
        ("/api/v1/contracts", &["get", "post"]),
        ("/api/v1/contracts/{id}", &["get", "patch"]),
        ("/api/v1/contracts/{id}/transitions", &["post"]),
        ("/api/v1/contracts/{id}/amendments", &["post"]),
        ("/api/v1/contracts/{id}/versions", &["get"]),
        ("/api/v1/sessions", &["get", "post"]),
        ("/api/v1/sessions/{id}", &["get", "patch"]),
        ("/api/v1/audit", &["get"]),
        ("/api/v1/scripts", &["get", "post"]),
        ("/api/v1/scripts/{name}", &["get"]),
        ("/api/v1/scripts/{name}/versions", &["get"]),
        ("/api/v1/scripts/{name}/dry-run", &["post"]),
        ("/api/v1/allocations", &["post"]),
        ("/api/v1/plugins", &["get", "post"]),
        ("/api/v1/plugins/{name}", &["get"]),
        ("/api/v1/plugins/{name}/enable", &["post"]),
        ("/api/v1/plugins/{name}/disable", &["post"]),
        ("/api/v1/plugins/{name}/rollback", &["post"]),
        ("/api/v1/plugins/{name}/config", &["put"]),
        ("/api/v1/me", &["get"]),
        ("/healthz", &["get"]),
        ("/metrics", &["get"]),
    ];
    for (path, methods) in expected {
        let ops = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the OpenAPI document"));
        for m in methods {
            assert!(ops.get(*m).is_some(), "{m} {path} missing");
        }
    }
    assert!(doc["components"]["schemas"]["Contract"]["properties"]["commission_bp"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    // The document is complete: every reference resolves, errors are problems, public paths
    // need no token, pages start at 1.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} is referenced, not defined"
        );
    }
    assert!(!text.contains("GmvBy\"") || doc["components"]["schemas"]["GmvBy"].is_object());
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("default"), "{method} {path}");
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') || status == "default" {
                    assert!(
                        r["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
            let public = path == "/healthz" || path == "/metrics" || path.starts_with("/webhooks/");
            assert_eq!(
                op["security"] == serde_json::json!([]),
                public,
                "{method} {path}"
            );
            if !public {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "limit" {
                    assert_eq!(p["schema"]["minimum"], 1, "{method} {path}");
                }
            }
        }
    }

    let (status, p) = app.get("/api/v1/nothing-here", &app.admin).await;
    assert_eq!(status, 404);
    assert_eq!(p["status"], 404);
}

/// Problem answers in Chinese by default, in English on request (design §3), with the same
/// `code` and `params` either way.
async fn errors_speak_the_language_asked_for(app: &TestApp) {
    let client = reqwest::Client::new();
    let ask =
        async |method: reqwest::Method, path: &str, lang: Option<&str>, body: Option<Value>| {
            let mut req = client
                .request(method, format!("{}{path}", app.base))
                .bearer_auth(&app.admin);
            if let Some(l) = lang {
                req = req.header("accept-language", l);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let res = req.send().await.unwrap();
            let language = res.headers()["content-language"]
                .to_str()
                .unwrap()
                .to_owned();
            (res.status(), language, res.json::<Value>().await.unwrap())
        };
    let missing = "/api/v1/contracts/00000000-0000-0000-0000-000000000001";
    let (status, language, zh) = ask(reqwest::Method::GET, missing, None, None).await;
    assert_eq!((status.as_u16(), language.as_str()), (404, "zh-CN"));
    assert_eq!(zh["detail"], "合同不存在，或当前令牌无权查看", "{zh}");
    assert_eq!(zh["title"], "未找到");
    let (_, language, en) = ask(reqwest::Method::GET, missing, Some("en-US,en;q=0.9"), None).await;
    assert_eq!(language, "en");
    assert_eq!(en["detail"], "contract not found");
    for p in [&zh, &en] {
        assert_eq!(
            (p["code"].clone(), p["params"].clone()),
            (json!("not_found"), json!({"what": "contract"}))
        );
    }

    let bad = json!({"name": "", "categories": ["Not A Slug"]});
    let (status, _, zh) = ask(
        reqwest::Method::POST,
        "/api/v1/brands",
        Some("zh-CN,zh;q=0.9,en;q=0.8"),
        Some(bad.clone()),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(zh["detail"], "请求有 2 处不符合规则，详见 errors", "{zh}");
    assert_eq!(zh["errors"][0]["field"], "name");
    assert_eq!(zh["errors"][0]["code"], "required");
    assert_eq!(zh["errors"][0]["message"], "不能为空");
    let (_, _, en) = ask(
        reqwest::Method::POST,
        "/api/v1/brands",
        Some("en"),
        Some(bad),
    )
    .await;
    assert_eq!(en["errors"][0]["message"], "must not be empty");
    assert_eq!(en["errors"][0]["code"], "required");

    // Routing's own answers too; a language the server does not write falls back to Chinese.
    let (status, language, p) =
        ask(reqwest::Method::DELETE, "/api/v1/brands", Some("fr"), None).await;
    assert_eq!((status.as_u16(), language.as_str()), (405, "zh-CN"));
    assert_eq!(p["detail"], "该地址不支持此请求方法", "{p}");
}

/// A client sees every broken rule, state conflict, compliance finding and settlement line with a
/// stable `code` and the `params` its text names; asked in Chinese, the server's own texts are
/// Chinese (no English left in `detail` or a field's `message`).
async fn rules_findings_and_lines_carry_codes_the_ui_writes_in_chinese(app: &TestApp) {
    use crate::fixtures::{agency, contract_in, id};
    let client = reqwest::Client::new();
    let zh = async |method: reqwest::Method, path: &str, body: Value| {
        let res = client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&app.admin)
            .header("accept-language", "zh-CN")
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json::<Value>().await.unwrap())
    };
    let chinese = |p: &Value| {
        let han = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(
            han(p["detail"].as_str().unwrap_or("")),
            "detail in Chinese: {p}"
        );
        for e in p["errors"].as_array().into_iter().flatten() {
            assert!(
                han(e["message"].as_str().unwrap_or("")),
                "message in Chinese: {e}"
            );
            assert!(
                e["code"].as_str().is_some_and(|c| c != "invalid"),
                "a precise code: {e}"
            );
        }
    };
    let a = agency(app).await;
    let c = contract_in(app, &a.brand_a, &a.head, "douyin", "signed").await;

    // A lineup under the floor price and over stock: each with its code and the value it names.
    let (status, p) = zh(
        reqwest::Method::POST,
        "/api/v1/sessions",
        json!({"kol_id": a.head["id"], "platform": "douyin", "title": "双十二专场",
            "starts_at": "2026-12-12T12:00:00Z", "ends_at": "2026-12-12T15:00:00Z",
            "lineup": [{"product_id": a.product_a["id"], "contract_id": c["id"], "position": 1,
                "live_price_fen": 8_800, "units": 5_000}]}),
    )
    .await;
    assert_eq!(status, 422, "{p}");
    chinese(&p);
    let by_code = |code: &str| {
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("no {code} in {p}"))
    };
    let floor = by_code("price_below_floor");
    assert_eq!(floor["field"], "lineup[0].live_price_fen");
    assert_eq!(floor["params"]["floor_price_fen"], 8_900);
    assert_eq!(floor["message"], "低于商品控价 ¥89.00");
    let stock = by_code("over_stock");
    assert_eq!(stock["params"]["stock_units"], 1000);
    assert_eq!(stock["message"], "超过商品库存 1000 件");

    // A move the lifecycle does not allow: 409 naming both states.
    let (status, p) = zh(
        reqwest::Method::POST,
        &format!("/api/v1/contracts/{}/transitions", id(&c)),
        json!({"to": "completed"}),
    )
    .await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["code"], "status_transition");
    assert_eq!(p["params"]["from"], "signed");
    assert_eq!(p["detail"], "状态不能从「已签署」变为「已完成」");

    // A value outside an enum, a missing field, a wrong type: serde's facts as codes.
    let (status, p) = zh(
        reqwest::Method::POST,
        "/api/v1/kols",
        json!({"name": "小鹿", "tier": "neck", "accounts": [], "revenue_share_bp": 3000, "tax_status": "company"}),
    )
    .await;
    assert_eq!(status, 422, "{p}");
    chinese(&p);
    assert_eq!(p["errors"][0]["code"], "not_one_of");
    assert_eq!(p["errors"][0]["params"]["allowed"], "head, waist, tail");
    let (status, p) = zh(reqwest::Method::POST, "/api/v1/brands", json!({"name": 7})).await;
    assert_eq!(status, 422, "{p}");
    chinese(&p);
    assert_eq!(p["errors"][0]["code"], "wrong_type");

    // Blocked copy: refused in Chinese, naming the term; once warned, the stored finding too.
    let nuts = json!({"brand_id": a.brand_a["id"], "sku": "HT-9", "name": "坚果礼盒", "category": "food",
        "role": "profit", "list_price_fen": 9_900, "floor_price_fen": 5_900, "stock_units": 10,
        "copy": "全网第一的坚果"});
    let (status, p) = zh(reqwest::Method::POST, "/api/v1/products", nuts.clone()).await;
    assert_eq!(status, 422, "{p}");
    chinese(&p);
    assert_eq!(p["code"], "compliance_blocked");
    assert_eq!(p["errors"][0]["code"], "banned_term");
    // The longest listed term at the match is named (全网第一, not also 第一).
    assert_eq!(p["errors"][0]["params"]["term"], "全网第一");
    assert_eq!(
        p["errors"][0]["message"],
        "含有广告法禁用的绝对化用语「全网第一」"
    );
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/compliance/rules",
            Some(app.admin.as_str()),
            Some(json!({"rules": [{"rule": "banned_term", "mode": "warn"}]})),
        )
        .await;
    assert_eq!(status, 200);
    let product = app.create("/api/v1/products", nuts).await;
    let (_, findings) = app
        .get(
            &format!("/api/v1/compliance/findings?entity_id={}", id(&product)),
            &app.admin.clone(),
        )
        .await;
    let f = &findings["items"][0];
    assert_eq!(f["code"], "banned_term", "{findings}");
    assert_eq!(f["params"]["term"], "全网第一");
    assert_eq!(f["params"]["written"], "全网第一");
    assert_eq!(f["params"]["offset"], 0);

    // Every settlement line says with its params what its `how` names.
    let settlement = app
        .create(
            "/api/v1/settlements",
            json!({"contract_id": c["id"], "period_start": "2026-01-01T00:00:00Z",
                "period_end": "2026-02-01T00:00:00Z"}),
        )
        .await;
    for line in settlement["lines"].as_array().unwrap() {
        let params = line["params"].as_object().unwrap();
        assert!(!params.is_empty(), "a line without params: {line}");
    }
    let net = settlement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "net_gmv")
        .unwrap();
    assert_eq!(net["params"]["net_gmv_fen"], 0);
}
