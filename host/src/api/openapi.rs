//! The OpenAPI document as served: what the route annotations say, completed once for every
//! operation so that it matches what the server does (design §3): every error is
//! `application/problem+json` (a `default` answer covers the statuses an operation does not
//! list, e.g. 405, 408, 413, 415, 429, 431, 500); public paths need no token; `limit` is 1 to 500.

use serde_json::{Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Paths that take no bearer token.
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics" | "/api/v1/openapi.json")
        || path.starts_with("/webhooks/")
}

/// Text the server accepts: no C0 control characters but tab, line feed and carriage return
/// (`domain::validation::text_problem`).
const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$";

/// Adds [`TEXT_PATTERN`] to every free-text string schema under `schema`.
fn constrain_text(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string
                && !map.contains_key("format")
                && !map.contains_key("enum")
                && !map.contains_key("pattern")
            {
                map.insert("pattern".into(), TEXT_PATTERN.into());
            }
            for (_, v) in map.iter_mut() {
                constrain_text(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(constrain_text),
        _ => {}
    }
}

/// The finished document.
pub fn document(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        // Not the error bodies: they may quote what a client sent.
        for (name, schema) in schemas.iter_mut() {
            if name != "Problem" && name != "FieldError" {
                constrain_text(schema);
            }
        }
    }
    let problem =
        json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    let answer =
        |description: &str| json!({"description": description, "content": problem.clone()});
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let public = is_public(path);
            let has_path_params = path.contains('{');
            for method in METHODS {
                let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                    continue;
                };
                let has_body = op.contains_key("requestBody");
                let has_params = has_path_params
                    || op
                        .get("parameters")
                        .and_then(Value::as_array)
                        .is_some_and(|p| !p.is_empty());
                if public {
                    op.insert("security".into(), json!([]));
                }
                if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                    for p in params.iter_mut() {
                        if p["name"] == "limit" {
                            p["schema"] = json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": 500});
                        } else if p["name"] == "cursor" {
                            // The `next_cursor` of a page: the last id seen.
                            p["schema"] = json!({"type": ["string", "null"], "format": "uuid"});
                        } else if let Some(schema) = p.get_mut("schema") {
                            constrain_text(schema);
                        }
                    }
                }
                let responses = op
                    .entry("responses")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("responses is an object");
                // Documented errors are problems, whatever the annotation said.
                for (status, r) in responses.iter_mut() {
                    if status.starts_with('4') || status.starts_with('5') {
                        let description = r["description"].as_str().unwrap_or("error").to_owned();
                        *r = answer(&description);
                    }
                }
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| answer(description));
                };
                if has_body || has_params {
                    add(
                        "400",
                        "malformed request (JSON syntax, a parameter that does not parse)",
                    );
                    add("422", "valid input that breaks a rule");
                }
                if !public {
                    add("401", "no valid bearer token");
                    add("403", "the token's role may not do this");
                    add("429", "too many requests (see Retry-After)");
                }
                if has_path_params {
                    add("404", "no such record, or not visible to this token");
                }
                if has_body {
                    add("413", "the body is larger than this server accepts");
                }
                add("default", "an error: RFC 9457 problem");
            }
        }
    }
    doc
}
