//! A small, realistic demo agency, seeded into an empty database by `kolhost serve --demo`.
//!
//! Everything goes through the public API in-process, so demo data obeys the same validation
//! and lands in the audit trail like any other write. Names are invented.

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{Duration, DurationRound, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, router};
use crate::config::Config;
use crate::domain::Role;
use crate::store::entities::{brand, plugin};
use crate::store::secrets::SecretBox;
use crate::store::tokens::{self, NewToken};

/// Well-known demo tokens. They exist only in a database seeded with `--demo`.
pub const DEMO_TOKENS: &[(&str, Role)] = &[
    ("kh_demo_admin", Role::Admin),
    ("kh_demo_manager", Role::Manager),
    ("kh_demo_integrator", Role::Integrator),
    ("kh_demo_scripter", Role::Scripter),
];

const BRANDS: &[(&str, &str)] = &[
    ("禾田优选 Hetian Select", "food"),
    ("暖眠家纺 NuanMian Home", "home_textiles"),
    ("青屿女装 Qingyu Apparel", "womens_fashion"),
    ("露芽美妆 Luya Beauty", "beauty"),
];

/// (name, tier, categories, [(platform, account id, followers)], revenue share bp, tax status)
type KolRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str, i64)],
    i64,
    &'static str,
);
const KOLS: &[KolRow] = &[
    (
        "林小满 Lin Xiaoman",
        "head",
        &["beauty", "womens_fashion"],
        &[
            ("taobao", "tb_anchor_880101", 32_000_000),
            ("douyin", "dy_author_660011", 18_500_000),
        ],
        5000,
        "company",
    ),
    (
        "周大橙 Zhou Dacheng",
        "head",
        &["food", "home_textiles"],
        &[
            ("douyin", "dy_author_660022", 26_000_000),
            ("kuaishou", "ks_dist_550022", 9_000_000),
        ],
        5500,
        "company",
    ),
    (
        "阿朵 A Duo",
        "waist",
        &["beauty"],
        &[("douyin", "dy_author_660033", 2_400_000)],
        4000,
        "individual",
    ),
    (
        "小麦穗 Xiao Maisui",
        "waist",
        &["food"],
        &[("kuaishou", "ks_dist_550044", 3_100_000)],
        4000,
        "individual",
    ),
    (
        "宋棉棉 Song Mianmian",
        "waist",
        &["home_textiles", "womens_fashion"],
        &[("taobao", "tb_anchor_880055", 1_800_000)],
        4000,
        "company",
    ),
    (
        "陈一朵 Chen Yiduo",
        "waist",
        &["womens_fashion", "beauty"],
        &[
            ("douyin", "dy_author_660066", 2_900_000),
            ("taobao", "tb_anchor_880066", 700_000),
        ],
        4200,
        "individual",
    ),
    (
        "山里阿福 Shanli Afu",
        "tail",
        &["food"],
        &[("kuaishou", "ks_dist_550077", 420_000)],
        3500,
        "individual",
    ),
    (
        "糖糖 Tangtang",
        "tail",
        &["beauty"],
        &[("douyin", "dy_author_660088", 310_000)],
        3500,
        "individual",
    ),
    (
        "家居小苏 Jiaju Xiaosu",
        "tail",
        &["home_textiles"],
        &[("taobao", "tb_anchor_880099", 260_000)],
        3500,
        "individual",
    ),
    (
        "衣橱阿秋 Yichu Aqiu",
        "tail",
        &["womens_fashion"],
        &[("kuaishou", "ks_dist_550100", 380_000)],
        3500,
        "individual",
    ),
    (
        "吃货大刘 Chihuo Daliu",
        "tail",
        &["food", "home_textiles"],
        &[("douyin", "dy_author_660111", 510_000)],
        3500,
        "individual",
    ),
    (
        "美妆小鹿 Meizhuang Xiaolu",
        "tail",
        &["beauty", "womens_fashion"],
        &[("taobao", "tb_anchor_880122", 290_000)],
        3500,
        "individual",
    ),
];

