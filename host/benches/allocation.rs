//! Lua pyramid allocation over 10,000 products x 1,000 KOLs, beside the same algorithm in Rust
//! (design §7: < 1 s, within 3x of Rust). Run: `cargo bench -p kolhost --bench allocation`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kolhost::domain::allocation::validate;
use kolhost::scripting::{ScriptLimits, bundled, native_pyramid, run_strategy, synthetic};

/// The pyramid's source: the bundled one, or the file `KOLHOST_BENCH_PYRAMID` names (to time an
/// edit of the script without rebuilding the library it is bundled in).
fn pyramid_source() -> String {
    match std::env::var_os("KOLHOST_BENCH_PYRAMID") {
        Some(path) => std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("KOLHOST_BENCH_PYRAMID={path:?}: {e}")),
        None => bundled::PYRAMID.source.to_string(),
    }
}

fn allocation(c: &mut Criterion) {
    let source = pyramid_source();
    let source = source.as_str();
    let ctx = synthetic::agency(10_000, 1_000, 42);
    let limits = ScriptLimits::default();
    let params = native_pyramid::PyramidParams::from_params(&ctx.params);

    // Same run, same data: check once that both give the same allocation.
    let lua = run_strategy(source, "pyramid.lua", &ctx, &limits).unwrap();
    let native = native_pyramid::allocate(&ctx, &params);
    assert_eq!(
        lua.assignments, native,
        "the Lua and Rust pyramids must agree"
    );
    assert!(validate(&ctx, &lua.assignments).is_empty());
    // CPU time of this thread as well as wall time: on a shared 2-core machine the wall time
    // depends on what else runs; the CPU time much less.
    const RUNS: u32 = 10;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(RUNS);
    let (mut script, mut ctx_build, mut read, mut total) = Default::default();
    let (mut lua_cpu, mut rust_cpu, mut rust_wall) = (0u64, 0u64, Duration::ZERO);
    for _ in 0..RUNS {
        let c0 = thread_cpu_ns();
        let r = run_strategy(source, "pyramid.lua", &ctx, &limits).unwrap();
        lua_cpu += thread_cpu_ns() - c0;
        script += r.stats.script;
        ctx_build += r.stats.ctx_build;
        read += r.stats.result_read;
        total += r.stats.elapsed;
        let (c0, t0) = (thread_cpu_ns(), std::time::Instant::now());
        black_box(native_pyramid::allocate(&ctx, &params));
        rust_wall += t0.elapsed();
        rust_cpu += thread_cpu_ns() - c0;
    }
    let cpu_ms = |ns: u64| ns as f64 / 1e6 / f64::from(RUNS);
    eprintln!(
        "mean of {RUNS} runs, wall: lua {:.1} ms (ctx to Lua {:.1} + load and allocate {:.1} + result to Rust {:.1}, + sandbox setup); rust {:.1} ms",
        ms(total),
        ms(ctx_build),
        ms(script),
        ms(read),
        ms(rust_wall),
    );
    eprintln!(
        "mean of {RUNS} runs, CPU time: lua {:.1} ms, rust {:.1} ms, ratio {:.1}x",
        cpu_ms(lua_cpu),
        cpu_ms(rust_cpu),
        lua_cpu as f64 / rust_cpu.max(1) as f64
    );
    eprintln!(
        "ctx: {} products, {} KOLs, {} contracts, {} sessions; {} assignments; Lua: {:.1} MiB ({:.1} MiB ctx)",
        ctx.products.len(),
        ctx.kols.len(),
        ctx.contracts.len(),
        ctx.sessions.len(),
        native.len(),
        lua.stats.memory_bytes as f64 / 1048576.0,
        lua.stats.ctx_memory_bytes as f64 / 1048576.0,
    );

    luau(source, &ctx, &native, cpu_ms(lua_cpu), cpu_ms(rust_cpu));
    scaling(source);

    let mut g = c.benchmark_group("pyramid 10k products x 1k KOLs");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function(
        "lua (fresh sandbox + ctx to Lua + allocate + result to Rust)",
        |b| {
            b.iter(|| {
                black_box(run_strategy(source, "pyramid.lua", black_box(&ctx), &limits).unwrap())
            })
        },
    );
    g.bench_function("rust (native_pyramid::allocate)", |b| {
        b.iter(|| black_box(native_pyramid::allocate(black_box(&ctx), &params)))
    });
    g.bench_function("validate (the host's check of the result)", |b| {
        b.iter(|| black_box(validate(black_box(&ctx), &lua.assignments)))
    });
    g.finish();
}

