//! Extractors whose rejections are problem+json: malformed JSON is 400, JSON that does not fit
//! the expected shape is 422 naming the field, an oversized body is 413. Also the one download
//! response, a CSV file.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::service::settlement::CsvFile;

/// Path parameters; a malformed id is a 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query parameters; a malformed query is a 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// A JSON request body.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(r.body_text())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body: syntax errors are 400, shape errors are 422 with the field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
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
        ApiError::field(field, message)
    })
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
