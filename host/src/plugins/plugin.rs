//! One compiled, pre-instantiated version of a plugin, and its bounded calls: every call gets
//! a fresh [`Store`] (its own memory, limiter and deadline) and a fresh instance from the pool.

use super::bindings::{
    AllocateInput, Allocation, Delivery, Event, EventBody, Parsed, PluginInfo, PollResult,
    allocator::AllocatorPre, platform::PlatformPre, v0_1,
};
use super::capabilities::http::HttpCapability;
use super::capabilities::not_granted::NotGranted;
use super::error::CallError;
use super::limits::Limits;
use super::manifest::{Manifest, World};
use super::state::{CallEnv, Exceeded, HostState};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Store, Trap, UpdateDeadline};

/// Extra wall time allowed around a call before the host abandons it (the epoch deadline
/// normally stops it first; this catches a host call that does not return).
const HOST_GRACE: Duration = Duration::from_millis(250);

/// A pre-instantiated component of one world and one WIT version; 0.1.0 ones are called
/// through the adapter in [`v0_1`].
pub(crate) enum Compiled {
    Platform(PlatformPre<HostState>),
    Allocator(AllocatorPre<HostState>),
    PlatformV1(v0_1::platform::PlatformPre<HostState>),
    AllocatorV1(v0_1::allocator::AllocatorPre<HostState>),
}

