//! `POST /webhooks/{platform}`: platform deliveries, verified and parsed by that platform's
//! plugin, made durable, then acknowledged with the body the platform expects
//! (`service::ingest`, which also lists every answer). Here: the request read into a delivery,
//! the reply written back, and the delivery counted by outcome.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, Problem};
use crate::app::AppState;
use crate::service::ingest::{self, Delivery, Reply};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// Receives one platform delivery.
#[utoipa::path(post, path = "/webhooks/{platform}", tag = "webhooks",
    params(("platform" = String, Path, description = "`taobao`, `douyin`, `kuaishou` or another platform with a plugin")),
    request_body(content = Vec<u8>, description = "the platform's raw delivery", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "the platform's acknowledgement, as its plugin composed it"),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem),
        (status = 503, body = Problem)),
    security(()))]
async fn receive(
    State(s): State<AppState>,
    Path(platform): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    // Only platforms with a plugin have their own budget, so paths cannot grow the limiter.
    let key = if s.plugins.status(&platform).is_some() {
        platform.as_str()
    } else {
        "unknown"
    };
    if let Err(e) = s.limits.delivery(key) {
        metrics::counter!("kolhost_webhook_deliveries_total", "platform" => key.to_owned(), "outcome" => "limited")
            .increment(1);
        return Err(e);
    }
    let request = read_delivery(req, s.config.webhook_max_body_bytes);
    let result = ingest::receive(&s.plugins, &s.ingest, &s.limits, &platform, request)
        .await
        .map(reply);
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

/// The request as the plugin sees it; a body over `max_body` bytes is a 413.
async fn read_delivery(req: Request, max_body: usize) -> ApiResult<Delivery> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, max_body)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    Ok(Delivery {
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
    })
}

fn reply(r: Reply) -> Response {
    let mut res = Response::new(Body::from(r.body));
    *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(&r.content_type)
        .unwrap_or(HeaderValue::from_static("application/json"));
    res.headers_mut().insert(header::CONTENT_TYPE, content_type);
    // The platform's format, even for a status the platform reads as an error.
    res.extensions_mut().insert(super::error::ForeignBody);
    res
}
