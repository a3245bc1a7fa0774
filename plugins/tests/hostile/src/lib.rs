//! A test plugin for the host's sandbox tests. `parse-webhook` does what the delivery's path
//! says:
//!
//! | path | behaviour |
//! | --- | --- |
//! | `/loop` | loops forever |
//! | `/alloc` | allocates memory without bound |
//! | `/trap` | panics (a trap: `unreachable`) |
//! | `/trap-secret` | panics with the secret named by the query in its message |
//! | `/recurse` | recurses without bound (stack overflow) |
//! | `/oversized` | returns ~2 MiB of events |
//! | `/alias` | returns 7 events whose keys all point at one 16 MiB string in its memory (112 MiB if the host copied each) |
//! | `/log-huge` | writes one 4 MiB log line (a host call's arguments beyond the host's budget) |
//! | `/wasi-http` | calls its `wasi:http/outgoing-handler` import, which no plugin is offered |
//! | `/invalid-utf8` | returns a string that is not UTF-8 |
//! | `/http` | GETs the URL in the query through the `http` import (with its own `Host` header), replies with its body |
//! | `/kv` | `kv.get(body)`, then `kv.set(body, old + "x")`, replies with the new value |
//! | `/kv-fill` | query `prefix:count:size`: sets `count` keys `prefix-<i>` of `size` bytes, stops at the first error; replies `wrote <n>` and the error |
//! | `/kv-then-trap` | `kv.set(body, "doomed")`, then panics |
//! | `/kv-then-loop` | `kv.set(body, "doomed")`, then loops forever |
//! | `/config` | replies with `config.get(query)` and `config.get-secret(query)` |
//! | `/clock` | replies with `clock.now-ms()` |
//! | `/bad-event` | returns an event the host refuses (an empty room id) |
//! | anything else | well-behaved: one `live-stats` event, reply `ok` |
//!
//! A header `x-hostile: <path>` stands for the path (deliveries through `/webhooks/{platform}`
//! all have the same one). `verify-webhook` accepts every delivery, except that it panics on
//! `/verify-trap` (unauthenticated input making it trap).
//!
//! It imports every capability and `wasi:http/outgoing-handler` (as componentize-js components
//! do); what its manifest does not grant is linked to stubs that refuse every call.

use kolhost_plugin_sdk::host::{clock, config, http, info, kv};
use kolhost_plugin_sdk::platform::*;
use std::hint::black_box;

struct Hostile;

/// An import of `wasi:http/outgoing-handler`, as other toolchains bring one. Its one function is
/// not the real interface's (and the version is the WASI 0.3 candidate, so that it stays apart
/// from the 0.2 interface Rust's std knows): the host refuses every function of any `wasi:http`
/// interface, whatever its type.
mod probe {
    wit_bindgen::generate!({
        inline: r#"
            package kolhost:hostile;

            world probe {
                import wasi:http/outgoing-handler@0.3.0-rc-2025-09-16;
            }

            package wasi:http@0.3.0-rc-2025-09-16 {
                interface outgoing-handler {
                    handle: func();
                }
            }
        "#,
        world: "kolhost:hostile/probe",
        generate_all,
    });
}

fn reply(body: impl Into<Vec<u8>>) -> Parsed {
    Parsed {
        events: Vec::new(),
        reply: Reply {
            status: 200,
            content_type: "text/plain".into(),
            body: body.into(),
        },
    }
}

/// Non-tail recursion with small frames: the WASM stack overflows (not the shadow stack in
/// linear memory, which large address-taken locals would exhaust first).
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    recurse(depth.wrapping_add(1))
        .wrapping_mul(31)
        .wrapping_add(depth)
        ^ 0x5a5a
}

/// What the delivery asks for: its `x-hostile` header, else its path.
fn op(d: &Delivery) -> String {
    d.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-hostile"))
        .map_or_else(|| d.path.clone(), |(_, v)| v.clone())
}

fn stats(room: String) -> Event {
    Event {
        key: format!("stats-{room}"),
        body: EventBody::LiveStats(LiveStats {
            room_id: room,
            account_id: None,
            at: "2026-11-24T08:00:00Z".into(),
            viewers: 1200,
            gmv_fen: 1_000_000,
            orders: 42,
        }),
        platform_status: None,
    }
}

