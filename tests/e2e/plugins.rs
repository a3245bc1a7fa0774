use kolhost::app::AppState;
use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use serde_json::{Value, json};

both_databases!(
    plugin_lifecycle_over_http_persists,
    invalid_uploads_change_nothing,
    hostile_deliveries_neither_quarantine_nor_leak,
    patching_config_keeps_the_secrets_it_does_not_name
);

fn manifest(name: &str, version: &str, world: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"{version}\"\nworld = \"{world}\"\ngrants = [\"log\", \"config\", \"clock\", \"kv\"]\n"
    )
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

fn example_platform() -> Vec<u8> {
    std::fs::read(kolhost::plugins::artifacts::EXAMPLE_PLATFORM)
        .expect("the build step compiled the example plugin")
}

async fn upload(
    app: &TestApp,
    token: &str,
    manifest: Option<String>,
    component: Option<Vec<u8>>,
) -> (u16, Value) {
    app.upload_plugin(token, manifest, component).await
}

async fn plugin_lifecycle_over_http_persists(app: &TestApp) {
    let integrator = app.token(Role::Integrator, None).await;
    let manager = app.token(Role::Manager, None).await;
    // Refused before the body is read: a small body, so the client has sent it all by then.
    let (status, _) = upload(
        app,
        &manager,
        Some(manifest("echo", "0.1.0", "platform")),
        None,
    )
    .await;
    assert_eq!(status, 403);

    let (status, v1) = upload(
        app,
        &integrator,
        Some(manifest("echo", "0.1.0", "platform")),
        Some(example_platform()),
    )
    .await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(v1["version"], "0.1.0");
    assert_eq!(v1["enabled"], true);
    assert_eq!(v1["quarantined"], false);
    let (status, v2) = upload(
        app,
        &integrator,
        Some(manifest("echo", "0.2.0", "platform")),
        Some(example_platform()),
    )
    .await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["versions"], json!(["0.1.0", "0.2.0"]));
    let (status, dup) = upload(
        app,
        &integrator,
        Some(manifest("echo", "0.2.0", "platform")),
        Some(example_platform()),
    )
    .await;
    assert_eq!(status, 422, "a version is uploaded once: {dup}");

    let (_, list) = app.get("/api/v1/plugins", &integrator).await;
    assert_eq!(
        names(&list),
        ["douyin", "echo", "kuaishou", "taobao"],
        "the bundled three and the upload"
    );
    let (status, one) = app.get("/api/v1/plugins/echo", &integrator).await;
    assert_eq!(status, 200);
    assert_eq!(one["version"], "0.2.0");
    assert!(one["stats"].is_object());

    let (status, back) = app
        .post("/api/v1/plugins/echo/rollback", &integrator, json!({}))
        .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["version"], "0.1.0");
    assert_eq!(
        app.post("/api/v1/plugins/echo/rollback", &integrator, json!({}))
            .await
            .0,
        409
    );
    let (_, off) = app
        .post("/api/v1/plugins/echo/disable", &integrator, json!({}))
        .await;
    assert_eq!(off["enabled"], false);

    let secret = "shh-this-is-the-app-secret";
    let res = app
        .http
        .put(format!("{}/api/v1/plugins/echo/config", app.base))
        .bearer_auth(&integrator)
        .json(&json!({"app_key": "douyin-app-1", "app_secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(secret), "secrets are never returned: {text}");
    let cfg: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(cfg["config"]["app_key"], "douyin-app-1");
    assert_eq!(cfg["secret_names"], json!(["app_secret"]));
    let (status, p) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/plugins/echo/config",
            Some(&integrator),
            Some(json!({"app_key": 5})),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(app.get("/api/v1/plugins/nope", &integrator).await.0, 404);

    let (_, trail) = app
        .get("/api/v1/audit?entity_type=plugin&limit=100", &app.admin)
        .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "plugin.upload",
            "plugin.upload",
            "plugin.rollback",
            "plugin.disable",
            "plugin.configure"
        ]
    );
    assert!(
        !trail.to_string().contains(secret),
        "nor written to the audit trail"
    );

    // A restarted server finds the plugin as it was left: versions, active one, disabled, config.
    let restarted = AppState::start(app.db.clone(), app.config.clone())
        .await
        .unwrap();
    let st = serde_json::to_value(restarted.plugins.status("echo").expect("restored")).unwrap();
    assert_eq!(st["versions"], json!(["0.1.0", "0.2.0"]));
    assert_eq!(st["version"], "0.1.0");
    assert_eq!(st["enabled"], false);
    assert_eq!(st["config"]["app_key"], "douyin-app-1");
    assert_eq!(st["secret_names"], json!(["app_secret"]));

    let (_, on) = app
        .post("/api/v1/plugins/echo/enable", &integrator, json!({}))
        .await;
    assert_eq!(on["enabled"], true);
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("echo"), "per-plugin figures in /metrics");
}

