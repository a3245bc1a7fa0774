//! Running one strategy: fresh sandbox, ctx in, `allocate(ctx)` under the budget, result out.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::{HookTriggers, Lua, Value, VmState};
use serde::Serialize;

use crate::domain::allocation::{self, AllocationContext, AllocationResult, Assignment};

use super::cache::{self, PREVIEWS};
use super::convert::result_from_lua;
use super::ctx_tables::ctx_to_lua;
use super::error::ScriptError;
use super::limits::ScriptLimits;
use super::sandbox::{LogSink, allocate_fn, new_state};
use super::watchdog::{BUDGET_GONE, GRACE, Watchdog};

/// What a script run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunStats {
    /// VM instructions executed (counted in steps of `hook_interval`), when the run had an
    /// instruction budget.
    pub instructions: Option<u64>,
    /// Bytes the Lua state held when the script returned, ctx included.
    pub memory_bytes: usize,
    /// Bytes of the ctx tables alone.
    pub ctx_memory_bytes: usize,
    /// The whole run.
    #[serde(serialize_with = "ser_micros")]
    pub elapsed: Duration,
    /// Building the ctx tables.
    #[serde(serialize_with = "ser_micros")]
    pub ctx_build: Duration,
    /// Loading the chunk and running `allocate(ctx)`.
    #[serde(serialize_with = "ser_micros")]
    pub script: Duration,
    /// Reading the result back into Rust.
    #[serde(serialize_with = "ser_micros")]
    pub result_read: Duration,
    /// The script read the clock (`kolhost.now`, `kolhost.clock`), so its answer may change
    /// with time and is not cached.
    pub read_clock: bool,
    /// Answered from the preview cache: the same source, ctx and limits ran before.
    pub cached: bool,
}

fn ser_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros().min(u128::from(u64::MAX)) as u64)
}

/// The raw output of `allocate(ctx)`, not validated yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunOutput {
    pub assignments: Vec<Assignment>,
    pub notes: Vec<String>,
    /// Lines from `kolhost.log` / `print`.
    pub logs: Vec<String>,
    pub stats: RunStats,
}

/// A validated preview: the allocation answer plus what the run logged and measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Preview {
    pub result: AllocationResult,
    pub logs: Vec<String>,
    pub stats: RunStats,
}

/// The instruction budget, counted by a hook every `hook_interval` instructions. Only set when
/// a run asks for one: while any count hook is set, every instruction costs more (see
/// [`super::watchdog`]), so the wall clock alone is kept by the watchdog.
struct Budget {
    executed: Cell<u64>,
    tripped: Cell<bool>,
    line: Cell<Option<u32>>,
}

fn install_budget_hook(lua: &Lua, interval: u32, limit: u64, budget: Rc<Budget>) {
    let interval = interval.max(1);
    let result = lua.set_hook(
        HookTriggers::new().every_nth_instruction(interval),
        move |lua, debug| {
            let executed = budget.executed.get().saturating_add(u64::from(interval));
            budget.executed.set(executed);
            if executed <= limit {
                return Ok(VmState::Continue);
            }
            if !budget.tripped.replace(true) {
                budget
                    .line
                    .set(debug.current_line().and_then(|l| u32::try_from(l).ok()));
            }
            // From now on every instruction fails, so a script that catches the error with
            // pcall cannot keep running: the next instruction outside the pcall fails again.
            let _ = lua.set_hook(HookTriggers::new().every_nth_instruction(1), |_, _| {
                Err(mlua::Error::runtime(BUDGET_GONE))
            });
            Err(mlua::Error::runtime(BUDGET_GONE))
        },
    );
    // set_hook only fails when the state cannot allocate, which a fresh state can.
    debug_assert!(result.is_ok());
}

