//! Resource limits, as types. [`EngineLimits`] are fixed when the [`Runtime`](super::Runtime)
//! is built (they size the pooling allocator); [`Limits`] bound each call of a plugin and can be
//! lowered (never raised above the engine's) per plugin by its manifest ([`LimitsOverride`]).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The least [`Limits::lift_budget`]: an outbound request at its 1 MiB cap with its URL and
/// headers.
pub const MIN_LIFT_BUDGET: usize = (1 << 20) + (64 << 10);

/// Per-call limits of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Wall-clock deadline of one call (enforced by epoch interruption inside WASM, and by a
    /// timer around host calls such as outbound HTTP).
    pub timeout: Duration,
    /// Maximum size of a linear memory, in bytes.
    pub max_memory_bytes: usize,
    /// Maximum elements of a table.
    pub max_table_elements: usize,
    /// Maximum core instances (a component is made of a few).
    pub max_instances: usize,
    /// Maximum size of a call's result, in bytes of its JSON form. The host also stops reading
    /// a result out of the plugin's memory, before copying it, once it has read
    /// [`Limits::lift_budget`] bytes (see there).
    pub max_output_bytes: usize,
    /// Keys the plugin may keep in its key-value state.
    pub kv_max_keys: usize,
    /// Bytes (keys and values) the plugin may keep in its key-value state.
    pub kv_max_bytes: usize,
    /// Key-value writes (sets and deletes) one call may make.
    pub kv_max_writes_per_call: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_millis(500),
            max_memory_bytes: 64 << 20,
            max_table_elements: 20_000,
            max_instances: 32,
            max_output_bytes: 1 << 20,
            kv_max_keys: 10_000,
            kv_max_bytes: 16 << 20,
            kv_max_writes_per_call: 256,
        }
    }
}

/// Per-plugin settings from the manifest; a missing field keeps the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    pub timeout_ms: Option<u64>,
    pub max_memory_bytes: Option<usize>,
    pub max_table_elements: Option<usize>,
    pub max_instances: Option<usize>,
    pub max_output_bytes: Option<usize>,
    pub kv_max_keys: Option<usize>,
    pub kv_max_bytes: Option<usize>,
    pub kv_max_writes_per_call: Option<usize>,
}

impl Limits {
    /// These limits with the manifest's overrides applied.
    pub fn with(self, o: &LimitsOverride) -> Limits {
        Limits {
            timeout: o
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(self.timeout),
            max_memory_bytes: o.max_memory_bytes.unwrap_or(self.max_memory_bytes),
            max_table_elements: o.max_table_elements.unwrap_or(self.max_table_elements),
            max_instances: o.max_instances.unwrap_or(self.max_instances),
            max_output_bytes: o.max_output_bytes.unwrap_or(self.max_output_bytes),
            kv_max_keys: o.kv_max_keys.unwrap_or(self.kv_max_keys),
            kv_max_bytes: o.kv_max_bytes.unwrap_or(self.kv_max_bytes),
            kv_max_writes_per_call: o
                .kv_max_writes_per_call
                .unwrap_or(self.kv_max_writes_per_call),
        }
    }

    /// Bytes the host may copy out of the plugin in one crossing: a call's result, or the
    /// arguments of one host call (a log line, a key-value write, an outbound request). Counted
    /// by wasmtime while it lifts (its "hostcall fuel"): each string's and byte list's length,
    /// each list element at its size in host memory, every time it is referred to, so strings
    /// that alias one another cost each time. A result that needs more is refused before the
    /// bytes beyond the budget are copied.
    ///
    /// Twice [`Limits::max_output_bytes`]: a result within the JSON cap takes at most about
    /// twice its JSON size in host memory (an event's fields weigh more than its JSON names;
    /// lists of short strings more still, and are refused earlier). At least
    /// [`MIN_LIFT_BUDGET`], so the host calls' own caps (a 1 MiB outbound request, a 64 KiB
    /// value) hold whatever the output cap.
    pub fn lift_budget(&self) -> usize {
        self.max_output_bytes.saturating_mul(2).max(MIN_LIFT_BUDGET)
    }

    /// Why these limits are beyond what the engine allows, if they are.
    pub fn check_within(&self, engine: &EngineLimits) -> Result<(), String> {
        if self.timeout > engine.max_timeout {
            return Err(format!(
                "timeout {:?} is above the host's maximum {:?}",
                self.timeout, engine.max_timeout
            ));
        }
        if self.timeout.is_zero() {
            return Err("timeout must be positive".into());
        }
        if self.max_memory_bytes > engine.max_memory_bytes {
            return Err(format!(
                "max_memory_bytes {} is above the host's maximum {}",
                self.max_memory_bytes, engine.max_memory_bytes
            ));
        }
        if self.max_output_bytes > engine.max_output_bytes {
            return Err(format!(
                "max_output_bytes {} is above the host's maximum {}",
                self.max_output_bytes, engine.max_output_bytes
            ));
        }
        if self.max_table_elements > engine.max_table_elements {
            return Err(format!(
                "max_table_elements {} is above the host's maximum {}",
                self.max_table_elements, engine.max_table_elements
            ));
        }
        if self.max_instances > engine.max_core_instances_per_component as usize {
            return Err(format!(
                "max_instances {} is above the host's maximum {}",
                self.max_instances, engine.max_core_instances_per_component
            ));
        }
        for (name, value, max) in [
            ("kv_max_keys", self.kv_max_keys, engine.max_kv_keys),
            ("kv_max_bytes", self.kv_max_bytes, engine.max_kv_bytes),
            (
                "kv_max_writes_per_call",
                self.kv_max_writes_per_call,
                engine.max_kv_writes_per_call,
            ),
        ] {
            if value > max {
                return Err(format!("{name} {value} is above the host's maximum {max}"));
            }
        }
        Ok(())
    }
}

/// Limits of the whole engine: the pooling allocator's slots and the ceilings of [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// Plugin calls that can run at the same time (component instances in the pool).
    pub max_concurrent_calls: u32,
    /// Ceiling of [`Limits::max_memory_bytes`].
    pub max_memory_bytes: usize,
    /// Ceiling of [`Limits::max_table_elements`].
    pub max_table_elements: usize,
    /// Ceiling of [`Limits::max_output_bytes`].
    pub max_output_bytes: usize,
    /// Ceiling of [`Limits::max_instances`].
    pub max_core_instances_per_component: u32,
    /// Ceiling of [`Limits::timeout`].
    pub max_timeout: Duration,
    /// WASM stack per call; deeper recursion traps with a stack overflow.
    pub max_wasm_stack: usize,
    /// Granularity of timeouts: how often the engine's epoch ticks.
    pub epoch_tick: Duration,
    /// Ceilings of the key-value quotas in [`Limits`].
    pub max_kv_keys: usize,
    pub max_kv_bytes: usize,
    pub max_kv_writes_per_call: usize,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_concurrent_calls: 256,
            max_memory_bytes: 256 << 20,
            max_table_elements: 100_000,
            max_output_bytes: 16 << 20,
            max_core_instances_per_component: 32,
            max_timeout: Duration::from_secs(60),
            max_wasm_stack: 512 << 10,
            epoch_tick: Duration::from_millis(2),
            max_kv_keys: 1_000_000,
            max_kv_bytes: 1 << 30,
            max_kv_writes_per_call: 10_000,
        }
    }
}
