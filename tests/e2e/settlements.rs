//! Settlements (design §6a) with every figure worked out by hand in the comments.
//! Orders and refunds are written straight into the database, as ingestion would.

use chrono::{DateTime, Datelike, Utc};
use kolhost::domain::Role;
use kolhost::store::entities::{order, order_refund};
use kolhost_e2e::{TestApp, both_databases};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::id;

both_databases!(
    settle_a_month_with_partial_and_full_refunds_and_a_refund_after_approval,
    settle_a_guarantee_missed_by_40_percent_for_a_company_kol,
    settle_rounds_each_amount_once_to_the_fen,
    settle_tax_on_four_payments_and_the_half_year_income_report,
    settle_refuses_bad_input_and_hides_other_brands_settlements
);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339")
}

struct Deal {
    brand: Value,
    kol: Value,
    product: Value,
    contract: Value,
}

/// A brand, a KOL on douyin with `share_bp` and `tax_status`, a product and an active contract
/// for Q3 2026 with `terms` merged over the defaults.
async fn deal(app: &TestApp, share_bp: i64, tax_status: &str, terms: Value) -> Deal {
    let n = Uuid::new_v4().simple().to_string();
    let brand = app
        .create(
            "/api/v1/brands",
            json!({"name": format!("品牌{}", &n[..6]), "categories": ["food"]}),
        )
        .await;
    let kol = app
        .create(
            "/api/v1/kols",
            json!({"name": format!("主播{}", &n[..6]), "tier": "waist", "categories": ["food"],
                "accounts": [{"platform": "douyin", "account_id": format!("dy_{}", &n[..8]), "followers": 1_000_000}],
                "revenue_share_bp": share_bp, "tax_status": tax_status}),
        )
        .await;
    let product = app
        .create(
            "/api/v1/products",
            json!({"brand_id": brand["id"], "sku": format!("SKU-{}", &n[..6]), "name": "每日坚果",
                "category": "food", "role": "traffic", "list_price_fen": 12_900, "floor_price_fen": 8_900,
                "stock_units": 1000, "copy": "好吃不贵"}),
        )
        .await;
    let mut body = json!({
        "brand_id": brand["id"], "kol_id": kol["id"], "platform": "douyin",
        "starts_at": "2026-07-01T00:00:00Z", "ends_at": "2026-10-01T00:00:00Z",
        "slot_fee_fen": 1_000_000, "commission_bp": 2000
    });
    for (k, v) in terms.as_object().unwrap() {
        body[k] = v.clone();
    }
    let mut contract = app.create("/api/v1/contracts", body).await;
    for to in ["proposed", "signed", "active"] {
        let (status, c) = app
            .post(
                &format!("/api/v1/contracts/{}/transitions", id(&contract)),
                &app.admin,
                json!({"to": to}),
            )
            .await;
        assert_eq!(status, 200, "{c}");
        contract = c;
    }
    Deal {
        brand,
        kol,
        product,
        contract,
    }
}

/// A session of the deal's KOL starting at `starts_at` with the deal's product in its lineup.
async fn session(app: &TestApp, d: &Deal, starts_at: &str) -> Value {
    let start = at(starts_at);
    app.create(
        "/api/v1/sessions",
        json!({"kol_id": d.kol["id"], "platform": "douyin", "title": "坚果专场",
            "starts_at": starts_at, "ends_at": (start + chrono::Duration::hours(3)).to_rfc3339(),
            "lineup": [{"product_id": d.product["id"], "contract_id": d.contract["id"],
                "position": 1, "live_price_fen": 9_900, "units": 100}]}),
    )
    .await
}