/// Runs `allocate(ctx)` of `source` in a fresh sandbox, on the calling thread (blocking: call it
/// from `spawn_blocking` or a dedicated thread, or use [`preview_async`]). `name` is the chunk
/// name that errors report (`pyramid.lua:12: ...`).
pub fn run_strategy(
    source: &str,
    name: &str,
    ctx: &AllocationContext,
    limits: &ScriptLimits,
) -> Result<RunOutput, ScriptError> {
    let started = Instant::now();
    let log = Rc::new(RefCell::new(LogSink {
        max_lines: limits.max_log_lines,
        max_chars: limits.max_note_chars,
        ..LogSink::default()
    }));
    let internal = |e: mlua::Error| ScriptError::Internal(e.to_string());
    let lua = new_state(log.clone(), started).map_err(internal)?;
    let before_ctx = lua.used_memory();
    let ctx_started = Instant::now();
    let ctx_table = ctx_to_lua(&lua, ctx).map_err(internal)?;
    let ctx_build = ctx_started.elapsed();
    let base = lua.used_memory();
    lua.set_memory_limit(base.saturating_add(limits.memory_bytes))
        .map_err(internal)?;

    let budget = Rc::new(Budget {
        executed: Cell::new(0),
        tripped: Cell::new(false),
        line: Cell::new(None),
    });
    if let Some(limit) = limits.instructions {
        install_budget_hook(&lua, limits.hook_interval, limit, budget.clone());
    }
    let mut watchdog = Watchdog::arm(&lua, started + limits.wall_clock).map_err(internal)?;

    let script_started = Instant::now();
    let outcome = run_allocate(&lua, source, name, ctx_table);
    let script = script_started.elapsed();
    watchdog.disarm();
    let mut stats = RunStats {
        instructions: limits.instructions.map(|_| budget.executed.get()),
        memory_bytes: lua.used_memory(),
        ctx_memory_bytes: base.saturating_sub(before_ctx),
        elapsed: started.elapsed(),
        ctx_build,
        script,
        result_read: Duration::ZERO,
        read_clock: false,
        cached: false,
    };
    // A tripped budget wins even if the script swallowed the error and returned something.
    if let Some(line) = watchdog.tripped() {
        return Err(ScriptError::Deadline {
            script: name.to_string(),
            line,
            limit: limits.wall_clock,
        });
    }
    if budget.tripped.get() {
        return Err(ScriptError::InstructionBudget {
            script: name.to_string(),
            line: budget.line.get(),
            limit: limits.instructions.unwrap_or_default(),
        });
    }
    let value = match outcome {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err(ScriptError::MissingAllocate {
                script: name.to_string(),
            });
        }
        Err(e) => return Err(map_lua_error(e, name, limits)),
    };
    let read_started = Instant::now();
    // No script code runs from here on (raw reads only), so the cap can go: with a cap, mlua
    // protects every string push with a pcall, which makes reading big results slow.
    let _ = lua.set_memory_limit(0);
    let (assignments, notes) =
        result_from_lua(&lua, value, limits).map_err(|(path, message)| {
            ScriptError::InvalidResult {
                script: name.to_string(),
                path,
                message,
            }
        })?;
    stats.result_read = read_started.elapsed();
    stats.elapsed = started.elapsed();
    lua.remove_hook();
    let mut log = log.borrow_mut();
    stats.read_clock = log.read_clock;
    let mut logs = std::mem::take(&mut log.lines);
    if log.dropped > 0 {
        logs.push(format!("({} more log lines dropped)", log.dropped));
    }
    Ok(RunOutput {
        assignments,
        notes,
        logs,
        stats,
    })
}

/// Compiles `source` as a text chunk without running it: how a script is checked before it is
/// stored. Bytecode is refused like at run time.
pub fn check_syntax(source: &str, name: &str) -> Result<(), ScriptError> {
    let lua = Lua::new();
    lua.load(source)
        .set_name(format!("={name}"))
        .set_mode(ChunkMode::Text)
        .into_function()
        .map(|_| ())
        .map_err(|e| map_lua_error(e, name, &ScriptLimits::default()))
}

/// `Ok(None)`: the chunk ran but defines no `allocate`.
fn run_allocate(
    lua: &Lua,
    source: &str,
    name: &str,
    ctx: mlua::Table,
) -> mlua::Result<Option<Value>> {
    lua.load(source)
        .set_name(format!("={name}"))
        .set_mode(ChunkMode::Text)
        .exec()?;
    let Some(f) = allocate_fn(lua) else {
        return Ok(None);
    };
    f.call::<Value>(ctx).map(Some)
}

