//! The script's result back into Rust, strictly (`ctx` goes in through `ctx_tables`): a result of
//! the wrong shape is a clear error naming the path (`result.assignments[3].units: expected integer, got
//! float 2.5`), never a panic. Paths in these errors use Lua's 1-based indexes.

use mlua::{Lua, Table, Value};

use crate::domain::allocation::Assignment;

use super::fast_read;
use super::limits::ScriptLimits;
use super::sandbox::truncate;

/// A shape error in the result: (path, message).
pub(crate) type ShapeError = (String, String);

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => format!("integer {i}"),
        Value::Number(n) => format!("float {n}"),
        Value::String(s) => format!("string {:?}", truncate(s.to_string_lossy(), 40)),
        Value::Boolean(b) => format!("boolean {b}"),
        other => other.type_name().to_string(),
    }
}

fn shape(path: impl Into<String>, msg: impl Into<String>) -> ShapeError {
    (path.into(), msg.into())
}

/// The keys of `t` must be exactly 1..n (a Lua sequence); returns n.
fn sequence_len(t: &Table, path: &str) -> Result<usize, ShapeError> {
    let n = t.raw_len();
    let mut count = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| shape(path, e.to_string()))?;
        match k {
            Value::Integer(i) if i >= 1 && (i as usize) <= n => count += 1,
            other => {
                return Err(shape(
                    path,
                    format!(
                        "expected an array (keys 1..n), found key {}",
                        describe(&other)
                    ),
                ));
            }
        }
    }
    if count != n {
        return Err(shape(path, "expected an array without holes"));
    }
    Ok(n)
}

// The readers below take the path as a closure: it is only formatted when there is an error,
// since reading a large result otherwise spends most of its time writing paths nobody reads.

fn as_string(v: Value, path: impl Fn() -> String) -> Result<String, ShapeError> {
    match v {
        Value::String(s) => s
            .to_str()
            .map(|s| s.to_string())
            .map_err(|_| shape(path(), "expected a UTF-8 string")),
        other => Err(shape(
            path(),
            format!("expected string, got {}", describe(&other)),
        )),
    }
}

fn as_integer(v: Value, path: impl Fn() -> String) -> Result<i64, ShapeError> {
    match v {
        Value::Integer(i) => Ok(i),
        // 2^63 is exactly representable; anything in [-2^63, 2^63) and integral fits an i64.
        Value::Number(n)
            if n.is_finite()
                && n.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) =>
        {
            Ok(n as i64)
        }
        other => Err(shape(
            path(),
            format!("expected integer, got {}", describe(&other)),
        )),
    }
}

/// Reads `{assignments = {...}, notes = {...}}`.
pub(crate) fn result_from_lua(
    lua: &Lua,
    v: Value,
    limits: &ScriptLimits,
) -> Result<(Vec<Assignment>, Vec<String>), ShapeError> {
    let root = match v {
        Value::Table(t) => t,
        other => {
            return Err(shape(
                "result",
                format!(
                    "allocate(ctx) must return a table {{assignments = {{...}}, notes = {{...}}}}, got {}",
                    describe(&other)
                ),
            ));
        }
    };
    for pair in root.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| shape("result", e.to_string()))?;
        match &k {
            Value::String(s) if matches!(s.as_bytes().as_ref(), b"assignments" | b"notes") => {}
            other => {
                return Err(shape(
                    "result",
                    format!(
                        "unexpected key {} (only `assignments` and `notes`)",
                        describe(other)
                    ),
                ));
            }
        }
    }

    let assignments_v: Value = root
        .raw_get("assignments")
        .map_err(|e| shape("result", e.to_string()))?;
    let assignments = match assignments_v {
        Value::Nil => return Err(shape("result.assignments", "missing")),
        Value::Table(list) => match fast_read::assignments(lua, &list, limits.max_assignments) {
            Some(read) => read,
            None => strict_assignments(&list, limits)?,
        },
        other => {
            return Err(shape(
                "result.assignments",
                format!("expected an array of assignments, got {}", describe(&other)),
            ));
        }
    };

    let notes_v: Value = root
        .raw_get("notes")
        .map_err(|e| shape("result", e.to_string()))?;
    let mut notes = Vec::new();
    match notes_v {
        Value::Nil => {}
        Value::Table(list) => {
            let n = sequence_len(&list, "result.notes")?;
            if n > limits.max_notes {
                return Err(shape(
                    "result.notes",
                    format!("{n} notes, at most {} allowed", limits.max_notes),
                ));
            }
            for i in 1..=n {
                let path = || format!("result.notes[{i}]");
                let item: Value = list.raw_get(i).map_err(|e| shape(path(), e.to_string()))?;
                notes.push(truncate(as_string(item, path)?, limits.max_note_chars));
            }
        }
        other => {
            return Err(shape(
                "result.notes",
                format!("expected an array of strings, got {}", describe(&other)),
            ));
        }
    }
    Ok((assignments, notes))
}

