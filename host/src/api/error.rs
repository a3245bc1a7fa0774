//! The application layer's one error type, rendered once as RFC 9457
//! `application/problem+json`; extractor rejections join it here.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::i18n;
use crate::domain::FieldError;
pub use crate::service::Error as ApiError;

/// The RFC 9457 body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable, machine-readable name of the problem (e.g. `validation_failed`, `not_found`).
    pub code: String,
    /// The values `detail` names, for a client writing its own text for `code` (`what` of
    /// `not_found`, `retry_after_secs` of `too_many_requests`, ...).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Problem-specific members (RFC 9457 §3.2), e.g. a script error's `code` and `line`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// The HTTP status of each application error.
pub fn status(e: &ApiError) -> StatusCode {
    match e {
        ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ApiError::Unauthorized | ApiError::NotAuthentic(_) => StatusCode::UNAUTHORIZED,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Forbidden(_) | ApiError::Denied { .. } => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict { .. } => StatusCode::CONFLICT,
        ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::Validation(_) | ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::Script(e) if e.is_script_fault() => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::Script(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The stable `code` of each application error.
pub fn code(e: &ApiError) -> &'static str {
    match e {
        ApiError::BadRequest(_) => "bad_request",
        ApiError::Unauthorized => "unauthorized",
        ApiError::NotAuthentic(_) => "not_authentic",
        ApiError::Unavailable(_) => "unavailable",
        ApiError::TooManyRequests { .. } => "too_many_requests",
        ApiError::Forbidden(_) => "forbidden",
        ApiError::Denied { code, .. } => code,
        ApiError::NotFound(_) => "not_found",
        ApiError::Conflict { code, .. } => code,
        ApiError::PayloadTooLarge => "payload_too_large",
        ApiError::Validation(_) => "validation_failed",
        ApiError::Rejected { .. } => "rejected",
        ApiError::Script(_) => "script_error",
        ApiError::Internal(_) => "internal_error",
    }
}

/// The stable `code` of a status that no application error produced (routing, limits,
/// timeouts, the HTTP parser).
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "too_many_requests",
        431 => "request_header_fields_too_large",
        501 => "not_implemented",
        503 => "unavailable",
        504 => "timeout",
        505 => "http_version_not_supported",
        s if s >= 500 => "internal_error",
        _ => "client_error",
    }
}

impl Problem {
    /// A problem with no field errors or extensions.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.into(),
            params: serde_json::Map::new(),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        }
    }

    /// The response: this body as `application/problem+json` under its status.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(PROBLEM_JSON),
        );
        res
    }
}

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.into_response_with(status)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(&self);
        match &self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            ApiError::Script(e) if !e.is_script_fault() => {
                tracing::error!(error = %e, "script host failed")
            }
            _ => {}
        }
        let bearer_challenge = matches!(self, ApiError::Unauthorized);
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let detail = match &self {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let mut problem = Problem::new(status, code(&self), detail);
        match &self {
            ApiError::NotFound(what) => {
                problem.params.insert("what".into(), (*what).into());
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                problem
                    .params
                    .insert("retry_after_secs".into(), (*retry_after_secs).into());
            }
            ApiError::Conflict { params, .. } => problem.params.clone_from(params),
            _ => {}
        }
        let problem = match self {
            ApiError::Validation(errors) => Problem { errors, ..problem },
            ApiError::Rejected {
                errors,
                mut extensions,
                ..
            } => {
                // A rejection may name its own, more precise code (e.g. a plugin's error kind),
                // and the values its detail names.
                let code = match extensions.remove("code") {
                    Some(serde_json::Value::String(c)) => c,
                    _ => problem.code.clone(),
                };
                let params = match extensions.remove("params") {
                    Some(serde_json::Value::Object(p)) => p,
                    _ => problem.params.clone(),
                };
                Problem {
                    errors,
                    extensions,
                    code,
                    params,
                    ..problem
                }
            }
            ApiError::Script(e) => {
                let mut extensions = serde_json::Map::new();
                let code = e.code().to_string();
                extensions.insert(
                    "line".into(),
                    e.line().map_or(serde_json::Value::Null, Into::into),
                );
                let mut params = serde_json::Map::new();
                if let Some(line) = e.line() {
                    params.insert("line".into(), line.into());
                }
                let mut error = FieldError::new("source", e.code(), e.to_string());
                error.params.clone_from(&params);
                Problem {
                    errors: vec![error],
                    extensions,
                    code,
                    params,
                    ..problem
                }
            }
            _ => problem,
        };
        let mut res = problem.into_response_with(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        if bearer_challenge {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(format!("invalid path: {}", r.body_text()))
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(format!("invalid query: {}", r.body_text()))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Marks an answer whose body a third party defined (a platform's webhook acknowledgement, as
/// its plugin composed it): [`uniform`] leaves it as it is, whatever its status.
#[derive(Debug, Clone, Copy)]
pub struct ForeignBody;

/// Middleware making every error answer problem+json (design §3): whatever a layer below
/// answered with another body (routing's 404 and 405, axum's extractor rejections, body
/// limits, timeouts) is rewritten here, keeping its status and headers such as `Allow`.
pub async fn uniform(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = i18n::negotiate(req.headers());
    let mut res = problem_json(req, next).await;
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was never read, so this connection cannot carry another request:
        // say so, or a client reusing it sees its next request cut off.
        res.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    in_language(res, lang).await
}

/// An error answer in the language the request asked for (`Content-Language` says which).
async fn in_language(res: Response, lang: i18n::Lang) -> Response {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !is_problem {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_LANGUAGE,
        header::HeaderValue::from_static(lang.tag()),
    );
    if lang == i18n::Lang::En {
        return Response::from_parts(parts, body);
    }
    // Problems are small; one that may be larger than the bound (a rejected sheet's every row,
    // say) is passed on untranslated rather than read.
    const MAX_TRANSLATED: u64 = 8 << 20;
    let small = http_body::Body::size_hint(&body)
        .upper()
        .is_some_and(|n| n <= MAX_TRANSLATED);
    if !small {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, MAX_TRANSLATED as usize).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, axum::body::Body::empty()),
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut v) => {
            i18n::localize(&mut v, lang);
            parts.headers.remove(header::CONTENT_LENGTH);
            axum::body::Body::from(serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec()))
        }
        Err(_) => axum::body::Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

/// Whatever a layer below answered as an error, as problem+json.
async fn problem_json(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let timed_out = req
        .extensions()
        .get::<crate::server::BodyDeadline>()
        .cloned();
    let res = next.run(req).await;
    if res.extensions().get::<ForeignBody>().is_some() {
        return res;
    }
    let mut status = res.status();
    if timed_out.as_ref().is_some_and(|d| d.expired()) && status.is_client_error() {
        status = StatusCode::REQUEST_TIMEOUT;
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem && status == res.status() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let detail = if status == StatusCode::REQUEST_TIMEOUT {
        "the request was not received in time".to_owned()
    } else if text.is_empty() || is_problem {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let fresh = Problem::new(status, code_for_status(status), detail).into_response_with(status);
    let (fresh_parts, body) = fresh.into_parts();
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(PROBLEM_JSON),
    );
    if status == StatusCode::REQUEST_TIMEOUT {
        parts.headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    drop(fresh_parts);
    Response::from_parts(parts, body)
}
