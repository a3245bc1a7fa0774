//! A fresh, stripped Lua state per run: the standard library minus everything that reaches outside
//! the state, plus the host helpers in the `kolhost` table.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use mlua::chunk::ChunkMode;
use mlua::{
    Function, Lua, LuaOptions, LuaSerdeExt, LuaString, MultiValue, StdLib, Value, Variadic,
};

use super::convert::lua_to_json;

/// Lines logged by the script (`kolhost.log`, `print`), bounded.
#[derive(Debug, Default)]
pub(crate) struct LogSink {
    pub lines: Vec<String>,
    pub dropped: usize,
    pub max_lines: usize,
    pub max_chars: usize,
    /// Set when the script read the clock: its result then depends on more than its inputs.
    pub read_clock: bool,
}

impl LogSink {
    fn push(&mut self, line: String) {
        if self.lines.len() >= self.max_lines {
            self.dropped += 1;
        } else {
            self.lines.push(truncate(line, self.max_chars));
        }
    }
}

pub(crate) fn truncate(mut s: String, max_chars: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(max_chars) {
        s.truncate(i);
        s.push('…');
    }
    s
}

/// Prunes the base library; runs once, trusted, before the script.
const PRUNE: &str = r#"
dofile = nil
loadfile = nil
require = nil
string.dump = nil
-- getmetatable("") answers false; the shared string metatable cannot be reached or changed.
local string_mt = getmetatable("")
string_mt.__metatable = false
-- Deterministic randomness: a preview of the same data gives the same answer.
math.randomseed(20261125)
local allowed_gc = { count = true, collect = true, step = true, isrunning = true }
local real_gc, type, error = collectgarbage, type, error
collectgarbage = function(opt, ...)
  opt = opt or "collect"
  if type(opt) ~= "string" or not allowed_gc[opt] then
    error("collectgarbage: option '" .. tostring(opt) .. "' is not allowed in strategies", 2)
  end
  return real_gc(opt, ...)
end
"#;

/// Libraries loaded: base (then pruned), table, string, math, utf8. Not io, os, package, debug,
/// coroutine.
pub(crate) fn new_state(log: Rc<RefCell<LogSink>>, started: Instant) -> mlua::Result<Lua> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8,
        LuaOptions::default(),
    )?;
    // No collection runs until the script nears its memory cap. Lua collects (a full, emergency
    // collection) before it fails an allocation, and the cap makes allocations fail, so memory
    // stays within the cap as before; what changes is that a strategy that makes little garbage
    // (the bundled ones) never pays for marking the large ctx, again and again, while it runs: a
    // quarter of the pyramid's CPU time (BENCHMARKS.md). A script that makes a lot pays one full
    // collection each time it reaches the cap.
    lua.gc_stop();
    lua.load(PRUNE)
        .set_name("=kolhost-sandbox")
        .set_mode(ChunkMode::Text)
        .exec()?;
    let globals = lua.globals();

    // load(chunk [, chunkname [, mode [, env]]]): text only, strings only.
    let load = lua.create_function(|lua, args: MultiValue| {
        let mut args = args.into_iter();
        let chunk = match args.next() {
            Some(Value::String(s)) => s,
            _ => {
                return Err(mlua::Error::runtime(
                    "load: only a source string is accepted in strategies",
                ));
            }
        };
        let name = match args.next() {
            Some(Value::String(s)) => format!("={}", s.to_string_lossy()),
            _ => "=(load)".to_string(),
        };
        match args.next() {
            None | Some(Value::Nil) => {}
            Some(Value::String(m)) if m.as_bytes().as_ref() == b"t" => {}
            Some(_) => {
                return Err(mlua::Error::runtime(
                    "load: only text mode (\"t\") is allowed in strategies",
                ));
            }
        }
        let env = args.next();
        let bytes = chunk.as_bytes().to_vec();
        if bytes.first() == Some(&0x1b) {
            return Ok((
                Value::Nil,
                Some("attempt to load a binary chunk".to_string()),
            ));
        }
        let mut c = lua.load(bytes).set_name(name).set_mode(ChunkMode::Text);
        match env {
            None => {}
            Some(Value::Table(t)) => c = c.set_environment(t),
            Some(_) => {
                return Err(mlua::Error::runtime(
                    "load: env must be a table in strategies",
                ));
            }
        }
        match c.into_function() {
            Ok(f) => Ok((Value::Function(f), None)),
            Err(mlua::Error::SyntaxError { message, .. }) => Ok((Value::Nil, Some(message))),
            Err(e) => Err(e),
        }
    })?;
    globals.raw_set("load", load)?;

    let kolhost = lua.create_table()?;
    let log_fn = {
        let log = log.clone();
        lua.create_function(move |_, args: Variadic<Value>| {
            let mut line = String::new();
            for (i, v) in args.iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                line.push_str(&display(v));
            }
            log.borrow_mut().push(line);
            Ok(())
        })?
    };
    kolhost.raw_set("log", log_fn.clone())?;
    globals.raw_set("print", log_fn)?;
    let now_log = log.clone();
    kolhost.raw_set(
        "now",
        lua.create_function(move |_, ()| {
            now_log.borrow_mut().read_clock = true;
            Ok(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true))
        })?,
    )?;
    kolhost.raw_set(
        "time",
        lua.create_function(|_, s: LuaString| {
            let s = s.to_string_lossy();
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.timestamp())
                .map_err(|e| mlua::Error::runtime(format!("kolhost.time: {s:?}: {e}")))
        })?,
    )?;
    let clock_log = log.clone();
    kolhost.raw_set(
        "clock",
        lua.create_function(move |_, ()| {
            clock_log.borrow_mut().read_clock = true;
            Ok(started.elapsed().as_secs_f64())
        })?,
    )?;
    let json = lua.create_table()?;
    json.raw_set(
        "encode",
        lua.create_function(|_, v: Value| {
            let j = lua_to_json(&v, 0).map_err(mlua::Error::runtime)?;
            serde_json::to_string(&j).map_err(mlua::Error::external)
        })?,
    )?;
    json.raw_set(
        "decode",
        lua.create_function(|lua, s: LuaString| {
            let v: serde_json::Value = serde_json::from_slice(&s.as_bytes())
                .map_err(|e| mlua::Error::runtime(format!("kolhost.json.decode: {e}")))?;
            json_to_lua(lua, &v)
        })?,
    )?;
    kolhost.raw_set("json", json)?;
    globals.raw_set("kolhost", kolhost)?;
    Ok(lua)
}

/// JSON to Lua: objects and arrays become tables, null becomes nil.
pub(crate) fn json_to_lua(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    let opts = mlua::serde::SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    lua.to_value_with(v, opts)
}

fn display(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.to_string_lossy(),
        Value::Table(_) => match lua_to_json(v, 0) {
            Ok(j) => j.to_string(),
            Err(_) => "table".into(),
        },
        other => other.type_name().to_string(),
    }
}

/// The strategy entry point, once the chunk has run.
pub(crate) fn allocate_fn(lua: &Lua) -> Option<Function> {
    match lua.globals().raw_get::<Value>("allocate") {
        Ok(Value::Function(f)) => Some(f),
        _ => None,
    }
}