/// An order attributed to the deal, settled by the platform at `settled_at`.
async fn order(app: &TestApp, d: &Deal, paid: i64, refunded: i64, settled_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    let at = at(settled_at);
    let status = match refunded {
        0 => "settled",
        r if r == paid => "refunded",
        _ => "partially_refunded",
    };
    order::ActiveModel {
        id: Set(id),
        platform: Set("douyin".into()),
        platform_order_id: Set(format!("P{}", id.simple())),
        sub_order_id: Set(String::new()),
        item_id: Set("369001".into()),
        account_id: Set(None),
        room_id: Set(None),
        units: Set(1),
        paid_fen: Set(paid),
        refunded_fen: Set(refunded),
        settled_fen: Set(Some(paid - refunded)),
        platform_commission_fen: Set(None),
        commission_bp: Set(None),
        status: Set(status.into()),
        paid_at: Set(at - chrono::Duration::days(3)),
        settled_at: Set(Some(at)),
        kol_id: Set(Some(id_of(&d.kol))),
        product_id: Set(Some(id_of(&d.product))),
        brand_id: Set(Some(id_of(&d.brand))),
        contract_id: Set(Some(id_of(&d.contract))),
        session_id: Set(None),
        attributed: Set(true),
        unattributed_reason: Set(None),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert order");
    id
}

/// A refund of `amount` on an order, linked, with the order's refunded total updated.
async fn refund(app: &TestApp, order_id: Uuid, amount: i64, refunded_at: &str) {
    let o = order::Entity::find_by_id(order_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    order_refund::ActiveModel {
        id: Set(Uuid::now_v7()),
        platform: Set(o.platform.clone()),
        platform_order_id: Set(o.platform_order_id.clone()),
        sub_order_id: Set(o.sub_order_id.clone()),
        refund_id: Set(format!("R{}", Uuid::now_v7().simple())),
        refunded_fen: Set(amount),
        refunded_at: Set(at(refunded_at)),
        order_id: Set(Some(order_id)),
        created_at: Set(Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let total = o.refunded_fen + amount;
    let paid = o.paid_fen;
    let mut am = o.into_active_model();
    am.refunded_fen = Set(total);
    am.status = Set(if total == paid {
        "refunded"
    } else {
        "partially_refunded"
    }
    .into());
    am.updated_at = Set(Utc::now());
    am.update(&app.db).await.unwrap();
}

fn id_of(v: &Value) -> Uuid {
    id(v).parse().unwrap()
}

async fn settle(app: &TestApp, d: &Deal, start: &str, end: &str) -> Value {
    app.create(
        "/api/v1/settlements",
        json!({"contract_id": d.contract["id"], "period_start": start, "period_end": end}),
    )
    .await
}

async fn approve(app: &TestApp, s: &Value) -> Value {
    let (status, v) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(s)),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "approved");
    v
}

fn line<'a>(s: &'a Value, kind: &str) -> &'a Value {
    s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} line in {s}"))
}

fn how(s: &Value, kind: &str) -> String {
    line(s, kind)["how"].as_str().unwrap().to_owned()
}

