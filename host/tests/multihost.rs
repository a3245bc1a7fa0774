//! Several `kolhost` processes on one PostgreSQL (design §8), through the real binary:
//! start-up under the advisory lock and the refusal of a newer schema.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

fn kolhost(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .args(args)
        .env("KOLHOST_DATABASE_URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run kolhost");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh PostgreSQL database; dropped by [`drop_postgres`].
async fn fresh_postgres(prefix: &str) -> (String, String) {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin}: {e}"));
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

async fn drop_postgres(name: &str) {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let conn = sea_orm::Database::connect(&admin).await.unwrap();
    conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    rows(db, sql).await[0].try_get::<i64>("", "n").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Start-up

/// Three hosts started at once on an empty database: every one comes up, the schema is migrated
/// once and every bundled plugin is stored once. Then a migration this build does not know
/// appears (a newer kolhost ran): this build refuses to start, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_starts_migrate_once_and_a_newer_schema_is_refused_on_postgres() {
    let (url, name) = fresh_postgres("kh_test_mhstart").await;
    let starts: Vec<Child> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_kolhost"))
                .arg("migrate")
                .env("KOLHOST_DATABASE_URL", &url)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start kolhost migrate")
        })
        .collect();
    for c in starts {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = kolhost::store::connect(&url).await.unwrap();
    use migration::MigratorTrait;
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM seaql_migrations").await as usize,
        migration::Migrator::migrations().len()
    );
    let per_plugin = rows(
        &db,
        "SELECT name, COUNT(*) AS n FROM plugin_versions GROUP BY name ORDER BY name",
    )
    .await;
    let per_plugin: Vec<(String, i64)> = per_plugin
        .iter()
        .map(|r| (r.try_get("", "name").unwrap(), r.try_get("", "n").unwrap()))
        .collect();
    assert_eq!(
        per_plugin,
        [
            ("douyin".to_owned(), 1),
            ("kuaishou".to_owned(), 1),
            ("taobao".to_owned(), 1)
        ],
        "every bundled plugin stored once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM (SELECT name FROM scripts GROUP BY name, version HAVING COUNT(*) > 1) d"
        )
        .await,
        0,
        "no strategy version stored twice"
    );

    refuses_a_newer_schema(&db, &url).await;
    drop(db);
    drop_postgres(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("kh.db").display());
    kolhost(&url, &["migrate"]);
    let db = kolhost::store::connect(&url).await.unwrap();
    refuses_a_newer_schema(&db, &url).await;
}

async fn refuses_a_newer_schema(db: &DatabaseConnection, url: &str) {
    const FUTURE: &str = "m20991231_000001_from_a_newer_kolhost";
    db.execute_unprepared(&format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{FUTURE}', 0)"
    ))
    .await
    .unwrap();
    for args in [&["serve"][..], &["migrate"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_kolhost"))
            .args(args)
            .env("KOLHOST_DATABASE_URL", url)
            .env("KOLHOST_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "error")
            .output()
            .expect("run kolhost");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started on a newer schema");
        assert!(
            stderr.contains("newer than this kolhost") && stderr.contains(FUTURE),
            "{args:?}: {stderr}"
        );
    }
}

