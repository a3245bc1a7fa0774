use kolhost_e2e::{TestApp, both_databases};
use serde_json::json;

both_databases!(
    pagination_walks_every_item_once,
    kols_filter_by_tier_and_category
);

async fn pagination_walks_every_item_once(app: &TestApp) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.create("/api/v1/brands", json!({"name": format!("品牌{i}")}))
                .await["id"]
                .clone(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/brands?limit=3&cursor={c}"),
            None => "/api/v1/brands?limit=3".to_owned(),
        };
        let (status, page) = app.get(&path, &app.admin).await;
        assert_eq!(status, 200);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let (status, _) = app.get("/api/v1/brands?cursor=garbage", &app.admin).await;
    assert_eq!(status, 400);
}

async fn kols_filter_by_tier_and_category(app: &TestApp) {
    crate::fixtures::agency(app).await;
    let (_, heads) = app.get("/api/v1/kols?tier=head", &app.admin).await;
    assert_eq!(heads["items"].as_array().unwrap().len(), 1);
    assert_eq!(heads["items"][0]["accounts"][0]["account_id"], "dy_1001");
    let (_, beauty) = app.get("/api/v1/kols?category=beauty", &app.admin).await;
    assert_eq!(beauty["items"].as_array().unwrap().len(), 2);
    let (_, food) = app.get("/api/v1/kols?category=food", &app.admin).await;
    assert_eq!(food["items"].as_array().unwrap().len(), 1);
    let (status, _) = app.get("/api/v1/kols?tier=giant", &app.admin).await;
    assert_eq!(status, 400);
}
