//! The application layer's one error type, rendered once as RFC 9457
//! `application/problem+json`; extractor rejections join it here.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

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
        ApiError::Forbidden(_) | ApiError::Denied { .. } => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::Validation(_) | ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::Script(e) if e.is_script_fault() => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::Script(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        let detail = match &self {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        };
        let problem = match self {
            ApiError::Validation(errors) => Problem { errors, ..problem },
            ApiError::Rejected {
                errors, extensions, ..
            } => Problem {
                errors,
                extensions,
                ..problem
            },
            ApiError::Denied { code, .. } => {
                let mut extensions = serde_json::Map::new();
                extensions.insert("code".into(), code.into());
                Problem {
                    extensions,
                    ..problem
                }
            }
            ApiError::Script(e) => {
                let mut extensions = serde_json::Map::new();
                extensions.insert("code".into(), e.code().into());
                extensions.insert(
                    "line".into(),
                    e.line().map_or(serde_json::Value::Null, Into::into),
                );
                let errors = vec![FieldError {
                    field: "source".into(),
                    message: e.to_string(),
                }];
                Problem {
                    errors,
                    extensions,
                    ..problem
                }
            }
            _ => problem,
        };
        let mut res = (status, axum::Json(problem)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
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
