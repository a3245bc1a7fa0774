//! Quarantine of a plugin that keeps failing: why, since when, and when the next half-open
//! retry is let through. The registry decides; a [`QuarantineStore`] keeps the decision across
//! restarts.
//!
//! Only failures on input that is the plugin's own business count (a webhook delivery that
//! verified, a poll, an allocation): traps during `verify-webhook` run on unauthenticated bytes
//! anyone can send, so they fail that delivery but never count, and an outsider cannot
//! quarantine a plugin.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// A plugin's quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantine {
    /// Why: the failures and the last one's error (redacted of the plugin's secrets).
    pub reason: String,
    pub since: DateTime<Utc>,
    /// From then on one call at a time is let through: a success lifts the quarantine, a
    /// failure trips it again with twice the back-off.
    pub retry_at: DateTime<Utc>,
    /// Trips in a row, the first included.
    pub trips: u32,
}

impl Quarantine {
    /// The quarantine after `trips` trips in a row, starting now: the back-off doubles each
    /// trip, up to `max`.
    pub fn trip(reason: String, trips: u32, backoff: Duration, max: Duration) -> Quarantine {
        let wait = backoff
            .checked_mul(1u32 << trips.saturating_sub(1).min(20))
            .unwrap_or(max)
            .min(max);
        let since = Utc::now();
        Quarantine {
            reason,
            since,
            retry_at: since + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
            trips,
        }
    }

    /// Whether the half-open retry is due.
    pub fn retry_due(&self) -> bool {
        Utc::now() >= self.retry_at
    }
}

/// Keeps quarantines across restarts.
#[async_trait::async_trait]
pub trait QuarantineStore: Send + Sync {
    /// Stores the plugin's quarantine, or its absence.
    async fn save(&self, plugin: &str, q: Option<&Quarantine>) -> Result<(), String>;
}

/// A [`QuarantineStore`] in memory (tests).
#[derive(Default)]
pub struct MemoryQuarantine {
    pub saved: Mutex<BTreeMap<String, Quarantine>>,
}

#[async_trait::async_trait]
impl QuarantineStore for MemoryQuarantine {
    async fn save(&self, plugin: &str, q: Option<&Quarantine>) -> Result<(), String> {
        let mut saved = self.saved.lock().unwrap();
        match q {
            Some(q) => saved.insert(plugin.to_owned(), q.clone()),
            None => saved.remove(plugin),
        };
        Ok(())
    }
}

/// `text` with every secret value replaced by `[redacted]` (longest first, so a secret that
/// contains another is hidden whole).
pub fn redact<'a>(text: &str, secrets: impl IntoIterator<Item = &'a String>) -> String {
    let mut values: Vec<&String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    values.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in values {
        out = out.replace(s.as_str(), "[redacted]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let b = Duration::from_secs(60);
        let max = Duration::from_secs(3600);
        let secs = |t| {
            let q = Quarantine::trip("r".into(), t, b, max);
            (q.retry_at - q.since).num_seconds()
        };
        assert_eq!(secs(1), 60);
        assert_eq!(secs(2), 120);
        assert_eq!(secs(3), 240);
        assert_eq!(secs(30), 3600);
    }

    #[test]
    fn redacts_secret_values() {
        let s = ["abc".to_string(), "abcdef".to_string(), String::new()];
        assert_eq!(
            redact("key abcdef and abc, not ab", &s),
            "key [redacted] and [redacted], not ab"
        );
    }
}
