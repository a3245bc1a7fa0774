//! The plugin manifest: who the plugin is, which world it targets, what it is granted.
//!
//! TOML (or the same fields in JSON):
//!
//! ```toml
//! name = "douyin"
//! version = "1.0.0"
//! world = "platform"          # or "allocator"
//! grants = ["log", "config", "clock", "kv", "http"]
//! allowed_hosts = ["openapi-fxg.jinritemai.com", "gw.api.taobao.com:443"]
//! allow_private_hosts = false # true lets it reach private addresses: only an admin may set it
//!
//! [limits]                    # optional, each field optional
//! timeout_ms = 2000
//! max_memory_bytes = 33554432
//! max_output_bytes = 1048576
//! ```

use super::limits::LimitsOverride;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The worlds of `kolhost:plugin@0.1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum World {
    Platform,
    Allocator,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Platform => "platform",
            World::Allocator => "allocator",
        }
    }

    /// The interface the component must export for this world.
    pub fn export_interface(self) -> &'static str {
        match self {
            World::Platform => "platform-api",
            World::Allocator => "allocator-api",
        }
    }

    /// The capabilities this world may import.
    pub fn allows(self, c: Capability) -> bool {
        !(self == World::Allocator && c == Capability::Http)
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host capability a plugin can be granted: one WIT import interface each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Log,
    Config,
    Clock,
    Kv,
    Http,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::Log,
        Capability::Config,
        Capability::Clock,
        Capability::Kv,
        Capability::Http,
    ];

    /// The WIT interface name (`kolhost:plugin/<name>`).
    pub fn interface(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Config => "config",
            Capability::Clock => "clock",
            Capability::Kv => "kv",
            Capability::Http => "http",
        }
    }

    pub fn from_interface(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.interface() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.interface())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `[a-z0-9-]`, 1 to 64 characters; the registry key and the `/webhooks/{name}` segment
    /// for platform plugins.
    pub name: String,
    /// The plugin's version (semver); versions of one name are kept for rollback.
    pub version: String,
    pub world: World,
    #[serde(default)]
    pub grants: Vec<Capability>,
    /// Hosts (`host` or `host:port`) outbound HTTP may reach; requires the `http` grant.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Lets `allowed_hosts` name private, loopback and link-local hosts (local mocks, a
    /// gateway inside the network). Only an admin may upload a manifest that sets it.
    #[serde(default)]
    pub allow_private_hosts: bool,
    #[serde(default)]
    pub limits: LimitsOverride,
}

/// A manifest that cannot be read or breaks a rule.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("manifest field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl Manifest {
    pub fn from_toml(s: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = toml::from_str(s)?;
        m.validate()?;
        Ok(m)
    }

    pub fn from_json(s: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_json::from_str(s)?;
        m.validate()?;
        Ok(m)
    }

    pub fn grants(&self, c: Capability) -> bool {
        self.grants.contains(&c)
    }

    pub fn validate(&self) -> Result<(), ManifestError> {
        let invalid = |field, message: &str| {
            Err(ManifestError::Invalid {
                field,
                message: message.to_string(),
            })
        };
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return invalid("name", "must be 1 to 64 characters of a-z, 0-9 and -");
        }
        if self.version.is_empty()
            || self.version.len() > 64
            || self.version.chars().any(char::is_whitespace)
        {
            return invalid("version", "must be a version such as 1.0.0");
        }
        for c in &self.grants {
            if !self.world.allows(*c) {
                return Err(ManifestError::Invalid {
                    field: "grants",
                    message: format!("the {} world cannot be granted `{c}`", self.world),
                });
            }
        }
        if !self.allowed_hosts.is_empty() && !self.grants(Capability::Http) {
            return invalid("allowed_hosts", "needs the `http` grant");
        }
        for h in &self.allowed_hosts {
            super::capabilities::hosts::check_allowed_host(h, self.allow_private_hosts).map_err(
                |message| ManifestError::Invalid {
                    field: "allowed_hosts",
                    message,
                },
            )?;
        }
        Ok(())
    }
}
