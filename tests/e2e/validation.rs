use kolhost_e2e::{TestApp, both_databases};
use serde_json::json;

use crate::fixtures::{agency, id};

both_databases!(
    malformed_and_misshapen_bodies,
    oversized_body_is_413,
    product_rules,
    duplicate_accounts_and_listings,
    every_error_is_a_problem,
    control_characters_and_times_out_of_range
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

/// Asserts an RFC 9457 answer with `status` and `code`, returning its body.
async fn problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{status} {code}"
    );
    let p: serde_json::Value = res.json().await.expect("a JSON problem");
    assert_eq!(p["status"], status, "{p}");
    assert_eq!(p["code"], code, "{p}");
    assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
    p
}

async fn every_error_is_a_problem(app: &TestApp) {
    let url = |path: &str| format!("{}{path}", app.base);
    // Routing: an unknown path and a method the path does not have.
    let res = app
        .http
        .get(url("/api/v1/nothing-here"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = app
        .http
        .delete(url("/api/v1/brands"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("allow"));
    problem(res, 405, "method_not_allowed").await;
    // A path that is not UTF-8 once decoded, and a path parameter that is not an id.
    let res = app
        .http
        .post(url("/webhooks/%FF"))
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(res, 400, "bad_request").await;
    let res = app
        .http
        .get(url("/api/v1/brands/not-a-uuid"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    problem(res, 400, "bad_request").await;
    // A query that does not parse.
    let res = app
        .http
        .get(url("/api/v1/brands?limit=lots"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    problem(res, 400, "bad_request").await;
    // JSON bodies must say so; a multipart endpoint given JSON.
    let res = app
        .http
        .post(url("/api/v1/brands"))
        .bearer_auth(&app.admin)
        .body(r#"{"name": "x"}"#)
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
    let res = app
        .http
        .post(url("/api/v1/brands"))
        .bearer_auth(&app.admin)
        .header("content-type", "text/plain")
        .body(r#"{"name": "x"}"#)
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
    let res = app
        .http
        .post(url("/api/v1/brands"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"name": "有字符集"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .http
        .post(url("/api/v1/plugins"))
        .bearer_auth(&app.admin)
        .json(&json!({"manifest": "x"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // Too large: a body, and a head the HTTP parser refuses by itself.
    let res = app
        .http
        .post(url("/api/v1/brands"))
        .bearer_auth(&app.admin)
        .json(&json!({"name": "x".repeat(100 * 1024)}))
        .send()
        .await
        .unwrap();
    problem(res, 413, "payload_too_large").await;
    let (head, body) = raw_exchange(
        app.addr,
        format!(
            "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
            "a".repeat(1024 * 1024)
        )
        .into_bytes(),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let p: serde_json::Value = serde_json::from_str(&body).expect("a JSON problem");
    assert_eq!(p["status"], 431);
    assert_eq!(p["code"], "request_header_fields_too_large");
    // The dashboard's missing assets too.
    let res = app.http.get(url("/no-such-file.js")).send().await.unwrap();
    problem(res, 404, "not_found").await;
}

/// Sends `request` over a fresh connection (while reading), and answers the head and body of
/// what the server sent before closing.
pub async fn raw_exchange(addr: std::net::SocketAddr, request: Vec<u8>) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&request).await;
        wr
    });
    let mut out = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(10), rd.read_to_end(&mut out)).await;
    writer.abort();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

async fn control_characters_and_times_out_of_range(app: &TestApp) {
    let a = agency(app).await;
    for (body, field) in [
        (json!({"name": "a\u{0}b"}), "name"),
        (
            json!({"name": "ok", "categories": ["food", "x\u{1}"]}),
            "categories[1]",
        ),
        (json!({"name": "bell\u{7}"}), "name"),
    ] {
        let (status, p) = app.post("/api/v1/brands", &app.admin, body).await;
        assert_eq!(status, 422, "{p}");
        assert_eq!(p["errors"][0]["field"], field, "{p}");
        assert_eq!(p["code"], "validation_failed");
    }
    // Tab, line feed and carriage return are text.
    let (status, p) = app
        .post(
            "/api/v1/brands",
            &app.admin,
            json!({"name": "两行\r\n\t品牌"}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let (status, p) = app
        .patch(
            &format!("/api/v1/products/{}", id(&a.product_a)),
            &app.admin,
            json!({"copy": "好吃\u{0}"}),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "copy");
    // A text filter, percent-encoded.
    let (status, p) = app
        .get("/api/v1/products?category=fo%00od", &app.admin)
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "category");
    let (status, p) = app.get("/api/v1/kols?category=%1B", &app.admin).await;
    assert_eq!(status, 422, "{p}");
    let (status, _) = app.get("/api/v1/scripts/na%00me", &app.admin).await;
    assert_eq!(status, 422);
    // Times outside the years 1970-9999.
    for (starts, ends) in [
        ("1969-12-31T23:59:59Z", "2030-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
    ] {
        let mut body = crate::fixtures::contract_body(&a.brand_a, &a.head, "douyin");
        body["starts_at"] = json!(starts);
        body["ends_at"] = json!(ends);
        let (status, p) = app.post("/api/v1/contracts", &app.admin, body).await;
        assert_eq!(status, 422, "{starts} {ends}: {p}");
        let field = if starts.starts_with("2026") {
            "ends_at"
        } else {
            "starts_at"
        };
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    let (status, p) = app
        .get("/api/v1/audit?from=1900-01-01T00:00:00Z", &app.admin)
        .await;
    assert_eq!(status, 422, "{p}");
    // Nothing of it was stored.
    let (_, list) = app.get("/api/v1/contracts", &app.admin).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = app.get("/api/v1/brands?limit=500", &app.admin).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    // A whole number written with a fraction is still an integer; a real fraction is not.
    let (status, p) = app
        .patch(
            &format!("/api/v1/products/{}", id(&a.product_a)),
            &app.admin,
            json!({"stock_units": 120.0}),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["stock_units"], 120);
    let (status, p) = app
        .patch(
            &format!("/api/v1/products/{}", id(&a.product_a)),
            &app.admin,
            json!({"stock_units": 120.5}),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "stock_units");
    // A body is an object, not an array that serde would read field by field.
    let (status, p) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/compliance/rules",
            Some(&app.admin),
            Some(json!([null, null])),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], ".");
}
