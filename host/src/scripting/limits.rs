//! Resource limits of one strategy run, as a type: defaults here, per-run overrides by the caller.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits of one script run. Every run gets a fresh Lua state, so nothing survives between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScriptLimits {
    /// Bytes the script may allocate on top of the `ctx` tables the host builds for it.
    pub memory_bytes: usize,
    /// Lua VM instructions the script may execute (counted every `hook_interval` instructions).
    /// `None` (the default): only the wall clock bounds the run, which is cheaper, since
    /// counting instructions slows every instruction down (see `watchdog`).
    pub instructions: Option<u64>,
    /// Wall-clock time for the whole run (load, `allocate`, result conversion).
    #[serde(with = "millis")]
    pub wall_clock: Duration,
    /// How often (in VM instructions) the instruction budget is checked.
    pub hook_interval: u32,
    /// Most assignments a result may hold.
    pub max_assignments: usize,
    /// Most notes a result may hold; each note is cut to `max_note_chars`.
    pub max_notes: usize,
    pub max_note_chars: usize,
    /// Most lines `kolhost.log` / `print` keep; each is cut to `max_note_chars`.
    pub max_log_lines: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 * 1024 * 1024,
            instructions: None,
            wall_clock: Duration::from_secs(10),
            hook_interval: 10_000,
            max_assignments: 200_000,
            max_notes: 1_000,
            max_note_chars: 2_000,
            max_log_lines: 1_000,
        }
    }
}

impl ScriptLimits {
    /// The most instructions a run may ask for.
    pub const MAX_INSTRUCTIONS: u64 = 1_000_000_000;

    /// Tight limits for untrusted dry runs and tests.
    pub fn strict() -> Self {
        Self {
            memory_bytes: 16 * 1024 * 1024,
            instructions: Some(50_000_000),
            wall_clock: Duration::from_secs(2),
            ..Self::default()
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().min(u128::from(u64::MAX)) as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
