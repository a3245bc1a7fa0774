//! `kolhost:plugin/log`: lines into tracing, tagged with the plugin's name.

use crate::plugins::bindings::platform::kolhost::plugin::log::{self, Level};
use crate::plugins::bindings::v0_1::platform::kolhost::plugin::log as v1;
use crate::plugins::state::HostState;
use wasmtime::component::{HasSelf, Linker};

/// Longest line kept; longer ones are cut.
pub const MAX_LINE_BYTES: usize = 4096;
/// Lines kept per call; later ones are dropped.
pub const MAX_LINES_PER_CALL: u32 = 100;

/// Links `log` of every version this host runs.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v1::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl v1::Host for HostState {
    fn write(&mut self, level: v1::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            v1::Level::Trace => Level::Trace,
            v1::Level::Debug => Level::Debug,
            v1::Level::Info => Level::Info,
            v1::Level::Warn => Level::Warn,
            v1::Level::Error => Level::Error,
        };
        log::Host::write(self, level, message)
    }
}

impl log::Host for HostState {
    fn write(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        self.log_lines += 1;
        if self.log_lines > MAX_LINES_PER_CALL {
            if self.log_lines == MAX_LINES_PER_CALL + 1 {
                tracing::warn!(plugin = %self.plugin, "plugin log lines beyond {MAX_LINES_PER_CALL} in one call dropped");
            }
            return Ok(());
        }
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "kolhost::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "kolhost::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "kolhost::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "kolhost::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "kolhost::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}
