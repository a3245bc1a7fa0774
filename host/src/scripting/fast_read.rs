//! The common case of reading a result, straight off the Lua stack.
//!
//! Through mlua's safe API every field read makes a reference to the value (a slot in an
//! auxiliary thread, released again): about half the time of reading a large result. Here one
//! protected call walks `result.assignments` with the C API and copies the strings out. It only
//! accepts the shape a well-formed result has (a sequence of tables whose keys are the six
//! assignment fields, strings and integers where they belong); at the first thing it does not
//! expect it gives up, and the strict reader in `convert` reads the result again and names the
//! problem. So this path decides nothing about validity: it is a faster copy of what the strict
//! reader would return.

use std::ffi::{c_int, c_void};

use mlua::{Lua, Table, ffi};

use crate::domain::allocation::Assignment;

use super::convert::ASSIGNMENT_FIELDS;
use super::sandbox::truncate;

/// The assignments of `list`, or `None` when the strict reader must look.
pub(crate) fn assignments(lua: &Lua, list: &Table, max: usize) -> Option<Vec<Assignment>> {
    let mut out: Option<Vec<Assignment>> = None;
    // SAFETY: the closure only reads: it pushes the six field names and at most three values
    // above the table it was given (checked with lua_checkstack), pops what it pushed, and runs
    // inside mlua's protected call, so a Lua error cannot unwind through Rust frames with
    // destructors. The strings it borrows are copied before they are popped.
    let run = unsafe {
        lua.exec_raw::<()>(list, |l| {
            let t = ffi::lua_gettop(l);
            if ffi::lua_checkstack(l, 16) == 0 {
                return;
            }
            // Field names are short strings, which Lua interns: a key is the field `name` exactly
            // when it is the same object. Kept on the stack while they are compared against.
            let mut names = [std::ptr::null(); 6];
            for (slot, name) in names.iter_mut().zip(ASSIGNMENT_FIELDS) {
                ffi::lua_pushlstring(l, name.as_ptr().cast(), name.len());
                *slot = ffi::lua_topointer(l, -1);
            }
            out = read_list(l, t, max, &names);
            ffi::lua_settop(l, t - 1);
        })
    };
    run.ok()?;
    out
}

unsafe fn read_list(
    l: *mut ffi::lua_State,
    t: c_int,
    max: usize,
    names: &[*const c_void; 6],
) -> Option<Vec<Assignment>> {
    unsafe {
        let n = ffi::lua_rawlen(l, t);
        if n > max {
            return None;
        }
        // Every key must be an integer in 1..=n: count them.
        let mut keys = 0usize;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, t) != 0 {
            ffi::lua_pop(l, 1);
            if ffi::lua_isinteger(l, -1) == 0 {
                ffi::lua_pop(l, 1);
                return None;
            }
            let k = ffi::lua_tointegerx(l, -1, std::ptr::null_mut());
            if k < 1 || k as u64 > n as u64 {
                ffi::lua_pop(l, 1);
                return None;
            }
            keys += 1;
        }
        if keys != n {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for i in 1..=n {
            if ffi::lua_rawgeti(l, t, i as ffi::lua_Integer) != ffi::LUA_TTABLE {
                return None;
            }
            let a = read_assignment(l, ffi::lua_gettop(l), names);
            ffi::lua_pop(l, 1);
            out.push(a?);
        }
        Some(out)
    }
}

/// One assignment table at `t`.
unsafe fn read_assignment(
    l: *mut ffi::lua_State,
    t: c_int,
    names: &[*const c_void; 6],
) -> Option<Assignment> {
    unsafe {
        let mut strings: [Option<String>; 4] = Default::default(); // ids and reason
        let mut ints: [Option<i64>; 2] = [None, None]; // units, live_price_fen
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, t) != 0 {
            // key at -2, value at -1. lua_tolstring is only used on values, never on a key
            // (converting a key in place would confuse lua_next).
            let field = if ffi::lua_type(l, -2) == ffi::LUA_TSTRING {
                let key = ffi::lua_topointer(l, -2);
                names.iter().position(|n| *n == key)
            } else {
                None
            };
            let ok = match field {
                Some(j @ (0..=2 | 5)) if ffi::lua_type(l, -1) == ffi::LUA_TSTRING => {
                    match std::str::from_utf8(bytes(l, -1)) {
                        Ok(s) => {
                            strings[if j == 5 { 3 } else { j }] = Some(s.to_owned());
                            true
                        }
                        Err(_) => false,
                    }
                }
                Some(j @ (3 | 4)) if ffi::lua_isinteger(l, -1) != 0 => {
                    ints[j - 3] = Some(ffi::lua_tointegerx(l, -1, std::ptr::null_mut()));
                    true
                }
                _ => false,
            };
            ffi::lua_pop(l, 1);
            if !ok {
                ffi::lua_pop(l, 1);
                return None;
            }
        }
        let [product_id, kol_id, session_id, reason] = strings;
        Some(Assignment {
            product_id: product_id?,
            kol_id: kol_id?,
            session_id: session_id?,
            units: ints[0]?,
            live_price_fen: ints[1]?,
            reason: reason.map(|r| truncate(r, 500)).unwrap_or_default(),
        })
    }
}

/// The bytes of the string at `idx` (which must be a string), valid while it is on the stack.
unsafe fn bytes<'a>(l: *mut ffi::lua_State, idx: c_int) -> &'a [u8] {
    unsafe {
        let mut len = 0usize;
        let p = ffi::lua_tolstring(l, idx, &mut len);
        if p.is_null() {
            return &[];
        }
        std::slice::from_raw_parts(p.cast::<u8>(), len)
    }
}