/// (brand index, sku, name, role, list price fen, floor price fen, stock)
type ProductRow = (
    usize,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
);
const PRODUCTS: &[ProductRow] = &[
    (
        0,
        "HT-NUT-01",
        "每日坚果 30 袋 Daily mixed nuts x30",
        "traffic",
        12_900,
        8_900,
        20_000,
    ),
    (
        0,
        "HT-NUT-02",
        "新品 冻干草莓脆 Freeze-dried strawberry crisps",
        "launch",
        6_900,
        5_900,
        8_000,
    ),
    (
        0,
        "HT-RCE-01",
        "五常大米 5kg Wuchang rice 5kg",
        "traffic",
        8_990,
        5_990,
        15_000,
    ),
    (
        0,
        "HT-TEA-01",
        "高山乌龙茶礼盒 Oolong tea gift box",
        "profit",
        29_900,
        22_900,
        3_000,
    ),
    (
        0,
        "HT-HNY-01",
        "椴树蜂蜜 500g Linden honey",
        "profit",
        7_900,
        5_900,
        6_000,
    ),
    (
        0,
        "HT-SNK-01",
        "低脂鸡胸肉零食 Chicken breast snack",
        "traffic",
        4_990,
        2_990,
        30_000,
    ),
    (
        0,
        "HT-OIL-01",
        "冷榨亚麻籽油 Cold-pressed linseed oil",
        "profit",
        9_800,
        7_800,
        4_000,
    ),
    (
        0,
        "HT-NEW-01",
        "新品 燕麦奶 Oat milk (new)",
        "launch",
        5_990,
        4_990,
        10_000,
    ),
    (
        0,
        "HT-DRY-01",
        "菌菇干货组合 Dried mushroom set",
        "profit",
        11_900,
        8_900,
        2_500,
    ),
    (
        0,
        "HT-NDL-01",
        "螺蛳粉 6 袋 River snail noodles x6",
        "traffic",
        6_990,
        3_990,
        25_000,
    ),
    (
        1,
        "NM-DUV-01",
        "新品 蚕丝被 Mulberry silk duvet (new)",
        "launch",
        129_900,
        99_900,
        1_200,
    ),
    (
        1,
        "NM-PIL-01",
        "乳胶枕 Latex pillow",
        "traffic",
        19_900,
        12_900,
        6_000,
    ),
    (
        1,
        "NM-SET-01",
        "全棉四件套 Cotton bedding set",
        "profit",
        39_900,
        29_900,
        3_000,
    ),
    (
        1,
        "NM-TWL-01",
        "长绒棉毛巾 3 条 Long-staple towels x3",
        "traffic",
        5_990,
        3_590,
        20_000,
    ),
    (
        1,
        "NM-BLK-01",
        "法兰绒毯 Flannel blanket",
        "profit",
        15_900,
        11_900,
        4_000,
    ),
    (
        1,
        "NM-MAT-01",
        "新品 凉感床垫 Cooling mattress topper (new)",
        "launch",
        59_900,
        49_900,
        800,
    ),
    (
        1,
        "NM-SLP-01",
        "居家拖鞋 Home slippers",
        "traffic",
        3_990,
        1_990,
        15_000,
    ),
    (
        1,
        "NM-CUR-01",
        "遮光窗帘 Blackout curtain",
        "profit",
        22_900,
        16_900,
        2_000,
    ),
    (
        1,
        "NM-PJS-01",
        "纯棉睡衣 Cotton pyjamas",
        "profit",
        16_900,
        12_900,
        3_500,
    ),
    (
        1,
        "NM-CUS-01",
        "靠垫 Throw cushion",
        "traffic",
        4_990,
        2_990,
        9_000,
    ),
    (
        2,
        "QY-DRS-01",
        "新品 真丝连衣裙 Silk dress (new)",
        "launch",
        89_900,
        69_900,
        1_000,
    ),
    (
        2,
        "QY-TEE-01",
        "基础款 T 恤 Basic tee",
        "traffic",
        5_990,
        3_990,
        30_000,
    ),
    (
        2,
        "QY-JKT-01",
        "羊毛大衣 Wool coat",
        "profit",
        159_900,
        119_900,
        900,
    ),
    (
        2,
        "QY-JNS-01",
        "高腰牛仔裤 High-waist jeans",
        "traffic",
        15_900,
        9_900,
        12_000,
    ),
    (
        2,
        "QY-KNT-01",
        "羊绒针织衫 Cashmere knit",
        "profit",
        69_900,
        52_900,
        1_500,
    ),
    (
        2,
        "QY-SKT-01",
        "百褶半身裙 Pleated skirt",
        "profit",
        19_900,
        14_900,
        4_000,
    ),
    (
        2,
        "QY-NEW-01",
        "新品 防晒衣 Sun-protection jacket (new)",
        "launch",
        25_900,
        19_900,
        5_000,
    ),
    (
        2,
        "QY-SCF-01",
        "桑蚕丝围巾 Silk scarf",
        "profit",
        29_900,
        22_900,
        2_000,
    ),
    (
        2,
        "QY-SOC-01",
        "袜子 5 双 Socks x5",
        "traffic",
        2_990,
        1_590,
        40_000,
    ),
    (
        2,
        "QY-BAG-01",
        "帆布包 Canvas tote",
        "traffic",
        7_990,
        4_990,
        8_000,
    ),
    (
        3,
        "LY-SRM-01",
        "新品 修护精华 Repair serum (new)",
        "launch",
        49_900,
        39_900,
        5_000,
    ),
    (
        3,
        "LY-MSK-01",
        "补水面膜 10 片 Hydrating masks x10",
        "traffic",
        9_900,
        5_900,
        40_000,
    ),
    (
        3,
        "LY-CRM-01",
        "保湿面霜 Moisturising cream",
        "profit",
        29_900,
        22_900,
        8_000,
    ),
    (
        3,
        "LY-LIP-01",
        "哑光口红 Matte lipstick",
        "traffic",
        12_900,
        7_900,
        20_000,
    ),
    (
        3,
        "LY-SUN-01",
        "清透防晒 Light sunscreen",
        "profit",
        15_900,
        11_900,
        10_000,
    ),
    (
        3,
        "LY-CLN-01",
        "氨基酸洁面 Amino-acid cleanser",
        "traffic",
        6_900,
        3_900,
        25_000,
    ),
    (
        3,
        "LY-EYE-01",
        "新品 眼霜 Eye cream (new)",
        "launch",
        39_900,
        32_900,
        3_000,
    ),
    (
        3,
        "LY-TON-01",
        "爽肤水 Toner",
        "profit",
        16_900,
        12_900,
        9_000,
    ),
    (
        3,
        "LY-PAL-01",
        "眼影盘 Eyeshadow palette",
        "profit",
        21_900,
        16_900,
        6_000,
    ),
    (
        3,
        "LY-SET-01",
        "旅行装套盒 Travel kit",
        "traffic",
        9_900,
        6_900,
        15_000,
    ),
];

