//! Configuration: defaults, then an optional TOML file, then `KOLHOST_*` environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::TaxMethod;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    pub database_url: String,
    /// TLS to PostgreSQL: `auto` (default: the URL's `sslmode` if it has one, else off for a
    /// server on this machine and required for any other), `disable`, `prefer`, `require`,
    /// `verify-ca` or `verify-full`. SQLite ignores it.
    #[serde(default)]
    pub database_sslmode: crate::store::SslMode,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Largest accepted webhook delivery, in bytes (larger: 413).
    #[serde(default = "default_webhook_max_body_bytes")]
    pub webhook_max_body_bytes: usize,
    /// Four-eyes: a settlement is approved by someone other than who computed it (default on).
    #[serde(default = "yes")]
    pub four_eyes: bool,
    /// How income tax on labour remuneration is withheld: `per_month` (default) or
    /// `cumulative` (the 2025 rule for platforms).
    #[serde(default)]
    pub tax_method: TaxMethod,
    /// Where the server keeps its files (the secret key file when `KOLHOST_SECRET_KEY` is not
    /// set and the database is not an SQLite file).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// A request's head (request line and headers) must arrive within this long of its first
    /// byte, in milliseconds; else the connection is closed.
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// A request's body must arrive within this long of its head, in milliseconds (else 408):
    /// with the body limits, a minimum rate.
    #[serde(default = "default_body_timeout_ms")]
    pub body_timeout_ms: u64,
    /// A keep-alive connection with no request is closed after this long, in milliseconds.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Connections open at once; more wait in the listen backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Largest request head, in bytes (larger: 431).
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Failed authentications (a bearer token that is not valid) allowed per client address
    /// and minute, after a burst of `failed_auth_burst`; beyond: 429. 0: no limit.
    #[serde(default = "default_failed_auth_per_minute")]
    pub failed_auth_per_minute: u32,
    #[serde(default = "default_failed_auth_burst")]
    pub failed_auth_burst: u32,
    /// Requests allowed per token and second, after a burst of `token_burst`. 0: no limit.
    #[serde(default = "default_token_requests_per_second")]
    pub token_requests_per_second: u32,
    #[serde(default = "default_token_burst")]
    pub token_burst: u32,
    /// Webhook deliveries allowed per platform and second, after a burst of `webhook_burst`.
    /// 0: no limit.
    #[serde(default = "default_webhook_deliveries_per_second")]
    pub webhook_deliveries_per_second: u32,
    #[serde(default = "default_webhook_burst")]
    pub webhook_burst: u32,
    /// Refused (rejected or malformed) deliveries stored per platform and minute; beyond, they
    /// are only counted. 0: no cap.
    #[serde(default = "default_rejected_deliveries_per_minute")]
    pub rejected_deliveries_per_minute: u32,
    /// Refused deliveries are deleted after this many days (0: kept).
    #[serde(default = "default_rejected_retention_days")]
    pub rejected_retention_days: u32,
    /// Accepted (applied) deliveries lose their raw body after this many days (0: kept); the
    /// row, its events and the orders stay.
    #[serde(default = "default_accepted_body_retention_days")]
    pub accepted_body_retention_days: u32,
    /// How often the retention job runs, in seconds.
    #[serde(default = "default_retention_interval_secs")]
    pub retention_interval_secs: u64,
    /// This host's name in `/metrics`, `/healthz` and the leases it holds (default: the machine's
    /// host name and the process id, `web-1-4242`). Several hosts on one PostgreSQL need not
    /// set it, but names you chose read better on a dashboard.
    #[serde(default)]
    pub host_id: Option<String>,
    /// How long a lease (one poller per platform plugin, the retention job) lasts without being
    /// renewed, in seconds: a host that dies holding one is replaced within this long.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
    /// Reverse proxies (addresses or CIDR ranges, e.g. `10.0.0.0/8`) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client: the failed-sign-in limit counts that client
    /// instead of the proxy. Empty (the default): those headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

fn default_lease_secs() -> u64 {
    10
}