/// The strict reader of `result.assignments`: names the path of the first problem.
fn strict_assignments(list: &Table, limits: &ScriptLimits) -> Result<Vec<Assignment>, ShapeError> {
    let n = sequence_len(list, "result.assignments")?;
    if n > limits.max_assignments {
        return Err(shape(
            "result.assignments",
            format!(
                "{n} assignments, at most {} allowed",
                limits.max_assignments
            ),
        ));
    }
    let mut assignments = Vec::with_capacity(n);
    for i in 1..=n {
        let item: Value = list
            .raw_get(i)
            .map_err(|e| shape(format!("result.assignments[{i}]"), e.to_string()))?;
        assignments.push(assignment_from_lua(item, i)?);
    }
    Ok(assignments)
}

pub(crate) const ASSIGNMENT_FIELDS: [&str; 6] = [
    "product_id",
    "kol_id",
    "session_id",
    "units",
    "live_price_fen",
    "reason",
];

/// Reads `result.assignments[i]` in one pass over its fields.
fn assignment_from_lua(v: Value, i: usize) -> Result<Assignment, ShapeError> {
    let path = || format!("result.assignments[{i}]");
    let t = match v {
        Value::Table(t) => t,
        other => {
            return Err(shape(
                path(),
                format!("expected a table, got {}", describe(&other)),
            ));
        }
    };
    let mut fields: [Value; 6] = Default::default();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| shape(path(), e.to_string()))?;
        let known = match &k {
            Value::String(s) => ASSIGNMENT_FIELDS
                .iter()
                .position(|f| s.as_bytes().as_ref() == f.as_bytes()),
            _ => None,
        };
        let Some(j) = known else {
            return Err(shape(
                path(),
                format!(
                    "unknown field {} (fields: {})",
                    describe(&k),
                    ASSIGNMENT_FIELDS.join(", ")
                ),
            ));
        };
        fields[j] = v;
    }
    let [
        product_id,
        kol_id,
        session_id,
        units,
        live_price_fen,
        reason,
    ] = fields;
    let at = |field: &'static str| move || format!("result.assignments[{i}].{field}");
    Ok(Assignment {
        product_id: as_string(product_id, at("product_id"))?,
        kol_id: as_string(kol_id, at("kol_id"))?,
        session_id: as_string(session_id, at("session_id"))?,
        units: as_integer(units, at("units"))?,
        live_price_fen: as_integer(live_price_fen, at("live_price_fen"))?,
        reason: match reason {
            Value::Nil => String::new(),
            v => truncate(as_string(v, at("reason"))?, 500),
        },
    })
}

/// Lua to JSON for `kolhost.json.encode` and logging: sequences become arrays, other tables
/// objects with string keys; depth-limited so cycles end in an error.
pub(crate) fn lua_to_json(v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    if depth > 64 {
        return Err("nesting deeper than 64 (a cycle?)".into());
    }
    Ok(match v {
        Value::Nil => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => J::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(J::Number)
            .ok_or_else(|| format!("cannot encode {n} in JSON"))?,
        Value::String(s) => J::String(s.to_string_lossy()),
        Value::Table(t) => {
            let n = t.raw_len();
            if n > 0 && sequence_len(t, "").is_ok() {
                let mut out = Vec::with_capacity(n);
                for i in 1..=n {
                    let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    out.push(lua_to_json(&item, depth + 1)?);
                }
                J::Array(out)
            } else {
                let mut out = serde_json::Map::new();
                for pair in t.pairs::<Value, Value>() {
                    let (k, item) = pair.map_err(|e| e.to_string())?;
                    let key = match k {
                        Value::String(s) => s.to_string_lossy(),
                        Value::Integer(i) => i.to_string(),
                        other => return Err(format!("cannot encode a {} key", other.type_name())),
                    };
                    out.insert(key, lua_to_json(&item, depth + 1)?);
                }
                J::Object(out)
            }
        }
        Value::LightUserData(l) if l.0.is_null() => J::Null,
        other => return Err(format!("cannot encode a {}", other.type_name())),
    })
}
