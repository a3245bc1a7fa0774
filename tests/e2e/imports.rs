//! Product sheets: `POST /api/v1/products/import`, all or nothing, with every row's errors named
//! by the row a person fixes.

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

both_databases!(
    a_sheet_with_bad_rows_writes_nothing_until_fixed,
    csv_sheets_update_by_sku_and_bad_files_are_refused
);

const HEADER: [&str; 10] = [
    "商品名称",
    "SKU",
    "类目",
    "角色",
    "标价",
    "最低价",
    "库存",
    "卖点文案",
    "平台商品ID",
    "备注",
];

/// Row `i` (0-based) of a good sheet: prices in yuan, a Douyin listing per product.
fn good_row(i: usize) -> Vec<String> {
    let role = ["首发", "引流款", "利润款"][i % 3];
    vec![
        format!("保湿面霜 {i}号"),
        format!("MASK-{i:03}"),
        "美妆".into(),
        role.into(),
        format!("{}.9", 100 + i),
        format!("{}.5", 80 + i),
        format!("{}", 1000 + i),
        format!("第{i}款，温和保湿"),
        format!("抖音:35812345678901{i:05}"),
        "样品已寄".into(),
    ]
}

fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            // Prices and stock as number cells, the rest as text, as a brand's sheet has them.
            match (c, cell.parse::<f64>()) {
                (4..=6, Ok(n)) => sheet.write_number(r, c, n).map(|_| ()),
                _ => sheet.write_string(r, c, cell).map(|_| ()),
            }
            .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    file: Vec<u8>,
    name: &str,
) -> (StatusCode, Value) {
    let form = Form::new().part("file", Part::bytes(file).file_name(name.to_owned()));
    let res = app
        .http
        .post(format!("{}/api/v1/products/import?{query}", app.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn products_of(app: &TestApp, brand: &str) -> Vec<Value> {
    let (status, page) = app
        .get(
            &format!("/api/v1/products?brand_id={brand}&limit=500"),
            &app.admin,
        )
        .await;
    assert_eq!(status, 200);
    page["items"].as_array().unwrap().clone()
}

fn error_rows(errors: &Value) -> Vec<(u64, String, String)> {
    errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap_or("").to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_sheet_with_bad_rows_writes_nothing_until_fixed(app: &TestApp) {
    let brand = app
        .create(
            "/api/v1/brands",
            json!({"name": "润颜", "categories": ["beauty"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let manager = app.token(Role::Manager, None).await;
    let mut rows: Vec<Vec<String>> = (0..50).map(good_row).collect();
    // Sheet row 8 (data row 7): a floor price above the list price. Sheet row 31: a role no
    // agency uses, and a price with three decimals.
    rows[6][5] = "999".into();
    rows[29][3] = "爆款".into();
    rows[29][4] = "12.345".into();
    let sheet = xlsx(&rows);

    let (status, report) = import(
        app,
        &manager,
        &format!("brand_id={brand}&dry_run=true"),
        sheet.clone(),
        "选品表.xlsx",
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"], 50);
    assert_eq!(report["imported"], false);
    assert_eq!(
        error_rows(&report["errors"]),
        [
            (8, "最低价".to_owned(), "floor_above_list".to_owned()),
            (31, "角色".to_owned(), "invalid_role".to_owned()),
            (31, "标价".to_owned(), "invalid_price".to_owned()),
        ],
        "{report}"
    );
    assert_eq!(report["errors"][0]["field"], "floor_price_fen");
    assert_eq!(report["created"], 48, "the other rows would import");
    assert_eq!(report["ignored_columns"], json!(["备注"]));
    assert!(
        products_of(app, &brand).await.is_empty(),
        "a dry run writes nothing"
    );

    let (status, p) = import(
        app,
        &manager,
        &format!("brand_id={brand}"),
        sheet,
        "选品表.xlsx",
    )
    .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["code"], "import_rejected");
    let rows_named: Vec<u64> = error_rows(&p["row_errors"]).iter().map(|e| e.0).collect();
    assert_eq!(rows_named, [8, 31, 31]);
    assert_eq!(p["errors"][0]["field"], "rows[8].floor_price_fen", "{p}");
    assert!(products_of(app, &brand).await.is_empty(), "all or nothing");
    let (_, trail) = app
        .get("/api/v1/audit?entity_type=product&limit=5", &app.admin)
        .await;
    assert_eq!(trail["items"], json!([]), "no audit rows either");

    // Fixed, it imports: every row, exact fen, listings and roles read from an agency's words.
    rows[6][5] = "85.5".into();
    rows[29][3] = "利润".into();
    rows[29][4] = "129.9".into();
    let (status, report) = import(
        app,
        &manager,
        &format!("brand_id={brand}&dry_run=false"),
        xlsx(&rows),
        "选品表.xlsx",
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            report["imported"].clone(),
            report["created"].clone(),
            report["updated"].clone()
        ),
        (json!(true), json!(50), json!(0))
    );
    let products = products_of(app, &brand).await;
    assert_eq!(products.len(), 50);
    let p7 = products.iter().find(|p| p["sku"] == "MASK-007").unwrap();
    assert_eq!(p7["list_price_fen"], 10_790);
    assert_eq!(p7["floor_price_fen"], 8_750);
    assert_eq!(p7["stock_units"], 1_007);
    assert_eq!(p7["role"], "traffic");
    assert_eq!(p7["category"], "beauty");
    assert_eq!(
        p7["listings"],
        json!([{"platform": "douyin", "item_id": "3581234567890100007"}])
    );
    let p29 = products.iter().find(|p| p["sku"] == "MASK-029").unwrap();
    assert_eq!(
        (p29["list_price_fen"].clone(), p29["role"].clone()),
        (json!(12_990), json!("profit"))
    );
    let (_, trail) = app
        .get(
            &format!("/api/v1/audit?action=product.import&entity_id={brand}"),
            &app.admin,
        )
        .await;
    assert_eq!(trail["items"][0]["after"]["created"], 50, "{trail}");

    // The export is the same sheet: it reads back as it was written, and imports again as 50
    // updates that change nothing.
    let res = app
        .http
        .get(format!(
            "{}/api/v1/products/export?brand_id={brand}",
            app.base
        ))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let exported = res.bytes().await.unwrap().to_vec();
    {
        use calamine::{Data, Reader};
        let mut book =
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(exported.clone())).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(header, HEADER[..9]);
        let row8 = range.rows().nth(8).unwrap();
        assert_eq!(row8[1], Data::String("MASK-007".into()));
        assert_eq!(row8[3], Data::String("引流".into()));
        assert_eq!(row8[4], Data::Float(107.9));
    }
    let (status, again) = import(
        app,
        &manager,
        &format!("brand_id={brand}"),
        exported,
        "export.xlsx",
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["created"].clone(), again["updated"].clone()),
        (json!(0), json!(50))
    );
    let unchanged: Vec<Value> = products_of(app, &brand)
        .await
        .into_iter()
        .map(|mut p| {
            p.as_object_mut().unwrap().remove("updated_at");
            p
        })
        .collect();
    let before: Vec<Value> = products
        .into_iter()
        .map(|mut p| {
            p.as_object_mut().unwrap().remove("updated_at");
            p
        })
        .collect();
    assert_eq!(unchanged, before);

    // Other roles cannot import; a brand may not fill a catalogue.
    let brand_token = app.token(Role::Brand, Some(brand.parse().unwrap())).await;
    let (status, _) = import(
        app,
        &brand_token,
        &format!("brand_id={brand}"),
        xlsx(&rows),
        "x.xlsx",
    )
    .await;
    assert_eq!(status, 403);
}

async fn csv_sheets_update_by_sku_and_bad_files_are_refused(app: &TestApp) {
    let brand = app
        .create(
            "/api/v1/brands",
            json!({"name": "暖居家纺", "categories": ["home_textiles"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app
        .create(
            "/api/v1/brands",
            json!({"name": "别家", "categories": ["food"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(
        "/api/v1/products",
        json!({"brand_id": other, "sku": "X-1", "name": "别家商品", "category": "food", "role": "profit",
               "list_price_fen": 1000, "floor_price_fen": 900, "stock_units": 5,
               "listings": [{"platform": "kuaishou", "item_id": "KS-TAKEN"}]}),
    )
    .await;
    let manager = app.token(Role::Manager, None).await;
    let q = format!("brand_id={brand}");

    // English headers, prices in fen, as Excel writes CSV on a Chinese Windows (GB18030).
    let csv = "name,sku,category,role,list_price_fen,floor_price_fen,stock_units,kuaishou_item_id\n\
               四件套,BED-1,home_textiles,launch,59900,39900,200,KS-1\n\
               蚕丝被,BED-2,home_textiles,traffic,129900,99900,80,\n";
    let (gbk, _, _) = encoding_rs::GB18030.encode(csv);
    let (status, report) = import(app, &manager, &q, gbk.into_owned(), "sheet.csv").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2);
    let first = products_of(app, &brand).await;
    assert_eq!(
        first.iter().find(|p| p["sku"] == "BED-1").unwrap()["name"],
        "四件套"
    );

    // The same SKUs again: an update of those products (copy and listings kept when the sheet
    // has no such column); a listed item another product holds is that row's error.
    let csv = "\u{feff}商品名称,SKU,类目,角色,标价,最低价,库存\n\
               四件套,BED-1,家纺,首发,\"1,099.00\",399,150\n\
               蚕丝被,BED-2,home_textiles,引流,1299,999,60\n";
    let (status, report) = import(app, &manager, &q, csv.as_bytes().to_vec(), "sheet.csv").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].clone(), report["updated"].clone()),
        (json!(0), json!(2))
    );
    let after = products_of(app, &brand).await;
    let bed1 = after.iter().find(|p| p["sku"] == "BED-1").unwrap();
    assert_eq!(
        (bed1["list_price_fen"].clone(), bed1["stock_units"].clone()),
        (json!(109_900), json!(150))
    );
    assert_eq!(
        bed1["listings"],
        json!([{"platform": "kuaishou", "item_id": "KS-1"}])
    );

    let csv = "商品名称,SKU,类目,角色,标价,最低价,库存,平台商品ID\n\
               枕头,BED-3,家纺,利润,99,79,10,快手:KS-TAKEN\n\
               枕套,BED-4,家纺,利润,19,15,10,KS-9\n\
               枕芯,BED-3,家纺,利润,29,25,10,\n";
    let (status, p) = import(app, &manager, &q, csv.as_bytes().to_vec(), "sheet.csv").await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(
        error_rows(&p["row_errors"]),
        [
            (2, "平台商品ID".to_owned(), "taken".to_owned()),
            (3, "平台商品ID".to_owned(), "invalid_listing".to_owned()),
            (4, "SKU".to_owned(), "duplicate_sku".to_owned()),
        ],
        "{p}"
    );
    assert_eq!(products_of(app, &brand).await.len(), 2, "nothing written");

    // A sheet wrong on every row: the answer lists every error (megabytes of them), translated
    // or not, never cut.
    let mut big = String::from("商品名称,SKU,类目,角色,标价,最低价,库存\n");
    for i in 0..3000 {
        big.push_str(&format!("枕{i},BAD-{i},家纺,爆款,abc,79,10\n"));
    }
    for lang in ["en", "zh-CN"] {
        let form = Form::new().part(
            "file",
            Part::bytes(big.clone().into_bytes()).file_name("bad.csv"),
        );
        let res = app
            .http
            .post(format!("{}/api/v1/products/import?{q}", app.base))
            .bearer_auth(&manager)
            .header("accept-language", lang)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["row_errors"].as_array().unwrap().len(), 6000, "{lang}");
        assert_eq!(p["errors"].as_array().unwrap().len(), 6000, "{lang}");
    }

    // Files that are not a product sheet: named, nothing written.
    for (file, what) in [
        (
            "商品名称,SKU\n面霜,A\n".as_bytes().to_vec(),
            "missing columns",
        ),
        (b"PK\x03\x04 not really a zip".to_vec(), "a broken workbook"),
        (Vec::new(), "an empty file"),
    ] {
        let (status, p) = import(app, &manager, &q, file, "x.csv").await;
        assert_eq!(status, 422, "{what}: {p}");
        assert_eq!(p["errors"][0]["field"], "file", "{what}: {p}");
    }
    let (status, p) = import(
        app,
        &manager,
        "brand_id=00000000-0000-0000-0000-000000000000",
        csv.as_bytes().to_vec(),
        "x.csv",
    )
    .await;
    assert_eq!(
        (status, p["errors"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("brand_id"))
    );
    let form = Form::new().part(
        "file",
        Part::bytes(vec![b'a'; 9 * 1024 * 1024]).file_name("big.csv"),
    );
    let res = app
        .http
        .post(format!("{}/api/v1/products/import?{q}", app.base))
        .bearer_auth(&manager)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // The unread rest of the body leaves the connection unusable; the answer says so.
    assert_eq!(res.headers()["connection"], "close");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "payload_too_large");
    assert_eq!(products_of(app, &brand).await.len(), 2);
}
