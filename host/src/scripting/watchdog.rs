//! The wall-clock budget without a per-instruction cost.
//!
//! While any count hook is set, Lua 5.4 sends every VM instruction through `luaG_traceexec`
//! (ldebug.c), whatever the hook's interval: a third more time on a busy script. So by default
//! no hook is set while the script runs. A watchdog thread sleeps until the deadline and only
//! then installs a hook that fails every instruction. `lua_sethook` may be called
//! asynchronously: that is how `lua.c` stops a script on Ctrl-C, and the VM re-reads the hook
//! flag on every jump and loop back-edge for exactly this purpose (`updatetrap` in lvm.c), so
//! even `while true do end` stops at once.
//!
//! Only the main Lua thread runs script code: the sandbox loads no `coroutine` library, so the
//! one state the watchdog arms covers everything the script can run.
//!
//! The state is only touched while the run still owns it: [`Watchdog::disarm`] takes the lock
//! the watchdog holds while arming, so no hook is installed into a state being dropped.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mlua::{Lua, ffi};

/// The message every instruction fails with once the budget is gone.
pub(crate) const BUDGET_GONE: &str = "kolhost: script budget exhausted";

/// What the hook saw when it fired, read by the run afterwards.
#[derive(Default)]
struct Trip {
    fired: AtomicBool,
    /// The script line running when the deadline passed (0: unknown).
    line: AtomicI64,
}

struct Shared {
    /// The main `lua_State`, as an address; `None` once the run is over.
    state: Mutex<Option<usize>>,
    done: Condvar,
}

/// Arms the deadline hook of one run; disarmed when dropped.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    trip: Arc<Trip>,
    thread: Option<std::thread::JoinHandle<()>>,
}

thread_local! {
    // The hook runs on the thread that runs the script; it finds its run's trip record here.
    static CURRENT: std::cell::RefCell<Option<Arc<Trip>>> = const { std::cell::RefCell::new(None) };
}

/// Fails the current instruction (and, the hook count being 1, every one after it, so a
/// script that catches the error with `pcall` cannot go on).
unsafe extern "C-unwind" fn deadline_hook(l: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    unsafe {
        CURRENT.with(|c| {
            if let Some(trip) = c.borrow().as_ref()
                && !trip.fired.swap(true, Ordering::SeqCst)
            {
                let line = if ffi::lua_getinfo(l, c"l".as_ptr(), ar) != 0 {
                    (*ar).currentline
                } else {
                    -1
                };
                trip.line.store(i64::from(line.max(0)), Ordering::SeqCst);
            }
        });
        ffi::lua_pushstring(l, c"kolhost: script budget exhausted".as_ptr());
        ffi::lua_error(l);
    }
}

/// The main thread of `lua`, whatever thread of it mlua runs this on.
fn main_state(lua: &Lua) -> mlua::Result<usize> {
    let mut main = 0usize;
    // SAFETY: reads the registry's main-thread slot and pops it again.
    unsafe {
        lua.exec_raw::<()>((), |l| {
            ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_MAINTHREAD);
            main = ffi::lua_tothread(l, -1) as usize;
            ffi::lua_pop(l, 1);
        })?;
    }
    Ok(main)
}

impl Watchdog {
    /// Starts watching `lua`, to stop it at `deadline`. Call from the thread that runs the script.
    pub(crate) fn arm(lua: &Lua, deadline: Instant) -> mlua::Result<Self> {
        let state = main_state(lua)?;
        let trip = Arc::new(Trip::default());
        CURRENT.with(|c| *c.borrow_mut() = Some(trip.clone()));
        let shared = Arc::new(Shared {
            state: Mutex::new(Some(state)),
            done: Condvar::new(),
        });
        let watcher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kolhost-lua-watchdog".into())
            .spawn(move || {
                let mut guard = watcher.state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let Some(state) = *guard else { return };
                    let now = Instant::now();
                    if now >= deadline {
                        // SAFETY: the run holds the state alive until `disarm` clears it, which
                        // needs this lock; lua_sethook is safe to call asynchronously.
                        unsafe {
                            ffi::lua_sethook(
                                state as *mut ffi::lua_State,
                                Some(deadline_hook),
                                ffi::LUA_MASKCOUNT,
                                1 as c_int,
                            );
                        }
                        return;
                    }
                    guard = watcher
                        .done
                        .wait_timeout(guard, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            })
            .map_err(mlua::Error::external)?;
        Ok(Self {
            shared,
            trip,
            thread: Some(thread),
        })
    }

    /// Whether the deadline passed while the script ran, and on which line.
    pub(crate) fn tripped(&self) -> Option<Option<u32>> {
        self.trip.fired.load(Ordering::SeqCst).then(|| {
            u32::try_from(self.trip.line.load(Ordering::SeqCst))
                .ok()
                .filter(|l| *l > 0)
        })
    }

    /// Stops the watchdog; from here on it never touches the state.
    pub(crate) fn disarm(&mut self) {
        *self.shared.state.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.shared.done.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm();
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// How long past its deadline a run may go before the caller gives up waiting (a script stuck
/// in one long C call, where no hook runs).
pub(crate) const GRACE: Duration = Duration::from_secs(1);
