//! A plugin's output is capped while the host reads it, before it is copied: 64 calls at once,
//! each returning seven event keys that all point at one 16 MiB string in the plugin's memory
//! (112 MiB per call if the host copied each key), each fail as output too large, and the
//! host's heap never holds the string. Its own test binary, so that the counting allocator
//! below sees this test's allocations only (the plugins' linear memories are mapped by
//! wasmtime's pool, not allocated on the heap).

use kolhost::plugins::{
    CallError, Capability, Delivery, EngineLimits, LimitsOverride, Manifest, MemoryKv, Registry,
    RegistryConfig, Runtime, RuntimeConfig, World, artifacts,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting live bytes, their peak and the largest single allocation.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
    LARGEST.fetch_max(size, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts counting afresh: the peak from now on, in bytes above what is live now.
fn reset() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    LARGEST.store(0, Relaxed);
    live
}

/// A line of /proc/self/status (`VmRSS`, `VmHWM`), in MiB.
fn status_mib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib >> 10
}

fn hostile(name: &str, max_output_bytes: usize) -> Manifest {
    Manifest {
        name: name.into(),
        version: "1.0.0".into(),
        world: World::Platform,
        grants: Capability::ALL.to_vec(),
        allowed_hosts: Vec::new(),
        allow_private_hosts: false,
        limits: LimitsOverride {
            timeout_ms: Some(20_000),
            max_memory_bytes: Some(32 << 20),
            max_output_bytes: Some(max_output_bytes),
            ..Default::default()
        },
    }
}

fn alias() -> Delivery {
    Delivery {
        method: "POST".into(),
        path: "/alias".into(),
        query: String::new(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

const MIB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliased_output_is_refused_before_it_is_copied_64_calls_at_once() {
    let runtime = Runtime::new(RuntimeConfig {
        engine: EngineLimits {
            max_concurrent_calls: 80,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let reg = Arc::new(Registry::new(
        runtime,
        Arc::new(MemoryKv::new()),
        RegistryConfig {
            quarantine_after: 1_000,
            ..Default::default()
        },
    ));
    let component = std::fs::read(artifacts::HOSTILE).unwrap();
    // The default output cap (1 MiB), and the host's ceiling (16 MiB) as a control.
    reg.load(hostile("capped", MIB), &component).await.unwrap();
    reg.load(hostile("ceiling", 16 * MIB), &component)
        .await
        .unwrap();

    // The control shows the counters see a copy: at the ceiling the budget (32 MiB) takes the
    // first key, copied in full, and runs out at the second.
    let base = reset();
    let e = reg.parse_webhook("ceiling", &alias()).await.unwrap_err();
    assert!(
        matches!(e, CallError::OutputTooLarge { size: None, .. }),
        "{e:?}"
    );
    let (largest, peak) = (LARGEST.load(Relaxed), PEAK.load(Relaxed) - base);
    eprintln!(
        "control: largest allocation {largest} bytes, heap peak +{} MiB",
        peak / MIB
    );
    assert!(largest >= 16 * MIB, "the control copied a key: {largest}");

    // 64 calls at once under the default cap.
    let rss_before = status_mib("VmRSS");
    let base = reset();
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let reg = reg.clone();
            tokio::spawn(async move { reg.parse_webhook("capped", &alias()).await })
        })
        .collect();
    for c in calls {
        let e = c.await.unwrap().unwrap_err();
        assert!(
            matches!(e, CallError::OutputTooLarge { size: None, limit } if limit == MIB),
            "{e:?}"
        );
    }
    let (largest, peak) = (LARGEST.load(Relaxed), PEAK.load(Relaxed) - base);
    eprintln!(
        "64 calls: largest allocation {largest} bytes, heap peak +{} KiB; RSS {rss_before} MiB \
         before, {} MiB after, peak {} MiB (the plugins' own memories included)",
        peak >> 10,
        status_mib("VmRSS"),
        status_mib("VmHWM"),
    );
    // No key was copied (each is 16 MiB), and the heap held far less than one call's output
    // would be (112 MiB; 7 GiB for the 64).
    assert!(largest < 16 * MIB, "a 16 MiB key was copied: {largest}");
    assert!(peak < 64 * MIB, "the heap grew by {peak} bytes");
}