/// Finds `name:LINE:` in `text`; returns the line and the text after that prefix.
fn locate<'a>(text: &'a str, name: &str) -> Option<(u32, &'a str)> {
    let prefix = format!("{name}:");
    let mut rest = text;
    while let Some(pos) = rest.find(&prefix) {
        let after = &rest[pos + prefix.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && after.as_bytes().get(digits) == Some(&b':')
            && let Ok(line) = after[..digits].parse()
        {
            return Some((line, after[digits + 1..].trim_start()));
        }
        rest = after;
    }
    None
}

fn map_lua_error(e: mlua::Error, name: &str, limits: &ScriptLimits) -> ScriptError {
    use mlua::Error as E;
    let memory = || ScriptError::Memory {
        script: name.to_string(),
        limit: limits.memory_bytes,
    };
    match e {
        E::SyntaxError { message, .. } => {
            let (line, msg) = match locate(&message, name) {
                Some((l, m)) => (Some(l), m.to_string()),
                None => (None, message.clone()),
            };
            ScriptError::Syntax {
                script: name.to_string(),
                line,
                message: msg,
            }
        }
        E::MemoryError(_) => memory(),
        E::CallbackError { traceback, cause } => match cause.as_ref() {
            E::MemoryError(_) => memory(),
            inner => {
                let message = match inner {
                    E::RuntimeError(m) => m.clone(),
                    other => other.to_string(),
                };
                ScriptError::Runtime {
                    script: name.to_string(),
                    line: locate(&traceback, name).map(|(l, _)| l),
                    message,
                    traceback,
                }
            }
        },
        E::WithContext { cause, .. } => map_lua_error(cause.as_ref().clone(), name, limits),
        E::RuntimeError(full) => {
            let (first, traceback) = match full.split_once("\nstack traceback:") {
                Some((m, t)) => (m.to_string(), format!("stack traceback:{t}")),
                None => (full.clone(), String::new()),
            };
            if first.trim_start().starts_with("not enough memory") {
                return memory();
            }
            let (line, message) = match locate(&first, name) {
                Some((l, m)) if first.starts_with(&format!("{name}:")) => (Some(l), m.to_string()),
                _ => (locate(&traceback, name).map(|(l, _)| l), first.clone()),
            };
            ScriptError::Runtime {
                script: name.to_string(),
                line,
                message,
                traceback,
            }
        }
        other => ScriptError::Runtime {
            script: name.to_string(),
            line: None,
            message: other.to_string(),
            traceback: String::new(),
        },
    }
}

/// Runs the script and validates its assignments against `ctx` (design §6).
pub fn preview(
    source: &str,
    name: &str,
    ctx: &AllocationContext,
    limits: &ScriptLimits,
) -> Result<Preview, ScriptError> {
    let out = run_strategy(source, name, ctx, limits)?;
    let violations = allocation::validate(ctx, &out.assignments);
    Ok(Preview {
        result: AllocationResult {
            assignments: out.assignments,
            violations,
            notes: out.notes,
        },
        logs: out.logs,
        stats: out.stats,
    })
}

/// [`preview`] on tokio's blocking pool, so a script never blocks the async runtime; a run
/// that repeats an earlier one exactly answers from [`cache`]. Gives up
/// waiting (and answers [`ScriptError::Deadline`]) [`GRACE`] after `limits.wall_clock`, even if
/// the script is stuck inside a single long C call where the VM hook cannot stop it; that thread
/// then finishes on its own.
pub async fn preview_async(
    source: Arc<str>,
    name: Arc<str>,
    ctx: Arc<AllocationContext>,
    limits: ScriptLimits,
) -> Result<Preview, ScriptError> {
    let wait = limits.wall_clock + GRACE;
    let (n, l) = (name.clone(), limits.clone());
    let job = tokio::task::spawn_blocking(move || {
        let key = cache::key(&source, &n, &ctx, &l);
        if let Some(hit) = PREVIEWS.get(&key) {
            let mut p = (*hit).clone();
            p.stats.cached = true;
            return Ok(p);
        }
        let p = preview(&source, &n, &ctx, &l)?;
        if !p.stats.read_clock {
            PREVIEWS.put(key, Arc::new(p.clone()));
        }
        Ok(p)
    });
    match tokio::time::timeout(wait, job).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(ScriptError::Internal(format!("script task failed: {join}"))),
        Err(_) => Err(ScriptError::Deadline {
            script: name.to_string(),
            line: None,
            limit: limits.wall_clock,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn locates_lines() {
        assert_eq!(locate("s.lua:12: boom", "s.lua"), Some((12, "boom")));
        assert_eq!(locate("x s.lua: s.lua:7: a:b", "s.lua"), Some((7, "a:b")));
        assert_eq!(locate("nothing here", "s.lua"), None);
    }
}
