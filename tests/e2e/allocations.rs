use std::collections::HashMap;

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    pyramid_on_the_demo_agency_previews_then_applies,
    scripts_are_versioned_and_errors_carry_their_line,
    violations_block_apply_and_change_nothing,
    allocations_run_the_published_version_while_a_draft_is_edited,
    a_preview_shows_the_findings_applying_would_raise,
    repeated_dry_runs_and_previews_answer_from_the_cache
);

async fn pyramid_on_the_demo_agency_previews_then_applies(app: &TestApp) {
    kolhost::demo::seed(&app.db, &app.config).await.unwrap();
    let (_, kols) = app.get("/api/v1/kols?limit=100", &app.admin).await;
    let tier: HashMap<String, String> = kols["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_str().unwrap().to_owned(),
                k["tier"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (_, products) = app.get("/api/v1/products?limit=100", &app.admin).await;
    let role: HashMap<String, String> = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    let scripter = app.token(Role::Scripter, None).await;
    let (status, preview) = app
        .post(
            "/api/v1/allocations",
            &scripter,
            json!({"strategy": {"script": "pyramid"}}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["violations"], json!([]));
    assert_eq!(preview["applied"], false);
    let assignments = preview["assignments"].as_array().unwrap();
    assert!(assignments.len() >= 10, "{preview}");
    for a in assignments {
        let expected = match role[a["product_id"].as_str().unwrap()].as_str() {
            "launch" => "head",
            "traffic" => "waist",
            _ => "tail",
        };
        assert_eq!(tier[a["kol_id"].as_str().unwrap()], expected, "{a}");
    }
    for r in ["launch", "traffic", "profit"] {
        assert!(
            assignments
                .iter()
                .any(|a| role[a["product_id"].as_str().unwrap()] == r),
            "some {r} product placed"
        );
    }
    assert!(!preview["notes"].as_array().unwrap().is_empty());

    // A scripter previews; applying is a manager's call.
    let (status, _) = app
        .post(
            "/api/v1/allocations",
            &scripter,
            json!({"strategy": {"script": "pyramid"}, "apply": true}),
        )
        .await;
    assert_eq!(status, 403);
    let brand = app
        .token(
            Role::Brand,
            Some(
                products["items"][0]["brand_id"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
            ),
        )
        .await;
    assert_eq!(
        app.post(
            "/api/v1/allocations",
            &brand,
            json!({"strategy": {"script": "pyramid"}})
        )
        .await
        .0,
        403
    );

    let manager = app.token(Role::Manager, None).await;
    let (status, applied) = app
        .post(
            "/api/v1/allocations",
            &manager,
            json!({"strategy": {"script": "pyramid"}, "apply": true}),
        )
        .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["applied"], true);
    assert_eq!(
        applied["assignments"], preview["assignments"],
        "same data, same plan"
    );
    for a in applied["assignments"].as_array().unwrap() {
        let (_, s) = app
            .get(
                &format!("/api/v1/sessions/{}", a["session_id"].as_str().unwrap()),
                &app.admin,
            )
            .await;
        let slot = s["lineup"]
            .as_array()
            .unwrap()
            .iter()
            .find(|slot| slot["product_id"] == a["product_id"])
            .unwrap_or_else(|| panic!("{a} not in {s}"));
        assert_eq!(slot["units"], a["units"]);
        assert_eq!(slot["live_price_fen"], a["live_price_fen"]);
    }
    let (_, trail) = app
        .get(
            "/api/v1/audit?action=session.allocate.script.pyramid&limit=500",
            &app.admin,
        )
        .await;
    assert!(!trail["items"].as_array().unwrap().is_empty());
    assert_eq!(trail["items"][0]["actor"], "test manager");

    // Running again sees the lineups it wrote: stock and slots already taken are not handed out twice.
    let (status, again) = app
        .post(
            "/api/v1/allocations",
            &scripter,
            json!({"strategy": {"script": "pyramid"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["violations"], json!([]), "{again}");
}

async fn scripts_are_versioned_and_errors_carry_their_line(app: &TestApp) {
    let scripter = app.token(Role::Scripter, None).await;
    let (status, p) = app
        .post(
            "/api/v1/scripts",
            &scripter,
            json!({"name": "weekly", "source": "function allocate(ctx)\n  return {\nend\n"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["code"], "script_syntax_error");
    assert_eq!(p["line"], 3);
    assert_eq!(
        app.get("/api/v1/scripts/weekly", &scripter).await.0,
        404,
        "nothing stored"
    );

    let v1 = "function allocate(ctx)\n  return {assignments = {}, notes = {'v1'}}\nend\n";
    let (status, s1) = app
        .post(
            "/api/v1/scripts",
            &scripter,
            json!({"name": "weekly", "source": v1}),
        )
        .await;
    assert_eq!(status, 201, "{s1}");
    assert_eq!(s1["version"], 1);
    let v2 = "function allocate(ctx)\n  local x = nil\n  return x.field\nend\n";
    let (_, s2) = app
        .post(
            "/api/v1/scripts",
            &scripter,
            json!({"name": "weekly", "source": v2}),
        )
        .await;
    assert_eq!(s2["version"], 2);
    let (_, versions) = app.get("/api/v1/scripts/weekly/versions", &scripter).await;
    assert_eq!(versions["items"][0]["source"], v1);
    assert_eq!(versions["items"][1]["source"], v2);

    let (status, p) = app
        .post("/api/v1/scripts/weekly/dry-run", &scripter, json!({}))
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["code"], "script_runtime_error");
    assert_eq!(p["line"], 3);

    // A hostile script is stopped by its budget; the server carries on.
    let spin = "function allocate(ctx)\n  while true do end\nend\n";
    app.post(
        "/api/v1/scripts",
        &scripter,
        json!({"name": "spin", "source": spin}),
    )
    .await;
    let (status, p) = app
        .post(
            "/api/v1/scripts/spin/dry-run",
            &scripter,
            json!({"limits": {"instructions": 1000000, "wall_clock_ms": 2000}}),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["code"], "script_instruction_budget_exceeded");
    assert_eq!(p["line"], 2);
    let (status, p) = app
        .post(
            "/api/v1/scripts/spin/dry-run",
            &scripter,
            json!({"limits": {"instructions": 0}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "limits.instructions");
    let (status, p) = app.post("/api/v1/scripts", &scripter, json!({"name": "sneaky", "source": "os.execute('id')\nfunction allocate(ctx) return {assignments={}, notes={}} end"})).await;
    assert_eq!(status, 201, "{p}");
    let (status, p) = app
        .post("/api/v1/scripts/sneaky/dry-run", &scripter, json!({}))
        .await;
    assert_eq!(status, 422, "os is not there: {p}");
    assert_eq!(app.get("/api/v1/scripts", &scripter).await.0, 200);

    // An explicit ctx for a dry run, checked field by field.
    let (status, p) = app
        .post(
            "/api/v1/scripts/weekly/dry-run",
            &scripter,
            json!({"ctx": {"products": [{"id": 5}]}}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        p["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("ctx.products[0]"),
        "{p}"
    );
}

async fn violations_block_apply_and_change_nothing(app: &TestApp) {
    kolhost::demo::seed(&app.db, &app.config).await.unwrap();
    // Every product to the first session at one fen: under the floor, and mostly uncontracted.
    let greedy = r#"
function allocate(ctx)
  local out = {}
  local s = ctx.sessions[1]
  for i, p in ipairs(ctx.products) do
    out[#out + 1] = {product_id = p.id, kol_id = s.kol_id, session_id = s.id, units = p.stock_units + 1, live_price_fen = 1, reason = "greedy"}
  end
  return {assignments = out, notes = {"all in"}}
end
"#;
    app.post(
        "/api/v1/scripts",
        &app.admin,
        json!({"name": "greedy", "source": greedy}),
    )
    .await;
    let (_, before) = app.get("/api/v1/sessions?limit=100", &app.admin).await;
    let (status, preview) = app
        .post(
            "/api/v1/allocations",
            &app.admin,
            json!({"strategy": {"script": "greedy"}}),
        )
        .await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = preview["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap())
        .collect();
    for code in [
        "price_below_floor",
        "stock_exceeded",
        "no_contract",
        "session_capacity_exceeded",
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    let (status, p) = app
        .post(
            "/api/v1/allocations",
            &app.admin,
            json!({"strategy": {"script": "greedy"}, "apply": true}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(!p["violations"].as_array().unwrap().is_empty());
    assert!(
        p["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("assignments[")
    );
    let (_, after) = app.get("/api/v1/sessions?limit=100", &app.admin).await;
    assert_eq!(before, after, "nothing applied");
    let (status, p) = app
        .post(
            "/api/v1/allocations",
            &app.admin,
            json!({"strategy": {"script": "nope"}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "strategy.script");
    let _: Value = p;
}

async fn allocations_run_the_published_version_while_a_draft_is_edited(app: &TestApp) {
    let scripter = app.token(Role::Scripter, None).await;
    let source = |tag: &str| {
        format!(
            "function allocate(ctx)\n  return {{assignments = {{}}, notes = {{'{tag}'}}}}\nend\n"
        )
    };
    let save = async |tag: &str| {
        app.post(
            "/api/v1/scripts",
            &scripter,
            json!({"name": "promo", "source": source(tag)}),
        )
        .await
    };
    let allocate = async || {
        let (status, out) = app
            .post(
                "/api/v1/allocations",
                &scripter,
                json!({"strategy": {"script": "promo"}}),
            )
            .await;
        assert_eq!(status, 200, "{out}");
        (out["notes"].clone(), out["script_version"].clone())
    };

    // A new script's first version is live at once: there is nothing to protect.
    let (status, v1) = save("v1").await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(
        (v1["version"].clone(), v1["published_version"].clone()),
        (json!(1), json!(1))
    );
    // Saving again makes a draft; allocations keep running version 1.
    let (status, v2) = save("v2").await;
    assert_eq!(status, 201);
    assert_eq!(
        (v2["version"].clone(), v2["published_version"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(allocate().await, (json!(["v1"]), json!(1)));
    let (_, got) = app.get("/api/v1/scripts/promo", &scripter).await;
    assert_eq!(
        (got["version"].clone(), got["published_version"].clone()),
        (json!(2), json!(1))
    );
    // A dry run runs the draft, or the version it names.
    let (status, dry) = app
        .post("/api/v1/scripts/promo/dry-run", &scripter, json!({}))
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (dry["notes"].clone(), dry["script_version"].clone()),
        (json!(["v2"]), json!(2))
    );
    let (_, dry) = app
        .post(
            "/api/v1/scripts/promo/dry-run",
            &scripter,
            json!({"version": 1}),
        )
        .await;
    assert_eq!(dry["notes"], json!(["v1"]));
    let (status, p) = app
        .post(
            "/api/v1/scripts/promo/dry-run",
            &scripter,
            json!({"version": 7}),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "version");
    // A broken draft does not touch the live version.
    let (status, _) = save_broken(app, &scripter).await;
    assert_eq!(status, 201);
    assert_eq!(allocate().await, (json!(["v1"]), json!(1)));

    // Publishing: unknown versions and scripts are refused, other roles are not allowed.
    let (status, p) = app
        .post(
            "/api/v1/scripts/promo/publish",
            &scripter,
            json!({"version": 9}),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "version");
    let (status, _) = app
        .post(
            "/api/v1/scripts/nope/publish",
            &scripter,
            json!({"version": 1}),
        )
        .await;
    assert_eq!(status, 404);
    let brand = app.token(Role::Integrator, None).await;
    let (status, _) = app
        .post(
            "/api/v1/scripts/promo/publish",
            &brand,
            json!({"version": 2}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, p) = app
        .post(
            "/api/v1/scripts/promo/publish",
            &scripter,
            json!({"version": "2"}),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(
        allocate().await,
        (json!(["v1"]), json!(1)),
        "refusals change nothing"
    );

    let (status, published) = app
        .post(
            "/api/v1/scripts/promo/publish",
            &scripter,
            json!({"version": 2}),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(
        (
            published["version"].clone(),
            published["published_version"].clone()
        ),
        (json!(2), json!(2))
    );
    assert_eq!(allocate().await, (json!(["v2"]), json!(2)));
    let (_, list) = app.get("/api/v1/scripts", &scripter).await;
    let promo = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "promo")
        .unwrap();
    assert_eq!(
        (promo["version"].clone(), promo["published_version"].clone()),
        (json!(3), json!(2))
    );

    // Rolling back is publishing an older version; both moves are in the audit trail.
    let (status, _) = app
        .post(
            "/api/v1/scripts/promo/publish",
            &scripter,
            json!({"version": 1}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(allocate().await, (json!(["v1"]), json!(1)));
    let (_, trail) = app
        .get("/api/v1/audit?action=script.publish&limit=10", &app.admin)
        .await;
    let moves: Vec<(Value, Value)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["before"]["published_version"].clone(),
                e["after"]["published_version"].clone(),
            )
        })
        .collect();
    assert_eq!(moves.len(), 2, "{trail}");
    assert!(moves.contains(&(json!(1), json!(2))), "{moves:?}");
    assert!(moves.contains(&(json!(2), json!(1))), "{moves:?}");
}

/// Saves a draft of `promo` that fails at run time.
async fn save_broken(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.post(
        "/api/v1/scripts",
        token,
        json!({"name": "promo", "source": "function allocate(ctx)\n  return nil + 1\nend\n"}),
    )
    .await
}

/// A preview on the agency's data lists the compliance findings its apply would raise: here a
/// slot above the price another session of the same lowest-price contract already sells at.
async fn a_preview_shows_the_findings_applying_would_raise(app: &TestApp) {
    use crate::fixtures::{agency, contract_in};
    let a = agency(app).await;
    let c = contract_in(app, &a.brand_a, &a.head, "douyin", "signed").await;
    assert_eq!(c["lowest_price_clause"], true);
    let session = |title: &str, day: u32, lineup: Value| {
        json!({"kol_id": a.head["id"], "platform": "douyin", "title": title,
            "starts_at": format!("2026-12-{day:02}T12:00:00Z"), "ends_at": format!("2026-12-{day:02}T15:00:00Z"),
            "lineup": lineup})
    };
    let cheap = app
        .create(
            "/api/v1/sessions",
            session(
                "早场",
                10,
                json!([{"product_id": a.product_a["id"], "contract_id": c["id"],
                "position": 1, "live_price_fen": 9_000, "units": 10}]),
            ),
        )
        .await;
    let later = app
        .create("/api/v1/sessions", session("晚场", 12, json!([])))
        .await;
    let source = format!(
        "function allocate(ctx) return {{assignments = {{{{product_id = \"{}\", kol_id = \"{}\", session_id = \"{}\", units = 5, live_price_fen = 12000, reason = \"test\"}}}}, notes = {{}}}} end",
        a.product_a["id"].as_str().unwrap(),
        a.head["id"].as_str().unwrap(),
        later["id"].as_str().unwrap()
    );
    app.create(
        "/api/v1/scripts",
        json!({"name": "one_slot", "source": source}),
    )
    .await;
    let (status, preview) = app
        .post(
            "/api/v1/allocations",
            &app.admin,
            json!({"strategy": {"script": "one_slot"}, "params": {}, "apply": false}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["violations"], json!([]), "{preview}");
    let findings = preview["findings"].as_array().unwrap();
    let f = findings
        .iter()
        .find(|f| f["code"] == "above_promised_lowest")
        .unwrap_or_else(|| panic!("no lowest-price finding in {preview}"));
    assert_eq!(f["session_id"], later["id"]);
    assert_eq!(f["rule"], "lowest_price");
    assert_eq!(f["params"]["lowest_price_fen"], 9_000);
    assert_eq!(f["params"]["session_id"], cheap["id"]);
    assert_eq!(preview["findings_truncated"], false);
    // A preview writes nothing: no finding is stored, the lineup is as it was.
    let (_, stored) = app
        .get(
            &format!(
                "/api/v1/compliance/findings?entity_id={}",
                later["id"].as_str().unwrap()
            ),
            &app.admin,
        )
        .await;
    assert_eq!(stored["items"], json!([]));
}

async fn repeated_dry_runs_and_previews_answer_from_the_cache(app: &TestApp) {
    kolhost::demo::seed(&app.db, &app.config).await.unwrap();
    let scripter = app.token(Role::Scripter, None).await;
    // The bundled pyramid with a comment of its own, so that no earlier run in this process
    // (the cache is the process's) answers the first run here.
    let source = format!(
        "-- {}\n{}",
        uuid::Uuid::new_v4(),
        kolhost::scripting::bundled::PYRAMID.source
    );
    let (status, saved) = app
        .post(
            "/api/v1/scripts",
            &scripter,
            json!({"name": "tuned", "source": source}),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    let dry_run = async |body: Value| {
        let (status, out) = app
            .post("/api/v1/scripts/tuned/dry-run", &scripter, body)
            .await;
        assert_eq!(status, 200, "{out}");
        out
    };
    let preview = async || {
        let (status, out) = app
            .post(
                "/api/v1/allocations",
                &scripter,
                json!({"strategy": {"script": "tuned"}}),
            )
            .await;
        assert_eq!(status, 200, "{out}");
        out
    };
    let same_answer = |a: &Value, b: &Value| {
        for field in [
            "assignments",
            "violations",
            "notes",
            "logs",
            "script_version",
        ] {
            assert_eq!(a[field], b[field], "{field}");
        }
    };

    let first = dry_run(json!({})).await;
    assert_eq!(first["stats"]["cached"], false, "{first}");
    assert!(!first["assignments"].as_array().unwrap().is_empty());
    let again = dry_run(json!({})).await;
    assert_eq!(again["stats"]["cached"], true, "{again}");
    same_answer(&first, &again);
    // A preview of the same script on the same data is the same run.
    let previewed = preview().await;
    assert_eq!(previewed["stats"]["cached"], true, "{previewed}");
    same_answer(&first, &previewed);

    // Other params or limits: another run.
    let one_kol = dry_run(json!({"params": {"max_kols_per_product": 1}})).await;
    assert_eq!(one_kol["stats"]["cached"], false);
    assert_ne!(one_kol["assignments"], first["assignments"]);
    let limited = dry_run(json!({"limits": {"wall_clock_ms": 5000}})).await;
    assert_eq!(limited["stats"]["cached"], false);
    same_answer(&first, &limited);

    // Applying writes lineups: the data changed, so the next preview runs and sees them.
    let manager = app.token(Role::Manager, None).await;
    let (status, applied) = app
        .post(
            "/api/v1/allocations",
            &manager,
            json!({"strategy": {"script": "tuned"}, "apply": true}),
        )
        .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["applied"], true);
    let after = preview().await;
    assert_eq!(after["stats"]["cached"], false, "{after}");
    assert_ne!(after["assignments"], first["assignments"]);
    assert_eq!(after["violations"], json!([]));
    let after_again = dry_run(json!({})).await;
    assert_eq!(after_again["stats"]["cached"], true);
    same_answer(&after, &after_again);
}
