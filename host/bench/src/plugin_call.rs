//! Plugin call benchmark (design §7: a call with a fresh instance from the pre-instantiated
//! component, <= 10 us median). The same logic — `kolhost_platform_formats::douyin::push`:
//! verify a Douyin push (`app-id`, `event-sign` = md5(app_key + body + app_secret)) and parse
//! its JSON into events — three ways, in one run, on formats' `douyin::fixtures::sample_delivery`:
//!
//! 1. the bundled `douyin` WASM component (with its own manifest) through kolhost's registry:
//!    each call is a fresh store and instance from the pre-instantiated component, with all
//!    limits armed;
//! 2. the same Rust functions called natively;
//! 3. an Extism plugin (crates.io `extism`) with the same functions.
//!
//! Run: `cargo run --release -p kolhost-bench --features extism --bin plugin-call` (add `-- N`
//! for iterations, `-- N component|native|extism` to run one part only, e.g. under `perf`).

use kolhost::plugins::{
    Delivery, Manifest, MemoryKv, Registry, RegistryConfig, Runtime, RuntimeConfig, Settings,
    artifacts,
};
use kolhost_platform_formats::douyin::{fixtures, push};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Summary {
    name: &'static str,
    median: Duration,
    p99: Duration,
    mean: Duration,
}

fn measure(name: &'static str, iters: usize, mut f: impl FnMut()) -> Summary {
    for _ in 0..iters / 10 {
        f();
    }
    let mut samples = Vec::with_capacity(iters);
    let total = Instant::now();
    for _ in 0..iters {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    let mean = total.elapsed() / iters as u32;
    samples.sort();
    Summary {
        name,
        median: samples[iters / 2],
        p99: samples[iters * 99 / 100],
        mean,
    }
}

fn us(d: Duration) -> String {
    format!("{:.2}", d.as_nanos() as f64 / 1000.0)
}

fn main() {
    let iters: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let only = std::env::args().nth(2);
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let mut results: Vec<Summary> = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sample = fixtures::sample_delivery("ak", "sk");
    let (headers, body) = (sample.headers, sample.body);
    let header = |name: &str| {
        kolhost_platform_formats::header(&headers, name)
            .unwrap()
            .to_owned()
    };

    // 1. The component.
    let runtime = Runtime::new(RuntimeConfig::default()).expect("engine");
    let reg = Registry::new(
        runtime,
        Arc::new(MemoryKv::new()),
        RegistryConfig::default(),
    );
    let manifest = std::fs::read_to_string(artifacts::DOUYIN_MANIFEST).expect("douyin manifest");
    let manifest = Manifest::from_toml(&manifest).expect("douyin manifest");
    let bytes = std::fs::read(artifacts::DOUYIN).expect("douyin component");
    rt.block_on(reg.load(manifest, &bytes)).expect("load");
    reg.set_settings(
        "douyin",
        Settings {
            config: [("app_key".to_string(), "ak".to_string())].into(),
            secrets: [("app_secret".to_string(), "sk".to_string())].into(),
        },
    )
    .unwrap();
    let delivery = Delivery {
        method: "POST".into(),
        path: "/webhooks/douyin".into(),
        query: String::new(),
        headers: headers.clone(),
        body: body.clone(),
    };
    if run("component") {
        results.push(measure("component: verify-webhook (1 call)", iters, || {
            rt.block_on(reg.verify_webhook("douyin", &delivery))
                .unwrap();
        }));
        results.push(measure("component: parse-webhook (1 call)", iters, || {
            let p = rt.block_on(reg.parse_webhook("douyin", &delivery)).unwrap();
            assert_eq!(black_box(p).events.len(), 2);
        }));
        results.push(measure(
            "component: verify + parse (2 calls)",
            iters,
            || {
                rt.block_on(async {
                    reg.verify_webhook("douyin", &delivery).await.unwrap();
                    let p = reg.parse_webhook("douyin", &delivery).await.unwrap();
                    assert_eq!(black_box(p).events.len(), 2);
                })
            },
        ));
    }

    // 2. Native.
    if run("native") {
        results.push(measure("native Rust: verify + parse", iters, || {
            push::verify("ak", "sk", black_box(&headers), black_box(&body)).unwrap();
            let p = push::parse(black_box(&body)).unwrap();
            assert_eq!(black_box(p).events.len(), 2);
        }));
    }

    // 3. Extism.
    if run("extism") {
        let extism_wasm = std::fs::read(env!("KOLHOST_BENCH_EXTISM_WASM")).expect("extism guest");
        let ext_manifest = extism::Manifest::new([extism::Wasm::data(extism_wasm)])
            .with_config_key("app_key", "ak")
            .with_config_key("app_secret", "sk");
        let mut input = format!("{}\n{}\n", header("app-id"), header("event-sign")).into_bytes();
        input.extend_from_slice(&body);
        let mut plugin = extism::Plugin::new(&ext_manifest, [], false).expect("extism plugin");
        results.push(measure(
            "extism: verify_parse (1 call, instance reused)",
            iters,
            || {
                let out: Vec<u8> = plugin.call("verify_parse", input.as_slice()).unwrap();
                assert!(black_box(out).len() > 100);
            },
        ));
        let compiled =
            extism::CompiledPlugin::new(extism::PluginBuilder::new(ext_manifest.clone()))
                .expect("compile");
        results.push(measure(
            "extism: verify_parse (1 call, fresh instance)",
            iters / 4,
            || {
                let mut p = extism::Plugin::new_from_compiled(&compiled).unwrap();
                let out: Vec<u8> = p.call("verify_parse", input.as_slice()).unwrap();
                assert!(black_box(out).len() > 100);
            },
        ));
    }

    println!(
        "plugin call benchmark, {iters} iterations each (fresh Extism instance: {}), a {}-byte delivery",
        iters / 4,
        body.len()
    );
    println!(
        "{:<50} {:>12} {:>12} {:>12}",
        "what", "median us", "p99 us", "mean us"
    );
    for s in &results {
        println!(
            "{:<50} {:>12} {:>12} {:>12}",
            s.name,
            us(s.median),
            us(s.p99),
            us(s.mean)
        );
    }
    let st = reg.status("douyin").unwrap();
    println!(
        "registry stats: calls {}, failures {}, p50 {:?} us, p99 {:?} us",
        st.stats.calls, st.stats.failures, st.stats.p50_us, st.stats.p99_us
    );
}
