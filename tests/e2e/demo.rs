use kolhost_e2e::{TestApp, both_databases};

both_databases!(demo_agency_seeds_through_the_api);

async fn demo_agency_seeds_through_the_api(app: &TestApp) {
    kolhost::demo::seed(&app.db, &app.config)
        .await
        .expect("seed");
    // Seeding twice is a no-op.
    kolhost::demo::seed(&app.db, &app.config)
        .await
        .expect("seed again");
    let token = "kh_demo_admin";
    let (_, kols) = app.get("/api/v1/kols?limit=100", token).await;
    let kols = kols["items"].as_array().unwrap();
    assert_eq!(kols.len(), 12);
    let tiers = |t: &str| kols.iter().filter(|k| k["tier"] == t).count();
    assert!(
        tiers("head") < tiers("waist") && tiers("waist") < tiers("tail"),
        "a pyramid"
    );
    for platform in ["taobao", "douyin", "kuaishou"] {
        assert!(kols.iter().any(|k| {
            k["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["platform"] == platform)
        }));
    }
    let (_, products) = app.get("/api/v1/products?limit=100", token).await;
    let products = products["items"].as_array().unwrap();
    assert_eq!(products.len(), 40);
    for category in ["food", "home_textiles", "womens_fashion", "beauty"] {
        assert!(products.iter().any(|p| p["category"] == category));
    }
    for role in ["launch", "traffic", "profit"] {
        assert!(products.iter().any(|p| p["role"] == role));
    }
    let (_, contracts) = app.get("/api/v1/contracts?limit=100", token).await;
    let statuses: std::collections::BTreeSet<_> = contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect();
    assert!(statuses.len() >= 3, "{statuses:?}");
    let (_, sessions) = app.get("/api/v1/sessions?limit=100", token).await;
    let sessions = sessions["items"].as_array().unwrap();
    assert!(
        sessions
            .iter()
            .any(|s| !s["lineup"].as_array().unwrap().is_empty())
    );
    let (_, brand_view) = app
        .get("/api/v1/contracts?limit=100", "kh_demo_brand")
        .await;
    assert!(
        brand_view["items"].as_array().unwrap().len()
            < contracts["items"].as_array().unwrap().len()
    );
}
