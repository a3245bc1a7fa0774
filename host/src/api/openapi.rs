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

/// Text that must not be blank (`minLength` 1: the server trims, `Validator::non_empty`): at
/// least one character that is neither white space nor a control character.
const NON_BLANK_TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*[^\\s\\u0000-\\u001F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$";

/// Times the server stores: years 1970 to 9999 (`domain::validation::timestamp_problem`).
const TIME_PATTERN: &str = "^(19[7-9][0-9]|[2-9][0-9]{3})-";

/// Adds [`TEXT_PATTERN`] (or, where `minLength` is at least 1, [`NON_BLANK_TEXT_PATTERN`]) to
/// every free-text string schema under `schema`.
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
                let non_blank = map
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|n| n >= 1);
                let pattern = if non_blank {
                    NON_BLANK_TEXT_PATTERN
                } else {
                    TEXT_PATTERN
                };
                map.insert("pattern".into(), pattern.into());
            }
            for (_, v) in map.iter_mut() {
                constrain_text(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(constrain_text),
        _ => {}
    }
}

/// [`TIME_PATTERN`] on every date-time under `schema` (requests and parameters only: an
/// answer may show a bound in UTC just before 1970, e.g. a CST month's start).
fn constrain_times(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("date-time")
                && !map.contains_key("pattern")
            {
                map.insert("pattern".into(), TIME_PATTERN.into());
            }
            map.values_mut().for_each(constrain_times);
        }
        Value::Array(items) => items.iter_mut().for_each(constrain_times),
        _ => {}
    }
}

/// A JSON value whose text has no control characters (`api::extract` refuses them anywhere in
/// a body), stated to `depth` levels: `pattern`, `items`, `propertyNames` and
/// `additionalProperties` each apply only to their own type, so the schema admits any type.
/// Deeper levels are not constrained: a recursive `$ref` would state it all, but breaks test
/// generators (schemathesis).
fn clean_json(depth: usize) -> Value {
    let mut v = json!({"pattern": TEXT_PATTERN, "propertyNames": {"pattern": TEXT_PATTERN}});
    if depth > 0 {
        v["items"] = clean_json(depth - 1);
        v["additionalProperties"] = clean_json(depth - 1);
    }
    v
}

/// Free-form objects under `schema` (no `properties`, e.g. strategy `params`) hold values and
/// keys without control characters.
fn constrain_free_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let is_object = match map.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                _ => false,
            };
            if is_object
                && !map.contains_key("properties")
                && !map.contains_key("additionalProperties")
            {
                map.insert("propertyNames".into(), json!({"pattern": TEXT_PATTERN}));
                map.insert("additionalProperties".into(), clean_json(1));
            }
            map.values_mut().for_each(constrain_free_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(constrain_free_objects),
        _ => {}
    }
}

/// The component schemas request bodies use, directly or through other components.
fn request_schemas(doc: &Value) -> std::collections::BTreeSet<String> {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.push(name.to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut todo = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for item in paths.values() {
            for method in METHODS {
                refs(&item[method]["requestBody"], &mut todo);
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            refs(&doc["components"]["schemas"][&name], &mut todo);
        }
    }
    seen
}

/// The finished document.
pub fn document(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    let requests = request_schemas(&doc);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in &requests {
            if let Some(schema) = schemas.get_mut(name) {
                constrain_free_objects(schema);
                constrain_times(schema);
            }
        }
    }
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
                            constrain_times(schema);
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::domain::validation::MAX_FEN;
    use crate::scripting::ScriptLimits;

    fn schemas() -> serde_json::Map<String, Value> {
        crate::app::openapi_document()["components"]["schemas"]
            .as_object()
            .expect("component schemas")
            .clone()
    }

    /// The bounds written as literals on the request types are the domain's.
    #[test]
    fn stated_bounds_are_the_domains() {
        let schemas = schemas();
        let mut fen_fields = 0;
        for (name, schema) in &schemas {
            let Some(props) = schema["properties"].as_object() else {
                continue;
            };
            for (field, p) in props {
                let Some(max) = p.get("maximum") else {
                    continue;
                };
                if field.ends_with("_fen") {
                    assert_eq!(max.as_i64(), Some(MAX_FEN), "{name}.{field}");
                    fen_fields += 1;
                }
                if field.ends_with("_bp") {
                    assert_eq!(max.as_i64(), Some(10_000), "{name}.{field}");
                }
            }
        }
        assert!(fen_fields >= 10, "amounts are bounded: {fen_fields}");
        let limits = &schemas["RunLimits"]["properties"];
        let max = ScriptLimits::default();
        assert_eq!(
            limits["instructions"]["maximum"].as_u64(),
            Some(ScriptLimits::MAX_INSTRUCTIONS)
        );
        assert_eq!(
            limits["wall_clock_ms"]["maximum"].as_u64(),
            Some(max.wall_clock.as_millis() as u64)
        );
        assert_eq!(
            limits["memory_bytes"]["maximum"].as_u64(),
            Some(max.memory_bytes as u64)
        );
        let rule = schemas["RuleMode"]["properties"]["rule"]["pattern"]
            .as_str()
            .unwrap();
        let names: Vec<&str> = crate::domain::compliance::RULES
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(rule, format!("^({})$", names.join("|")));
    }

    /// Free text refuses control characters; text that must not be blank says so.
    #[test]
    fn text_patterns_follow_min_length() {
        let schemas = schemas();
        let name = &schemas["NewBrand"]["properties"]["name"];
        assert_eq!(name["pattern"], super::NON_BLANK_TEXT_PATTERN, "{name}");
        let outline = &schemas["NewSession"]["properties"]["outline"];
        assert_eq!(outline["pattern"], super::TEXT_PATTERN, "{outline}");
        let categories = &schemas["NewBrand"]["properties"]["categories"];
        assert_eq!(categories["uniqueItems"], true, "{categories}");
        assert_eq!(categories["items"]["pattern"], "^[a-z0-9_]{1,40}$");
    }

    /// Request times are bounded to the years stored; answers are not (a CST month's start is
    /// the day before in UTC); free-form request objects refuse control characters in keys.
    #[test]
    fn times_and_free_objects_in_requests() {
        let schemas = schemas();
        let starts = &schemas["NewContract"]["properties"]["starts_at"];
        assert_eq!(starts["pattern"], super::TIME_PATTERN, "{starts}");
        let from = &schemas["IncomeReport"]["properties"]["from"];
        assert!(from.get("pattern").is_none(), "{from}");
        let params = &schemas["DryRun"]["properties"]["params"];
        assert_eq!(params["propertyNames"]["pattern"], super::TEXT_PATTERN);
        assert_eq!(
            params["additionalProperties"]["pattern"],
            super::TEXT_PATTERN
        );
        let doc = crate::app::openapi_document();
        let to = doc["paths"]["/api/v1/orders"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "to")
            .unwrap();
        assert_eq!(to["schema"]["pattern"], super::TIME_PATTERN, "{to}");
    }
}