async fn invalid_uploads_change_nothing(app: &TestApp) {
    let t = app.admin.clone();
    let cases: Vec<(&str, Option<String>, Option<Vec<u8>>, &str)> = vec![
        (
            "not wasm",
            Some(manifest("bad", "0.1.0", "platform")),
            Some(b"hello, I am not wasm".to_vec()),
            "component",
        ),
        (
            "a core module",
            Some(manifest("bad", "0.1.0", "platform")),
            Some(b"\0asm\x01\0\0\0".to_vec()),
            "component",
        ),
        (
            "the wrong world",
            Some(manifest("bad", "0.1.0", "allocator")),
            Some(example_platform()),
            "component",
        ),
        (
            "a broken manifest",
            Some("name = \"bad\"\nworld = \"platform\"\n".into()),
            Some(example_platform()),
            "manifest",
        ),
        ("no manifest", None, Some(example_platform()), "manifest"),
        (
            "no component",
            Some(manifest("bad", "0.1.0", "platform")),
            None,
            "component",
        ),
    ];
    for (what, m, c, field) in cases {
        let (status, p) = upload(app, &t, m, c).await;
        assert_eq!(status, 422, "{what}: {p}");
        assert_eq!(p["errors"][0]["field"], field, "{what}: {p}");
    }
    let (_, list) = app.get("/api/v1/plugins", &t).await;
    assert_eq!(
        names(&list),
        ["douyin", "kuaishou", "taobao"],
        "only the bundled plugins"
    );
    let (_, trail) = app.get("/api/v1/audit?entity_type=plugin", &t).await;
    assert!(trail["items"].as_array().unwrap().is_empty());
    let restarted = AppState::start(app.db.clone(), app.config.clone())
        .await
        .unwrap();
    let stored: Vec<String> = restarted
        .plugins
        .list()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        stored,
        ["douyin", "kuaishou", "taobao"],
        "nothing stored but the bundled plugins"
    );
}

both_databases!(a_wasm_allocator_is_a_strategy);

