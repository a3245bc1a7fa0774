//! Secrets at rest: plugin secrets sealed in the database (never in plain text, never shown by
//! the API, read back after a restart), plain rows from before sealing sealed on start, and
//! `kolhost secrets rotate` re-sealing everything under a new key, after which only the new key
//! starts the server.

use kolhost::store::entities::{kol, plugin};
use kolhost::store::secrets::{self, SecretBox};
use kolhost_e2e::{Backend, TestApp};
use kolhost_platform_formats::douyin;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

const KEY: &str = "e2e-sealed-key";
const SECRET: &str = "e2e-sealed-secret-4f1c9a";

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(kolhost_e2e::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(kolhost_e2e::Backend::Postgres).await;
                }
            }
        )+
    };
}

on_both!(
    plugin_secrets_are_sealed_and_never_shown,
    plain_secrets_are_sealed_on_start,
    rotation_reseals_everything_and_only_the_new_key_starts
);

/// The raw `plugins` row: the legacy plain column as text, and the sealed column.
async fn raw_row(app: &TestApp, name: &str) -> (String, Option<String>) {
    let backend = app.db.get_database_backend();
    let sql = match app.backend {
        Backend::Postgres => {
            "SELECT CAST(secrets AS TEXT) AS plain, secrets_sealed AS sealed FROM plugins WHERE name = $1"
        }
        Backend::Sqlite => {
            "SELECT CAST(secrets AS TEXT) AS plain, secrets_sealed AS sealed FROM plugins WHERE name = ?"
        }
    };
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()]))
        .await
        .unwrap()
        .expect("the plugin's row");
    (
        row.try_get("", "plain").unwrap(),
        row.try_get("", "sealed").unwrap(),
    )
}

