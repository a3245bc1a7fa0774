//! Compliance (design §6a): banned absolute terms in product copy and session outlines, floor
//! and lowest-price rules on lineups, block or warn per rule, and the findings.

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::id;

both_databases!(
    compliance_blocks_each_banned_term_inside_longer_text,
    compliance_warn_mode_writes_and_keeps_findings,
    compliance_term_list_and_modes_are_admin_settings,
    compliance_price_rules_floor_and_lowest_price,
    findings_are_acknowledged_then_resolved_by_name
);

async fn put_rules(app: &TestApp, body: Value) -> Value {
    let (status, v) = app
        .call(
            Method::PUT,
            "/api/v1/compliance/rules",
            Some(&app.admin),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn brand(app: &TestApp) -> Value {
    app.create(
        "/api/v1/brands",
        json!({"name": "禾田优选", "categories": ["food"]}),
    )
    .await
}

fn product_body(brand: &Value, sku: &str, copy: &str) -> Value {
    json!({"brand_id": brand["id"], "sku": sku, "name": "每日坚果", "category": "food",
        "role": "traffic", "list_price_fen": 12_900, "floor_price_fen": 8_900, "stock_units": 1000,
        "copy": copy})
}

async fn findings(app: &TestApp, entity: &str) -> Vec<Value> {
    let (status, v) = app
        .get(
            &format!("/api/v1/compliance/findings?entity_id={entity}"),
            &app.admin,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn compliance_blocks_each_banned_term_inside_longer_text(app: &TestApp) {
    let b = brand(app).await;
    // Each of the design's terms inside ordinary copy; the offset is in characters.
    let cases = [
        ("这款坚果是最香的零食", "最", 5),
        ("行业第一的每日坚果", "第一", 2),
        ("市面上唯一一款无糖坚果", "唯一", 3),
        ("国家级非遗工艺烘焙", "国家级", 0),
        ("精选最高级的巴旦木", "最高级", 2),
        ("办公室最佳零食搭档", "最佳", 3),
        ("顶级坚果，颗颗饱满", "顶级", 0),
        ("正宗极品夏威夷果", "极品", 2),
        ("天猫坚果No.1品牌", "NO.1", 4),
        ("连续三年销量冠军！", "销量冠军", 4),
    ];
    for (i, (copy, term, offset)) in cases.iter().enumerate() {
        let (status, problem) = app
            .post(
                "/api/v1/products",
                &app.admin,
                product_body(&b, &format!("S{i}"), copy),
            )
            .await;
        assert_eq!(status, 422, "{copy}: {problem}");
        let found = &problem["findings"];
        assert_eq!(found.as_array().unwrap().len(), 1, "{copy}: {problem}");
        assert_eq!(found[0]["rule"], "banned_term");
        assert_eq!(found[0]["term"], *term, "{copy}");
        assert_eq!(found[0]["char_offset"], *offset, "{copy}");
        assert_eq!(found[0]["mode"], "block");
        assert_eq!(problem["errors"][0]["field"], "copy");
    }
    // Nothing was written.
    let (_, products) = app.get("/api/v1/products", &app.admin).await;
    assert_eq!(products["items"], json!([]));
    // Clean copy passes; editing it to a banned term is refused and leaves it as it was.
    let p = app
        .create(
            "/api/v1/products",
            product_body(&b, "OK", "香脆可口，每日一包"),
        )
        .await;
    let (status, problem) = app
        .patch(
            &format!("/api/v1/products/{}", id(&p)),
            &app.admin,
            json!({"copy": "香脆可口，全网第一"}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (_, now) = app
        .get(&format!("/api/v1/products/{}", id(&p)), &app.admin)
        .await;
    assert_eq!(now["copy"], "香脆可口，每日一包");
    // An unchanged copy is not checked again when other fields change.
    let (status, _) = app
        .patch(
            &format!("/api/v1/products/{}", id(&p)),
            &app.admin,
            json!({"name": "每日坚果 30 包"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(findings(app, id(&p)).await.is_empty());
}

async fn compliance_warn_mode_writes_and_keeps_findings(app: &TestApp) {
    let b = brand(app).await;
    put_rules(
        app,
        json!({"rules": [{"rule": "banned_term", "mode": "warn"}]}),
    )
    .await;
    // Two terms in one copy: both found, each with its own offset; 最高级 once, not also 最.
    let p = app
        .create(
            "/api/v1/products",
            product_body(&b, "W1", "最高级原料，全网ＮＯ．１"),
        )
        .await;
    let f = findings(app, id(&p)).await;
    let got: Vec<(String, i64)> = f
        .iter()
        .map(|x| {
            (
                x["term"].as_str().unwrap().to_owned(),
                x["char_offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("最高级".to_owned(), 0), ("NO.1".to_owned(), 8)]);
    assert_eq!(f[0]["entity_type"], "product");
    assert_eq!(f[0]["mode"], "warn");
    assert!(
        f[1]["message"]
            .as_str()
            .unwrap()
            .contains("written \"ＮＯ．１\"")
    );

    // Session outlines too.
    let kol = app
        .create(
            "/api/v1/kols",
            json!({"name": "林小满", "tier": "head", "categories": ["food"],
                "accounts": [{"platform": "douyin", "account_id": "dy_1", "followers": 1}],
                "revenue_share_bp": 5000, "tax_status": "individual"}),
        )
        .await;
    let s = app
        .create(
            "/api/v1/sessions",
            json!({"kol_id": kol["id"], "platform": "douyin", "title": "坚果专场",
                "starts_at": "2026-07-10T12:00:00Z", "ends_at": "2026-07-10T15:00:00Z",
                "outline": "19:00 开场\n19:30 今晚最低价，唯一一次"}),
        )
        .await;
    let f = findings(app, id(&s)).await;
    let got: Vec<(&str, i64, &str)> = f
        .iter()
        .map(|x| {
            (
                x["term"].as_str().unwrap(),
                x["char_offset"].as_i64().unwrap(),
                x["field"].as_str().unwrap(),
            )
        })
        .collect();
    // 最低价 is listed too: the longest listed term at a position is the one reported.
    assert_eq!(got, [("最低价", 17, "outline"), ("唯一", 21, "outline")]);
    // Filter by rule, and pagination.
    let (_, page) = app
        .get(
            "/api/v1/compliance/findings?rule=banned_term&limit=3",
            &app.admin,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let (_, rest) = app
        .get(
            &format!(
                "/api/v1/compliance/findings?rule=banned_term&limit=3&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            &app.admin,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    // A brand sees findings on its own products only; another brand sees none.
    let mine = app.token(Role::Brand, Some(id(&b).parse().unwrap())).await;
    let (_, seen) = app.get("/api/v1/compliance/findings", &mine).await;
    assert_eq!(seen["items"].as_array().unwrap().len(), 2);
    let other = brand(app).await;
    let theirs = app
        .token(Role::Brand, Some(id(&other).parse().unwrap()))
        .await;
    let (_, seen) = app.get("/api/v1/compliance/findings", &theirs).await;
    assert_eq!(seen["items"], json!([]));
}

async fn compliance_term_list_and_modes_are_admin_settings(app: &TestApp) {
    let (status, cfg) = app.get("/api/v1/compliance/rules", &app.admin).await;
    assert_eq!(status, 200);
    let terms: Vec<&str> = cfg["banned_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for t in [
        "最",
        "第一",
        "唯一",
        "国家级",
        "最高级",
        "最佳",
        "顶级",
        "极品",
        "NO.1",
        "销量冠军",
    ] {
        assert!(terms.contains(&t), "default list lacks {t}");
    }
    let modes: Vec<(&str, &str)> = cfg["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rule"].as_str().unwrap(), r["mode"].as_str().unwrap()))
        .collect();
    assert_eq!(
        modes,
        [
            ("banned_term", "block"),
            ("floor_price", "block"),
            ("lowest_price", "warn")
        ]
    );

    // Only an admin changes them.
    let manager = app.token(Role::Manager, None).await;
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/compliance/rules",
            Some(&manager),
            Some(json!({"banned_terms": []})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, problem) = app
        .call(
            Method::PUT,
            "/api/v1/compliance/rules",
            Some(&app.admin),
            Some(json!({"rules": [{"rule": "spelling", "mode": "warn"}], "banned_terms": ["ok", " "]})),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["rules[0].rule", "banned_terms[1]"]);

    // A new list: 最 is allowed now, 秒杀价 is not.
    let cfg = put_rules(app, json!({"banned_terms": ["秒杀价", "史上最低"]})).await;
    assert_eq!(cfg["banned_terms"], json!(["秒杀价", "史上最低"]));
    let b = brand(app).await;
    app.create("/api/v1/products", product_body(&b, "A", "最近很火的坚果"))
        .await;
    let (status, problem) = app
        .post(
            "/api/v1/products",
            &app.admin,
            product_body(&b, "B", "直播间秒杀价"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["findings"][0]["term"], "秒杀价");
    assert_eq!(problem["findings"][0]["char_offset"], 3);
    let (_, audit) = app
        .get("/api/v1/audit?action=compliance.rules.update", &app.admin)
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

async fn compliance_price_rules_floor_and_lowest_price(app: &TestApp) {
    let b = brand(app).await;
    let product = app
        .create("/api/v1/products", product_body(&b, "P", "香脆"))
        .await;
    let mut kols = Vec::new();
    for (i, name) in ["头部主播", "腰部主播"].iter().enumerate() {
        kols.push(
            app.create(
                "/api/v1/kols",
                json!({"name": name, "tier": "waist", "categories": ["food"],
                    "accounts": [{"platform": "douyin", "account_id": format!("dy_{i}"), "followers": 1}],
                    "revenue_share_bp": 5000, "tax_status": "individual"}),
            )
            .await,
        );
    }
    // The head KOL's contract promises the lowest price over H2 2026; the waist KOL's does not.
    let mut contracts = Vec::new();
    for (kol, clause) in [(&kols[0], true), (&kols[1], false)] {
        let mut c = app
            .create(
                "/api/v1/contracts",
                json!({"brand_id": b["id"], "kol_id": kol["id"], "platform": "douyin",
                    "starts_at": "2026-07-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z",
                    "slot_fee_fen": 0, "commission_bp": 2000, "lowest_price_clause": clause}),
            )
            .await;
        for to in ["proposed", "signed"] {
            c = app
                .post(
                    &format!("/api/v1/contracts/{}/transitions", id(&c)),
                    &app.admin,
                    json!({"to": to}),
                )
                .await
                .1;
        }
        contracts.push(c);
    }
    let session_body = |k: usize, start: &str, price: i64| {
        json!({"kol_id": kols[k]["id"], "platform": "douyin", "title": "专场",
            "starts_at": start, "ends_at": start.replace("T12", "T15"),
            "lineup": [{"product_id": product["id"], "contract_id": contracts[k]["id"],
                "position": 1, "live_price_fen": price, "units": 10}]})
    };
    // The head KOL sells at 9,900 fen in August.
    let head = app
        .create(
            "/api/v1/sessions",
            session_body(0, "2026-08-01T12:00:00Z", 9_900),
        )
        .await;
    assert!(findings(app, id(&head)).await.is_empty());
    // The waist KOL sells cheaper (9,500 < 9,900) in September, inside the head contract's
    // period: the lowest-price rule warns (its default) and the finding is kept.
    let waist = app
        .create(
            "/api/v1/sessions",
            session_body(1, "2026-09-01T12:00:00Z", 9_500),
        )
        .await;
    let f = findings(app, id(&waist)).await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule"], "lowest_price");
    assert_eq!(f[0]["field"], "lineup[0].live_price_fen");
    assert_eq!(f[0]["related_id"], head["id"]);
    assert!(f[0]["message"].as_str().unwrap().contains("undercuts"));
    // Rewriting the head lineup at 9,900 is now flagged too: above 9,500 elsewhere.
    let (status, _) = app
        .patch(
            &format!("/api/v1/sessions/{}", id(&head)),
            &app.admin,
            json!({"lineup": [{"product_id": product["id"], "contract_id": contracts[0]["id"], "position": 1, "live_price_fen": 9_800, "units": 10}]}),
        )
        .await;
    assert_eq!(status, 200);
    let f = findings(app, id(&head)).await;
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"].as_str().unwrap().contains("is above"),
        "{}",
        f[0]["message"]
    );
    assert_eq!(f[0]["related_id"], waist["id"]);
    // With the rule set to block, undercutting the promise is refused.
    put_rules(
        app,
        json!({"rules": [{"rule": "lowest_price", "mode": "block"}]}),
    )
    .await;
    let (status, problem) = app
        .post(
            "/api/v1/sessions",
            &app.admin,
            session_body(1, "2026-10-01T12:00:00Z", 9_000),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["findings"][0]["rule"], "lowest_price");
    // At an equal price there is nothing to flag.
    app.create(
        "/api/v1/sessions",
        session_body(1, "2026-10-02T12:00:00Z", 9_800),
    )
    .await;

    // Floor price: raising it above live prices in open lineups is blocked by default.
    let path = format!("/api/v1/products/{}", id(&product));
    let (status, problem) = app
        .patch(&path, &app.admin, json!({"floor_price_fen": 9_600}))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["findings"][0]["rule"], "floor_price");
    assert_eq!(problem["findings"][0]["related_id"], waist["id"]);
    let (_, now) = app.get(&path, &app.admin).await;
    assert_eq!(now["floor_price_fen"], 8_900);
    // In warn mode the raise goes through and the finding names the session (9,500 < 9,600).
    put_rules(
        app,
        json!({"rules": [{"rule": "floor_price", "mode": "warn"}]}),
    )
    .await;
    let (status, _) = app
        .patch(&path, &app.admin, json!({"floor_price_fen": 9_600}))
        .await;
    assert_eq!(status, 200);
    let f = findings(app, id(&product)).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["field"], "floor_price_fen");
    assert_eq!(f[0]["related_id"], waist["id"]);
    // A live price under the floor on a session write is always refused by lineup validation.
    let (status, problem) = app
        .post(
            "/api/v1/sessions",
            &app.admin,
            session_body(1, "2026-11-01T12:00:00Z", 9_000),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "lineup[0].live_price_fen");
}

async fn findings_are_acknowledged_then_resolved_by_name(app: &TestApp) {
    let b = brand(app).await;
    put_rules(
        app,
        json!({"rules": [{"rule": "banned_term", "mode": "warn"}]}),
    )
    .await;
    let p = app
        .create(
            "/api/v1/products",
            product_body(&b, "R1", "全网第一的好面霜"),
        )
        .await;
    let f = findings(app, id(&p)).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["status"], "open");
    let fid = f[0]["id"].as_str().unwrap().to_owned();
    let manager = app.token(Role::Manager, None).await;
    let step = |what: &str| format!("/api/v1/compliance/findings/{fid}/{what}");

    // Brands read their findings but do not review them; scripters neither.
    let brand_token = app.token(Role::Brand, Some(id(&b).parse().unwrap())).await;
    for token in [&brand_token, &app.token(Role::Scripter, None).await] {
        let (status, _) = app.post(&step("acknowledge"), token, json!({})).await;
        assert_eq!(status, 403);
    }
    let (status, ack) = app.post(&step("acknowledge"), &manager, json!({})).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["status"], "acknowledged");
    assert_eq!(ack["acknowledged_by"], "test manager");
    assert!(ack["acknowledged_at"].is_string());
    let (status, _) = app.post(&step("acknowledge"), &manager, json!({})).await;
    assert_eq!(status, 409, "acknowledged once");

    // Resolving says what was done.
    let (status, p422) = app
        .post(&step("resolve"), &manager, json!({"note": "  "}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(p422["errors"][0]["field"], "note");
    let (status, done) = app
        .post(
            &step("resolve"),
            &app.admin,
            json!({"note": "文案已改为「口碑好面霜」"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolution_note"], "文案已改为「口碑好面霜」");
    assert_eq!(
        done["acknowledged_by"], "test manager",
        "the first step is kept"
    );
    let (status, _) = app
        .post(&step("resolve"), &manager, json!({"note": "again"}))
        .await;
    assert_eq!(status, 409);
    let (status, _) = app
        .post(
            "/api/v1/compliance/findings/00000000-0000-0000-0000-000000000009/acknowledge",
            &manager,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // Filters by status; the finding is kept, and the brand sees where it stands.
    let listed = async |query: &str, token: &str| {
        let (_, page) = app
            .get(
                &format!("/api/v1/compliance/findings?entity_id={}&{query}", id(&p)),
                token,
            )
            .await;
        page["items"].as_array().unwrap().len()
    };
    assert_eq!(listed("status=resolved", &app.admin).await, 1);
    assert_eq!(listed("status=open", &app.admin).await, 0);
    let (_, seen) = app
        .get(
            &format!("/api/v1/compliance/findings?entity_id={}", id(&p)),
            &brand_token,
        )
        .await;
    assert_eq!(seen["items"][0]["status"], "resolved");
    let (_, trail) = app
        .get(&format!("/api/v1/audit?entity_id={fid}"), &app.admin)
        .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 2, "{trail}");
    assert!(actions.contains(&"finding.acknowledge") && actions.contains(&"finding.resolve"));
}
