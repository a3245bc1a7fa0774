//! Lua allocation strategies with real Lua: the bundled strategies on the demo agency, hostile
//! scripts against the sandbox and its budgets, and strict result conversion.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kolhost::domain::allocation::{AllocationContext, ProductRole, Tier, ViolationCode};
use kolhost::scripting::{
    Preview, ScriptError, ScriptLimits, bundled, native_pyramid, preview, preview_async, synthetic,
    test_script,
};

fn demo() -> AllocationContext {
    serde_json::from_str(bundled::DEMO_FIXTURE).expect("demo fixture parses")
}

fn limits() -> ScriptLimits {
    ScriptLimits::strict()
}

fn run(src: &str) -> Result<Preview, ScriptError> {
    preview(src, "t.lua", &demo(), &limits())
}

fn err(src: &str) -> ScriptError {
    match run(src) {
        Ok(p) => panic!("expected an error, got {p:?}"),
        Err(e) => e,
    }
}

/// Wraps a body into `allocate` returning an empty result.
fn body(code: &str) -> String {
    format!("function allocate(ctx)\n{code}\nreturn {{assignments = {{}}, notes = {{}}}}\nend\n")
}

/// A valid assignment on the demo data (launch tea to Chef Wang's kuaishou session).
fn demo_ids() -> (String, String, String, String) {
    let ctx = demo();
    let p = ctx
        .products
        .iter()
        .find(|p| p.sku == "YL-PUER-GIFT")
        .unwrap();
    let k = ctx
        .kols
        .iter()
        .find(|k| k.name.starts_with("Chef Wang"))
        .unwrap();
    let s = ctx
        .sessions
        .iter()
        .find(|s| s.kol_id == k.id && s.platform == "kuaishou")
        .unwrap();
    let tail = ctx.kols.iter().find(|k| k.name.starts_with("Ada")).unwrap();
    (p.id.clone(), k.id.clone(), s.id.clone(), tail.id.clone())
}

fn assert_still_works() {
    let p = preview(
        bundled::PYRAMID.source,
        bundled::PYRAMID.name,
        &demo(),
        &limits(),
    )
    .expect("pyramid runs after a hostile script");
    assert!(p.result.violations.is_empty());
}

mod bundled_strategies {
    use super::*;

    #[test]
    fn pyramid_follows_the_pyramid_and_passes_validation() {
        let ctx = demo();
        let p = preview(
            bundled::PYRAMID.source,
            bundled::PYRAMID.name,
            &ctx,
            &limits(),
        )
        .unwrap();
        let r = &p.result;
        assert!(r.violations.is_empty(), "violations: {:#?}", r.violations);
        let products: HashMap<_, _> = ctx.products.iter().map(|p| (p.id.clone(), p)).collect();
        let kols: HashMap<_, _> = ctx.kols.iter().map(|k| (k.id.clone(), k)).collect();
        let mut per_role = HashMap::new();
        for a in &r.assignments {
            let p = products[&a.product_id];
            let k = kols[&a.kol_id];
            let want = match p.role {
                ProductRole::Launch => Tier::Head,
                ProductRole::Traffic => Tier::Waist,
                ProductRole::Profit => Tier::Tail,
            };
            assert_eq!(
                k.tier, want,
                "{} ({:?}) went to {} ({:?})",
                p.sku, p.role, k.name, k.tier
            );
            assert!(k.categories.contains(&p.category));
            assert!(a.live_price_fen >= p.floor_price_fen);
            assert!(!a.reason.is_empty());
            *per_role.entry(p.role).or_insert(0) += 1;
        }
        for role in [
            ProductRole::Launch,
            ProductRole::Traffic,
            ProductRole::Profit,
        ] {
            assert!(
                per_role.get(&role).copied().unwrap_or(0) > 0,
                "no {role:?} assignment"
            );
        }
        // The serum is already in Luna's only Dewy session: unplaced, and said so.
        assert!(
            r.notes.iter().any(|n| n.contains("DL-HA-SERUM")),
            "notes: {:#?}",
            r.notes
        );
        assert!(r.notes[0].starts_with("pyramid:"));
    }

