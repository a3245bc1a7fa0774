//! Builds the application from configuration: store, state, router and middleware.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::config::Config;
use crate::ingest::Ingest;
use crate::plugins::{Registry, RegistryConfig, Runtime, RuntimeConfig};
use crate::service::auth::TokenCache;
use crate::service::cluster;
use crate::store::leases::Leases;
use crate::store::plugins::{DbKv, DbQuarantine};
use crate::store::secrets::SecretBox;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub tokens: Arc<TokenCache>,
    /// Rate limits: failed sign-ins per address, requests per token, deliveries per platform.
    pub limits: Arc<crate::service::limits::Limits>,
    pub plugins: Arc<Registry>,
    /// The group-commit writer every delivery and polled page goes through.
    pub ingest: Ingest,
    /// Seals secrets at rest (KOL ID numbers, plugin secrets) under the server key.
    pub secrets: Arc<SecretBox>,
    /// The leases this host takes (pollers, jobs), as this host.
    pub leases: Leases,
    /// This host's name and readiness.
    pub cluster: Arc<cluster::Status>,
}

impl AppState {
    /// State with an empty plugin registry (see [`AppState::start`] for a serving one).
    pub fn new(db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        let files = SecretBox::key_dir(&config.database_url, &config.data_dir);
        let secrets = SecretBox::load(&files)?;
        let kv = Arc::new(DbKv { db: db.clone() });
        let quarantines = Arc::new(DbQuarantine { db: db.clone() });
        // Compiled plugins beside the key file: the SQLite file's folder, else `data_dir`.
        let plugins = Arc::new(
            Registry::new(plugin_runtime(), kv, RegistryConfig::default())
                .with_quarantine_store(quarantines)
                .with_artifact_cache(&files.join("plugin-cache"))?,
        );
        let host_id = config.host_id();
        // Unique per process even when two hosts are (wrongly) given one host_id.
        let holder = format!(
            "{host_id}#{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Ok(AppState {
            secrets: Arc::new(secrets),
            ingest: Ingest::start(db.clone()),
            leases: Leases::new(db.clone(), holder, config.lease()),
            cluster: Arc::new(cluster::Status::new(host_id)),
            db,
            limits: Arc::new(config.rate_limits()),
            config: Arc::new(config),
            metrics: metrics_handle(),
            tokens: Arc::new(TokenCache::new(Duration::from_secs(30))),
            plugins,
        })
    }

    /// State for a server: the stored plugins loaded into the registry, other hosts' changes
    /// listened to (PostgreSQL), pollers and jobs running under their leases.
    pub async fn start(db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        let state = AppState::new(db, config)?;
        crate::store::rotation::prepare(&state.db, &state.secrets).await?;
        crate::store::plugins::restore(&state.db, &state.plugins, &state.secrets).await?;
        cluster::spawn(
            state.db.clone(),
            state.plugins.clone(),
            state.tokens.clone(),
            state.cluster.clone(),
            state.secrets.clone(),
        );
        crate::ingest::poller::spawn(
            state.db.clone(),
            state.plugins.clone(),
            state.ingest.clone(),
            state.leases.clone(),
        );
        crate::service::retention::spawn(
            state.db.clone(),
            state.config.retention(),
            state.leases.clone(),
        );
        state.cluster.set_started();
        tracing::info!(host_id = %state.cluster.host_id, holder = %state.leases.holder(), "host started");
        Ok(state)
    }
}

/// The process-wide wasmtime engine: one pooling allocator and epoch ticker for every registry.
fn plugin_runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Runtime::new(RuntimeConfig::default())
                .expect("the default plugin engine configuration is valid")
        })
        .clone()
}

/// The process-wide Prometheus recorder, installed once.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding program); keep ours readable.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The OpenAPI document served at `/api/v1/openapi.json` (`kolhost openapi` prints it).
pub fn openapi_document() -> serde_json::Value {
    api::openapi::document(&api::router().split_for_parts().1)
}

/// The HTTP application, with its OpenAPI document served at `/api/v1/openapi.json`.
pub fn router(state: AppState) -> Router {
    let (router, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(api::openapi::document(&openapi));
    let max_body = state.config.max_body_bytes;
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        // The dashboard (`web/`) at `/`; unknown API paths stay problem+json 404s.
        .fallback(crate::web::fallback)
        .layer(middleware::from_fn(api::error::uniform))
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Counts requests and their latency per route, method and status.
async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let res = next.run(req).await.into_response();
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("path", path), ("status", status)];
    metrics::counter!("kolhost_http_requests_total", &labels).increment(1);
    metrics::histogram!("kolhost_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}

/// Connects, migrates and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, db: DatabaseConnection) -> anyhow::Result<()> {
    let listen = config.listen;
    let limits = crate::server::Limits::from_config(&config);
    let app = router(AppState::start(db, config).await?);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!("kolhost listening on http://{}", listener.local_addr()?);
    crate::server::serve(listener, app, limits, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
