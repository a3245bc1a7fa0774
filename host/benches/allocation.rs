//! Lua pyramid allocation over 10,000 products x 1,000 KOLs, beside the same algorithm in Rust
//! (design §7: < 1 s, within 3x of Rust). Run: `cargo bench -p kolhost --bench allocation`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kolhost::domain::allocation::validate;
use kolhost::scripting::{ScriptLimits, bundled, native_pyramid, run_strategy, synthetic};

fn allocation(c: &mut Criterion) {
    let ctx = synthetic::agency(10_000, 1_000, 42);
    let limits = ScriptLimits::default();
    let params = native_pyramid::PyramidParams::from_params(&ctx.params);

    // Same run, same data: check once that both give the same allocation.
    let lua = run_strategy(bundled::PYRAMID.source, "pyramid.lua", &ctx, &limits).unwrap();
    let native = native_pyramid::allocate(&ctx, &params);
    assert_eq!(lua.assignments.len(), native.len());
    assert!(validate(&ctx, &lua.assignments).is_empty());
    let mut script = Duration::ZERO;
    let mut ctx_build = Duration::ZERO;
    let mut read = Duration::ZERO;
    let mut total = Duration::ZERO;
    let mut native_t = Duration::ZERO;
    const RUNS: u32 = 10;
    for _ in 0..RUNS {
        let r = run_strategy(bundled::PYRAMID.source, "pyramid.lua", &ctx, &limits).unwrap();
        script += r.stats.script;
        ctx_build += r.stats.ctx_build;
        read += r.stats.result_read;
        total += r.stats.elapsed;
        let t = std::time::Instant::now();
        black_box(native_pyramid::allocate(&ctx, &params));
        native_t += t.elapsed();
    }
    eprintln!(
        "mean of {RUNS} runs: lua total {:.1} ms = ctx to Lua {:.1} ms + load and allocate {:.1} ms + result to Rust {:.1} ms (+ sandbox setup); rust {:.1} ms",
        total.as_secs_f64() * 1000.0 / f64::from(RUNS),
        ctx_build.as_secs_f64() * 1000.0 / f64::from(RUNS),
        script.as_secs_f64() * 1000.0 / f64::from(RUNS),
        read.as_secs_f64() * 1000.0 / f64::from(RUNS),
        native_t.as_secs_f64() * 1000.0 / f64::from(RUNS),
    );
    eprintln!(
        "ctx: {} products, {} KOLs, {} contracts, {} sessions; {} assignments; Lua: ~{} instructions, {:.1} MiB ({:.1} MiB ctx)",
        ctx.products.len(),
        ctx.kols.len(),
        ctx.contracts.len(),
        ctx.sessions.len(),
        native.len(),
        lua.stats.instructions,
        lua.stats.memory_bytes as f64 / 1048576.0,
        lua.stats.ctx_memory_bytes as f64 / 1048576.0,
    );

    let mut g = c.benchmark_group("pyramid 10k products x 1k KOLs");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function(
        "lua (fresh sandbox + ctx to Lua + allocate + result to Rust)",
        |b| {
            b.iter(|| {
                black_box(
                    run_strategy(
                        bundled::PYRAMID.source,
                        "pyramid.lua",
                        black_box(&ctx),
                        &limits,
                    )
                    .unwrap(),
                )
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

criterion_group!(benches, allocation);
criterion_main!(benches);