impl Platform for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: "test".into(),
            description: "misbehaves on demand".into(),
        }
    }

    fn verify_webhook(d: Delivery) -> Result<(), PluginError> {
        if op(&d) == "/verify-trap" {
            panic!("asked to trap in verify");
        }
        Ok(())
    }

    fn parse_webhook(d: Delivery) -> Result<Parsed, PluginError> {
        match op(&d).as_str() {
            "/loop" => {
                let mut i: u64 = 0;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            "/alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut chunk = vec![0u8; 1 << 20];
                    chunk[black_box(0)] = 1;
                    hoard.push(black_box(chunk));
                }
            }
            "/trap" => panic!("asked to trap"),
            "/trap-secret" => {
                let secret = config::get_secret(&d.query).unwrap_or_default();
                panic!("asked to trap, holding {secret}")
            }
            "/bad-event" => Ok(Parsed {
                events: vec![stats(String::new())],
                reply: reply("bad").reply,
            }),
            "/recurse" => Ok(reply(recurse(black_box(0)).to_string())),
            "/oversized" => {
                let events = (0..10_000).map(|i| stats(format!("{i:0>80}"))).collect();
                Ok(Parsed {
                    events,
                    reply: reply("big").reply,
                })
            }
            "/alias" => {
                // One 16 MiB string, never freed; seven Strings that own it, which the export
                // lowers as seven (pointer, length) pairs to the same bytes.
                let big: &'static mut [u8] = Vec::leak(vec![b'k'; 16 << 20]);
                let (ptr, len) = (big.as_mut_ptr(), big.len());
                let events = (0..7)
                    .map(|_| {
                        let mut e = stats("7001".into());
                        e.key = unsafe { String::from_raw_parts(ptr, len, len) };
                        e
                    })
                    .collect();
                Ok(Parsed {
                    events,
                    reply: reply("alias").reply,
                })
            }
            "/wasi-http" => {
                probe::wasi::http::outgoing_handler::handle();
                Ok(reply("sent"))
            }
            "/log-huge" => {
                info(&"x".repeat(4 << 20));
                Ok(reply("logged"))
            }
            "/invalid-utf8" => {
                let bad = unsafe { String::from_utf8_unchecked(vec![0xff, 0xfe, 0x41]) };
                Ok(Parsed {
                    events: vec![stats(bad)],
                    reply: reply("bad").reply,
                })
            }
            "/http" => {
                let resp = http::send(&http::Request {
                    method: "GET".into(),
                    url: d.query.clone(),
                    // It tries to choose its own Host; the host uses the URL's.
                    headers: vec![
                        ("x-plugin".into(), "hostile".into()),
                        ("host".into(), "evil.example".into()),
                    ],
                    body: Vec::new(),
                    timeout_ms: Some(2_000),
                })
                .map_err(|e| PluginError::Upstream(format!("{e:?}")))?;
                Ok(Parsed {
                    events: Vec::new(),
                    reply: Reply {
                        status: resp.status,
                        content_type: "text/plain".into(),
                        body: resp.body,
                    },
                })
            }
            "/kv" => {
                let key =
                    String::from_utf8(d.body).map_err(|e| PluginError::Malformed(e.to_string()))?;
                let old = kv::get(&key)
                    .map_err(PluginError::Other)?
                    .unwrap_or_default();
                let mut new = old;
                new.push(b'x');
                kv::set(&key, &new).map_err(PluginError::Other)?;
                Ok(reply(new))
            }
            "/kv-fill" => {
                let mut parts = d.query.split(':');
                let prefix = parts.next().unwrap_or("k").to_owned();
                let count: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
                let size: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
                let value = vec![b'v'; size];
                for i in 0..count {
                    if let Err(e) = kv::set(&format!("{prefix}-{i}"), &value) {
                        return Ok(reply(format!("wrote {i}: {e}")));
                    }
                }
                Ok(reply(format!("wrote {count}")))
            }
            "/kv-then-trap" => {
                let key = String::from_utf8_lossy(&d.body).into_owned();
                kv::set(&key, b"doomed").map_err(PluginError::Other)?;
                panic!("asked to trap after a write")
            }
            "/kv-then-loop" => {
                let key = String::from_utf8_lossy(&d.body).into_owned();
                kv::set(&key, b"doomed").map_err(PluginError::Other)?;
                let mut i: u64 = 0;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            "/config" => {
                let v = config::get(&d.query).unwrap_or_else(|| "-".into());
                let s = config::get_secret(&d.query).unwrap_or_else(|| "-".into());
                Ok(reply(format!("{v}/{s}")))
            }
            "/clock" => Ok(reply(clock::now_ms().to_string())),
            _ => Ok(Parsed {
                events: vec![stats("7001".into())],
                reply: reply("ok").reply,
            }),
        }
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, PluginError> {
        Ok(PollResult {
            events: Vec::new(),
            next_cursor: None,
            receipt: None,
        })
    }

    fn confirm(_receipt: String) -> Result<(), PluginError> {
        Ok(())
    }
}

kolhost_plugin_sdk::export_platform!(Hostile);
