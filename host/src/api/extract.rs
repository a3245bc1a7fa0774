//! Extractors whose rejections are problem+json: malformed JSON is 400, JSON that does not fit
//! the expected shape is 422 naming the field, an oversized body is 413. Also the one download
//! response, a CSV file.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::{ApiError, Problem, code_for_status};
use crate::domain::FieldError;
use crate::domain::validation;
use crate::service::settlement::CsvFile;

/// Path parameters; a malformed id is a 400, a control character in a segment a 422.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(m) = decoded_controls(parts.uri.path()) {
            return Err(FieldError::new("path", "control_characters", m).into());
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// Query parameters; a malformed query is a 400, a control character or an out-of-range time
/// in a value a 422 naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let mut errors = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key);
            let value = percent_decode(value);
            if let Some(m) = validation::text_problem(&key) {
                errors.push(FieldError::new(
                    key.escape_debug().to_string(),
                    "control_characters",
                    format!("the parameter name {m}"),
                ));
            } else if let Some(m) = validation::text_problem(&value) {
                errors.push(FieldError::new(key, "control_characters", m));
            } else if let Some(m) = validation::timestamp_problem(&value) {
                errors.push(FieldError::new(key, "out_of_range", m));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// `application/x-www-form-urlencoded` decoding of one query component (`+` is a space);
/// invalid UTF-8 becomes U+FFFD, which the typed parse then refuses where it matters.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A control character that a percent-encoded path carries once decoded.
fn decoded_controls(path: &str) -> Option<&'static str> {
    path.split('/')
        .find_map(|segment| validation::text_problem(&percent_decode(&segment.replace('+', "%2B"))))
}

/// A JSON request body: `Content-Type` must be JSON (else 415), syntax errors are 400, text
/// with control characters, out-of-range times and shape errors are 422 naming the field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Err(Problem::new(
                status,
                code_for_status(status),
                "the request body must be JSON (Content-Type: application/json)",
            )
            .into_response_with(status));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge.into_response()
            } else {
                ApiError::BadRequest(r.body_text()).into_response()
            }
        })?;
        parse(&bytes)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
}

/// `application/json`, with parameters, or any `+json` type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body: syntax errors are 400; control characters in text, times outside the
/// years 1970-9999 and shape errors are 422 with the field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    whole_numbers(&mut value);
    // Every body of this API is an object; serde would also read a struct from an array.
    if !value.is_object() {
        return Err(FieldError::new(".", "not_object", "the body must be a JSON object").into());
    }
    let problems = validation::json_text_problems(&value);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut field = e.path().to_string();
        let message = e.inner().to_string();
        // serde reports a missing field against its parent; name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            field = if field == "." {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            };
        }
        FieldError::from_serde(field, &message).into()
    })
}

/// JSON has one number type: `159.0` is the integer 159 (JSON Schema's `integer` says so too),
/// so numbers without a fraction read as integers wherever the body expects one.
fn whole_numbers(value: &mut serde_json::Value) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact in f64
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < EXACT
            {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A CSV file the service built, sent as an attachment under its file name.
pub struct CsvDownload(pub CsvFile);

impl IntoResponse for CsvDownload {
    fn into_response(self) -> Response {
        let CsvFile { filename, body } = self.0;
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            body,
        )
            .into_response()
    }
}

/// A file the service built (XLSX, CSV), sent as an attachment under its file name.
pub struct FileDownload(pub crate::service::statements::Download);

impl IntoResponse for FileDownload {
    fn into_response(self) -> Response {
        let d = self.0;
        (
            [
                (header::CONTENT_TYPE, d.content_type.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", d.filename),
                ),
            ],
            d.body,
        )
            .into_response()
    }
}