    #[test]
    fn pyramid_in_lua_equals_pyramid_in_rust() {
        for ctx in [demo(), synthetic::agency(2_000, 200, 7)] {
            let lua = preview(
                bundled::PYRAMID.source,
                bundled::PYRAMID.name,
                &ctx,
                &ScriptLimits::default(),
            )
            .unwrap();
            let native = native_pyramid::allocate(
                &ctx,
                &native_pyramid::PyramidParams::from_params(&ctx.params),
            );
            let key = |a: &kolhost::domain::allocation::Assignment| {
                (
                    a.product_id.clone(),
                    a.kol_id.clone(),
                    a.session_id.clone(),
                    a.units,
                    a.live_price_fen,
                    a.reason.clone(),
                )
            };
            let l: Vec<_> = lua.result.assignments.iter().map(key).collect();
            let n: Vec<_> = native.iter().map(key).collect();
            assert!(!l.is_empty());
            assert_eq!(l, n);
            assert!(
                lua.result.violations.is_empty(),
                "{:#?}",
                &lua.result.violations[..lua.result.violations.len().min(5)]
            );
        }
    }

    #[test]
    fn the_other_bundled_strategies_pass_validation() {
        for s in [bundled::ROUND_ROBIN_FAIR, bundled::CLEARANCE] {
            let p = preview(s.source, s.name, &demo(), &limits()).unwrap();
            assert!(
                p.result.violations.is_empty(),
                "{}: {:#?}",
                s.name,
                p.result.violations
            );
            assert!(
                !p.result.assignments.is_empty(),
                "{} assigned nothing",
                s.name
            );
            assert!(!p.result.notes.is_empty());
        }
    }

    #[test]
    fn clearance_goes_to_tail_kols_at_the_floor_price() {
        let ctx = demo();
        let p = preview(
            bundled::CLEARANCE.source,
            bundled::CLEARANCE.name,
            &ctx,
            &limits(),
        )
        .unwrap();
        for a in &p.result.assignments {
            let prod = ctx.products.iter().find(|p| p.id == a.product_id).unwrap();
            let kol = ctx.kols.iter().find(|k| k.id == a.kol_id).unwrap();
            assert_eq!(kol.tier, Tier::Tail);
            assert_eq!(a.live_price_fen, prod.floor_price_fen);
        }
    }

    #[test]
    fn round_robin_spreads_evenly() {
        let p = preview(
            bundled::ROUND_ROBIN_FAIR.source,
            bundled::ROUND_ROBIN_FAIR.name,
            &demo(),
            &limits(),
        )
        .unwrap();
        let mut per_kol: HashMap<&str, usize> = HashMap::new();
        for a in &p.result.assignments {
            *per_kol.entry(a.kol_id.as_str()).or_default() += 1;
        }
        assert!(per_kol.len() >= 6, "{per_kol:?}");
    }

    #[test]
    fn test_script_prints_a_report() {
        let report = test_script(
            bundled::PYRAMID.source,
            "pyramid.lua",
            bundled::DEMO_FIXTURE,
            &limits(),
        )
        .unwrap();
        assert!(report.passed());
        let text = report.to_string();
        assert!(text.contains("validation: passed"), "{text}");
        assert!(text.contains("YL-PUER-GIFT"), "{text}");

        let bad = test_script(
            bundled::PYRAMID.source,
            "pyramid.lua",
            r#"{"products": [{"id": "p", "brand_id": "b", "category": "food", "role": "hero"}]}"#,
            &limits(),
        )
        .unwrap_err();
        assert_eq!(bad.code(), "invalid_context");
        assert!(bad.to_string().contains("products[0].role"), "{bad}");
    }