async fn configure(app: &TestApp, values: Value) -> Value {
    let (status, v) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/plugins/douyin/config",
            Some(&app.admin),
            Some(values),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The status of a Douyin delivery signed with `secret`: 200 only if the plugin has it.
async fn deliver(app: &TestApp, secret: &str) -> u16 {
    let d = douyin::fixtures::sample_delivery(KEY, secret);
    app.push_webhook("douyin", &d.query, &d.headers, &d.body)
        .await
        .0
}

/// The key in the test server's key file.
fn key_on_disk(app: &TestApp) -> [u8; 32] {
    let dir = SecretBox::key_dir(&app.config.database_url, &app.config.data_dir);
    secrets::parse_key(&std::fs::read_to_string(dir.join(secrets::KEY_FILE)).unwrap()).unwrap()
}

async fn plugin_secrets_are_sealed_and_never_shown(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    let shown = configure(&app, json!({"app_key": KEY, "app_secret": SECRET})).await;
    assert_eq!(shown["config"]["app_key"], KEY, "{shown}");
    assert_eq!(shown["secret_names"], json!(["app_secret"]), "{shown}");

    // Not in the database in plain text: the plain column is empty, the sealed one opaque.
    let (plain, sealed) = raw_row(&app, "douyin").await;
    let sealed = sealed.expect("sealed secrets");
    assert_eq!(plain.replace(' ', ""), "{}");
    assert!(sealed.starts_with("v1:"), "{sealed}");
    assert!(!sealed.contains(SECRET) && !sealed.contains("app_secret"));

    // Never shown: not by the plugin, the list, or the audit trail of the change.
    for path in [
        "/api/v1/plugins/douyin",
        "/api/v1/plugins",
        "/api/v1/audit?entity_type=plugin",
    ] {
        let (status, v) = app.get(path, &app.admin).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert!(!v.to_string().contains(SECRET), "{path} shows the secret");
    }
    assert!(!shown.to_string().contains(SECRET));

    // The plugin has it, now and after a restart (opened from the sealed column).
    assert_eq!(deliver(&app, SECRET).await, 200);
    assert_eq!(deliver(&app, "another-secret").await, 401);
    app.restart().await.expect("restart with the same key");
    assert_eq!(deliver(&app, SECRET).await, 200);
    assert_eq!(deliver(&app, "another-secret").await, 401);

    // Sealed secrets moved onto another plugin's row do not open there: the server refuses to
    // start rather than run that plugin without its secrets.
    let mut taobao: plugin::ActiveModel = plugin::Entity::find_by_id("taobao".to_owned())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    taobao.secrets_sealed = Set(Some(sealed));
    taobao.update(&app.db).await.unwrap();
    let err = app.restart().await.expect_err("a misplaced sealed value");
    assert!(
        err.to_string().contains("plugin taobao's secrets"),
        "{err:#}"
    );
    app.finish().await;
}

async fn plain_secrets_are_sealed_on_start(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    // A row as a server before sealing wrote it: the secret in plain text.
    let mut row: plugin::ActiveModel = plugin::Entity::find_by_id("douyin".to_owned())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.config = Set(json!({"app_key": KEY}));
    row.secrets = Set(json!({"app_secret": SECRET}));
    row.secrets_sealed = Set(None);
    row.update(&app.db).await.unwrap();

    app.restart().await.expect("start seals the plain row");
    let (plain, sealed) = raw_row(&app, "douyin").await;
    let sealed = sealed.expect("sealed on start");
    assert_eq!(plain.replace(' ', ""), "{}");
    assert!(!sealed.contains(SECRET), "{sealed}");
    assert_eq!(deliver(&app, SECRET).await, 200);

    // Idempotent: the next start finds nothing to seal and leaves the sealed value as it is.
    app.restart().await.expect("second start");
    assert_eq!(raw_row(&app, "douyin").await, (plain, Some(sealed)));
    assert_eq!(deliver(&app, SECRET).await, 200);
    app.finish().await;
}

async fn rotation_reseals_everything_and_only_the_new_key_starts(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    configure(&app, json!({"app_key": KEY, "app_secret": SECRET})).await;
    let k = app
        .create(
            "/api/v1/kols",
            json!({"name": "林小满", "tier": "head", "categories": ["food"],
                "revenue_share_bp": 5000, "tax_status": "individual"}),
        )
        .await;
    let kol_id: Uuid = k["id"].as_str().unwrap().parse().unwrap();
    let number = crate::settlements::resident_id(4711);
    let (status, v) = app
        .patch(
            &format!("/api/v1/kols/{kol_id}"),
            &app.admin,
            json!({"legal_name": "林小满", "id_number": number}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let sealed_number = || async {
        kol::Entity::find_by_id(kol_id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id_number_sealed
            .unwrap()
    };
    let before = (sealed_number().await, raw_row(&app, "douyin").await);
    assert!(!before.0.contains(&number[6..14]));

    let old = key_on_disk(&app);
    let new: [u8; 32] = secrets::parse_key(&secrets::generate_key()).unwrap();
    assert_ne!(old, new);

    // A rotation from a key that is not the database's fails, naming the value, and changes
    // nothing.
    let wrong = SecretBox::new([9; 32]);
    let err = kolhost::store::rotation::rotate(&app.db, &wrong, &SecretBox::new(new))
        .await
        .expect_err("the wrong current key");
    assert!(
        err.to_string().contains("does not open with this key"),
        "{err}"
    );
    assert_eq!(
        (sealed_number().await, raw_row(&app, "douyin").await),
        before
    );

    // The rotation: every sealed value re-sealed, opening with the new key only.
    let rotated =
        kolhost::store::rotation::rotate(&app.db, &SecretBox::new(old), &SecretBox::new(new))
            .await
            .expect("rotate");
    assert_eq!((rotated.kol_id_numbers, rotated.plugin_secrets), (1, 1));
    let after = sealed_number().await;
    assert_ne!(after, before.0);
    assert!(!after.contains(&number[6..14]));
    assert_eq!(
        SecretBox::new(new)
            .open_text(&after, kol_id.as_bytes())
            .unwrap(),
        number
    );
    assert!(SecretBox::new(old).open(&after, kol_id.as_bytes()).is_err());
    let (_, sealed) = raw_row(&app, "douyin").await;
    assert!(!sealed.unwrap().contains(SECRET));
    let (status, trail) = app
        .get("/api/v1/audit?entity_type=server", &app.admin)
        .await;
    assert_eq!(status, 200, "{trail}");
    assert_eq!(trail["items"][0]["action"], "secrets.rotate", "{trail}");

    // The old key no longer starts the server, and says why.
    let err = app.restart().await.expect_err("the old key");
    let text = format!("{err:#}");
    assert!(text.contains("does not open with this key"), "{text}");
    assert!(text.contains(secrets::KEY_ENV), "{text}");

    // With the new key in the key file, everything reads again.
    let dir = SecretBox::key_dir(&app.config.database_url, &app.config.data_dir);
    secrets::replace_key_file(&dir.join(secrets::KEY_FILE), &new).unwrap();
    app.restart().await.expect("the new key starts the server");
    assert_eq!(deliver(&app, SECRET).await, 200);
    let (status, v) = app.get(&format!("/api/v1/kols/{kol_id}"), &app.admin).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["legal_name"], "林小满");
    app.finish().await;
}
