//! Platform webhook deliveries: which plugin takes the platform, verification and parsing by
//! that plugin, validation of what it returned, the durable write through the [`Ingest`] writer,
//! and the acknowledgement the platform expects.
//!
//! | what happened | answer | stored as |
//! | --- | --- | --- |
//! | verified, parsed, committed | the plugin's reply (e.g. Douyin `{"code":0,"msg":"success"}`) | `accepted` |
//! | bad signature, cannot be decrypted | [`Error::NotAuthentic`] | `rejected` digest, never applied |
//! | authentic but not understood | [`Error::BadRequest`] | `malformed` digest |
//! | the plugin trapped, timed out or returned invalid events | [`Error::Unavailable`], generic, with the delivery id | `failed`, kept for replay, the error redacted of the plugin's secrets |
//! | body too large (read by the caller) | [`Error::PayloadTooLarge`] | nothing |
//! | plugin missing config, disabled, quarantined, busy; store down | [`Error::Unavailable`] | nothing (the platform retries) |
//!
//! What a plugin fault says (a trap's panic text, which may hold anything the plugin read) never
//! goes back to the caller: the answer names the delivery, the stored record and the log say
//! what happened, with the plugin's secret values redacted.
//!
//! A repeated delivery is acknowledged again and its events count once (they are deduplicated
//! by their keys).
//!
//! Anyone can post to a webhook, so a refused (`rejected`, `malformed`) delivery is kept only as
//! a digest: its size, SHA-256, first KiB and a few headers, and at most
//! `rejected_deliveries_per_minute` of them per platform; beyond that they are only counted
//! (`kolhost_webhook_unrecorded_total`). `service::retention` prunes them later.

use chrono::Utc;
use uuid::Uuid;

use crate::ingest::{
    DeliveryRecord, DeliveryStatus, Ingest, Source, Submission, events::validate_all,
};
use crate::plugins::bindings::PluginError;
use crate::plugins::{CallError, Registry};
use crate::service::limits::Limits;
use crate::service::{Error, Result};

pub use crate::plugins::bindings::Delivery;