async fn a_wasm_allocator_is_a_strategy(app: &TestApp) {
    kolhost::demo::seed(&app.db, &app.config).await.unwrap();
    let allocator = std::fs::read(kolhost::plugins::artifacts::EXAMPLE_ALLOCATOR).unwrap();
    let (status, p) = upload(
        app,
        &app.admin.clone(),
        Some(manifest("fair-share", "1.0.0", "allocator")),
        Some(allocator),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let (status, out) = app
        .post(
            "/api/v1/allocations",
            &app.admin,
            json!({"strategy": {"plugin": "fair-share"}}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    // The plugin saw the agency's data: it proposes real products for real, contracted KOLs,
    // and the host validates them like a script's result.
    let (_, products) = app.get("/api/v1/products?limit=100", &app.admin).await;
    let (_, kols) = app.get("/api/v1/kols?limit=100", &app.admin).await;
    let ids = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].clone())
            .collect::<Vec<_>>()
    };
    let (product_ids, kol_ids) = (ids(&products), ids(&kols));
    let assignments = out["assignments"].as_array().unwrap();
    assert!(!assignments.is_empty(), "{out}");
    for a in assignments {
        assert!(
            product_ids.contains(&a["product_id"]) && kol_ids.contains(&a["kol_id"]),
            "{a}"
        );
    }
    assert!(out["violations"].is_array());
    assert_eq!(out["applied"], false);
    let (status, p) = app
        .post(
            "/api/v1/allocations",
            &app.admin,
            json!({"strategy": {"plugin": "missing"}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "strategy.plugin");
}

/// One delivery to the hostile test plugin (platform `test`), asking for `op`.
async fn hostile_delivery(app: &TestApp, op: &str, query: &str) -> (u16, String) {
    let res = app
        .http
        .post(format!("{}/webhooks/test{query}", app.base))
        .header("x-hostile", op)
        .body("{}")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn hostile_deliveries_neither_quarantine_nor_leak(app: &TestApp) {
    use kolhost::store::entities::{plugin_kv, webhook_delivery};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let integrator = app.token(Role::Integrator, None).await;
    let admin = app.token(Role::Admin, None).await;
    let hostile = std::fs::read(kolhost::plugins::artifacts::HOSTILE).unwrap();
    let m = "name = \"hostile\"\nversion = \"1.0.0\"\nworld = \"platform\"\n\
             grants = [\"log\", \"config\", \"clock\", \"kv\", \"http\"]\n\
             limits = { timeout_ms = 5000, kv_max_writes_per_call = 20 }\n";
    // allowed_hosts: no metadata address, no loopback unless an admin allows private hosts.
    let net = |hosts: &str, private: bool| {
        format!(
            "{}allowed_hosts = [{hosts}]\n{}",
            m.replace("hostile", "hostile-net"),
            if private {
                "allow_private_hosts = true\n"
            } else {
                ""
            }
        )
    };
    for hosts in [
        "\"169.254.169.254\"",
        "\"localhost:9\"",
        "\"*\"",
        "\"metadata.google.internal\"",
    ] {
        let (status, p) = upload(
            app,
            &integrator,
            Some(net(hosts, false)),
            Some(hostile.clone()),
        )
        .await;
        assert_eq!(status, 422, "{hosts}: {p}");
        assert_eq!(p["errors"][0]["field"], "manifest", "{p}");
    }
    let (status, p) = upload(
        app,
        &integrator,
        Some(net("\"127.0.0.1:9\"", true)),
        Some(hostile.clone()),
    )
    .await;
    assert_eq!(status, 403, "only an admin allows private hosts: {p}");
    let (status, p) = upload(
        app,
        &admin,
        Some(net("\"127.0.0.1:9\"", true)),
        Some(hostile.clone()),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["allowed_hosts"], json!(["127.0.0.1:9"]));
    // Out of the way: the plugin below takes the `test` platform's deliveries.
    let (status, _) = app
        .post("/api/v1/plugins/hostile-net/disable", &admin, json!({}))
        .await;
    assert_eq!(status, 200);

    let (status, up) = upload(app, &integrator, Some(m.into()), Some(hostile)).await;
    assert_eq!(status, 201, "{up}");
    let secret = "hostile-secret-4f1c9e";
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/plugins/hostile/config",
            Some(&integrator),
            Some(json!({"app_secret": secret})),
        )
        .await;
    assert_eq!(status, 200);

    // Anyone can send bytes that make verify-webhook trap: 503, never counted.
    for _ in 0..8 {
        let (status, body) = hostile_delivery(app, "/verify-trap", "").await;
        assert_eq!(status, 503, "{body}");
        assert!(!body.contains("asked to trap"), "no trap text: {body}");
    }
    let (_, st) = app.get("/api/v1/plugins/hostile", &integrator).await;
    assert_eq!(st["quarantined"], false, "{st}");

    // Verified deliveries whose parse traps (panicking with the secret) count, per delivery.
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (status, body) = hostile_delivery(app, "/trap-secret", "?app_secret").await;
        assert_eq!(status, 503, "{body}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            !body.contains(secret) && !body.contains("asked to trap"),
            "{body}"
        );
        let id = detail.rsplit(' ').next().unwrap().to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "names the delivery: {detail}"
        );
        ids.push(uuid::Uuid::parse_str(&id).unwrap());
    }
    // What is stored says what happened, without the secret.
    let stored = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(ids.clone()))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 5);
    for d in &stored {
        assert_eq!(d.status, "failed");
        let error = d.error.as_deref().unwrap();
        assert!(
            error.contains("asked to trap, holding [redacted]"),
            "{error}"
        );
        assert!(!error.contains(secret), "{error}");
    }
    let (_, st) = app.get("/api/v1/plugins/hostile", &integrator).await;
    assert_eq!(st["quarantined"], true, "{st}");
    let reason = st["quarantine"]["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("5 failures in a row"), "{reason}");
    assert!(!reason.contains(secret), "{reason}");
    let (status, body) = hostile_delivery(app, "/fine", "").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("quarantined"), "{body}");
    assert!(
        !body.contains("asked to trap"),
        "the reason stays inside: {body}"
    );

    // A restart keeps the quarantine.
    let restarted = AppState::start(app.db.clone(), app.config.clone())
        .await
        .unwrap();
    let st = restarted.plugins.status("hostile").unwrap();
    assert!(st.quarantined);
    assert_eq!(st.quarantine.as_ref().unwrap().reason, reason);

    // An integrator lifts it (an admin may as well), and that is stored too.
    let (status, on) = app
        .post("/api/v1/plugins/hostile/enable", &integrator, json!({}))
        .await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(on["quarantined"], false);
    let (status, body) = hostile_delivery(app, "/fine", "").await;
    assert_eq!(status, 200, "{body}");
    let restarted = AppState::start(app.db.clone(), app.config.clone())
        .await
        .unwrap();
    assert!(!restarted.plugins.status("hostile").unwrap().quarantined);
    let (status, _) = app
        .post("/api/v1/plugins/hostile/enable", &admin, json!({}))
        .await;
    assert_eq!(status, 200);

    // kv in the database: writes per call are capped, and a call that traps after writing
    // leaves the state as it was.
    let (status, body) = hostile_delivery(app, "/kv-fill", "?e2e:30:10").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "wrote 20: kv quota: at most 20 writes per call");
    let res = app
        .http
        .post(format!("{}/webhooks/test", app.base))
        .header("x-hostile", "/kv-then-trap")
        .body("e2e-0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let rows = plugin_kv::Entity::find()
        .filter(plugin_kv::Column::Plugin.eq("hostile"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 20);
    let first = rows.iter().find(|r| r.key == "e2e-0").unwrap();
    assert_eq!(
        first.value,
        vec![b'v'; 10],
        "the trapped call's write was rolled back"
    );
    let u = kolhost::plugins::KvStore::usage(
        &kolhost::store::plugins::DbKv { db: app.db.clone() },
        "hostile",
    )
    .await
    .unwrap();
    let key_bytes: u64 = rows.iter().map(|r| r.key.len() as u64).sum();
    assert_eq!((u.keys, u.bytes), (20, key_bytes + 20 * 10));
}

/// `PATCH /plugins/{name}/config` changes only the keys it names: a form that never shows a
/// secret cannot wipe it; `null` removes a key.
async fn patching_config_keeps_the_secrets_it_does_not_name(app: &TestApp) {
    let path = "/api/v1/plugins/douyin/config";
    let (status, p) = app
        .call(
            reqwest::Method::PUT,
            path,
            Some(app.admin.as_str()),
            Some(json!({"app_key": "k1", "app_secret": "s1", "shop_id": "42"})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    let (status, p) = app
        .call(
            reqwest::Method::PATCH,
            path,
            Some(app.admin.as_str()),
            Some(json!({"app_key": "k2", "shop_id": null})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["config"], json!({"app_key": "k2"}), "{p}");
    assert_eq!(p["secret_names"], json!(["app_secret"]), "{p}");
    // The kept secret is the one stored before: a push signed with it still verifies.
    let body = json!([{"tag": "101", "msg_id": "patch-1", "data": json!({"p_id": 7001,
        "s_ids": [], "pay_amount": 1990, "pay_time": 1_795_523_400i64}).to_string()}])
    .to_string()
    .into_bytes();
    let sign = kolhost_platform_formats::douyin::push::event_sign("k2", "s1", &body, false);
    let headers = [
        ("app-id".to_string(), "k2".to_string()),
        ("event-sign".to_string(), sign),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let (status, answer) = app.push_webhook("douyin", "", &headers, &body).await;
    assert_eq!(status, 200, "{answer}");
    let (status, p) = app
        .call(
            reqwest::Method::PATCH,
            path,
            Some(app.admin.as_str()),
            Some(json!({"app_secret": null, "bad key": "x"})),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    let (_, p) = app.get("/api/v1/plugins/douyin", &app.admin).await;
    assert_eq!(
        p["secret_names"],
        json!(["app_secret"]),
        "a refused patch changes nothing: {p}"
    );
}