/// How time and memory grow from 10k x 1k to 100k x 10k (a Double-11 catalogue): Lua beside
/// Rust at three sizes, the faster of two runs of each, with the limits the largest needs stated.
fn scaling(source: &str) {
    let big = ScriptLimits {
        memory_bytes: 1024 * 1024 * 1024,
        max_assignments: 1_000_000,
        wall_clock: Duration::from_secs(60),
        ..ScriptLimits::default()
    };
    for (products, kols) in [(10_000, 1_000), (30_000, 3_000), (100_000, 10_000)] {
        let ctx = synthetic::agency(products, kols, 42);
        let params = native_pyramid::PyramidParams::from_params(&ctx.params);
        let mut best: Option<(u64, kolhost::scripting::RunOutput)> = None;
        let mut rust_cpu = u64::MAX;
        let mut native = Vec::new();
        for _ in 0..2 {
            let c0 = thread_cpu_ns();
            let lua = run_strategy(source, "pyramid.lua", &ctx, &big).unwrap();
            let lua_cpu = thread_cpu_ns() - c0;
            if best.as_ref().is_none_or(|(cpu, _)| lua_cpu < *cpu) {
                best = Some((lua_cpu, lua));
            }
            let c0 = thread_cpu_ns();
            native = native_pyramid::allocate(&ctx, &params);
            rust_cpu = rust_cpu.min(thread_cpu_ns() - c0);
        }
        let (lua_cpu, lua) = best.expect("ran");
        let scanned = candidates_per_product(&ctx);
        assert_eq!(
            lua.assignments, native,
            "the Lua and Rust pyramids must agree"
        );
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        eprintln!(
            "scaling {products} products x {kols} KOLs ({} contracts, {} sessions): {} assignments; lua {:.0} ms wall, {:.0} ms CPU (ctx {:.0} + allocate {:.0} + result {:.0} ms), {:.1} MiB Lua memory ({:.1} MiB ctx); rust {:.0} ms CPU; ratio {:.1}x; per product: {scanned:.1} contracts scanned, lua {:.1} us, rust {:.1} us CPU",
            ctx.contracts.len(),
            ctx.sessions.len(),
            native.len(),
            ms(lua.stats.elapsed),
            lua_cpu as f64 / 1e6,
            ms(lua.stats.ctx_build),
            ms(lua.stats.script),
            ms(lua.stats.result_read),
            lua.stats.memory_bytes as f64 / 1048576.0,
            lua.stats.ctx_memory_bytes as f64 / 1048576.0,
            rust_cpu as f64 / 1e6,
            lua_cpu as f64 / rust_cpu.max(1) as f64,
            lua_cpu as f64 / 1e3 / products as f64,
            rust_cpu as f64 / 1e3 / products as f64,
        );
    }
    eprintln!(
        "scaling limits: memory {} MiB on top of ctx, at most {} assignments, {} s wall clock",
        big.memory_bytes / 1048576,
        big.max_assignments,
        big.wall_clock.as_secs()
    );
}

/// The work per product that does not depend on the data's size if the algorithm is linear: the
/// mean number of signed or active contracts of the product's brand with a KOL of the product's
/// role's tier (what the pyramid's candidate loop walks).
fn candidates_per_product(ctx: &kolhost::domain::allocation::AllocationContext) -> f64 {
    use kolhost::domain::allocation::{ProductRole, Tier};
    use std::collections::HashMap;
    let tier: HashMap<&str, Tier> = ctx.kols.iter().map(|k| (k.id.as_str(), k.tier)).collect();
    let mut per: HashMap<(&str, Tier), usize> = HashMap::new();
    for c in ctx.contracts.iter().filter(|c| c.status.in_force()) {
        if let Some(t) = tier.get(c.kol_id.as_str()) {
            *per.entry((c.brand_id.as_str(), *t)).or_default() += 1;
        }
    }
    let total: usize = ctx
        .products
        .iter()
        .map(|p| {
            let t = match p.role {
                ProductRole::Launch => Tier::Head,
                ProductRole::Traffic => Tier::Waist,
                ProductRole::Profit => Tier::Tail,
            };
            per.get(&(p.brand_id.as_str(), t)).copied().unwrap_or(0)
        })
        .sum();
    total as f64 / ctx.products.len().max(1) as f64
}

/// The same script under Luau, when `KOLHOST_BENCH_LUAU` names the binary of
/// `host/benches/luau` (its own build: mlua links one Lua, kolhost's is 5.4). It gets this run's
/// ctx and the Rust pyramid's assignments, checks it gives the same, and prints its CPU time per
/// mode; the ratios here are to this run's Lua 5.4 and Rust times.
fn luau(
    source: &str,
    ctx: &kolhost::domain::allocation::AllocationContext,
    expected: &[kolhost::domain::allocation::Assignment],
    lua_cpu_ms: f64,
    rust_cpu_ms: f64,
) {
    let Some(bin) = std::env::var_os("KOLHOST_BENCH_LUAU") else {
        eprintln!("luau: not measured (set KOLHOST_BENCH_LUAU, see host/benches/luau)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("kolhost-luau-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (script, ctx_path, expected_path) = (
        dir.join("pyramid.lua"),
        dir.join("ctx.json"),
        dir.join("expected.json"),
    );
    std::fs::write(&script, source).unwrap();
    std::fs::write(&ctx_path, serde_json::to_vec(ctx).unwrap()).unwrap();
    std::fs::write(&expected_path, serde_json::to_vec(expected).unwrap()).unwrap();
    let out = std::process::Command::new(&bin)
        .args([&script, &ctx_path, &expected_path])
        .arg("10")
        .output()
        .unwrap_or_else(|e| panic!("KOLHOST_BENCH_LUAU={bin:?}: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        eprintln!("luau: failed: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cpu: f64 = line
            .split_once("cpu_ms=")
            .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(f64::NAN);
        eprintln!(
            "{line} (mean of 10); {:.2}x Lua 5.4, {:.1}x Rust in CPU time",
            cpu / lua_cpu_ms,
            cpu / rust_cpu_ms
        );
    }
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`; 0 elsewhere).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

criterion_group!(benches, allocation);
criterion_main!(benches);
