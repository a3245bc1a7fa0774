//! `scripts/pyramid.lua` under Luau, for the comparison in BENCHMARKS.md ("Luau").
//!
//! kolhost runs Lua 5.4, and mlua links one Lua per build, so this is its own small program:
//! the allocation benchmark writes the ctx and the Rust pyramid's assignments as JSON and runs
//! it (`KOLHOST_BENCH_LUAU=path/to/this/binary`). It runs the same script end to end the way the
//! server would under Luau: a fresh sandboxed state (`sandbox(true)`), a memory limit, an
//! interrupt that stops the script at the deadline, ctx in, `allocate(ctx)`, result out; once
//! interpreted and once with native code generation. It checks that the assignments equal the
//! Rust pyramid's and prints the CPU time per phase, one line per mode, for the benchmark to
//! show beside Lua 5.4.
//!
//! Luau has no integer subtype: every number is a double, so fen amounts are exact only below
//! 2^53, `//` gives floats, and `math.tointeger` / `math.maxinteger` do not exist. The prelude
//! below supplies the two (for integral doubles up to 2^53) so that the unchanged script runs.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mlua::{Function, Lua, LuaSerdeExt, StdLib, Table, Value, ffi};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Assignment {
    product_id: String,
    kol_id: String,
    session_id: String,
    units: i64,
    live_price_fen: i64,
    #[serde(default)]
    reason: String,
}

const PRELUDE: &str = r#"
local floor, LIMIT = math.floor, 2^53
math.maxinteger = LIMIT
math.tointeger = function(x)
  if type(x) == "number" and x == floor(x) and x >= -LIMIT and x <= LIMIT then return x end
  return nil
end
"#;

static STOP: AtomicBool = AtomicBool::new(false);

/// The deadline check Luau calls at loop back-edges and calls: one atomic load.
unsafe extern "C-unwind" fn interrupt(l: *mut ffi::lua_State, gc: c_int) {
    if gc < 0 && STOP.load(Ordering::Relaxed) {
        unsafe { ffi::luaL_error(l, c"kolhost: script budget exhausted".as_ptr()) };
    }
}

struct Phases {
    ctx: Duration,
    allocate: Duration,
    result: Duration,
    cpu_ns: u64,
}

fn run(
    source: &str,
    ctx: &serde_json::Value,
    jit: bool,
) -> mlua::Result<(Vec<Assignment>, Phases)> {
    let c0 = thread_cpu_ns();
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8,
        mlua::LuaOptions::default(),
    )?;
    lua.enable_jit(jit);
    lua.load(PRELUDE).set_name("=prelude").exec()?;
    lua.sandbox(true)?;
    // SAFETY: sets the interrupt callback of the main state; it only reads an atomic.
    unsafe {
        lua.exec_raw::<()>((), |l| {
            (*ffi::lua_callbacks(l)).interrupt = Some(interrupt);
        })?;
    }
    let t = Instant::now();
    let ctx_table: Value = lua.to_value(ctx)?;
    let ctx_time = t.elapsed();
    lua.set_memory_limit(lua.used_memory() + 64 * 1024 * 1024)?;

    let t = Instant::now();
    lua.load(source).set_name("=pyramid.lua").exec()?;
    let allocate: Function = lua.globals().get("allocate")?;
    let result: Table = allocate.call(ctx_table)?;
    let allocate_time = t.elapsed();

    let t = Instant::now();
    lua.set_memory_limit(0)?;
    let list: Table = result.get("assignments")?;
    let mut out = Vec::with_capacity(list.raw_len());
    for item in list.sequence_values::<Table>() {
        let a = item?;
        let int = |field: &str| -> mlua::Result<i64> {
            let n: f64 = a.raw_get(field)?;
            if n.fract() != 0.0 || n.abs() > 2f64.powi(53) {
                return Err(mlua::Error::runtime(format!(
                    "{field}: not an integer: {n}"
                )));
            }
            Ok(n as i64)
        };
        out.push(Assignment {
            product_id: a.raw_get("product_id")?,
            kol_id: a.raw_get("kol_id")?,
            session_id: a.raw_get("session_id")?,
            units: int("units")?,
            live_price_fen: int("live_price_fen")?,
            reason: a.raw_get::<Option<String>>("reason")?.unwrap_or_default(),
        });
    }
    let result_time = t.elapsed();
    drop(lua);
    Ok((
        out,
        Phases {
            ctx: ctx_time,
            allocate: allocate_time,
            result: result_time,
            cpu_ns: thread_cpu_ns() - c0,
        },
    ))
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, script, ctx, expected, runs] = args.as_slice() else {
        eprintln!("usage: kolhost-luau-pyramid SCRIPT.lua CTX.json EXPECTED.json RUNS");
        std::process::exit(2);
    };
    let source = std::fs::read_to_string(script).expect("script");
    let ctx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctx).expect("ctx")).expect("ctx JSON");
    let expected: Vec<Assignment> =
        serde_json::from_slice(&std::fs::read(expected).expect("expected")).expect("expected");
    let runs: u32 = runs.parse().expect("RUNS");

    // A deadline that never comes during the timed runs; checked to work first.
    {
        let lua = Lua::new();
        unsafe {
            lua.exec_raw::<()>((), |l| {
                (*ffi::lua_callbacks(l)).interrupt = Some(interrupt);
            })
            .unwrap();
        }
        STOP.store(true, Ordering::Relaxed);
        let stopped = lua.load("while true do end").exec();
        STOP.store(false, Ordering::Relaxed);
        assert!(stopped.is_err(), "the interrupt stops an endless loop");
    }

    for (mode, jit) in [("interpreted", false), ("native", true)] {
        let (first, _) = run(&source, &ctx, jit).expect("pyramid.lua runs under Luau");
        assert!(
            first == expected,
            "Luau ({mode}) and the Rust pyramid must agree"
        );
        let (mut ctx_t, mut alloc_t, mut result_t, mut cpu) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0u64);
        for _ in 0..runs {
            let (_, p) = run(&source, &ctx, jit).expect("runs");
            ctx_t += p.ctx;
            alloc_t += p.allocate;
            result_t += p.result;
            cpu += p.cpu_ns;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(runs);
        // The benchmark parses this line.
        println!(
            "luau {mode}: cpu_ms={:.1} ctx_ms={:.1} allocate_ms={:.1} result_ms={:.1} assignments={}",
            cpu as f64 / 1e6 / f64::from(runs),
            ms(ctx_t),
            ms(alloc_t),
            ms(result_t),
            first.len()
        );
    }
}
