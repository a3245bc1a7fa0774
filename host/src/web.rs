//! The dashboard (`web/`): static files served at `/`, embedded in release builds (debug builds
//! read them from disk, so a page can be edited without rebuilding).
//!
//! It is the router's fallback, so every API route, `/webhooks/...`, `/healthz` and `/metrics`
//! keep priority. Unknown `/api/...` and `/webhooks/...` paths stay problem+json 404s; any other
//! unknown path without a file extension is a page of the dashboard and gets `index.html`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::api::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../web/"]
struct Assets;

/// Only this origin's scripts, styles, images and API; no framing, no plugins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The router's fallback: a dashboard file, the dashboard's page, or a problem+json 404.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_api(path) || !(method == Method::GET || method == Method::HEAD) {
        return ApiError::NotFound("route").into_response();
    }
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if let Some(file) = Assets::get(rel) {
        return respond(rel, file, &headers);
    }
    let last = rel.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        // A missing asset: never answer a script or stylesheet request with the page.
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Assets::get("index.html") {
        Some(file) => respond("index.html", file, &headers),
        None => ApiError::NotFound("route").into_response(),
    }
}

fn is_api(path: &str) -> bool {
    ["/api", "/webhooks"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

fn respond(rel: &str, file: rust_embed::EmbeddedFile, req: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut res = if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(rel)),
    );
    // File names are not fingerprinted: let browsers keep a copy but revalidate it (a cheap 304).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

fn content_type(rel: &str) -> &'static str {
    match rel.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "lua" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(path: &str) -> Response {
        fallback(Method::GET, path.parse().unwrap(), HeaderMap::new()).await
    }

    #[tokio::test]
    async fn pages_get_the_index_and_api_paths_stay_problems() {
        let root = get("/").await;
        assert_eq!(root.status(), 200);
        assert_eq!(
            root.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(
            root.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        assert_eq!(get("/contracts/abc").await.status(), 200);
        let js = get("/app.js").await;
        assert_eq!(
            js.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(get("/missing.js").await.status(), 404);
        for api in ["/api", "/api/v1/nope", "/webhooks/nowhere"] {
            let res = get(api).await;
            assert_eq!(res.status(), 404, "{api}");
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
        let post = fallback(Method::POST, "/".parse().unwrap(), HeaderMap::new()).await;
        assert_eq!(post.status(), 404);
    }

    #[tokio::test]
    async fn an_unchanged_file_is_a_304() {
        let first = get("/app.js").await;
        let etag = first.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, etag);
        let again = fallback(Method::GET, "/app.js".parse().unwrap(), h).await;
        assert_eq!(again.status(), 304);
    }
}
