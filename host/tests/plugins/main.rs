//! The plugin runtime's tests, with real components built from `plugins/` by host/build.rs.
//! One test binary, one module per topic.

mod capabilities;
mod grants;
mod lifecycle;
mod load;
mod platforms;
mod sandbox;

use kolhost::plugins::{
    Capability, Delivery, EngineLimits, LimitsOverride, Manifest, MemoryKv, Registry,
    RegistryConfig, Runtime, RuntimeConfig, World, artifacts,
};
use std::sync::{Arc, OnceLock};

/// One engine for the whole binary, as in the server.
pub fn runtime() -> Arc<Runtime> {
    static RT: OnceLock<Arc<Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(RuntimeConfig {
            engine: EngineLimits {
                max_concurrent_calls: 64,
                ..Default::default()
            },
            // A name that resolves to loopback, as a rebinding DNS server would answer.
            http_hosts: [(
                "rebind.test".to_owned(),
                vec![std::net::IpAddr::from([127, 0, 0, 1])],
            )]
            .into(),
            ..Default::default()
        })
        .expect("engine")
    })
    .clone()
}

pub fn registry(quarantine_after: u32) -> Registry {
    Registry::new(
        runtime(),
        Arc::new(MemoryKv::new()),
        RegistryConfig {
            quarantine_after,
            ..Default::default()
        },
    )
}

pub fn wasm(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

pub fn hostile() -> Vec<u8> {
    wasm(artifacts::HOSTILE)
}

pub fn example_platform() -> Vec<u8> {
    wasm(artifacts::EXAMPLE_PLATFORM)
}

pub fn example_allocator() -> Vec<u8> {
    wasm(artifacts::EXAMPLE_ALLOCATOR)
}

pub fn manifest(name: &str, version: &str, world: World, grants: &[Capability]) -> Manifest {
    Manifest {
        name: name.into(),
        version: version.into(),
        world,
        grants: grants.to_vec(),
        allowed_hosts: Vec::new(),
        allow_private_hosts: false,
        limits: LimitsOverride::default(),
    }
}

/// The hostile plugin's manifest: every grant, short limits.
pub fn hostile_manifest(name: &str, version: &str) -> Manifest {
    let mut m = manifest(name, version, World::Platform, &Capability::ALL);
    m.limits = LimitsOverride {
        timeout_ms: Some(300),
        max_memory_bytes: Some(32 << 20),
        max_output_bytes: Some(256 << 10),
        ..Default::default()
    };
    m
}

/// `kolhost-platform-formats`' realistic Douyin push (a paid order as Douyin pushes it and a
/// refund of it), signed for app_key "ak", app_secret "sk", as delivered to `/webhooks/douyin`.
pub fn douyin_sample() -> Delivery {
    let d = kolhost_platform_formats::douyin::fixtures::sample_delivery("ak", "sk");
    Delivery {
        method: d.method,
        path: "/webhooks/douyin".into(),
        query: d.query,
        headers: d.headers,
        body: d.body,
    }
}

pub fn delivery(path: &str, query: &str, body: &[u8]) -> Delivery {
    Delivery {
        method: "POST".into(),
        path: path.into(),
        query: query.into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_vec(),
    }
}