/// What a platform call runs on.
enum PlatformCompiled<'a> {
    V2(&'a PlatformPre<HostState>),
    V1(&'a v0_1::platform::PlatformPre<HostState>),
}

enum AllocatorCompiled<'a> {
    V2(&'a AllocatorPre<HostState>),
    V1(&'a v0_1::allocator::AllocatorPre<HostState>),
}

/// A compiled plugin version. Cheap to share: calls take `&self`.
pub struct Plugin {
    manifest: Manifest,
    name: Arc<str>,
    limits: Limits,
    compiled: Compiled,
    http: Option<Arc<HttpCapability>>,
    info: PluginInfo,
    /// What the upload's answer warns about (imports linked to refusing stubs).
    warnings: Vec<String>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("manifest", &self.manifest)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Plugin {
    pub(crate) fn new(
        manifest: Manifest,
        limits: Limits,
        compiled: Compiled,
        http: Option<Arc<HttpCapability>>,
        warnings: Vec<String>,
    ) -> Self {
        Plugin {
            name: manifest.name.as_str().into(),
            manifest,
            limits,
            compiled,
            http,
            warnings,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                platform: String::new(),
                description: String::new(),
            },
        }
    }

    pub(crate) fn set_info(&mut self, info: PluginInfo) {
        self.info = info;
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn world(&self) -> World {
        self.manifest.world
    }

    /// The `kolhost:plugin` version the component targets.
    pub fn wit_version(&self) -> &'static str {
        match &self.compiled {
            Compiled::Platform(_) | Compiled::Allocator(_) => super::runtime::SUPPORTED_VERSION,
            Compiled::PlatformV1(_) | Compiled::AllocatorV1(_) => "0.1.0",
        }
    }

    /// Imports linked to stubs that refuse every call (not granted, or `wasi:http`), as the
    /// upload's answer states them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What the plugin said about itself at load.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    fn store(&self, env: &CallEnv, engine: &wasmtime::Engine) -> Store<HostState> {
        let mut store = Store::new(
            engine,
            HostState::new(
                self.name.clone(),
                env.clone(),
                self.http.clone(),
                self.limits,
            ),
        );
        store.limiter(|s| &mut s.limiter);
        // What the host copies out of the plugin in one crossing (the result, a host call's
        // arguments) is bounded while wasmtime lifts it, before the bytes are copied.
        store.set_hostcall_fuel(self.limits.lift_budget());
        // Check the deadline at every epoch tick, yielding to the executor in between so a
        // spinning plugin does not hold a runtime thread.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data_mut();
            if s.started.elapsed() >= s.limiter.limits.timeout {
                s.timed_out = true;
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    fn engine(&self) -> &wasmtime::Engine {
        match &self.compiled {
            Compiled::Platform(p) => p.engine(),
            Compiled::Allocator(p) => p.engine(),
            Compiled::PlatformV1(p) => p.engine(),
            Compiled::AllocatorV1(p) => p.engine(),
        }
    }

    /// Turns what wasmtime says into a [`CallError`].
    fn classify(
        &self,
        store: &Store<HostState>,
        err: wasmtime::Error,
        instantiating: bool,
    ) -> CallError {
        let s = store.data();
        if s.timed_out {
            return CallError::Timeout(self.limits.timeout);
        }
        if let Some(refusal) = err.downcast_ref::<NotGranted>() {
            return CallError::NotGranted(refusal.to_string());
        }
        if lift_budget_exhausted(&err) {
            let budget = self.limits.lift_budget();
            // Lifting a host call's arguments happens under the plugin's frames (the error
            // carries their backtrace); lifting the result after they returned.
            return if err.downcast_ref::<wasmtime::WasmBacktrace>().is_some() {
                CallError::HostCallTooLarge { budget }
            } else {
                CallError::OutputTooLarge {
                    size: None,
                    limit: self.limits.max_output_bytes,
                }
            };
        }
        match s.limiter.exceeded {
            Some(Exceeded::Memory) => {
                return CallError::MemoryExhausted {
                    limit: self.limits.max_memory_bytes,
                };
            }
            Some(Exceeded::Table) => {
                return CallError::TableExhausted {
                    limit: self.limits.max_table_elements,
                };
            }
            None => {}
        }
        if let Some(trap) = err.downcast_ref::<Trap>() {
            return match trap {
                Trap::StackOverflow => CallError::StackOverflow,
                Trap::Interrupt | Trap::OutOfFuel => CallError::Timeout(self.limits.timeout),
                other => {
                    let stderr = s.stderr_text();
                    if stderr.is_empty() {
                        CallError::Trap(other.to_string())
                    } else {
                        CallError::Trap(format!("{other}; stderr: {stderr}"))
                    }
                }
            };
        }
        if err
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            return CallError::Busy;
        }
        if instantiating {
            CallError::Host(format!("instantiate: {err:#}"))
        } else {
            // Lifting the result failed: bad UTF-8, out-of-bounds pointers, bad discriminants.
            CallError::InvalidOutput(format!("{err:#}"))
        }
    }

    fn check_output<T: serde::Serialize>(&self, value: &T) -> Result<(), CallError> {
        let size = json_size(value);
        if size > self.limits.max_output_bytes {
            return Err(CallError::OutputTooLarge {
                size: Some(size),
                limit: self.limits.max_output_bytes,
            });
        }
        Ok(())
    }

    fn platform(&self) -> Result<PlatformCompiled<'_>, CallError> {
        match &self.compiled {
            Compiled::Platform(p) => Ok(PlatformCompiled::V2(p)),
            Compiled::PlatformV1(p) => Ok(PlatformCompiled::V1(p)),
            Compiled::Allocator(_) | Compiled::AllocatorV1(_) => Err(CallError::WrongWorld {
                name: self.manifest.name.clone(),
                world: self.manifest.world,
            }),
        }
    }

    fn allocator(&self) -> Result<AllocatorCompiled<'_>, CallError> {
        match &self.compiled {
            Compiled::Allocator(p) => Ok(AllocatorCompiled::V2(p)),
            Compiled::AllocatorV1(p) => Ok(AllocatorCompiled::V1(p)),
            Compiled::Platform(_) | Compiled::PlatformV1(_) => Err(CallError::WrongWorld {
                name: self.manifest.name.clone(),
                world: self.manifest.world,
            }),
        }
    }

    /// `describe()`, either world.
    pub async fn describe(&self, env: &CallEnv) -> Result<PluginInfo, CallError> {
        let out = self
            .run(env, async |store: &mut Store<HostState>| {
                match &self.compiled {
                    Compiled::Platform(pre) => {
                        let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                        called(b.kolhost_plugin_platform_api().call_describe(store)).await
                    }
                    Compiled::Allocator(pre) => {
                        let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                        called(b.kolhost_plugin_allocator_api().call_describe(store)).await
                    }
                    Compiled::PlatformV1(pre) => {
                        let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                        called(b.kolhost_plugin_platform_api().call_describe(store))
                            .await
                            .map(v0_1::info)
                    }
                    Compiled::AllocatorV1(pre) => {
                        let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                        called(b.kolhost_plugin_allocator_api().call_describe(store))
                            .await
                            .map(v0_1::info)
                    }
                }
            })
            .await?;
        self.check_output(&out)?;
        Ok(out)
    }

    /// `verify-webhook(delivery)`. `Err(CallError::Plugin(unauthorized))` means "not authentic".
    pub async fn verify_webhook(
        &self,
        env: &CallEnv,
        delivery: &Delivery,
    ) -> Result<(), CallError> {
        let pre = self.platform()?;
        self.run(env, async |store: &mut Store<HostState>| match pre {
            PlatformCompiled::V2(pre) => {
                let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                called(
                    b.kolhost_plugin_platform_api()
                        .call_verify_webhook(store, delivery),
                )
                .await
            }
            PlatformCompiled::V1(pre) => {
                let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                called(
                    b.kolhost_plugin_platform_api()
                        .call_verify_webhook(store, &v0_1::delivery(delivery)),
                )
                .await
                .map(|r| r.map_err(v0_1::error))
            }
        })
        .await?
        .map_err(CallError::Plugin)
    }

    /// `parse-webhook(delivery)`: events checked for size and well-formedness.
    pub async fn parse_webhook(
        &self,
        env: &CallEnv,
        delivery: &Delivery,
    ) -> Result<Parsed, CallError> {
        let pre = self.platform()?;
        let parsed = self
            .run(env, async |store: &mut Store<HostState>| match pre {
                PlatformCompiled::V2(pre) => {
                    let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                    called(
                        b.kolhost_plugin_platform_api()
                            .call_parse_webhook(store, delivery),
                    )
                    .await
                }
                PlatformCompiled::V1(pre) => {
                    let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                    called(
                        b.kolhost_plugin_platform_api()
                            .call_parse_webhook(store, &v0_1::delivery(delivery)),
                    )
                    .await
                    .map(|r| r.map(v0_1::parsed).map_err(v0_1::error))
                }
            })
            .await?
            .map_err(CallError::Plugin)?;
        self.check_output(&parsed)?;
        validate_events(&parsed.events)?;
        if !(100..=599).contains(&parsed.reply.status) {
            return Err(CallError::InvalidOutput(format!(
                "reply status {} is not an HTTP status",
                parsed.reply.status
            )));
        }
        Ok(parsed)
    }

    /// `poll(cursor)`.
    pub async fn poll(&self, env: &CallEnv, cursor: Option<&str>) -> Result<PollResult, CallError> {
        let pre = self.platform()?;
        let out = self
            .run(env, async |store: &mut Store<HostState>| match pre {
                PlatformCompiled::V2(pre) => {
                    let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                    called(b.kolhost_plugin_platform_api().call_poll(store, cursor)).await
                }
                PlatformCompiled::V1(pre) => {
                    let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                    called(b.kolhost_plugin_platform_api().call_poll(store, cursor))
                        .await
                        .map(|r| r.map(v0_1::poll_result).map_err(v0_1::error))
                }
            })
            .await?
            .map_err(CallError::Plugin)?;
        self.check_output(&out)?;
        validate_events(&out.events)?;
        Ok(out)
    }

    /// `confirm(receipt)` (0.2.0): acknowledges a committed poll page to the platform. A
    /// 0.1.0 component hands out no receipts, so there is nothing to confirm.
    pub async fn confirm(&self, env: &CallEnv, receipt: &str) -> Result<(), CallError> {
        let pre = match self.platform()? {
            PlatformCompiled::V2(pre) => pre,
            PlatformCompiled::V1(_) => return Ok(()),
        };
        self.run(env, async |store: &mut Store<HostState>| {
            let b = instantiated(pre.instantiate_async(&mut *store)).await?;
            called(b.kolhost_plugin_platform_api().call_confirm(store, receipt)).await
        })
        .await?
        .map_err(CallError::Plugin)
    }

    /// `allocate(input)`.
    pub async fn allocate(
        &self,
        env: &CallEnv,
        input: &AllocateInput,
    ) -> Result<Allocation, CallError> {
        let pre = self.allocator()?;
        let out = self
            .run(env, async |store: &mut Store<HostState>| match pre {
                AllocatorCompiled::V2(pre) => {
                    let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                    called(b.kolhost_plugin_allocator_api().call_allocate(store, input)).await
                }
                AllocatorCompiled::V1(pre) => {
                    let old_input = v0_1::same(input).map_err(|e| (e, false))?;
                    let b = instantiated(pre.instantiate_async(&mut *store)).await?;
                    let r = called(
                        b.kolhost_plugin_allocator_api()
                            .call_allocate(store, &old_input),
                    )
                    .await?;
                    match r {
                        Ok(a) => v0_1::same(&a).map(Ok).map_err(|e| (e, false)),
                        Err(e) => Ok(Err(v0_1::error(e))),
                    }
                }
            })
            .await?
            .map_err(CallError::Plugin)?;
        self.check_output(&out)?;
        Ok(out)
    }

    /// One export call in a fresh store, under the wall-clock backstop, its failure classified.
    /// `call` instantiates and calls; its error says whether instantiating failed.
    async fn run<R>(
        &self,
        env: &CallEnv,
        call: impl AsyncFnOnce(&mut Store<HostState>) -> Result<R, (wasmtime::Error, bool)>,
    ) -> Result<R, CallError> {
        let mut store = self.store(env, self.engine());
        let res = self.bounded(call(&mut store)).await;
        self.settle(&store, res)
    }

    /// Runs a call future under the wall-clock backstop.
    async fn bounded<R>(
        &self,
        fut: impl Future<Output = Result<R, (wasmtime::Error, bool)>>,
    ) -> Result<Result<R, (wasmtime::Error, bool)>, tokio::time::error::Elapsed> {
        tokio::time::timeout(self.limits.timeout + HOST_GRACE, fut).await
    }

    /// Classifies how a call ended.
    fn settle<R>(
        &self,
        store: &Store<HostState>,
        res: Result<Result<R, (wasmtime::Error, bool)>, tokio::time::error::Elapsed>,
    ) -> Result<R, CallError> {
        match res {
            Err(_) => Err(CallError::Timeout(self.limits.timeout)),
            Ok(Ok(r)) => Ok(r),
            Ok(Err((e, instantiating))) => Err(self.classify(store, e, instantiating)),
        }
    }
}