fn yes() -> bool {
    true
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

fn default_rejected_deliveries_per_minute() -> u32 {
    60
}

fn default_rejected_retention_days() -> u32 {
    30
}

fn default_accepted_body_retention_days() -> u32 {
    180
}

fn default_retention_interval_secs() -> u64 {
    3600
}

fn default_failed_auth_per_minute() -> u32 {
    30
}

fn default_failed_auth_burst() -> u32 {
    10
}

fn default_token_requests_per_second() -> u32 {
    200
}

fn default_token_burst() -> u32 {
    2000
}

fn default_webhook_deliveries_per_second() -> u32 {
    20_000
}

fn default_webhook_burst() -> u32 {
    40_000
}

fn default_header_timeout_ms() -> u64 {
    10_000
}

fn default_body_timeout_ms() -> u64 {
    30_000
}

fn default_idle_timeout_ms() -> u64 {
    60_000
}

fn default_max_connections() -> usize {
    1024
}

fn default_max_header_bytes() -> usize {
    64 * 1024
}

fn default_webhook_max_body_bytes() -> usize {
    1024 * 1024
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/kolhost.db?mode=rwc".into(),
            database_sslmode: crate::store::SslMode::Auto,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            webhook_max_body_bytes: default_webhook_max_body_bytes(),
            four_eyes: true,
            tax_method: TaxMethod::PerMonth,
            data_dir: default_data_dir(),
            header_timeout_ms: default_header_timeout_ms(),
            body_timeout_ms: default_body_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            max_connections: default_max_connections(),
            max_header_bytes: default_max_header_bytes(),
            failed_auth_per_minute: default_failed_auth_per_minute(),
            failed_auth_burst: default_failed_auth_burst(),
            token_requests_per_second: default_token_requests_per_second(),
            token_burst: default_token_burst(),
            webhook_deliveries_per_second: default_webhook_deliveries_per_second(),
            webhook_burst: default_webhook_burst(),
            rejected_deliveries_per_minute: default_rejected_deliveries_per_minute(),
            rejected_retention_days: default_rejected_retention_days(),
            accepted_body_retention_days: default_accepted_body_retention_days(),
            retention_interval_secs: default_retention_interval_secs(),
            host_id: None,
            lease_secs: default_lease_secs(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    /// Loads from `file` (default `kolhost.toml`, used only if present) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None => fig = fig.merge(Toml::file("kolhost.toml")),
        }
        fig.merge(Env::prefixed("KOLHOST_").only(&[
            "database_url",
            "database_sslmode",
            "listen",
            "max_body_bytes",
            "webhook_max_body_bytes",
            "four_eyes",
            "tax_method",
            "data_dir",
            "header_timeout_ms",
            "body_timeout_ms",
            "idle_timeout_ms",
            "max_connections",
            "max_header_bytes",
            "failed_auth_per_minute",
            "failed_auth_burst",
            "token_requests_per_second",
            "token_burst",
            "webhook_deliveries_per_second",
            "webhook_burst",
            "rejected_deliveries_per_minute",
            "rejected_retention_days",
            "accepted_body_retention_days",
            "retention_interval_secs",
            "host_id",
            "lease_secs",
            "trusted_proxies",
        ]))
        .extract()
        .map_err(Box::new)
    }
}

impl Config {
    /// The rate limits these settings describe.
    pub fn rate_limits(&self) -> crate::service::limits::Limits {
        use crate::service::limits::{Limits, Rate};
        use std::time::Duration;
        let rate = |per_period, period, burst| Rate {
            per_period,
            period,
            burst,
        };
        Limits::new(
            rate(
                self.failed_auth_per_minute,
                Duration::from_secs(60),
                self.failed_auth_burst,
            ),
            rate(
                self.token_requests_per_second,
                Duration::from_secs(1),
                self.token_burst,
            ),
            rate(
                self.webhook_deliveries_per_second,
                Duration::from_secs(1),
                self.webhook_burst,
            ),
        )
        .with_refused_rows(rate(
            self.rejected_deliveries_per_minute,
            Duration::from_secs(60),
            self.rejected_deliveries_per_minute,
        ))
    }

    /// This host's name: `host_id`, else the machine's host name and the process id.
    pub fn host_id(&self) -> String {
        if let Some(id) = self
            .host_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return id.to_owned();
        }
        let machine = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "kolhost".to_owned());
        format!("{machine}-{}", std::process::id())
    }

    /// How long a lease lasts without renewal (at least 2 s).
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_secs.max(2))
    }

    /// The retention policy these settings describe.
    pub fn retention(&self) -> crate::service::retention::Policy {
        let days = |d: u32| (d > 0).then(|| chrono::Duration::days(i64::from(d)));
        crate::service::retention::Policy {
            refused: days(self.rejected_retention_days),
            accepted_bodies: days(self.accepted_body_retention_days),
            every: std::time::Duration::from_secs(self.retention_interval_secs.max(1)),
        }
    }
}