const COPY: &str = "品牌直供，正品保障，支持七天无理由退货。Brand-direct, genuine, 7-day returns.";

/// Seeds the demo agency if the database has no brands yet, and prints the demo tokens.
pub async fn seed(db: &DatabaseConnection, config: &Config) -> anyhow::Result<()> {
    let secrets = SecretBox::load(&SecretBox::key_dir(&config.database_url, &config.data_dir))?;
    configure_platform_plugins(db, &secrets).await?;
    if brand::Entity::find().count(db).await? > 0 {
        tracing::info!("database already has data; demo seed skipped");
        print_tokens();
        return Ok(());
    }
    for (secret, role) in DEMO_TOKENS {
        let new = NewToken {
            name: format!("demo {role}"),
            role: *role,
            brand_id: None,
            kol_id: None,
        };
        tokens::create(db, new, Some((*secret).to_owned())).await?;
    }
    let api = Api {
        app: router(AppState::new(db.clone(), config.clone())?),
    };

    let mut brands = Vec::new();
    for (name, category) in BRANDS {
        brands.push(
            api.post("/brands", json!({"name": name, "categories": [category]}))
                .await?,
        );
    }
    let mut kols = Vec::new();
    for (i, (name, tier, categories, accounts, share, tax)) in KOLS.iter().enumerate() {
        let accounts: Vec<Value> = accounts
            .iter()
            .map(|(p, id, f)| json!({"platform": p, "account_id": id, "followers": f}))
            .collect();
        let mut body = json!({"name": name, "tier": tier, "categories": categories,
            "accounts": accounts, "revenue_share_bp": share, "tax_status": tax});
        if *tax == "individual" {
            // A made-up tax identity (a well-formed test number), so demo settlements approve.
            let id17 = format!("11010519900101{:03}", i + 1);
            let check = crate::domain::identity::resident_check(&id17).unwrap_or('0');
            body["legal_name"] = json!(name.split(' ').next().unwrap_or(name));
            body["id_number"] = json!(format!("{id17}{check}"));
        }
        kols.push(api.post("/kols", body).await?);
    }
    let mut products = Vec::new();
    for (i, (b, sku, name, role, list, floor, stock)) in PRODUCTS.iter().enumerate() {
        let brand = &brands[*b];
        let category = brand["categories"][0].clone();
        let listings = json!([
            {"platform": "taobao", "item_id": format!("tb{}", 7_100_000_000u64 + i as u64)},
            {"platform": "douyin", "item_id": format!("{}", 3_690_000_000_000u64 + i as u64)},
            {"platform": "kuaishou", "item_id": format!("{}", 22_800_000_000u64 + i as u64)},
        ]);
        products.push(
            api.post("/products", json!({"brand_id": brand["id"], "sku": sku, "name": name, "category": category,
                "role": role, "list_price_fen": list, "floor_price_fen": floor, "stock_units": stock,
                "copy": COPY, "listings": listings}))
                .await?,
        );
    }

    // Contracts: every KOL with each brand in its categories, on its first platform, in a
    // spread of lifecycle states so every screen has something to show.
    let today = Utc::now().duration_trunc(Duration::days(1))?;
    let mut n = 0;
    let mut signed = Vec::new();
    for kol in &kols {
        let platform = kol["accounts"][0]["platform"].clone();
        for brand in &brands {
            let shares = kol["categories"]
                .as_array()
                .is_some_and(|c| c.contains(&brand["categories"][0]));
            if !shares {
                continue;
            }
            let head = kol["tier"] == "head";
            let body = json!({
                "brand_id": brand["id"], "kol_id": kol["id"], "platform": platform,
                "starts_at": today - Duration::days(30), "ends_at": today + Duration::days(150),
                "slot_fee_fen": if head { 5_000_000 } else if kol["tier"] == "waist" { 800_000 } else { 100_000 },
                "commission_bp": if head { 2000 } else { 2500 },
                "gmv_guarantee_fen": if head { json!(300_000_000) } else { Value::Null },
                "guarantee_remedy": if head { "slot_fee_refund_pro_rata" } else { "none" },
                "exclusive": false, "lowest_price_clause": head, "sessions_committed": if head { 4 } else { 2 },
            });
            let c = api.post("/contracts", body).await?;
            let path = format!(
                "/contracts/{}/transitions",
                c["id"].as_str().unwrap_or_default()
            );
            let states: &[&str] = match n % 6 {
                0 | 3 => &["proposed", "signed", "active"],
                1 | 4 => &["proposed", "signed"],
                2 => &["proposed"],
                _ => &[],
            };
            for to in states {
                api.post(&path, json!({"to": to})).await?;
            }
            if states.len() >= 2 {
                signed.push((c, kol.clone(), brand.clone()));
            }
            n += 1;
        }
    }

    // Upcoming sessions for every KOL, the first one with a lineup from its signed contracts.
    for (k, kol) in kols.iter().enumerate() {
        let platform = kol["accounts"][0]["platform"].clone();
        for day in [2, 9] {
            let starts = today + Duration::days(day) + Duration::hours(12 + (k % 3) as i64);
            let mut lineup = Vec::new();
            if day == 2 {
                for (c, _, brand) in signed.iter().filter(|(_, ck, _)| ck["id"] == kol["id"]) {
                    for p in products
                        .iter()
                        .filter(|p| p["brand_id"] == brand["id"])
                        .take(3)
                    {
                        let list = p["list_price_fen"].as_i64().unwrap_or_default();
                        let floor = p["floor_price_fen"].as_i64().unwrap_or_default();
                        lineup.push(json!({"product_id": p["id"], "contract_id": c["id"], "position": lineup.len() + 1,
                            "live_price_fen": (list + floor) / 2, "units": 200}));
                    }
                }
            }
            api.post("/sessions", json!({
                "kol_id": kol["id"], "platform": platform, "room_id": format!("room-{}-{day}", k + 1),
                "title": format!("{} 宠粉专场 Fan day", kol["name"].as_str().unwrap_or_default().split(' ').next().unwrap_or_default()),
                "starts_at": starts, "ends_at": starts + Duration::hours(4),
                "outline": "## 定位与销售策略\n宠粉专场：新品首发引流，利润款返场收尾\n\n## 设备\n双机位，环形补光灯，备用推流手机\n\n## 商品陈列\n按出场顺序摆放样品与价签\n\n## 时间流程\n- 19:00 开场福利 Opening deals\n- 19:30 新品讲解 New products\n- 21:00 返场 Encore",
                "lineup": lineup,
            }))
            .await?;
        }
    }

    // One brand and one KOL token, so the scoped views can be tried.
    let brand_id = brands[0]["id"].as_str().and_then(|s| s.parse().ok());
    tokens::create(
        db,
        NewToken {
            name: "demo brand".into(),
            role: Role::Brand,
            brand_id,
            kol_id: None,
        },
        Some("kh_demo_brand".into()),
    )
    .await?;
    let kol_id = kols[0]["id"].as_str().and_then(|s| s.parse().ok());
    tokens::create(
        db,
        NewToken {
            name: "demo kol".into(),
            role: Role::Kol,
            brand_id: None,
            kol_id,
        },
        Some("kh_demo_kol".into()),
    )
    .await?;

    tracing::info!(
        brands = brands.len(),
        kols = kols.len(),
        products = products.len(),
        contracts = n,
        "demo agency seeded"
    );
    print_tokens();
    Ok(())
}

