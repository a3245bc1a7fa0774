//! `POST /webhooks/{platform}`: platform deliveries, verified and parsed by that platform's
//! plugin, made durable, then acknowledged with the body the platform expects.
//!
//! | what happened | answer | stored as |
//! | --- | --- | --- |
//! | verified, parsed, committed | the plugin's reply (e.g. Douyin `{"code":0,"msg":"success"}`) | `accepted` |
//! | bad signature, cannot be decrypted | 401 problem | `rejected`, never applied |
//! | authentic but not understood | 400 problem | `malformed` |
//! | the plugin trapped, timed out or returned invalid events | 503 problem | `failed`, kept for replay |
//! | body over `webhook_max_body_bytes` | 413 problem | nothing |
//! | plugin missing config, disabled, quarantined, busy; store down | 503 problem, `Retry-After` | nothing (the platform retries) |
//!
//! A repeated delivery is acknowledged again and its events count once (they are deduplicated
//! by their keys).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::ingest::{DeliveryRecord, DeliveryStatus, Source, Submission, events::validate_all};
use crate::plugins::CallError;
use crate::plugins::bindings::{Delivery, PluginError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// Receives one platform delivery.
#[utoipa::path(post, path = "/webhooks/{platform}", tag = "webhooks",
    params(("platform" = String, Path, description = "`taobao`, `douyin`, `kuaishou` or another platform with a plugin")),
    request_body(content = Vec<u8>, description = "the platform's raw delivery", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the platform's acknowledgement, as its plugin composed it"),
        (status = 400, body = super::error::Problem), (status = 401, body = super::error::Problem),
        (status = 404, body = super::error::Problem), (status = 413, body = super::error::Problem),
        (status = 503, body = super::error::Problem)),
    security(()))]
async fn receive(
    State(s): State<AppState>,
    Path(platform): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let result = handle(&s, &platform, req).await;
    let label = match &result {
        Ok(_) => "accepted",
        Err(e) => match super::error::status(e) {
            StatusCode::UNAUTHORIZED => "rejected",
            StatusCode::BAD_REQUEST => "malformed",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::NOT_FOUND => "unknown_platform",
            _ => "unavailable",
        },
    };
    // Only platforms with a plugin get their own label, so paths cannot grow the metric.
    let platform = if label == "unknown_platform" {
        "unknown".to_owned()
    } else {
        platform
    };
    metrics::counter!("kolhost_webhook_deliveries_total", "platform" => platform, "outcome" => label)
        .increment(1);
    result
}

async fn handle(s: &AppState, platform: &str, req: Request) -> ApiResult<Response> {
    if !valid_platform(platform) {
        return Err(ApiError::NotFound("platform"));
    }
    let plugin = s
        .plugins
        .platform_plugin(platform)
        .ok_or(ApiError::NotFound("platform plugin"))?;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, s.config.webhook_max_body_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let delivery = Delivery {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    // Every path below stores the delivery at most once, so it is moved, not copied.
    let submission = |delivery: Delivery, status, error, events| Submission {
        plugin: plugin.clone(),
        platform: platform.to_owned(),
        source: Source::Webhook(DeliveryRecord {
            id: Uuid::now_v7(),
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
        }),
        events,
    };
    // A delivery that will not be applied: kept without events.
    let unapplied =
        |delivery, status, message| submission(delivery, status, Some(message), Vec::new());

    let parsed = match s.plugins.verify_webhook(&plugin, &delivery).await {
        Ok(()) => s.plugins.parse_webhook(&plugin, &delivery).await,
        Err(e) => Err(e),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(CallError::Plugin(PluginError::Unauthorized(m))) => {
            let detail = format!("the delivery is not authentic: {m}");
            return keep(
                s,
                unapplied(delivery, DeliveryStatus::Rejected, m),
                ApiError::NotAuthentic(detail),
            )
            .await;
        }
        Err(CallError::Plugin(PluginError::Malformed(m))) => {
            let detail = format!("the delivery cannot be understood: {m}");
            return keep(
                s,
                unapplied(delivery, DeliveryStatus::Malformed, m),
                ApiError::BadRequest(detail),
            )
            .await;
        }
        Err(e) if e.is_fault() => {
            let m = e.to_string();
            let detail = format!("the {plugin} plugin failed on this delivery: {m}");
            return keep(
                s,
                unapplied(delivery, DeliveryStatus::Failed, m),
                ApiError::Unavailable(detail),
            )
            .await;
        }
        Err(e) => {
            return Err(ApiError::Unavailable(format!(
                "the {plugin} plugin cannot take deliveries now: {e}"
            )));
        }
    };
    let events = match validate_all(parsed.events) {
        Ok(ev) => ev,
        Err(e) => {
            let m = format!("the plugin returned an invalid event: {e}");
            return keep(
                s,
                unapplied(delivery, DeliveryStatus::Failed, m.clone()),
                ApiError::Unavailable(m),
            )
            .await;
        }
    };
    let sub = submission(delivery, DeliveryStatus::Accepted, None, events);
    s.ingest
        .submit(sub)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the delivery could not be stored: {e}")))?;

    let reply = parsed.reply;
    let status = StatusCode::from_u16(reply.status)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(&reply.content_type)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or(HeaderValue::from_static("application/json"));
    let mut res = Response::new(Body::from(reply.body));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, content_type);
    Ok(res)
}

/// Stores a delivery that will not be applied, then answers `err`.
async fn keep(s: &AppState, sub: Submission, err: ApiError) -> ApiResult<Response> {
    match s.ingest.submit(sub).await {
        Ok(_) => Err(err),
        Err(e) => Err(ApiError::Unavailable(format!(
            "the delivery could not be stored: {e}"
        ))),
    }
}

/// Platform names are short lower-case words; anything else is not a route.
fn valid_platform(p: &str) -> bool {
    (1..=32).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