/// Whether wasmtime stopped lifting because the call's hostcall fuel ([`Limits::lift_budget`])
/// ran out. Its error type is private; its message is stable (and a test holds it).
fn lift_budget_exhausted(err: &wasmtime::Error) -> bool {
    err.chain().any(|e| {
        e.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

/// Bytes of `value` as JSON, counted without building the JSON.
pub fn json_size<T: serde::Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}

fn rfc3339(field: &str, v: &str) -> Result<(), CallError> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|_| ())
        .map_err(|e| CallError::InvalidOutput(format!("{field} `{v}` is not RFC 3339: {e}")))
}

fn non_negative(field: &str, v: i64) -> Result<(), CallError> {
    if v < 0 {
        return Err(CallError::InvalidOutput(format!(
            "{field} is negative ({v})"
        )));
    }
    Ok(())
}

/// The host's checks on events: keys present, amounts non-negative, times RFC 3339.
pub fn validate_events(events: &[Event]) -> Result<(), CallError> {
    for e in events {
        if e.key.is_empty() {
            return Err(CallError::InvalidOutput("an event has an empty key".into()));
        }
        match &e.body {
            EventBody::OrderPaid(p) => {
                if p.platform_order_id.is_empty() {
                    return Err(CallError::InvalidOutput(
                        "order-paid without platform-order-id".into(),
                    ));
                }
                non_negative("paid-fen", p.paid_fen)?;
                rfc3339("paid-at", &p.paid_at)?;
            }
            EventBody::OrderNotice(n) => {
                if n.platform_order_id.is_empty() {
                    return Err(CallError::InvalidOutput(
                        "order-notice without platform-order-id".into(),
                    ));
                }
                if let Some(f) = n.paid_fen {
                    non_negative("paid-fen", f)?;
                }
                if let Some(t) = &n.paid_at {
                    rfc3339("paid-at", t)?;
                }
            }
            EventBody::OrderStatus(s) => {
                if let Some(t) = &s.at {
                    rfc3339("at", t)?;
                }
            }
            EventBody::OrderRefunded(r) => {
                non_negative("refunded-fen", r.refunded_fen)?;
                rfc3339("refunded-at", &r.refunded_at)?;
            }
            EventBody::OrderSettled(s) => {
                non_negative("settled-fen", s.settled_fen)?;
                if let Some(f) = s.platform_fee_fen {
                    non_negative("platform-fee-fen", f)?;
                }
                rfc3339("settled-at", &s.settled_at)?;
            }
            EventBody::LiveStats(s) => {
                non_negative("gmv-fen", s.gmv_fen)?;
                rfc3339("at", &s.at)?;
            }
        }
    }
    Ok(())
}

/// Instantiating a component: a failure here is the instantiation's (`true`), not the call's.
async fn instantiated<T>(
    instantiate: impl Future<Output = wasmtime::Result<T>>,
) -> Result<T, (wasmtime::Error, bool)> {
    instantiate.await.map_err(|e| (e, true))
}

/// Calling an export of an instance: a failure here is the call's (`false`).
async fn called<T>(
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Result<T, (wasmtime::Error, bool)> {
    call.await.map_err(|e| (e, false))
}