/// Demo credentials of the bundled platform plugins, so that deliveries signed with them are
/// accepted (README's curl tour and the browser tests post such deliveries). Keys already set
/// are left alone.
pub const DEMO_PLUGIN_CONFIG: &[(&str, &[(&str, &str)])] = &[
    (
        "douyin",
        &[
            ("app_key", "demo_douyin_key"),
            ("app_secret", "demo_douyin_secret"),
        ],
    ),
    (
        "kuaishou",
        &[
            ("app_key", "demo_kuaishou_key"),
            // base64 of the 16 bytes `kolhost-demo-key`: the AES key pushes are encrypted with.
            ("message_private_key", "a29saG9zdC1kZW1vLWtleQ=="),
            ("sign_secret", "demo_kuaishou_sign_secret"),
        ],
    ),
    (
        "taobao",
        &[
            ("app_key", "demo_taobao_key"),
            ("app_secret", "demo_taobao_secret"),
        ],
    ),
];

async fn configure_platform_plugins(
    db: &DatabaseConnection,
    secrets: &SecretBox,
) -> anyhow::Result<()> {
    for (name, pairs) in DEMO_PLUGIN_CONFIG {
        let Some(row) = plugin::Entity::find_by_id((*name).to_owned())
            .one(db)
            .await?
        else {
            continue;
        };
        let mut settings = crate::store::plugins::open_settings(&row, secrets)?;
        let mut changed = false;
        for (k, v) in *pairs {
            let map = if crate::service::plugins::is_secret_key(k) {
                &mut settings.secrets
            } else {
                &mut settings.config
            };
            if !map.contains_key(*k) {
                map.insert((*k).to_owned(), (*v).to_owned());
                changed = true;
            }
        }
        if changed {
            crate::store::plugins::save_settings(db, name, &settings, secrets).await?;
        }
    }
    Ok(())
}

fn print_tokens() {
    println!("demo tokens (for this demo database only):");
    for (secret, role) in DEMO_TOKENS {
        println!("  {:<10} {secret}", role.as_str());
    }
    println!("  {:<10} kh_demo_brand", "brand");
    println!("  {:<10} kh_demo_kol", "kol");
}

/// Calls the API in-process as the demo admin.
struct Api {
    app: axum::Router,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1{path}"))
            .header("authorization", "Bearer kh_demo_admin")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        let res = self.app.clone().oneshot(req).await?;
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
        if !matches!(status, StatusCode::OK | StatusCode::CREATED) {
            bail!(
                "demo seed: POST {path} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        serde_json::from_slice(&bytes).context("demo seed: response is not JSON")
    }
}