async fn settle_a_month_with_partial_and_full_refunds_and_a_refund_after_approval(app: &TestApp) {
    let d = deal(app, 5000, "individual", json!({})).await;
    session(app, &d, "2026-07-10T12:00:00Z").await;
    // July: three settled orders.
    let o1 = order(app, &d, 4_000_000, 0, "2026-07-05T00:00:00Z").await;
    order(app, &d, 2_000_000, 1_000_000, "2026-07-12T00:00:00Z").await; // partial refund
    order(app, &d, 1_500_000, 1_500_000, "2026-07-31T23:59:59Z").await; // full refund
    // Not in July: settled on the first instant of August; and an unsettled order.
    order(app, &d, 3_200_000, 0, "2026-08-01T00:00:00Z").await;

    let july = settle(app, &d, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z").await;
    assert_eq!(july["status"], "draft");
    // GMV 4,000,000 + 2,000,000 + 1,500,000 = 7,500,000 fen.
    assert_eq!(july["order_count"], 3);
    assert_eq!(july["gmv_fen"], 7_500_000);
    // Refunds 1,000,000 (partial) + 1,500,000 (full) = 2,500,000; net 5,000,000.
    assert_eq!(july["refunds_fen"], 2_500_000);
    assert_eq!(july["net_gmv_fen"], 5_000_000);
    // Commission 5,000,000 × 20% = 1,000,000. One slot in a July session: 1,000,000.
    assert_eq!(july["commission_fen"], 1_000_000);
    assert_eq!(july["slot_fees_fen"], 1_000_000);
    // KOL share (1,000,000 + 1,000,000) × 50% = 1,000,000 fen = 10,000 yuan.
    // Tax: 10,000 > 4,000 so taxable = 10,000 × 80% = 8,000 yuan; × 20% = 1,600 yuan.
    assert_eq!(july["kol_share_fen"], 1_000_000);
    assert_eq!(july["tax_withheld_fen"], 160_000);
    assert_eq!(july["kol_payable_fen"], 840_000);
    assert_eq!(july["tax_payable_fen"], 160_000);
    assert_eq!(july["brand_payable_fen"], 2_000_000);
    assert_eq!(line(&july, "refunds")["amount_fen"], -2_500_000);
    assert!(
        how(&july, "gmv").contains("4000000 + 2000000 + 1500000"),
        "{}",
        how(&july, "gmv")
    );
    assert!(how(&july, "commission").contains("× commission_bp 2000"));
    assert!(how(&july, "tax_withheld").contains("income × 80%"));
    assert!(
        july["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["how"].as_str().unwrap().len() > 10)
    );
    // No guarantee in this contract, and July does not reach its end.
    assert!(july["guarantee_shortfall_fen"].is_null());

    let approved = approve(app, &july).await;
    // A second approve is a conflict; the approval is in the audit trail.
    let (status, _) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(&july)),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, audit) = app
        .get(
            &format!("/api/v1/audit?entity_id={}", id(&july)),
            &app.admin,
        )
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["settlement.compute", "settlement.approve"]);

    // A refund of 200,000 on the first July order arrives in August, after approval.
    refund(app, o1, 200_000, "2026-08-03T09:00:00Z").await;
    // July cannot be computed again: it is approved.
    let (status, problem) = app
        .post(
            "/api/v1/settlements",
            &app.admin,
            json!({"contract_id": d.contract["id"], "period_start": "2026-07-01T00:00:00Z", "period_end": "2026-08-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");

    let august = settle(app, &d, "2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z").await;
    // August: one order of 3,200,000; the July refund carried as −200,000.
    assert_eq!(august["gmv_fen"], 3_200_000);
    assert_eq!(august["refunds_fen"], 0);
    assert_eq!(august["adjustments_fen"], -200_000);
    assert_eq!(
        line(&august, "adjustment_late_refund")["amount_fen"],
        -200_000
    );
    assert!(how(&august, "adjustment_late_refund").contains(id(&july)));
    // Net 3,200,000 − 200,000 = 3,000,000; commission × 20% = 600,000; no August slots.
    assert_eq!(august["net_gmv_fen"], 3_000_000);
    assert_eq!(august["commission_fen"], 600_000);
    assert_eq!(august["slot_fees_fen"], 0);
    // Share 600,000 × 50% = 300,000 fen = 3,000 yuan ≤ 4,000: taxable 3,000 − 800 = 2,200;
    // tax 2,200 × 20% = 440 yuan = 44,000 fen.
    assert_eq!(august["kol_share_fen"], 300_000);
    assert_eq!(august["tax_withheld_fen"], 44_000);
    assert_eq!(august["kol_payable_fen"], 256_000);

    // The approved July settlement is unchanged.
    let (_, again) = app
        .get(&format!("/api/v1/settlements/{}", id(&july)), &app.admin)
        .await;
    assert_eq!(again, approved);
    assert_eq!(again["refunds_fen"], 2_500_000);

    // Approve August; a September settlement carries nothing more.
    approve(app, &august).await;
    let sept = settle(app, &d, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z").await;
    assert_eq!(sept["adjustments_fen"], 0);
    assert_eq!(sept["net_gmv_fen"], 0);

    // The statement as CSV: one row per line, with the approved status and the amounts.
    let res = app
        .http
        .get(format!(
            "{}/api/v1/settlements/{}/statement.csv",
            app.base,
            id(&july)
        ))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("settlement_id,contract_id,"));
    assert_eq!(rows.len(), 1 + july["lines"].as_array().unwrap().len());
    assert!(csv.contains(",approved,"));
    assert!(
        csv.contains(",tax_withheld,Income tax withheld,160000,1600.00,"),
        "{csv}"
    );
}

async fn settle_a_guarantee_missed_by_40_percent_for_a_company_kol(app: &TestApp) {
    let d = deal(
        app,
        5000,
        "company",
        json!({"gmv_guarantee_fen": 10_000_000, "guarantee_remedy": "slot_fee_refund_pro_rata"}),
    )
    .await;
    // Two sessions in the quarter: slot fees 2 × 1,000,000 = 2,000,000.
    session(app, &d, "2026-07-10T12:00:00Z").await;
    session(app, &d, "2026-09-10T12:00:00Z").await;
    // Net GMV over the contract: 5,000,000 + (2,000,000 − 1,000,000) = 6,000,000.
    order(app, &d, 5_000_000, 0, "2026-07-20T00:00:00Z").await;
    order(app, &d, 2_000_000, 1_000_000, "2026-09-20T00:00:00Z").await;

    // The period reaches the contract's end (2026-10-01), so the guarantee is assessed.
    let s = settle(app, &d, "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z").await;
    assert_eq!(s["net_gmv_fen"], 6_000_000);
    assert!(s["guarantee_assessed"].as_bool().unwrap());
    // Shortfall = 10,000,000 − 6,000,000 = 4,000,000: the guarantee missed by 40%.
    assert_eq!(s["guarantee_shortfall_fen"], 4_000_000);
    assert!(how(&s, "guarantee_shortfall").contains("(40% of the guarantee)"));
    // Remedy: slot fees 2,000,000 × 4,000,000 / 10,000,000 = 800,000 back to the brand.
    assert_eq!(s["guarantee_refund_fen"], -800_000);
    assert_eq!(line(&s, "guarantee_remedy")["amount_fen"], -800_000);
    // Commission 6,000,000 × 20% = 1,200,000.
    // Brand pays 1,200,000 + 2,000,000 − 800,000 = 2,400,000.
    assert_eq!(s["commission_fen"], 1_200_000);
    assert_eq!(s["brand_payable_fen"], 2_400_000);
    // KOL share 2,400,000 × 50% = 1,200,000; a company KOL: nothing withheld.
    assert_eq!(s["kol_share_fen"], 1_200_000);
    assert_eq!(s["tax_withheld_fen"], 0);
    assert_eq!(s["kol_payable_fen"], 1_200_000);
    assert!(how(&s, "tax_withheld").contains("company"));
    approve(app, &s).await;

    // A later settlement (late refunds after the end) does not assess the guarantee again.
    let later = settle(app, &d, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z").await;
    assert!(!later["guarantee_assessed"].as_bool().unwrap());
    assert_eq!(later["guarantee_refund_fen"], 0);
    assert!(how(&later, "guarantee_remedy").contains(id(&s)));
}

async fn settle_rounds_each_amount_once_to_the_fen(app: &TestApp) {
    let d = deal(
        app,
        5000,
        "individual",
        json!({"commission_bp": 1000, "slot_fee_fen": 0}),
    )
    .await;
    order(app, &d, 12_345, 0, "2026-07-15T00:00:00Z").await;
    let s = settle(app, &d, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z").await;
    // Commission 12,345 × 10% = 1,234.5 fen -> 1,235 (half away from zero).
    assert_eq!(s["commission_fen"], 1_235);
    assert!(
        how(&s, "commission").contains("1,234.5 fen"),
        "{}",
        how(&s, "commission")
    );
    // Share from the exact commission: 1,234.5 × 50% = 617.25 -> 617 (not 1,235 × 50% = 617.5 -> 618).
    assert_eq!(s["kol_share_fen"], 617);
    // 6.17 yuan is under 800 yuan: nothing withheld.
    assert_eq!(s["tax_withheld_fen"], 0);
    assert_eq!(s["brand_payable_fen"], 1_235);
}

async fn settle_tax_on_four_payments_and_the_half_year_income_report(app: &TestApp) {
    // Commission 100% and a 100% share, no slot fee: the KOL share is the month's net GMV.
    let d = deal(
        app,
        10_000,
        "individual",
        json!({"commission_bp": 10_000, "slot_fee_fen": 0, "ends_at": "2027-01-01T00:00:00Z"}),
    )
    .await;
    let months = [
        ("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z", 300_000), // 3,000 yuan
        ("2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z", 1_000_000), // 10,000 yuan
        ("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", 3_000_000), // 30,000 yuan
        ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 10_000_000), // 100,000 yuan
    ];
    // 3,000: taxable 3,000 − 800 = 2,200; × 20% = 440 yuan.
    // 10,000: taxable × 80% = 8,000; × 20% = 1,600 yuan.
    // 30,000: taxable 24,000 (> 20,000); × 30% − 2,000 = 5,200 yuan.
    // 100,000: taxable 80,000 (> 50,000); × 40% − 7,000 = 25,000 yuan.
    let taxes = [44_000, 160_000, 520_000, 2_500_000];
    let mut approved_at = String::new();
    for ((start, end, amount), tax) in months.iter().zip(taxes) {
        let mid = at(start) + chrono::Duration::days(10);
        order(app, &d, *amount, 0, &mid.to_rfc3339()).await;
        let s = settle(app, &d, start, end).await;
        assert_eq!(s["kol_share_fen"], *amount);
        assert_eq!(s["tax_withheld_fen"], tax, "{}", how(&s, "tax_withheld"));
        assert_eq!(s["kol_payable_fen"], amount - tax);
        approved_at = approve(app, &s).await["approved_at"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    // The report covers the half year (China Standard Time) in which they were approved.
    let cst = at(&approved_at) + chrono::Duration::hours(8);
    let half = format!("{}-H{}", cst.year(), if cst.month() <= 6 { 1 } else { 2 });
    let path = format!(
        "/api/v1/reports/kol-income?kol_id={}&half={half}",
        id(&d.kol)
    );
    let (status, report) = app.get(&path, &app.admin).await;
    assert_eq!(status, 200, "{report}");
    let k = &report["items"][0];
    assert_eq!(report["items"].as_array().unwrap().len(), 1);
    assert_eq!(k["name"], d.kol["name"]);
    assert_eq!(k["tax_status"], "individual");
    assert_eq!(k["income_type"], "labour_remuneration");
    // Gross 3,000 + 10,000 + 30,000 + 100,000 = 143,000 yuan;
    // withheld 440 + 1,600 + 5,200 + 25,000 = 32,240 yuan; net 110,760 yuan.
    assert_eq!(k["gross_fen"], 14_300_000);
    assert_eq!(k["withheld_fen"], 3_224_000);
    assert_eq!(k["net_fen"], 11_076_000);
    assert_eq!(k["payments"].as_array().unwrap().len(), 4);

    // As CSV: four payment rows and a total.
    let res = app
        .http
        .get(format!("{}{path}&format=csv", app.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 6, "{csv}");
    assert!(rows[0].starts_with("half,row,kol_id,name,tax_status,income_type,"));
    assert!(
        rows[5].contains(",total,") && rows[5].ends_with(",14300000,3224000,11076000"),
        "{csv}"
    );

    // The KOL sees its own report; a brand may not; another half is empty.
    let kol_token = app.token(Role::Kol, Some(id_of(&d.kol))).await;
    let (status, own) = app
        .get(
            &format!("/api/v1/reports/kol-income?half={half}"),
            &kol_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(own["items"][0]["gross_fen"], 14_300_000);
    let brand_token = app.token(Role::Brand, Some(id_of(&d.brand))).await;
    let (status, _) = app.get(&path, &brand_token).await;
    assert_eq!(status, 403);
    let (_, empty) = app
        .get(
            &format!(
                "/api/v1/reports/kol-income?kol_id={}&half=2020-H1",
                id(&d.kol)
            ),
            &app.admin,
        )
        .await;
    assert_eq!(empty["items"], json!([]));
    let (status, problem) = app
        .get("/api/v1/reports/kol-income?half=2026-H3", &app.admin)
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "half");
}

async fn settle_refuses_bad_input_and_hides_other_brands_settlements(app: &TestApp) {
    let d = deal(app, 5000, "individual", json!({})).await;
    let other = deal(app, 5000, "individual", json!({})).await;
    let count = || async {
        let (_, v) = app.get("/api/v1/settlements", &app.admin).await;
        v["items"].as_array().unwrap().len()
    };
    // The period must end after it starts.
    let (status, problem) = app
        .post(
            "/api/v1/settlements",
            &app.admin,
            json!({"contract_id": d.contract["id"], "period_start": "2026-08-01T00:00:00Z", "period_end": "2026-08-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "period_end");
    // An unknown contract.
    let (status, problem) = app
        .post(
            "/api/v1/settlements",
            &app.admin,
            json!({"contract_id": Uuid::now_v7(), "period_start": "2026-07-01T00:00:00Z", "period_end": "2026-08-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "contract_id");
    // Not a time.
    let (status, problem) = app
        .post(
            "/api/v1/settlements",
            &app.admin,
            json!({"contract_id": d.contract["id"], "period_start": "July", "period_end": "2026-08-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "period_start");
    // A draft contract has nothing to settle.
    let draft = app
        .create(
            "/api/v1/contracts",
            json!({"brand_id": d.brand["id"], "kol_id": d.kol["id"], "platform": "douyin",
                "starts_at": "2026-07-01T00:00:00Z", "ends_at": "2026-10-01T00:00:00Z",
                "slot_fee_fen": 0, "commission_bp": 1000}),
        )
        .await;
    let (status, _) = app
        .post(
            "/api/v1/settlements",
            &app.admin,
            json!({"contract_id": draft["id"], "period_start": "2026-07-01T00:00:00Z", "period_end": "2026-08-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 409);
    // Brand tokens do not compute.
    let brand = app.token(Role::Brand, Some(id_of(&d.brand))).await;
    let (status, _) = app
        .post(
            "/api/v1/settlements",
            &brand,
            json!({"contract_id": d.contract["id"], "period_start": "2026-07-01T00:00:00Z", "period_end": "2026-08-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(count().await, 0, "a rejected request changes nothing");

    // Recomputing a draft supersedes it; approving the superseded one is a conflict.
    let first = settle(app, &d, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z").await;
    let second = settle(app, &d, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z").await;
    let (_, old) = app
        .get(&format!("/api/v1/settlements/{}", id(&first)), &app.admin)
        .await;
    assert_eq!(old["status"], "superseded");
    let (status, _) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(&first)),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
    approve(app, &second).await;
    let theirs = settle(app, &other, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z").await;

    // A brand sees its own settlements only; another brand's is 404.
    let (_, mine) = app.get("/api/v1/settlements", &brand).await;
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id(&first), id(&second)]);
    let (status, _) = app
        .get(&format!("/api/v1/settlements/{}", id(&theirs)), &brand)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(
            &format!("/api/v1/settlements/{}/statement.csv", id(&theirs)),
            &brand,
        )
        .await;
    assert_eq!(status, 404);
    let kol = app.token(Role::Kol, Some(id_of(&other.kol))).await;
    let (_, seen) = app.get("/api/v1/settlements?status=approved", &kol).await;
    assert_eq!(seen["items"], json!([]));
}
