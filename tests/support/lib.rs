//! Test support: a real kolhost server on a random port over a fresh database (an SQLite file
//! or a new PostgreSQL database), driven over real HTTP.

use std::net::SocketAddr;

use kolhost::app::{AppState, router};
use kolhost::config::Config;
use kolhost::domain::Role;
use kolhost::store::{self, tokens};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use uuid::Uuid;

/// Where the PostgreSQL server for tests is; each test makes and drops its own database there.
pub fn postgres_admin_url() -> String {
    std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A plugin example built by another language's toolchain (`python_platform.wasm`,
/// `js_platform.wasm`), from `$KOLHOST_EXAMPLE_COMPONENTS`, else `<target dir>/plugin-examples`,
/// where `plugins/examples/build-other-languages` (run by tests/run) puts them.
pub fn other_language_example(file: &str) -> Vec<u8> {
    let dir = std::env::var_os("KOLHOST_EXAMPLE_COMPONENTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            // This test binary is <target dir>/<profile>/deps/<name>.
            let exe = std::env::current_exe().expect("the test binary's path");
            exe.ancestors()
                .nth(3)
                .expect("<target dir>/<profile>/deps/<binary>")
                .join("plugin-examples")
        });
    let path = dir.join(file);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build it with plugins/examples/build-other-languages (tests/run does)",
            path.display()
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub db: DatabaseConnection,
    pub backend: Backend,
    /// The server's configuration (its database, and its data dir: the temp dir, where the
    /// secret key file is). A server restarted on this database must use it, or its key.
    pub config: Config,
    /// An admin token, for setting things up.
    pub admin: String,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    pg_database: Option<String>,
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, |_| {}).await
    }

    /// A server whose configuration `tune` adjusts first (e.g. `four_eyes = false`, shorter
    /// timeouts, tighter limits).
    pub async fn start_with(backend: Backend, tune: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_database) = match backend {
            Backend::Sqlite => (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("kolhost.db").display()
                ),
                None,
            ),
            Backend::Postgres => {
                let name = format!("kh_test_{}", Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let conn = sea_orm::Database::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL must be reachable at {admin} for the tests: {e}")
                    });
                conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                (format!("{base}/{name}"), Some(name))
            }
        };
        let db = store::connect(&url).await.expect("connect");
        store::prepare(&db).await.expect("prepare");
        let mut config = Config {
            database_url: url,
            listen: "127.0.0.1:0".parse().unwrap(),
            max_body_bytes: 64 * 1024,
            webhook_max_body_bytes: 256 * 1024,
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        tune(&mut config);
        let (addr, server) = serve(&db, &config).await.expect("state");
        let (admin, _) = tokens::create(
            &db,
            tokens::NewToken {
                name: "test admin".into(),
                role: Role::Admin,
                brand_id: None,
                kol_id: None,
            },
            None,
        )
        .await
        .expect("admin token");
        TestApp {
            base: format!("http://{addr}"),
            addr,
            // An integrator's client that reads the server's English error texts; tests of
            // the Chinese ones send their own Accept-Language.
            http: reqwest::Client::builder()
                .default_headers(
                    [(
                        reqwest::header::ACCEPT_LANGUAGE,
                        reqwest::header::HeaderValue::from_static("en"),
                    )]
                    .into_iter()
                    .collect(),
                )
                .build()
                .expect("http client"),
            db,
            backend,
            config,
            admin,
            server,
            _dir: dir,
            pg_database,
        }
    }

    /// Stops the server and starts another on the same database with `self.config` (which a
    /// test may change first, e.g. to another data dir), on a new port. Fails as
    /// `AppState::start` fails (e.g. sealed values that do not open with the key); the old
    /// server stays stopped then.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let old = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        old.abort();
        let _ = old.await;
        let (addr, server) = serve(&self.db, &self.config).await?;
        self.addr = addr;
        self.base = format!("http://{addr}");
        self.server = server;
        Ok(())
    }

    /// A new token of `role`, for a brand or KOL where the role needs one.
    pub async fn token(&self, role: Role, owner: Option<Uuid>) -> String {
        let (brand_id, kol_id) = match role {
            Role::Brand => (owner, None),
            Role::Kol => (None, owner),
            _ => (None, None),
        };
        let new = tokens::NewToken {
            name: format!("test {role}"),
            role,
            brand_id,
            kol_id,
        };
        tokens::create(&self.db, new, None).await.expect("token").0
    }

    /// Sends a request; answers the status and the JSON body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// POSTs as admin and insists on 201, returning the created record.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, &self.admin.clone(), body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {v}");
        v
    }

    /// Stops the server and drops the PostgreSQL database.
    /// `POST /api/v1/plugins` as multipart: the manifest's text and the component, either left
    /// out when `None`. Answers the status and the JSON body (`null` when there is none).
    pub async fn upload_plugin(
        &self,
        token: &str,
        manifest: Option<String>,
        component: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new();
        if let Some(m) = manifest {
            form = form.text("manifest", m);
        }
        if let Some(c) = component {
            form = form.part(
                "component",
                reqwest::multipart::Part::bytes(c).file_name("plugin.wasm"),
            );
        }
        let res = self
            .http
            .post(format!("{}/api/v1/plugins", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A platform's delivery to `/webhooks/{platform}` (with `?query` when not empty): the
    /// status and the body of the answer.
    pub async fn push_webhook(
        &self,
        platform: &str,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (u16, String) {
        let mut url = format!("{}/webhooks/{platform}", self.base);
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let mut req = self.http.post(url).body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn finish(self) {
        self.server.abort();
        let _ = self.server.await;
        self.db.close().await.ok();
        if let Some(name) = self.pg_database {
            let conn = sea_orm::Database::connect(&postgres_admin_url())
                .await
                .expect("connect admin");
            conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop test database");
            conn.close().await.ok();
        }
    }
}

/// A server for `config` over `db` on a new loopback port: its address and its task.
async fn serve(
    db: &DatabaseConnection,
    config: &Config,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let limits = kolhost::server::Limits::from_config(config);
    let app = router(AppState::start(db.clone(), config.clone()).await?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        kolhost::server::serve(listener, app, limits, std::future::pending())
            .await
            .expect("serve");
    });
    Ok((addr, server))
}

/// Runs one async test body against SQLite and against PostgreSQL: `both_databases!(name);`
/// expects `async fn name(app: &TestApp)` in scope.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::start($crate::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let app = $crate::TestApp::start($crate::Backend::Postgres).await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            }
        )+
    };
}

/// [`both_databases!`] for servers with an adjusted configuration:
/// `both_databases_with!(name => |c| c.idle_timeout_ms = 500);`
#[macro_export]
macro_rules! both_databases_with {
    ($($name:ident => $tune:expr),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::start_with($crate::Backend::Sqlite, $tune).await;
                    super::$name(&app).await;
                    app.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let app = $crate::TestApp::start_with($crate::Backend::Postgres, $tune).await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            }
        )+
    };
}
