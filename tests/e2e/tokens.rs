use kolhost::domain::Role;
use kolhost::store::tokens;
use kolhost_e2e::{TestApp, both_databases};
use reqwest::Method;

both_databases!(
    admins_list_tokens_without_secrets,
    revoked_tokens_fail_at_once,
    expired_tokens_fail,
    a_token_revoked_by_another_process_fails_on_the_running_server
);

async fn admins_list_tokens_without_secrets(app: &TestApp) {
    let manager = app.token(Role::Manager, None).await;
    let (status, _) = app.get("/api/v1/me", &manager).await;
    assert_eq!(status, 200);
    let (status, list) = app.get("/api/v1/tokens", &app.admin).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let text = list.to_string();
    assert!(!text.contains(&manager) && !text.contains(&app.admin));
    assert!(!text.contains(&tokens::hash(&manager)), "no hash is shown");
    assert!(items.iter().all(|t| t.get("token_hash").is_none()));
    let m = items.iter().find(|t| t["role"] == "manager").unwrap();
    assert_eq!(m["status"], "active");
    assert!(m["last_used_at"].is_string(), "{m}");
    assert!(m["expires_at"].is_null());
    // Only admins.
    for role in [Role::Manager, Role::Integrator, Role::Scripter] {
        let t = app.token(role, None).await;
        let (status, _) = app.get("/api/v1/tokens", &t).await;
        assert_eq!(status, 403, "{role}");
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{}", m["id"].as_str().unwrap()),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(status, 403, "{role}");
    }
    let (status, p) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", uuid::Uuid::now_v7()),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, 404, "{p}");
}

async fn revoked_tokens_fail_at_once(app: &TestApp) {
    let manager = app.token(Role::Manager, None).await;
    // Used once, so the server has it in its token cache.
    let (status, me) = app.get("/api/v1/me", &manager).await;
    assert_eq!(status, 200);
    let (_, list) = app.get("/api/v1/tokens", &app.admin).await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "manager")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, revoked) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string());
    // The very next request fails: no cache grace.
    let (status, p) = app.get("/api/v1/me", &manager).await;
    assert_eq!(status, 401, "{p} (was {me})");
    let (status, _) = app.get("/api/v1/brands", &manager).await;
    assert_eq!(status, 401);
    // Revoking again changes nothing; the trail has the revocation once.
    let (status, again) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    let (_, trail) = app
        .get(&format!("/api/v1/audit?entity_id={id}"), &app.admin)
        .await;
    let actions: Vec<_> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["token.revoke"]);
    assert!(!trail.to_string().contains(&tokens::hash(&manager)));
}

async fn expired_tokens_fail(app: &TestApp) {
    let new = |name: &str| tokens::NewToken {
        name: name.into(),
        role: Role::Manager,
        brand_id: None,
        kol_id: None,
    };
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let (stale, _) = tokens::create_expiring(&app.db, new("stale"), None, Some(past))
        .await
        .unwrap();
    let (status, _) = app.get("/api/v1/me", &stale).await;
    assert_eq!(status, 401);
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (brief, _) = tokens::create_expiring(&app.db, new("brief"), None, Some(soon))
        .await
        .unwrap();
    let (status, _) = app.get("/api/v1/me", &brief).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    // Cached or not, an expired token fails.
    let (status, _) = app.get("/api/v1/me", &brief).await;
    assert_eq!(status, 401);
    let (_, list) = app.get("/api/v1/tokens", &app.admin).await;
    let statuses: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("stale".into(), "expired".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("brief".into(), "expired".into())),
        "{statuses:?}"
    );
}

/// `kolhost token revoke` is another process with its own (empty) cache: the running server
/// hears of it (PostgreSQL: the announcement; SQLite: it looks for revocations every 250 ms),
/// not 30 s later when its cached entry would have aged out.
async fn a_token_revoked_by_another_process_fails_on_the_running_server(app: &TestApp) {
    let manager = app.token(Role::Manager, None).await;
    assert_eq!(app.get("/api/v1/me", &manager).await.0, 200);
    let (_, list) = app.get("/api/v1/tokens", &app.admin).await;
    let id: uuid::Uuid = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "manager")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Cached now; revoke it the way the CLI does, beside the server.
    assert_eq!(app.get("/api/v1/me", &manager).await.0, 200);
    let cli_cache = kolhost::service::auth::TokenCache::new(std::time::Duration::ZERO);
    let admin = kolhost::domain::Actor::system("kolhost token revoke");
    kolhost::service::tokens::revoke(&app.db, &cli_cache, &admin, id)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let status = app.get("/api/v1/me", &manager).await.0;
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still accepted {:?} after the revocation",
            started.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
