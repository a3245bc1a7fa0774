//! Rate limits: failed sign-ins per client address, requests per token, deliveries per platform.

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases_with};

both_databases_with!(
    bad_tokens_are_limited_and_valid_ones_are_not => |c: &mut kolhost::config::Config| {
        c.failed_auth_per_minute = 60;
        c.failed_auth_burst = 5;
    },
    each_token_has_its_own_budget => |c: &mut kolhost::config::Config| {
        c.token_requests_per_second = 1;
        c.token_burst = 4;
    },
    deliveries_are_limited_per_platform => |c: &mut kolhost::config::Config| {
        c.webhook_deliveries_per_second = 1;
        c.webhook_burst = 3;
    },
    behind_a_trusted_proxy_each_forwarded_client_is_counted => |c: &mut kolhost::config::Config| {
        c.failed_auth_per_minute = 60;
        c.failed_auth_burst = 3;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    },
    without_trusted_proxies_forwarded_headers_are_ignored => |c: &mut kolhost::config::Config| {
        c.failed_auth_per_minute = 60;
        c.failed_auth_burst = 3;
    },
);

/// A request with a forged token and these forwarding headers: its status.
async fn bad_sign_in(app: &TestApp, headers: &[(&str, &str)]) -> u16 {
    let mut req = app
        .http
        .get(format!("{}/api/v1/brands", app.base))
        .bearer_auth("kh_forged");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn behind_a_trusted_proxy_each_forwarded_client_is_counted(app: &TestApp) {
    // The test client is the proxy (127.0.0.1); one client behind it fails three times.
    let a = [("x-forwarded-for", "203.0.113.5")];
    for _ in 0..3 {
        assert_eq!(bad_sign_in(app, &a).await, 401);
    }
    assert_eq!(bad_sign_in(app, &a).await, 429, "the client's own budget");
    // Entries a client writes to the left of the proxy's are not believed.
    let spoofed = [("x-forwarded-for", "198.51.100.99, 203.0.113.5")];
    assert_eq!(bad_sign_in(app, &spoofed).await, 429);
    // Another client behind the same proxy, by either header, has its own budget.
    assert_eq!(
        bad_sign_in(app, &[("x-forwarded-for", "198.51.100.7")]).await,
        401
    );
    assert_eq!(
        bad_sign_in(app, &[("forwarded", "for=\"[2001:db8::7]:4711\"")]).await,
        401
    );
    // The proxy itself (no header) too.
    assert_eq!(bad_sign_in(app, &[]).await, 401);
}

async fn without_trusted_proxies_forwarded_headers_are_ignored(app: &TestApp) {
    for i in 0..3 {
        let xff = format!("203.0.113.{i}");
        assert_eq!(bad_sign_in(app, &[("x-forwarded-for", &xff)]).await, 401);
    }
    // Every failure counted against the peer: a new forwarded address does not help.
    assert_eq!(
        bad_sign_in(app, &[("x-forwarded-for", "198.51.100.7")]).await,
        429
    );
}

async fn bad_tokens_are_limited_and_valid_ones_are_not(app: &TestApp) {
    let url = format!("{}/api/v1/brands", app.base);
    let mut statuses = Vec::new();
    for i in 0..40 {
        let res = app
            .http
            .get(&url)
            .bearer_auth(format!("kh_forged_{i}"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status == 429 {
            let wait: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            let p: serde_json::Value = res.json().await.unwrap();
            assert_eq!(p["code"], "too_many_requests");
        }
        statuses.push(status);
        // The valid token, from the same address, in the middle of the flood.
        let (status, _) = app.get("/api/v1/brands", &app.admin).await;
        assert_eq!(
            status, 200,
            "a valid token is never limited by failures ({i})"
        );
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // A fresh valid token (not cached yet) works as well.
    let manager = app.token(Role::Manager, None).await;
    let (status, _) = app.get("/api/v1/me", &manager).await;
    assert_eq!(status, 200);
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let limited = metric(
        &metrics,
        "kolhost_rate_limited_total{limit=\"failed_auth\"}",
    );
    assert!(limited >= 35.0, "{limited}\n{metrics}");
    assert!(metric(&metrics, "kolhost_auth_failures_total") >= 40.0);
}

async fn each_token_has_its_own_budget(app: &TestApp) {
    let brand = app.token(Role::Manager, None).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.get("/api/v1/me", &brand).await.0.as_u16());
    }
    assert_eq!(&statuses[..4], &[200; 4], "{statuses:?}");
    assert!(statuses[4..].contains(&429), "{statuses:?}");
    let other = app.token(Role::Manager, None).await;
    let (status, _) = app.get("/api/v1/me", &other).await;
    assert_eq!(status, 200, "another token is not slowed");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = app.get("/api/v1/me", &brand).await;
    assert_eq!(status, 200, "the budget refills");
}

async fn deliveries_are_limited_per_platform(app: &TestApp) {
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = app
            .http
            .post(format!("{}/webhooks/nosuchplatform", app.base))
            .body("{}")
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[404; 3], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
}

/// The value of one series of a Prometheus text exposition (0 when absent).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}
