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
}

fn yes() -> bool {
    true
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

fn default_webhook_max_body_bytes() -> usize {
    1024 * 1024
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/kolhost.db?mode=rwc".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            webhook_max_body_bytes: default_webhook_max_body_bytes(),
            four_eyes: true,
            tax_method: TaxMethod::PerMonth,
            data_dir: default_data_dir(),
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
            "listen",
            "max_body_bytes",
            "webhook_max_body_bytes",
            "four_eyes",
            "tax_method",
            "data_dir",
        ]))
        .extract()
        .map_err(Box::new)
    }
}
