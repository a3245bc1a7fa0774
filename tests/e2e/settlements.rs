//! Settlements (design §6a) with every figure worked out by hand in the comments.
//! Orders and refunds are written straight into the database, as ingestion would.

use chrono::{DateTime, Datelike, Utc};
use kolhost::domain::Role;
use kolhost::store::entities::{order, order_refund, settlement};
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
    settle_tax_on_single_payments,
    settle_tax_by_the_month_and_the_half_year_income_report,
    settle_a_refund_in_a_later_month_lowers_that_months_income,
    settle_an_amendment_mid_period_on_each_orders_version,
    settle_refuses_a_future_period_and_counts_sessions_that_took_place,
    settle_the_guarantee_at_termination_not_before_the_end,
    settle_approval_needs_four_eyes_and_a_tax_identity,
    settle_month_end_in_one_batch,
    settle_brand_tokens_read_no_private_field_anywhere,
    settle_statements_and_the_withholding_declaration_open_in_a_spreadsheet,
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

/// A valid 18-character resident ID number (GB 11643 checksum) made from `seed`.
pub fn resident_id(seed: u32) -> String {
    let body = format!("110105199001{:02}{:03}", 1 + seed % 28, seed % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(d, w)| (d - b'0') as u32 * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// A brand, a KOL on douyin with `share_bp` and `tax_status` (an individual with a tax
/// identity), a product and an active contract for Q3 2026 with `terms` merged over the defaults.
async fn deal(app: &TestApp, share_bp: i64, tax_status: &str, terms: Value) -> Deal {
    let d = deal_without_identity(app, share_bp, tax_status, terms).await;
    if tax_status == "individual" {
        let (status, k) = app
            .patch(
                &format!("/api/v1/kols/{}", id(&d.kol)),
                &app.admin,
                json!({"legal_name": "张小满", "id_number": resident_id(rand_seed())}),
            )
            .await;
        assert_eq!(status, 200, "{k}");
    }
    d
}

fn rand_seed() -> u32 {
    Uuid::new_v4().as_u128() as u32
}

async fn deal_without_identity(
    app: &TestApp,
    share_bp: i64,
    tax_status: &str,
    terms: Value,
) -> Deal {
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

/// An order attributed to the deal, paid three days before the platform settled it at
/// `settled_at`.
async fn order(app: &TestApp, d: &Deal, paid: i64, refunded: i64, settled_at: &str) -> Uuid {
    let paid_at = (at(settled_at) - chrono::Duration::days(3)).to_rfc3339();
    order_paid(app, d, paid, refunded, &paid_at, settled_at).await
}

/// An order attributed to the deal, paid at `paid_at`, settled by the platform at `settled_at`.
async fn order_paid(
    app: &TestApp,
    d: &Deal,
    paid: i64,
    refunded: i64,
    paid_at: &str,
    settled_at: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    let paid_at = at(paid_at);
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
        paid_at: Set(paid_at),
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

/// Approves as a second manager (four-eyes: `app.admin` computed it).
async fn approve(app: &TestApp, s: &Value) -> Value {
    let approver = app.token(Role::Manager, None).await;
    let (status, v) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(s)),
            &approver,
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

    approve(app, &july).await;
    // A second approve is a conflict; the approval is in the audit trail.
    let (status, _) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(&july)),
            &app.token(Role::Manager, None).await,
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

    // July was paid (approved) last month: its withholding belongs to that month.
    let approved = backdate_approval(app, &july).await;
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
    // Share 600,000 × 50% = 300,000 fen = 3,000 yuan, the only income this month (July's was
    // last month): ≤ 4,000, taxable 3,000 − 800 = 2,200; tax 2,200 × 20% = 440 yuan = 44,000 fen.
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
    assert!(
        csv.starts_with('\u{feff}'),
        "a UTF-8 byte-order mark for spreadsheets"
    );
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(
        rows[0].starts_with("结算单号,合同编号,品牌,品牌ID,主播,主播ID,"),
        "{}",
        rows[0]
    );
    // One row per order counted (3), then one per line.
    assert_eq!(rows.len(), 1 + 3 + july["lines"].as_array().unwrap().len());
    assert!(csv.contains(",已审批,"));
    assert!(
        csv.contains(d.brand["name"].as_str().unwrap()),
        "names beside ids"
    );
    // The July orders in China Standard Time: settled 2026-07-31T23:59:59Z is 08-01 07:59:59.
    assert!(csv.contains(",2026-08-01 07:59:59,"), "{csv}");
    assert!(
        csv.contains(",代扣个人所得税,,,,,,,1600.00,160000,"),
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

/// Moves a settlement's approval back one month (as if paid last month) and answers it as read.
async fn backdate_approval(app: &TestApp, s: &Value) -> Value {
    let row = settlement::Entity::find_by_id(id_of(s))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let when = row.approved_at.expect("approved") - chrono::Duration::days(31);
    let mut am = row.into_active_model();
    am.approved_at = Set(Some(when));
    am.update(&app.db).await.unwrap();
    app.get(&format!("/api/v1/settlements/{}", id(s)), &app.admin)
        .await
        .1
}

/// A deal whose KOL share is the net GMV (100% commission, 100% share, no slot fee), running
/// until 2027 so no guarantee or end interferes.
async fn pass_through(app: &TestApp) -> Deal {
    deal(
        app,
        10_000,
        "individual",
        json!({"commission_bp": 10_000, "slot_fee_fen": 0, "ends_at": "2027-01-01T00:00:00Z"}),
    )
    .await
}

const MONTHS: [(&str, &str); 4] = [
    ("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"),
    ("2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z"),
    ("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"),
    ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"),
];

/// An order of `amount` settled mid-month in `MONTHS[m]`, and that month's draft.
async fn month_draft(app: &TestApp, d: &Deal, m: usize, amount: i64) -> Value {
    let (start, end) = MONTHS[m];
    order(
        app,
        d,
        amount,
        0,
        &(at(start) + chrono::Duration::days(10)).to_rfc3339(),
    )
    .await;
    settle(app, d, start, end).await
}

async fn settle_tax_on_single_payments(app: &TestApp) {
    // One payment each, to four KOLs, so no month holds two:
    // 3,000: ≤ 4,000, taxable 3,000 − 800 = 2,200; × 20% = 440 yuan.
    // 4,000: ≤ 4,000, taxable 4,000 − 800 = 3,200; × 20% = 640 yuan.
    // 60,000: taxable × 80% = 48,000 (> 20,000, ≤ 50,000); × 30% − 2,000 = 12,400 yuan.
    // 100,000: taxable 80,000 (> 50,000); × 40% − 7,000 = 25,000 yuan.
    for (amount, tax) in [
        (300_000, 44_000),
        (400_000, 64_000),
        (6_000_000, 1_240_000),
        (10_000_000, 2_500_000),
    ] {
        let d = pass_through(app).await;
        let s = approve(app, &month_draft(app, &d, 0, amount).await).await;
        assert_eq!(s["kol_share_fen"], amount);
        assert_eq!(s["tax_withheld_fen"], tax, "{}", how(&s, "tax_withheld"));
        assert_eq!(s["kol_payable_fen"], amount - tax);
        assert_eq!(s["month_income_fen"], amount);
        assert_eq!(s["month_tax_withheld_before_fen"], 0);
    }
}

async fn settle_tax_by_the_month_and_the_half_year_income_report(app: &TestApp) {
    let d = pass_through(app).await;
    // 3,000 yuan (July's orders), then 5,000 (August's), both paid (approved) this month.
    let july = month_draft(app, &d, 0, 300_000).await;
    let august = month_draft(app, &d, 1, 500_000).await;
    // A draft shows the withholding as if approved now: August alone, 5,000 × 80% × 20% = 800.
    assert_eq!(august["tax_withheld_fen"], 80_000);
    let july = approve(app, &july).await;
    // July: (3,000 − 800) × 20% = 440.
    assert_eq!(july["tax_withheld_fen"], 44_000);
    // August is approved after July in the same month: the month's income is 3,000 + 5,000 =
    // 8,000, taxable 8,000 × 80% = 6,400, tax 1,280; 440 already withheld: 840 (not 800).
    let august = approve(app, &august).await;
    assert_eq!(
        august["tax_withheld_fen"],
        84_000,
        "{}",
        how(&august, "tax_withheld")
    );
    assert_eq!(august["month_income_fen"], 800_000);
    assert_eq!(august["month_tax_due_fen"], 128_000);
    assert_eq!(august["month_tax_withheld_before_fen"], 44_000);
    assert_eq!(august["tax_payable_fen"], 84_000);
    assert_eq!(august["kol_payable_fen"], 500_000 - 84_000);
    assert_eq!(line(&august, "tax_withheld")["amount_fen"], 84_000);
    assert_eq!(
        line(&august, "payable_agency_to_kol")["amount_fen"],
        416_000
    );
    let h = how(&august, "tax_withheld");
    for part in [
        "income before 300,000 fen",
        "this payment 500,000 fen",
        "= 800,000 fen",
        "already withheld 44,000 fen",
        "128000 − 44000 = 84,000 fen",
    ] {
        assert!(h.contains(part), "{part} not in {h}");
    }

    // Bigger amounts cross brackets: 30,000 then 40,000 in one month.
    let big = pass_through(app).await;
    let first = approve(app, &month_draft(app, &big, 0, 3_000_000).await).await;
    // 30,000: taxable 24,000 × 30% − 2,000 = 5,200.
    assert_eq!(first["tax_withheld_fen"], 520_000);
    let second = approve(app, &month_draft(app, &big, 1, 4_000_000).await).await;
    // 70,000: taxable 56,000 × 40% − 7,000 = 15,400 due; 15,400 − 5,200 = 10,200 withheld.
    assert_eq!(second["month_tax_due_fen"], 1_540_000);
    assert_eq!(second["tax_withheld_fen"], 1_020_000);

    // The income report covers the half year (CST) in which they were approved.
    let cst = at(august["approved_at"].as_str().unwrap()) + chrono::Duration::hours(8);
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
    // Gross 3,000 + 5,000 = 8,000 yuan; withheld 440 + 840 = 1,280; net 6,720.
    assert_eq!(k["gross_fen"], 800_000);
    assert_eq!(k["withheld_fen"], 128_000);
    assert_eq!(k["net_fen"], 672_000);
    assert_eq!(k["payments"].as_array().unwrap().len(), 2);

    // As CSV: two payment rows and a total.
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
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("half,row,kol_id,name,tax_status,income_type,"));
    assert!(
        rows[3].contains(",total,") && rows[3].ends_with(",800000,128000,672000"),
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
    assert_eq!(own["items"][0]["gross_fen"], 800_000);
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

async fn settle_a_refund_in_a_later_month_lowers_that_months_income(app: &TestApp) {
    let d = pass_through(app).await;
    // July: 5,000 yuan, approved last month (tax 5,000 × 80% × 20% = 800 then).
    let first = order(app, &d, 500_000, 0, "2026-07-11T00:00:00Z").await;
    let july = approve(app, &settle(app, &d, MONTHS[0].0, MONTHS[0].1).await).await;
    assert_eq!(july["tax_withheld_fen"], 80_000);
    backdate_approval(app, &july).await;
    // This month: August's 3,000 yuan: (3,000 − 800) × 20% = 440.
    let august = approve(app, &month_draft(app, &d, 1, 300_000).await).await;
    assert_eq!(august["tax_withheld_fen"], 44_000);
    assert_eq!(august["month_income_fen"], 300_000);
    // Then 1,000 yuan of July's order is refunded: September carries −1,000 of share.
    refund(app, first, 100_000, "2026-09-05T00:00:00Z").await;
    let sept = settle(app, &d, MONTHS[2].0, MONTHS[2].1).await;
    assert_eq!(sept["kol_share_fen"], -100_000);
    let sept = approve(app, &sept).await;
    // This month's income 3,000 − 1,000 = 2,000 yuan: tax (2,000 − 800) × 20% = 240 due;
    // 440 already withheld, so 200 goes back to the KOL (last month's 800 is not touched).
    assert_eq!(sept["month_income_fen"], 200_000);
    assert_eq!(sept["month_tax_due_fen"], 24_000);
    assert_eq!(sept["tax_withheld_fen"], -20_000);
    // The KOL owes the agency 1,000 − 200 = 800 yuan.
    assert_eq!(sept["kol_payable_fen"], -80_000);
}

async fn settle_an_amendment_mid_period_on_each_orders_version(app: &TestApp) {
    let d = deal(
        app,
        5000,
        "company",
        json!({"ends_at": "2027-01-01T00:00:00Z"}),
    )
    .await;
    let path = format!("/api/v1/contracts/{}", id(&d.contract));
    // Paid 07-05 at 20%; the amendment to 10% takes effect 07-15; paid 07-20 at 10%.
    order_paid(
        app,
        &d,
        1_000_000,
        0,
        "2026-07-05T00:00:00Z",
        "2026-07-25T00:00:00Z",
    )
    .await;
    order_paid(
        app,
        &d,
        2_000_000,
        0,
        "2026-07-20T00:00:00Z",
        "2026-07-28T00:00:00Z",
    )
    .await;
    let (status, v2) = app
        .post(
            &format!("{path}/amendments"),
            &app.admin,
            json!({"reason": "旺季后降佣 lower rate after the peak", "commission_bp": 1000,
                "effective_from": "2026-07-15T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 201, "{v2}");
    let (_, versions) = app.get(&format!("{path}/versions"), &app.admin).await;
    let versions = versions["items"].as_array().unwrap();
    assert_eq!(versions[0]["effective_from"], "2026-07-01T00:00:00Z");
    assert_eq!(versions[0]["effective_until"], "2026-07-15T00:00:00Z");
    assert_eq!(versions[1]["effective_from"], "2026-07-15T00:00:00Z");
    assert!(versions[1]["effective_until"].is_null());

    let july = settle(app, &d, MONTHS[0].0, MONTHS[0].1).await;
    // Version 1: 1,000,000 × 20% = 200,000; version 2: 2,000,000 × 10% = 200,000.
    let commission: Vec<(i64, i64)> = july["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "commission")
        .map(|l| {
            (
                l["version"].as_i64().unwrap(),
                l["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(commission, [(1, 200_000), (2, 200_000)]);
    assert_eq!(july["commission_fen"], 400_000);
    // Not 3,000,000 × 10% = 300,000, which is what repricing the past would give.
    let v2_how = july["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "commission" && l["version"] == 2)
        .unwrap()["how"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        v2_how.contains("contract version 2, in force [2026-07-15T00:00:00+00:00, open)"),
        "{v2_how}"
    );
    approve(app, &july).await;

    // An amendment may not reach back before what was approved (July ends 08-01).
    let (status, problem) = app
        .post(
            &format!("{path}/amendments"),
            &app.admin,
            json!({"reason": "too late", "commission_bp": 500, "effective_from": "2026-07-20T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "effective_before_settled");
    let (_, after) = app.get(&format!("{path}/versions"), &app.admin).await;
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        2,
        "nothing changed"
    );
}

async fn settle_refuses_a_future_period_and_counts_sessions_that_took_place(app: &TestApp) {
    let d = deal(
        app,
        5000,
        "company",
        json!({"ends_at": "2030-01-01T00:00:00Z"}),
    )
    .await;
    let tomorrow = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, problem) = app
        .post(
            "/api/v1/settlements",
            &app.admin,
            json!({"contract_id": d.contract["id"], "period_start": "2026-07-01T00:00:00Z", "period_end": tomorrow}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "period_in_future");
    assert_eq!(problem["errors"][0]["field"], "period_end");
    // Two July sessions; one is cancelled: one slot fee of 1,000,000.
    session(app, &d, "2026-07-10T12:00:00Z").await;
    let cancelled = session(app, &d, "2026-07-20T12:00:00Z").await;
    let (status, c) = app
        .patch(
            &format!("/api/v1/sessions/{}", id(&cancelled)),
            &app.admin,
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    let july = settle(app, &d, MONTHS[0].0, MONTHS[0].1).await;
    assert_eq!(july["slot_fees_fen"], 1_000_000);
    assert!(how(&july, "slot_fees").contains("1 lineup slot(s)"));
}

async fn settle_the_guarantee_at_termination_not_before_the_end(app: &TestApp) {
    // A guarantee of 10,000,000 on a contract running to 2030; 6,000,000 sold: short by 40%.
    let d = deal(
        app,
        5000,
        "company",
        json!({"ends_at": "2030-01-01T00:00:00Z", "gmv_guarantee_fen": 10_000_000,
            "guarantee_remedy": "slot_fee_refund_pro_rata"}),
    )
    .await;
    session(app, &d, "2026-07-10T12:00:00Z").await;
    order(app, &d, 6_000_000, 0, "2026-07-20T00:00:00Z").await;
    let now = Utc::now().to_rfc3339();
    // Before the end: nothing assessed, however long the period.
    let s = settle(app, &d, "2026-07-01T00:00:00Z", &now).await;
    assert!(!s["guarantee_assessed"].as_bool().unwrap());
    assert!(s["guarantee_shortfall_fen"].is_null());
    // Terminated now: the guarantee falls due at the termination.
    let (status, t) = app
        .post(
            &format!("/api/v1/contracts/{}/transitions", id(&d.contract)),
            &app.admin,
            json!({"to": "terminated", "reason": "brand exits the category"}),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    let end = (Utc::now() + chrono::Duration::milliseconds(1)).to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let s = settle(app, &d, "2026-07-01T00:00:00Z", &end).await;
    assert!(s["guarantee_assessed"].as_bool().unwrap(), "{s}");
    // Shortfall 10,000,000 − 6,000,000 = 4,000,000 (40%); remedy: the one slot fee
    // 1,000,000 × 40% = 400,000 back to the brand.
    assert_eq!(s["guarantee_shortfall_fen"], 4_000_000);
    assert_eq!(s["guarantee_refund_fen"], -400_000);
    // Brand: commission 1,200,000 + slot fee 1,000,000 − 400,000 = 1,800,000.
    assert_eq!(s["brand_payable_fen"], 1_800_000);
}

async fn settle_approval_needs_four_eyes_and_a_tax_identity(app: &TestApp) {
    let d = deal_without_identity(app, 5000, "individual", json!({})).await;
    order(app, &d, 1_000_000, 0, "2026-07-20T00:00:00Z").await;
    let s = settle(app, &d, MONTHS[0].0, MONTHS[0].1).await;
    let path = format!("/api/v1/settlements/{}/approve", id(&s));
    // Who computed it does not approve it.
    let (status, problem) = app.post(&path, &app.admin, json!({})).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["code"], "four_eyes");
    // Another manager may, once the individual KOL has a tax identity.
    let other = app.token(Role::Manager, None).await;
    let (status, problem) = app.post(&path, &other, json!({})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "tax_identity_missing");
    let (_, still) = app
        .get(&format!("/api/v1/settlements/{}", id(&s)), &app.admin)
        .await;
    assert_eq!(
        still["status"], "draft",
        "a refused approval changes nothing"
    );

    // A resident ID with a wrong check digit is refused; a right one is kept sealed.
    let kol_path = format!("/api/v1/kols/{}", id(&d.kol));
    let good = resident_id(4242);
    let last = good.chars().last().unwrap();
    let bad = format!("{}{}", &good[..17], if last == '0' { '1' } else { '0' });
    let (status, problem) = app
        .patch(
            &kol_path,
            &app.admin,
            json!({"legal_name": "王小明", "id_number": bad}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "id_number");
    let (status, k) = app
        .patch(
            &kol_path,
            &app.admin,
            json!({"legal_name": "王小明", "id_number": good}),
        )
        .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["id_type"], "resident_id_card");
    let masked = format!("{}***********{}", &good[..3], &good[14..]);
    assert_eq!(k["id_number_masked"], masked);
    assert!(!k.to_string().contains(&good), "never shown in clear");
    let row = kolhost::store::entities::kol::Entity::find_by_id(id_of(&d.kol))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.id_number_sealed.unwrap();
    assert!(sealed.starts_with("v1:") && !sealed.contains(&good[6..14]));
    // The KOL sees its own identity masked.
    let kol_token = app.token(Role::Kol, Some(id_of(&d.kol))).await;
    let (_, own) = app.get(&kol_path, &kol_token).await;
    assert_eq!(own["id_number_masked"], masked);
    assert_eq!(own["legal_name"], "王小明");

    let (status, done) = app.post(&path, &other, json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["approved_by"], "test manager");
}

async fn settle_month_end_in_one_batch(app: &TestApp) {
    // Three contracts: one with July orders, one with a July session, one idle.
    let busy = deal(app, 5000, "company", json!({})).await;
    order(app, &busy, 1_000_000, 0, "2026-07-20T00:00:00Z").await;
    let slots = deal(app, 5000, "company", json!({})).await;
    session(app, &slots, "2026-07-10T12:00:00Z").await;
    let idle = deal(app, 5000, "company", json!({})).await;
    let body = json!({"period_start": MONTHS[0].0, "period_end": MONTHS[0].1});
    let scripter = app.token(Role::Scripter, None).await;
    let (status, _) = app
        .post("/api/v1/settlements/batch", &scripter, body.clone())
        .await;
    assert_eq!(status, 403);
    let (status, out) = app
        .post("/api/v1/settlements/batch", &app.admin, body.clone())
        .await;
    assert_eq!(status, 201, "{out}");
    let created: Vec<&str> = out["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["contract_id"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), 2, "{out}");
    assert!(created.contains(&id(&busy.contract)) && created.contains(&id(&slots.contract)));
    // 1,000,000 × 20% = 200,000 commission; one slot of 1,000,000.
    for s in out["created"].as_array().unwrap() {
        assert_eq!(s["status"], "draft");
        if s["contract_id"] == busy.contract["id"] {
            assert_eq!(s["commission_fen"], 200_000);
        } else {
            assert_eq!(s["slot_fees_fen"], 1_000_000);
        }
    }
    let skipped = out["skipped"].as_array().unwrap();
    let idle_skip = skipped
        .iter()
        .find(|k| k["contract_id"] == idle.contract["id"])
        .expect("the idle contract is skipped");
    assert_eq!(idle_skip["reason_code"], "no_activity");
    assert!(idle_skip["reason"].as_str().unwrap().len() > 10);

    // Approve one; the next batch skips it as approved and redrafts the other.
    approve(app, &out["created"][0]).await;
    let (_, again) = app
        .post("/api/v1/settlements/batch", &app.admin, body)
        .await;
    assert_eq!(again["created"].as_array().unwrap().len(), 1, "{again}");
    assert!(
        again["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["reason_code"] == "already_approved")
    );
    // A batch ending in the future is refused, and makes nothing.
    let (status, problem) = app
        .post(
            "/api/v1/settlements/batch",
            &app.admin,
            json!({"period_start": MONTHS[0].0, "period_end": "2027-06-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["code"], "period_in_future");
}

/// Field names and line kinds that are the KOL's and the agency's business, never a brand's.
const PRIVATE: &[&str] = &[
    "kol_share",
    "tax_withheld",
    "kol_payable",
    "tax_payable",
    "month_income",
    "month_tax",
    "revenue_share_bp",
    "tax_status",
    "legal_name",
    "id_type",
    "id_number",
    "payable_agency_to_kol",
    "payable_agency_to_tax_authority",
    "KOL share",
    "Income tax",
    "主播分成",
    "个人所得税",
];

async fn settle_brand_tokens_read_no_private_field_anywhere(app: &TestApp) {
    let d = deal(app, 5000, "individual", json!({})).await;
    let sess = session(app, &d, "2026-07-10T12:00:00Z").await;
    let o = order(app, &d, 1_000_000, 100_000, "2026-07-20T00:00:00Z").await;
    let s = approve(app, &settle(app, &d, MONTHS[0].0, MONTHS[0].1).await).await;
    settle(app, &d, MONTHS[1].0, MONTHS[1].1).await; // and a draft
    let kol = id(&d.kol);
    let brand = app.token(Role::Brand, Some(id_of(&d.brand))).await;
    let paths = [
        "/api/v1/me".to_owned(),
        "/api/v1/brands".into(),
        format!("/api/v1/brands/{}", id(&d.brand)),
        "/api/v1/kols".into(),
        format!("/api/v1/kols/{kol}"),
        "/api/v1/products".into(),
        format!("/api/v1/products/{}", id(&d.product)),
        "/api/v1/contracts".into(),
        format!("/api/v1/contracts/{}", id(&d.contract)),
        format!("/api/v1/contracts/{}/versions", id(&d.contract)),
        "/api/v1/sessions".into(),
        format!("/api/v1/sessions/{}", id(&sess)),
        "/api/v1/orders".into(),
        format!("/api/v1/orders/{o}"),
        "/api/v1/gmv".into(),
        "/api/v1/settlements".into(),
        format!("/api/v1/settlements/{}", id(&s)),
        format!("/api/v1/settlements/{}/statement.csv", id(&s)),
        format!("/api/v1/settlements/{}/statement.csv?lang=en", id(&s)),
        "/api/v1/compliance/findings".into(),
        "/api/v1/compliance/rules".into(),
        "/api/v1/audit".into(),
        format!("/api/v1/audit?entity_id={}", id(&s)),
        "/api/v1/reports/kol-income?half=2026-H2".into(),
        format!("/api/v1/reports/kol-income?half=2026-H2&kol_id={kol}"),
        "/api/v1/reports/withholding?month=2026-12&format=json".into(),
        "/api/v1/webhook-deliveries".into(),
        "/api/v1/plugins".into(),
        "/api/v1/scripts".into(),
    ];
    let mut read = 0;
    for path in &paths {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth(&brand)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        if status == 200 {
            read += 1;
        }
        for word in PRIVATE {
            assert!(
                !body.contains(word),
                "GET {path} ({status}) shows {word} to a brand: {body}"
            );
        }
        assert!(!body.contains("张小满"), "GET {path} shows the legal name");
    }
    assert!(
        read >= 18,
        "the brand reads its own records ({read} paths answered 200)"
    );
    // The settlement the brand reads keeps what the brand pays.
    let (_, seen) = app
        .get(&format!("/api/v1/settlements/{}", id(&s)), &brand)
        .await;
    // Net 900,000 × 20% = 180,000 + one slot 1,000,000 = 1,180,000.
    assert_eq!(seen["brand_payable_fen"], 1_180_000);
    assert_eq!(seen["commission_fen"], 180_000);
    assert_eq!(seen["net_gmv_fen"], 900_000);
    // The same settlement, read by staff, has the KOL's split.
    let (_, full) = app
        .get(&format!("/api/v1/settlements/{}", id(&s)), &app.admin)
        .await;
    assert_eq!(full["kol_share_fen"], 590_000);
}

/// GET `path` as `token`, insisting on 200; the body's bytes.
async fn download(app: &TestApp, path: &str, token: &str) -> Vec<u8> {
    let res = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.bytes().await.unwrap().to_vec()
}

/// The first sheet of an XLSX file, read back with calamine, as strings and numbers.
fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .expect("an XLSX file");
    assert_eq!(book.sheet_names(), [name]);
    let range = book.worksheet_range(name).expect("the sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

fn text(c: &calamine::Data) -> String {
    c.to_string()
}

async fn settle_statements_and_the_withholding_declaration_open_in_a_spreadsheet(app: &TestApp) {
    let d = pass_through(app).await;
    let number = resident_id(77);
    let (status, _) = app
        .patch(
            &format!("/api/v1/kols/{}", id(&d.kol)),
            &app.admin,
            json!({"legal_name": "赵晓晓", "id_type": "resident_id_card", "id_number": number}),
        )
        .await;
    assert_eq!(status, 200);
    // 3,000 then 5,000 yuan, approved this month: 440 then 840 withheld (1,280 on 8,000).
    let july = approve(app, &month_draft(app, &d, 0, 300_000).await).await;
    let august = approve(app, &month_draft(app, &d, 1, 500_000).await).await;
    assert_eq!(august["tax_withheld_fen"], 84_000);

    // The statement as XLSX: header, one row per order, then the lines.
    let path = format!("/api/v1/settlements/{}/statement.xlsx", id(&august));
    let rows = sheet(&download(app, &path, &app.admin).await, "结算单");
    assert_eq!(text(&rows[0][0]), "结算单号");
    assert_eq!(text(&rows[0][2]), "品牌");
    assert_eq!(
        rows.len(),
        1 + 1 + august["lines"].as_array().unwrap().len()
    );
    // The order row: brand and KOL names beside their ids, amounts in yuan.
    assert_eq!(text(&rows[1][2]), d.brand["name"].as_str().unwrap());
    assert_eq!(text(&rows[1][5]), id(&d.kol));
    assert_eq!(text(&rows[1][9]), "订单");
    assert_eq!(rows[1][16], calamine::Data::Float(5000.0));
    let tax_row = rows
        .iter()
        .find(|r| text(&r[11]) == "代扣个人所得税")
        .expect("the tax line");
    assert_eq!(tax_row[18], calamine::Data::Float(840.0));
    assert_eq!(tax_row[19], calamine::Data::Float(84_000.0));
    // In English on request.
    let en = sheet(
        &download(app, &format!("{path}?lang=en"), &app.admin).await,
        "Statement",
    );
    assert_eq!(text(&en[0][0]), "Settlement ID");
    assert!(en.iter().any(|r| text(&r[11]) == "Income tax withheld"));
    // The brand's statement has no KOL split.
    let brand = app.token(Role::Brand, Some(id_of(&d.brand))).await;
    let theirs = sheet(&download(app, &path, &brand).await, "结算单");
    assert!(theirs.iter().any(|r| text(&r[11]) == "品牌应付机构"));
    for r in &theirs {
        for banned in ["主播分成", "代扣个人所得税", "机构应付主播", "机构应缴税款"]
        {
            assert_ne!(text(&r[11]), banned);
        }
    }
    let (status, _) = app
        .get(
            &format!("/api/v1/settlements/{}/statement.xlsx?lang=fr", id(&july)),
            &app.admin,
        )
        .await;
    assert_eq!(status, 422);

    // The month's withholding declaration, in the withholding client's column order.
    let cst = at(august["approved_at"].as_str().unwrap()) + chrono::Duration::hours(8);
    let month = format!("{:04}-{:02}", cst.year(), cst.month());
    let wpath = format!("/api/v1/reports/withholding?month={month}");
    let rows = sheet(
        &download(app, &format!("{wpath}&format=xlsx"), &app.admin).await,
        "劳务报酬",
    );
    let headers: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(
        headers[..8],
        [
            "工号",
            "*姓名",
            "*证件类型",
            "*证件号码",
            "*所得项目",
            "*本期收入",
            "本期免税收入",
            "减除费用"
        ]
    );
    let col = |h: &str| {
        headers
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("{h}"))
    };
    let mine = rows
        .iter()
        .find(|r| text(&r[0]) == id(&d.kol))
        .expect("the KOL's row");
    assert_eq!(text(&mine[1]), "赵晓晓");
    assert_eq!(text(&mine[2]), "居民身份证");
    assert_eq!(text(&mine[3]), number, "the full number for an admin");
    assert_eq!(text(&mine[4]), "劳务报酬");
    // Income 8,000; deduction 8,000 × 20% = 1,600; taxable 6,400; 20%, quick deduction 0;
    // tax 1,280; withheld 440 + 840 = 1,280; nothing left to pay.
    assert_eq!(mine[col("*本期收入")], calamine::Data::Float(8000.0));
    assert_eq!(mine[col("减除费用")], calamine::Data::Float(1600.0));
    assert_eq!(mine[col("应纳税所得额")], calamine::Data::Float(6400.0));
    assert_eq!(text(&mine[col("税率")]), "20%");
    assert_eq!(mine[col("速算扣除数")], calamine::Data::Float(0.0));
    assert_eq!(mine[col("应纳税额")], calamine::Data::Float(1280.0));
    assert_eq!(mine[col("已扣缴税额")], calamine::Data::Float(1280.0));
    assert_eq!(mine[col("应补(退)税额")], calamine::Data::Float(0.0));
    // A manager sees the number masked; as CSV with a BOM; as JSON.
    let manager = app.token(Role::Manager, None).await;
    let csv =
        String::from_utf8(download(app, &format!("{wpath}&format=csv"), &manager).await).unwrap();
    assert!(
        csv.starts_with("\u{feff}工号,*姓名,*证件类型,*证件号码,*所得项目,*本期收入,"),
        "{csv}"
    );
    let masked = format!("{}***********{}", &number[..3], &number[14..]);
    assert!(csv.contains(&masked) && !csv.contains(&number), "{csv}");
    let (status, json) = app.get(&wpath, &manager).await;
    assert_eq!(status, 200, "{json}");
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kol_id"] == d.kol["id"])
        .unwrap();
    assert_eq!(item["income_fen"], 800_000);
    assert_eq!(item["tax_due_fen"], 128_000);
    assert_eq!(item["withheld_fen"], 128_000);
    // Admins and managers only.
    for role in [Role::Scripter, Role::Integrator] {
        let t = app.token(role, None).await;
        assert_eq!(app.get(&wpath, &t).await.0, 403);
    }
    let kol_token = app.token(Role::Kol, Some(id_of(&d.kol))).await;
    assert_eq!(app.get(&wpath, &brand).await.0, 403);
    assert_eq!(app.get(&wpath, &kol_token).await.0, 403);
    let (status, problem) = app
        .get("/api/v1/reports/withholding?month=2026-13", &app.admin)
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "month");
}

/// With `four_eyes = false` and `tax_method = "cumulative"`, on both databases.
mod configured {
    use kolhost::domain::TaxMethod;
    use kolhost_e2e::{Backend, TestApp};

    async fn run(backend: Backend) {
        let app = TestApp::start_with(backend, |c| {
            c.four_eyes = false;
            c.tax_method = TaxMethod::Cumulative;
        })
        .await;
        super::settle_without_four_eyes_by_the_cumulative_method(&app).await;
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

async fn settle_without_four_eyes_by_the_cumulative_method(app: &TestApp) {
    let d = pass_through(app).await;
    // Four-eyes is off: who computed it may approve it.
    let s = month_draft(app, &d, 0, 1_000_000).await;
    let (status, first) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(&s)),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    // Cumulative: 10,000 × 80% − 5,000 × 1 month = 3,000 taxable; 预扣率表一 3%: 90 yuan.
    assert_eq!(
        first["tax_withheld_fen"],
        9_000,
        "{}",
        how(&first, "tax_withheld")
    );
    let s = month_draft(app, &d, 1, 6_000_000).await;
    let (_, second) = app
        .post(
            &format!("/api/v1/settlements/{}/approve", id(&s)),
            &app.admin,
            json!({}),
        )
        .await;
    // The year so far 70,000 × 80% − 5,000 = 51,000 (> 36,000): × 10% − 2,520 = 2,580;
    // 90 already withheld: 2,490.
    assert_eq!(second["month_tax_due_fen"], 258_000);
    assert_eq!(
        second["tax_withheld_fen"],
        249_000,
        "{}",
        how(&second, "tax_withheld")
    );
    assert!(how(&second, "tax_withheld").contains("cumulative"));
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
