//! Pollers: each enabled platform plugin whose config sets `poll_interval_secs` is asked to
//! `poll` its platform's signed open API on that schedule. The cursor a page ends at is stored
//! in the same transaction as the page's events, so after a restart polling resumes exactly
//! after what is durable, and a page taken twice is counted once (events are deduplicated).
//! After a plugin's last page (no next cursor) the stored cursor is cleared and the next round
//! starts where the plugin starts a fresh poll (the bundled plugins: a window ending now).
//! A page with a `receipt` (Taobao TMC messages) is confirmed to the platform through the
//! plugin's `confirm` only after its commit, so a crash in between loses nothing: the platform
//! redelivers, and the repeat counts once.
//!
//! With several hosts, a plugin is polled only by the host holding its lease (`poll:<plugin>`,
//! `store::leases`), and each page commits only if that lease is still held, checked in the
//! page's transaction: a host that lost its lease never applies a page or moves the cursor back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, EntityTrait};

use super::batch::{Committed, Source, Submission};
use super::events::validate_all;
use super::writer::Ingest;
use crate::plugins::{Registry, World};
use crate::store::entities::poll_cursor;
use crate::store::leases::{Held, Holding, Leases};

/// The config key that turns polling on, in seconds between polls.
pub const INTERVAL_KEY: &str = "poll_interval_secs";
/// Pages taken one after another in one round before waiting for the next.
pub const MAX_PAGES_PER_ROUND: usize = 20;
/// Longest cursor a plugin may hand back.
pub const MAX_CURSOR_BYTES: usize = 4096;

/// What one polling round did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct RoundReport {
    pub pages: usize,
    pub events: usize,
    pub new_events: usize,
    /// The stored cursor after the round.
    pub cursor: Option<String>,
    /// Why the round stopped early, if it did.
    pub error: Option<String>,
}

/// The lease a platform plugin's poller runs under.
pub fn lease_name(plugin: &str) -> String {
    format!("poll:{plugin}")
}

/// Runs the pollers until the process ends. Each plugin's poller runs on the one host holding
/// its lease (on SQLite: this host); the others keep trying to take it, and one does within a
/// lease length of its holder's death.
pub fn spawn(db: DatabaseConnection, registry: Arc<Registry>, ingest: Ingest, leases: Leases) {
    tokio::spawn(async move {
        let mut last: HashMap<String, Instant> = HashMap::new();
        let mut held: HashMap<String, Holding> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due: Vec<(String, String, u64)> = registry
                .list()
                .into_iter()
                .filter_map(|p| {
                    // A quarantined plugin is polled again once its half-open retry is due.
                    let paused = p.quarantine.as_ref().is_some_and(|q| !q.retry_due());
                    if p.world != World::Platform || !p.enabled || paused {
                        return None;
                    }
                    let every = p
                        .config
                        .get(INTERVAL_KEY)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .filter(|s| *s > 0)?;
                    let platform = if p.info.platform.is_empty() {
                        p.name.clone()
                    } else {
                        p.info.platform.clone()
                    };
                    Some((p.name, platform, every))
                })
                .collect();
            // Leases of plugins that no longer poll, or that were lost, are let go.
            held.retain(|name, h| due.iter().any(|(n, _, _)| n == name) && h.current().is_some());
            for (name, platform, every) in due {
                if !held.contains_key(&name) {
                    match leases.hold(&lease_name(&name)).await {
                        Ok(Some(h)) => {
                            tracing::info!(plugin = %name, holder = %leases.holder(), "poller lease taken");
                            held.insert(name.clone(), h);
                        }
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::warn!(plugin = %name, error = %e, "taking the poller lease failed");
                            continue;
                        }
                    }
                }
                let Some(lease) = held.get(&name).and_then(Holding::current) else {
                    continue;
                };
                if last
                    .get(&name)
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(every))
                {
                    continue;
                }
                last.insert(name.clone(), Instant::now());
                let r = round_leased(&db, &registry, &ingest, &name, &platform, Some(&lease)).await;
                if let Some(e) = &r.error {
                    tracing::warn!(plugin = %name, error = %e, "poll round stopped");
                } else if r.new_events > 0 {
                    tracing::info!(plugin = %name, pages = r.pages, new_events = r.new_events, "polled");
                }
            }
        }
    });
}