    #[test]
    fn params_reach_the_script() {
        let mut ctx = demo();
        ctx.params = serde_json::json!({"discount_bp": {"launch": 1.5}});
        let e = preview(bundled::PYRAMID.source, "pyramid.lua", &ctx, &limits()).unwrap_err();
        assert!(
            e.to_string()
                .contains("params.discount_bp.launch must be an integer"),
            "{e}"
        );
        ctx.params = serde_json::json!({"max_kols_per_product": 1, "discount_bp": {"launch": 0}});
        let p = preview(bundled::PYRAMID.source, "pyramid.lua", &ctx, &limits()).unwrap();
        assert!(p.result.violations.is_empty());
        let launch = ctx
            .products
            .iter()
            .find(|p| p.sku == "YL-PUER-GIFT")
            .unwrap();
        let a = p
            .result
            .assignments
            .iter()
            .find(|a| a.product_id == launch.id)
            .unwrap();
        assert_eq!(a.live_price_fen, launch.list_price_fen);
        assert_eq!(a.units, launch.stock_units);
    }
}

mod hostile {
    use super::*;

    fn assert_budget(e: &ScriptError) {
        assert!(
            matches!(
                e,
                ScriptError::InstructionBudget { .. } | ScriptError::Deadline { .. }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn endless_loop_hits_the_instruction_budget() {
        let t = Instant::now();
        let e = err("function allocate(ctx)\n  local i = 0\n  while true do i = i + 1 end\nend");
        assert!(
            matches!(e, ScriptError::InstructionBudget { line: Some(3), .. }),
            "{e:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_still_works();
    }

    #[test]
    fn a_loop_that_swallows_the_budget_error_still_stops() {
        let e = err(&body(
            "while true do pcall(function() while true do end end) end",
        ));
        assert_budget(&e);
        // Even when the script catches everything and returns a valid result.
        let e = err(
            "function allocate(ctx)\n  pcall(function() while true do end end)\n  return {assignments = {}, notes = {}}\nend",
        );
        assert_budget(&e);
        assert_still_works();
    }

    #[test]
    fn wall_clock_deadline() {
        let l = ScriptLimits {
            instructions: None,
            wall_clock: Duration::from_millis(200),
            ..ScriptLimits::strict()
        };
        let t = Instant::now();
        let e = preview(&body("while true do end"), "t.lua", &demo(), &l).unwrap_err();
        assert!(matches!(e, ScriptError::Deadline { .. }), "{e:?}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    /// Without an instruction budget no hook runs while the script does: the watchdog arms
    /// one at the deadline, and it still stops a loop that swallows every error with pcall,
    /// names the line, and leaves the next run unaffected.
    #[test]
    fn the_watchdog_stops_loops_at_the_deadline_without_a_budget() {
        let l = ScriptLimits {
            instructions: None,
            wall_clock: Duration::from_millis(150),
            ..ScriptLimits::strict()
        };
        for src in [
            "function allocate(ctx)\n  local i = 0\n  while true do i = i + 1 end\nend",
            "function allocate(ctx)\n  while true do pcall(function() while true do end end) end\nend",
            "function allocate(ctx)\n  pcall(function() for i = 1, math.maxinteger do end end)\n  return {assignments = {}, notes = {}}\nend",
        ] {
            let t = Instant::now();
            let e = preview(src, "w.lua", &demo(), &l).unwrap_err();
            assert!(matches!(e, ScriptError::Deadline { .. }), "{src}: {e:?}");
            assert!(t.elapsed() < Duration::from_secs(2), "{src}");
        }
        let e = preview(
            "function allocate(ctx)\n  local i = 0\n  while true do i = i + 1 end\nend",
            "w.lua",
            &demo(),
            &l,
        )
        .unwrap_err();
        assert!(
            matches!(e, ScriptError::Deadline { line: Some(3), .. }),
            "{e:?}"
        );
        // A run that ends before its deadline is not touched by its watchdog afterwards.
        let ok = preview(&body(""), "w.lua", &demo(), &l).unwrap();
        assert!(ok.stats.instructions.is_none());
        assert_still_works();
    }

    /// Runs on several threads at once each get their own watchdog: one spinning script
    /// stopped at its deadline does not stop the others.
    #[test]
    fn watchdogs_of_parallel_runs_are_independent() {
        let spin = ScriptLimits {
            instructions: None,
            wall_clock: Duration::from_millis(200),
            ..ScriptLimits::strict()
        };
        let spinner = std::thread::spawn(move || {
            preview(&body("while true do end"), "spin.lua", &demo(), &spin).unwrap_err()
        });
        let workers: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..20 {
                        preview(
                            &body("local n = 0 for i = 1, 100000 do n = n + i end"),
                            "ok.lua",
                            &demo(),
                            &ScriptLimits {
                                instructions: None,
                                ..ScriptLimits::strict()
                            },
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert!(matches!(
            spinner.join().unwrap(),
            ScriptError::Deadline { .. }
        ));
    }

    /// The two readers of a result agree: plain integers and strings take the fast path, an
    /// integral float or a missing reason the strict one, and both give the same assignment.
    #[test]
    fn both_result_readers_give_the_same_assignment() {
        let (p, k, s, _) = demo_ids();
        let read = |units: &str, reason: &str| {
            let src = format!(
                "function allocate(ctx)\n  return {{assignments = {{{{product_id = {p:?}, kol_id = {k:?}, session_id = {s:?}, units = {units}, live_price_fen = 100{reason}}}}}, notes = {{}}}}\nend"
            );
            run(&src).unwrap().result.assignments
        };
        let fast = read("2", ", reason = ''");
        assert_eq!(fast, read("2.0", ", reason = ''"));
        assert_eq!(fast, read("2", ""));
        assert_eq!(fast[0].units, 2);
        assert_eq!(fast[0].product_id, p);
    }

    #[test]
    fn memory_bomb_table_growth() {
        let e = err(&body(
            "local t = {} for i = 1, 1e9 do t[i] = {i, tostring(i)} end",
        ));
        assert!(matches!(e, ScriptError::Memory { .. }), "{e:?}");
        assert_still_works();
    }

    #[test]
    fn garbage_past_the_cap_is_collected_at_the_cap() {
        // The collector runs only when the script nears its cap: ~80 MiB of garbage under a
        // 4 MiB cap, little of it alive at once, finishes within the cap.
        let limits = ScriptLimits {
            memory_bytes: 4 << 20,
            ..ScriptLimits::strict()
        };
        let src = body("for i = 1, 400000 do local t = {i, tostring(i), ('z'):rep(100)} end");
        let p = preview(&src, "t.lua", &demo(), &limits).expect("garbage is collected");
        assert!(
            p.stats.memory_bytes <= p.stats.ctx_memory_bytes + (4 << 20) + (1 << 20),
            "{:?}",
            p.stats
        );
        // What stays alive is still capped.
        let e = preview(
            &body("local t = {} for i = 1, 400000 do t[i] = ('z'):rep(100) .. i end"),
            "t.lua",
            &demo(),
            &limits,
        )
        .unwrap_err();
        assert!(matches!(e, ScriptError::Memory { .. }), "{e:?}");
        assert_still_works();
    }

    #[test]
    fn string_rep_bombs() {
        for code in [
            "local s = string.rep('x', 1 << 40)",
            "local s = ('x'):rep(1e9, ',')",
            "local s = 'x' for i = 1, 64 do s = s .. s end",
            "local t = {} for i = 1, 1e7 do t[i] = ('y'):rep(100) .. i end local s = table.concat(t)",
        ] {
            let e = err(&body(code));
            assert!(
                matches!(e, ScriptError::Memory { .. })
                    || matches!(&e, ScriptError::Runtime { message, .. } if message.contains("too large")),
                "{code}: {e:?}"
            );
        }
        assert_still_works();
    }

    #[test]
    fn deep_recursion() {
        let e = err(&body("local function f(n) return 1 + f(n + 1) end f(1)"));
        assert!(
            matches!(&e, ScriptError::Runtime { message, .. } if message.contains("stack overflow"))
                || matches!(e, ScriptError::Memory { .. }),
            "{e:?}"
        );
        let e = err(&body(
            "local function f(n) return pcall(f, n + 1) end f(1) error('after')",
        ));
        assert!(e.is_script_fault(), "{e:?}");
        assert_still_works();
    }

    #[test]
    fn no_os_io_require_debug_package() {
        for (code, what) in [
            ("os.execute('touch /tmp/kolhost-pwned')", "os"),
            ("io.open('/etc/passwd')", "io"),
            ("require('os')", "require"),
            ("debug.sethook(function() end, '', 1)", "debug"),
            ("package.loadlib('libc.so.6', 'system')", "package"),
            ("dofile('/etc/passwd')", "dofile"),
            ("loadfile('/etc/passwd')", "loadfile"),
            ("string.dump(function() end)", "dump"),
            ("coroutine.create(function() end)", "coroutine"),
        ] {
            let e = err(&body(code));
            match &e {
                ScriptError::Runtime { line, message, .. } => {
                    assert_eq!(*line, Some(2), "{code}: {e:?}");
                    assert!(message.contains("nil value"), "{code}: {message}");
                    assert!(message.contains(what), "{code}: {message}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(!std::path::Path::new("/tmp/kolhost-pwned").exists());
        assert_still_works();
    }

    #[test]
    fn bytecode_is_refused() {
        // A binary chunk given to load() is refused, text still works.
        let src = "function allocate(ctx)\n  local f, e = load('\\27LuaT\\0\\25\\147')\n  assert(f == nil)\n  local g = load('return 1 + 1')\n  return {assignments = {}, notes = {e, tostring(g())}}\nend";
        let p = run(src).unwrap();
        assert!(p.result.notes[0].contains("binary"), "{:?}", p.result.notes);
        assert_eq!(p.result.notes[1], "2");
        let e = err(&body("load(string.rep('x', 3), 'c', 'b')"));
        assert!(e.to_string().contains("text mode"), "{e}");
        let e = err(&body("load(function() return nil end)"));
        assert!(e.to_string().contains("source string"), "{e}");
        // The script itself as bytecode.
        let e = preview("\x1bLuaT\0\x19\r\n", "t.lua", &demo(), &limits()).unwrap_err();
        assert!(matches!(e, ScriptError::Syntax { .. }), "{e:?}");
        assert!(e.to_string().contains("binary"), "{e}");
        // load() with an env sees only that env.
        let p = run("function allocate(ctx)\n  local f = load('return os', 'x', 't', {})\n  return {assignments = {}, notes = {tostring(f())}}\nend").unwrap();
        assert_eq!(p.result.notes, vec!["nil"]);
    }

    #[test]
    fn string_metatable_is_out_of_reach() {
        let p = run("function allocate(ctx)\n  return {assignments = {}, notes = {tostring(getmetatable(''))}}\nend").unwrap();
        assert_eq!(p.result.notes, vec!["false"]);
        let e = err(&body("setmetatable('', {})"));
        assert!(e.to_string().contains("bad argument"), "{e}");
        let e = err(&body("getmetatable('').__index = {}"));
        assert!(
            matches!(e, ScriptError::Runtime { line: Some(2), .. }),
            "{e:?}"
        );
        // String methods still work.
        let p = run(
            "function allocate(ctx)\n  return {assignments = {}, notes = {('ab'):upper()}}\nend",
        )
        .unwrap();
        assert_eq!(p.result.notes, vec!["AB"]);
    }

    #[test]
    fn collectgarbage_is_restricted() {
        let e = err(&body("collectgarbage('stop')"));
        assert!(e.to_string().contains("not allowed"), "{e}");
        let e = err(&body("collectgarbage('generational')"));
        assert!(e.to_string().contains("not allowed"), "{e}");
        let p = run("function allocate(ctx)\n  for i = 1, 100 do collectgarbage() end\n  return {assignments = {}, notes = {tostring(collectgarbage('count') > 0)}}\nend").unwrap();
        assert_eq!(p.result.notes, vec!["true"]);
    }

    #[test]
    fn errors_carry_the_line() {
        let e = preview(
            "function allocate(ctx)\n  local x = = 1\nend",
            "mine.lua",
            &demo(),
            &limits(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, ScriptError::Syntax { line: Some(2), script, .. } if script == "mine.lua"),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("mine.lua:2: syntax error"), "{e}");

        let e = preview(
            "local a = 1\n\nfunction allocate(ctx)\n  error('no products for ' .. #ctx.products)\nend",
            "mine.lua",
            &demo(),
            &limits(),
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(4), "{e:?}");
        assert_eq!(e.to_string(), "mine.lua:4: no products for 20");

        let e = preview(
            "function allocate(ctx)\n  return ctx.nothing.here\nend",
            "mine.lua",
            &demo(),
            &limits(),
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(2), "{e:?}");
        assert_eq!(e.code(), "script_runtime_error");

        // An error raised from a host helper points at the calling line too.
        let e = preview(
            "function allocate(ctx)\n\n  kolhost.time('yesterday')\nend",
            "mine.lua",
            &demo(),
            &limits(),
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(3), "{e:?}");
        assert!(e.to_string().contains("kolhost.time"), "{e}");

        let e = err("x = 1");
        assert_eq!(e.code(), "script_missing_allocate");
    }

    #[test]
    fn garbage_results_are_clear_errors() {
        let (p, k, s, _) = demo_ids();
        let one = |units: &str, price: &str| {
            format!(
                "function allocate(ctx)\n  return {{assignments = {{{{product_id = '{p}', kol_id = '{k}', session_id = '{s}', units = {units}, live_price_fen = {price}}}}}}}\nend"
            )
        };
        let cases: Vec<(String, &str)> = vec![
            ("function allocate(ctx) return nil end".into(), "result: allocate(ctx) must return a table"),
            ("function allocate(ctx) return 42 end".into(), "got integer 42"),
            ("function allocate(ctx) return 'ok' end".into(), "got string"),
            ("function allocate(ctx) return {} end".into(), "result.assignments: missing"),
            ("function allocate(ctx) return {assignments = 5} end".into(), "result.assignments: expected an array of assignments, got integer 5"),
            ("function allocate(ctx) return {assignments = {}, notes = 'hi'} end".into(), "result.notes: expected an array of strings"),
            ("function allocate(ctx) return {assignments = {}, notes = {1, {}}} end".into(), "result.notes[1]: expected string, got integer 1"),
            ("function allocate(ctx) return {assignments = {}, extra = 1} end".into(), "unexpected key string \"extra\""),
            ("function allocate(ctx) return {assignments = {[1] = {}, [3] = {}}} end".into(), "result.assignments: expected an array"),
            ("function allocate(ctx) return {assignments = {x = 1}} end".into(), "found key string \"x\""),
            ("function allocate(ctx) return {assignments = {1}} end".into(), "result.assignments[1]: expected a table, got integer 1"),
            ("function allocate(ctx) return {assignments = {{}}} end".into(), "result.assignments[1].product_id: expected string, got nil"),
            (one("2.5", "100"), "result.assignments[1].units: expected integer, got float 2.5"),
            (one("10", "0/0"), "result.assignments[1].live_price_fen: expected integer, got float"),
            (one("10", "1/0"), "live_price_fen: expected integer, got float inf"),
            (one("10", "1e300"), "live_price_fen: expected integer"),
            (one("'10'", "100"), "units: expected integer, got string"),
            (one("10", "100, live_price = 1"), "unknown field string \"live_price\""),
            ("function allocate(ctx) return {assignments = {}, notes = {setmetatable({}, {__index = function() while true do end end})}} end".into(), "result.notes[1]: expected string, got table"),
        ];
        for (src, want) in cases {
            let e = err(&src);
            assert_eq!(e.code(), "script_invalid_result", "{src}: {e:?}");
            assert!(
                e.to_string().contains(want),
                "{src}\n  got:  {e}\n  want: {want}"
            );
        }
        // Integral floats are fine.
        let p = run(&one("10.0", "35000.0")).unwrap();
        assert_eq!(p.result.assignments[0].units, 10);
        assert!(p.result.violations.is_empty(), "{:?}", p.result.violations);
        assert_still_works();
    }

    #[test]
    fn rule_breaking_allocations_come_back_as_violations() {
        let (p, k, s, tail) = demo_ids();
        let src = format!(
            r#"function allocate(ctx)
  local a = {{}}
  -- 1: more than the whole stock (1,200)
  a[#a + 1] = {{product_id = '{p}', kol_id = '{k}', session_id = '{s}', units = 5000, live_price_fen = 35000}}
  -- 2: under the floor price (31,840 fen)
  a[#a + 1] = {{product_id = '{p}', kol_id = '{k}', session_id = '{s}', units = 1, live_price_fen = 100}}
  -- 3: a KOL without a contract with the brand, and not the session's KOL
  a[#a + 1] = {{product_id = '{p}', kol_id = '{tail}', session_id = '{s}', units = 1, live_price_fen = 35000}}
  -- 4: unknown everything, zero units
  a[#a + 1] = {{product_id = 'nope', kol_id = 'nobody', session_id = 'never', units = 0, live_price_fen = 1}}
  return {{assignments = a, notes = {{'hostile'}}}}
end"#
        );
        let r = run(&src).unwrap().result;
        let has = |i: usize, c: ViolationCode| {
            r.violations
                .iter()
                .any(|v| v.index == Some(i) && v.code == c)
        };
        assert!(has(0, ViolationCode::StockExceeded), "{:#?}", r.violations);
        assert!(has(1, ViolationCode::PriceBelowFloor));
        assert!(has(1, ViolationCode::DuplicateProductInSession));
        assert!(has(2, ViolationCode::NoContract));
        assert!(has(2, ViolationCode::SessionKolMismatch));
        assert!(has(3, ViolationCode::UnknownProduct));
        assert!(has(3, ViolationCode::UnknownKol));
        assert!(has(3, ViolationCode::UnknownSession));
        assert!(has(3, ViolationCode::NonPositiveUnits));
        assert_eq!(r.notes, vec!["hostile"]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["violations"][0]["code"], "stock_exceeded");
        assert_eq!(json["violations"][0]["field"], "assignments[0].units");
    }

    #[test]
    fn capacity_is_checked() {
        let (p, k, s, _) = demo_ids();
        let mut ctx = demo();
        ctx.sessions
            .iter_mut()
            .find(|x| x.id == s)
            .unwrap()
            .slot_capacity = 0;
        let src = format!(
            "function allocate(ctx)\n  return {{assignments = {{{{product_id = '{p}', kol_id = '{k}', session_id = '{s}', units = 1, live_price_fen = 35000}}}}}}\nend"
        );
        let r = preview(&src, "t.lua", &ctx, &limits()).unwrap().result;
        assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
        assert_eq!(r.violations[0].code, ViolationCode::SessionCapacityExceeded);
    }

    #[test]
    fn a_barrage_then_a_normal_run() {
        for src in [
            body("while true do end"),
            body("local t = {} while true do t[#t + 1] = t end"),
            body("error(setmetatable({}, {__tostring = function() while true do end end}))"),
            body("error()"),
            body("error(nil)"),
            "function allocate(ctx) return allocate(ctx) end".to_string(),
            "allocate = 5".to_string(),
            "return".to_string(),
            String::new(),
        ] {
            let e = err(&src);
            assert!(e.is_script_fault(), "{src}: {e:?}");
        }
        assert_still_works();
    }
}

mod host_helpers {
    use super::*;

    #[test]
    fn now_time_clock_log_json() {
        let src = r#"
function allocate(ctx)
  local now = kolhost.now()
  assert(now:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"), now)
  assert(kolhost.time("2026-12-03T20:00:00+08:00") == kolhost.time(ctx.sessions[1].starts_at))
  assert(kolhost.clock() >= 0)
  kolhost.log("products", #ctx.products, {a = 1})
  print("hello")
  local t = kolhost.json.decode('{"a": [1, 2.5, null, "x"], "b": {"c": true}}')
  assert(t.a[1] == 1 and t.a[2] == 2.5 and t.a[3] == nil and t.b.c == true)
  return {assignments = {}, notes = {kolhost.json.encode({1, 2, 3}), kolhost.json.encode({k = "v"})}}
end"#;
        let p = run(src).unwrap();
        assert_eq!(p.result.notes, vec!["[1,2,3]", r#"{"k":"v"}"#]);
        assert_eq!(p.logs, vec!["products\t20\t{\"a\":1}", "hello"]);
        assert!(p.stats.instructions.is_some_and(|n| n < 1_000_000));
        let e = err(&body("local t = {} t.t = t kolhost.json.encode(t)"));
        assert!(e.to_string().contains("cycle"), "{e}");
    }

    #[test]
    fn randomness_is_deterministic() {
        let src = "function allocate(ctx)\n  return {assignments = {}, notes = {tostring(math.random(1, 1000000))}}\nend";
        assert_eq!(
            run(src).unwrap().result.notes,
            run(src).unwrap().result.notes
        );
    }

    #[test]
    fn logs_are_bounded() {
        let p = run(&body("for i = 1, 5000 do print(('z'):rep(10000)) end")).unwrap();
        assert_eq!(p.logs.len(), limits().max_log_lines + 1);
        assert!(p.logs.last().unwrap().contains("4000 more"));
    }
}

mod async_runner {
    use super::*;

    /// The same script on the same ctx and limits answers from the cache; any change to one of
    /// them runs again, and a script that reads the clock always runs.
    #[tokio::test]
    async fn repeated_previews_are_answered_from_the_cache() {
        let run = |src: &str, ctx: AllocationContext| {
            preview_async(
                Arc::from(src),
                Arc::from("cached.lua"),
                Arc::new(ctx),
                ScriptLimits::default(),
            )
        };
        // A source of its own, so no other test shares the entries.
        let src = format!("-- {}\n{}", uuid_like(), bundled::PYRAMID.source);
        let first = run(&src, demo()).await.unwrap();
        assert!(!first.stats.cached);
        let second = run(&src, demo()).await.unwrap();
        assert!(second.stats.cached);
        assert_eq!(first.result, second.result);

        let mut other = demo();
        other.products[0].stock_units += 1;
        assert!(!run(&src, other).await.unwrap().stats.cached);
        let edited = format!("{src}\n-- edited");
        assert!(!run(&edited, demo()).await.unwrap().stats.cached);

        let clock = format!("-- {}\n{}", uuid_like(), body("kolhost.log(kolhost.now())"));
        for _ in 0..2 {
            let p = run(&clock, demo()).await.unwrap();
            assert!(p.stats.read_clock && !p.stats.cached);
        }
    }

    fn uuid_like() -> String {
        format!("{:?}{:?}", Instant::now(), std::thread::current().id())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spinning_script_does_not_block_the_runtime() {
        let l = ScriptLimits {
            instructions: None,
            wall_clock: Duration::from_millis(500),
            ..ScriptLimits::strict()
        };
        let job = tokio::spawn(preview_async(
            Arc::from(body("while true do end")),
            Arc::from("spin.lua"),
            Arc::new(demo()),
            l,
        ));
        // The runtime keeps serving while the script spins.
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t.elapsed() < Duration::from_millis(400));
        let e = job.await.unwrap().unwrap_err();
        assert!(matches!(e, ScriptError::Deadline { .. }), "{e:?}");

        let ok = preview_async(
            Arc::from(bundled::PYRAMID.source),
            Arc::from("pyramid.lua"),
            Arc::new(demo()),
            ScriptLimits::strict(),
        )
        .await
        .unwrap();
        assert!(ok.result.violations.is_empty());
    }
}

mod docs {
    use super::*;

    /// The worked example in scripts/README.md runs and finds what the README says it finds.
    #[test]
    fn readme_worked_example() {
        let readme = include_str!("../../scripts/README.md");
        let start = readme
            .find("-- beauty_week.lua")
            .expect("example in README");
        let end = start + readme[start..].find("```").unwrap();
        let ctx = demo();
        let p = preview(&readme[start..end], "beauty_week.lua", &ctx, &limits()).unwrap();
        let sku = |id: &str| {
            ctx.products
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.sku.clone())
                .unwrap_or_default()
        };
        let mut found: Vec<(String, &str)> = p
            .result
            .violations
            .iter()
            .map(|v| {
                let a = &p.result.assignments[v.index.unwrap()];
                (sku(&a.product_id), v.code.as_str())
            })
            .collect();
        found.sort();
        eprintln!("{found:?}\n{:?}", p.result.notes);
        assert_eq!(
            found,
            vec![
                ("DL-HA-SERUM".to_string(), "duplicate_product_in_session"),
                ("DL-HA-SERUM".to_string(), "stock_exceeded"),
                ("DL-MASK-10".to_string(), "stock_exceeded"),
            ]
        );
    }
}