/// The platform's acknowledgement, as its plugin composed it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// A final HTTP status (200 to 999).
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Receives one delivery for `platform`. `request` reads it (method, path, query, headers,
/// body); it is read only once a plugin takes the platform.
pub async fn receive(
    registry: &Registry,
    ingest: &Ingest,
    limits: &Limits,
    platform: &str,
    request: impl Future<Output = Result<Delivery>>,
) -> Result<Reply> {
    if !valid_platform(platform) {
        return Err(Error::NotFound("platform"));
    }
    let plugin = registry
        .platform_plugin(platform)
        .ok_or(Error::NotFound("platform plugin"))?;
    let delivery = request.await?;
    let id = Uuid::now_v7();
    // What the caller is told when the plugin fails: nothing of what the plugin said.
    let failed = || {
        Error::Unavailable(format!(
            "the {plugin} plugin could not process this delivery; it is kept as delivery {id}"
        ))
    };
    // Every path below stores the delivery at most once, so it is moved, not copied.
    let submission = |delivery: Delivery, status, error, events| Submission {
        plugin: plugin.clone(),
        platform: platform.to_owned(),
        source: Source::Webhook(DeliveryRecord {
            id,
            platform: platform.to_owned(),
            plugin: plugin.clone(),
            status,
            method: delivery.method,
            path: delivery.path,
            query: delivery.query,
            headers: delivery.headers,
            body: delivery.body,
            error,
            received_at: Utc::now(),
            size_bytes: None,
            body_sha256: None,
        }),
        events,
    };
    // A delivery that will not be applied: kept without events; a refused one as a digest.
    let unapplied = |delivery, status, message| {
        let mut sub = submission(delivery, status, Some(message), Vec::new());
        if let (Source::Webhook(d), DeliveryStatus::Rejected | DeliveryStatus::Malformed) =
            (&mut sub.source, status)
        {
            digest(d);
        }
        sub
    };

    let parsed = match registry.verify_webhook(&plugin, &delivery).await {
        Ok(()) => registry.parse_webhook(&plugin, &delivery).await,
        Err(e) => Err(e),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(CallError::Plugin(PluginError::Unauthorized(m))) => {
            let detail = format!("the delivery is not authentic: {m}");
            return keep(
                ingest,
                limits,
                unapplied(delivery, DeliveryStatus::Rejected, m),
                Error::NotAuthentic(detail),
            )
            .await;
        }
        Err(CallError::Plugin(PluginError::Malformed(m))) => {
            let detail = format!("the delivery cannot be understood: {m}");
            return keep(
                ingest,
                limits,
                unapplied(delivery, DeliveryStatus::Malformed, m),
                Error::BadRequest(detail),
            )
            .await;
        }
        Err(e) if e.is_fault() => {
            let m = registry.redact(&plugin, &e.to_string());
            return keep(
                ingest,
                limits,
                unapplied(delivery, DeliveryStatus::Failed, m),
                failed(),
            )
            .await;
        }
        Err(e) => {
            // Disabled, quarantined (its reason stays with the integrators), busy, missing.
            let why = match &e {
                CallError::Quarantined { retry_at, .. } => {
                    format!("it is quarantined until at least {retry_at}")
                }
                CallError::Disabled(_) => "it is disabled".to_owned(),
                CallError::Busy => "it is busy".to_owned(),
                _ => "it is not available".to_owned(),
            };
            return Err(Error::Unavailable(format!(
                "the {plugin} plugin cannot take deliveries now: {why}"
            )));
        }
    };
    let events = match validate_all(parsed.events) {
        Ok(ev) => ev,
        Err(e) => {
            let m = registry.redact(
                &plugin,
                &format!("the plugin returned an invalid event: {e}"),
            );
            // The delivery verified, so this counts toward quarantine like a trap would.
            registry.record_failure(&plugin, "parse_webhook", &m).await;
            return keep(
                ingest,
                limits,
                unapplied(delivery, DeliveryStatus::Failed, m),
                failed(),
            )
            .await;
        }
    };
    let sub = submission(delivery, DeliveryStatus::Accepted, None, events);
    ingest.submit(sub).await.map_err(not_stored)?;

    let reply = parsed.reply;
    Ok(Reply {
        status: Some(reply.status)
            .filter(|s| (200..=999).contains(s))
            .unwrap_or(200),
        content_type: Some(reply.content_type)
            .filter(|t| !t.is_empty() && t.bytes().all(header_byte))
            .unwrap_or_else(|| "application/json".into()),
        body: reply.body,
    })
}

/// Stores a delivery that will not be applied, then answers `err`. A refused one (a digest) over
/// its platform's cap is only counted.
async fn keep(ingest: &Ingest, limits: &Limits, sub: Submission, err: Error) -> Result<Reply> {
    if let Source::Webhook(d) = &sub.source
        && d.body_sha256.is_some()
        && limits.refused_delivery(&d.platform).is_err()
    {
        metrics::counter!("kolhost_webhook_unrecorded_total",
            "platform" => d.platform.clone(), "status" => d.status.as_str())
        .increment(1);
        return Err(err);
    }
    match ingest.submit(sub).await {
        Ok(_) => Err(err),
        Err(e) => Err(not_stored(e)),
    }
}

/// How much of a refused delivery is kept.
const KEPT_BODY_BYTES: usize = 1024;
const KEPT_HEADERS: usize = 16;
const KEPT_HEADER_CHARS: usize = 256;

/// Cuts a refused delivery down to what an operator needs: the body's size, SHA-256 and first
/// KiB; at most 16 headers (no credentials), each cut to 256 characters.
fn digest(d: &mut DeliveryRecord) {
    use sha2::{Digest, Sha256};
    d.size_bytes = Some(i64::try_from(d.body.len()).unwrap_or(i64::MAX));
    d.body_sha256 = Some(hex::encode(Sha256::digest(&d.body)));
    d.body.truncate(KEPT_BODY_BYTES);
    d.body.shrink_to_fit();
    d.headers.retain(|(k, _)| {
        !matches!(
            k.to_ascii_lowercase().as_str(),
            "cookie" | "authorization" | "proxy-authorization"
        )
    });
    d.headers.truncate(KEPT_HEADERS);
    for (k, v) in &mut d.headers {
        *k = k.chars().take(64).collect();
        *v = v.chars().take(KEPT_HEADER_CHARS).collect();
    }
    d.query = d.query.chars().take(KEPT_HEADER_CHARS).collect();
    d.path = d.path.chars().take(KEPT_HEADER_CHARS).collect();
}

fn not_stored(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("the delivery could not be stored: {e}"))
}

/// Platform names are short lower-case words; anything else is not a route.
fn valid_platform(p: &str) -> bool {
    (1..=32).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A byte an HTTP header value may hold (as the `http` crate accepts it).
fn header_byte(b: u8) -> bool {
    b == b'\t' || (b >= 32 && b != 127)
}