/// One polling round for `plugin`: pages until the plugin has nothing more, an error, or
/// [`MAX_PAGES_PER_ROUND`].
pub async fn round(
    db: &DatabaseConnection,
    registry: &Registry,
    ingest: &Ingest,
    plugin: &str,
    platform: &str,
) -> RoundReport {
    round_leased(db, registry, ingest, plugin, platform, None).await
}

/// [`round`] under a lease: each page commits (and moves the cursor) only while `lease` is
/// still held, checked in the page's own transaction.
pub async fn round_leased(
    db: &DatabaseConnection,
    registry: &Registry,
    ingest: &Ingest,
    plugin: &str,
    platform: &str,
    lease: Option<&Held>,
) -> RoundReport {
    let mut report = RoundReport::default();
    let mut cursor = match poll_cursor::Entity::find_by_id(plugin.to_owned())
        .one(db)
        .await
    {
        Ok(row) => row.and_then(|r| r.cursor),
        Err(e) => {
            report.error = Some(format!("reading the cursor failed: {e}"));
            return report;
        }
    };
    report.cursor = cursor.clone();
    while report.pages < MAX_PAGES_PER_ROUND {
        let page = registry.poll(plugin, cursor.as_deref()).await;
        let mut receipt = None;
        let (events, next, error) = match page {
            Ok(page) => match validate_all(page.events) {
                Ok(_)
                    if page
                        .next_cursor
                        .as_ref()
                        .is_some_and(|c| c.len() > MAX_CURSOR_BYTES) =>
                {
                    (
                        Vec::new(),
                        None,
                        Some(format!(
                            "the plugin returned a cursor over {MAX_CURSOR_BYTES} bytes"
                        )),
                    )
                }
                Ok(events) => {
                    receipt = page.receipt;
                    (events, page.next_cursor, None)
                }
                Err(e) => (
                    Vec::new(),
                    None,
                    Some(format!("the plugin returned an invalid event: {e}")),
                ),
            },
            Err(e) => (Vec::new(), None, Some(e.to_string())),
        };
        // Go on while pages bring something; an empty page means: caught up for now.
        let more = next.is_some() && error.is_none() && !events.is_empty();
        let sub = Submission {
            plugin: plugin.to_owned(),
            platform: platform.to_owned(),
            source: Source::Poll {
                next_cursor: next.clone(),
                error: error.clone(),
                lease: lease.cloned(),
            },
            events,
        };
        match ingest.submit(sub).await {
            Ok(Committed { events, new_events }) => {
                report.pages += usize::from(error.is_none());
                if error.is_none() {
                    metrics::counter!("kolhost_poll_pages_total", "plugin" => plugin.to_owned())
                        .increment(1);
                }
                report.events += events;
                report.new_events += new_events;
                // Only now, with the page durable, is it acknowledged to the platform. A crash
                // before this line leaves it unconfirmed: the platform delivers it again and
                // the event keys make the repeat count once.
                if let Some(r) = receipt.as_deref().filter(|r| !r.is_empty())
                    && let Err(e) = registry.confirm(plugin, r).await
                {
                    report.error = Some(format!("confirming the page failed: {e}"));
                    return report;
                }
            }
            Err(e) => {
                report.error = Some(e.to_string());
                return report;
            }
        }
        if let Some(e) = error {
            report.error = Some(e);
            return report;
        }
        cursor = next;
        report.cursor = cursor.clone();
        if !more {
            break;
        }
    }
    report
}
