//! `ctx` as Lua tables, built with the C API in one protected call.
//!
//! Through mlua's safe API each field is its own call: take the state's lock, push the table
//! from the reference thread, hash and intern the key string, set. Here the field names are
//! interned once and kept on the stack, and every table is filled in place, which makes the
//! ctx of 10,000 products several times cheaper to build (BENCHMARKS.md).
//!
//! The builder runs inside mlua's protected call, so a Lua error (out of memory) returns there
//! instead of unwinding through Rust: while it calls into Lua, no value with a destructor is
//! alive in its frames (times are formatted into a stack buffer).

use std::ffi::c_int;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use mlua::{Lua, Table, Value, ffi};

use crate::domain::allocation::AllocationContext;

use super::sandbox::json_to_lua;

/// Every field name of `ctx`, pushed once; `K::X as c_int` is its offset on the stack.
#[derive(Clone, Copy)]
#[repr(i32)]
enum K {
    Id,
    BrandId,
    Sku,
    Name,
    Category,
    Role,
    ListPriceFen,
    FloorPriceFen,
    StockUnits,
    Tier,
    Categories,
    Accounts,
    RevenueShareBp,
    TaxStatus,
    Platform,
    AccountId,
    Followers,
    KolId,
    Status,
    StartsAt,
    EndsAt,
    SlotFeeFen,
    CommissionBp,
    LowestPriceClause,
    Exclusive,
    SlotCapacity,
    Lineup,
    ProductId,
    ContractId,
    Position,
    LivePriceFen,
    Units,
    Products,
    Kols,
    Contracts,
    Sessions,
    Params,
}

/// The names, in the order of [`K`].
const NAMES: [&str; 37] = [
    "id",
    "brand_id",
    "sku",
    "name",
    "category",
    "role",
    "list_price_fen",
    "floor_price_fen",
    "stock_units",
    "tier",
    "categories",
    "accounts",
    "revenue_share_bp",
    "tax_status",
    "platform",
    "account_id",
    "followers",
    "kol_id",
    "status",
    "starts_at",
    "ends_at",
    "slot_fee_fen",
    "commission_bp",
    "lowest_price_clause",
    "exclusive",
    "slot_capacity",
    "lineup",
    "product_id",
    "contract_id",
    "position",
    "live_price_fen",
    "units",
    "products",
    "kols",
    "contracts",
    "sessions",
    "params",
];

/// Builds `ctx` with the API's field names; times are RFC 3339 UTC strings to the second
/// (`2026-11-30T12:00:00Z`), so they compare correctly as strings. `params` is JSON turned into
/// tables (`null` is nil; no params is an empty table).
pub(crate) fn ctx_to_lua(lua: &Lua, ctx: &AllocationContext) -> mlua::Result<Table> {
    let params = match json_to_lua(lua, &ctx.params)? {
        Value::Nil => Value::Table(lua.create_table()?),
        v => v,
    };
    // SAFETY: see the module comment; the closure gets `params` as its one argument at index 1
    // and leaves exactly the root table there, which exec_raw returns.
    unsafe {
        lua.exec_raw::<Table>(params, |l| {
            if ffi::lua_checkstack(l, NAMES.len() as c_int + 16) == 0 {
                // exec_raw then finds no table and reports it.
                ffi::lua_settop(l, 0);
                return;
            }
            let b = Builder { l, keys: 2 };
            for name in NAMES {
                ffi::lua_pushlstring(l, name.as_ptr().cast(), name.len());
            }
            b.root(ctx);
            // [params, keys..., root] -> [root]
            ffi::lua_copy(l, -1, 1);
            ffi::lua_settop(l, 1);
        })
    }
}

struct Builder {
    l: *mut ffi::lua_State,
    /// Stack index of the first field name.
    keys: c_int,
}

impl Builder {
    /// Pushes the name `k`; the caller pushes a value and sets it into the table below.
    unsafe fn key(&self, k: K) {
        unsafe { ffi::lua_pushvalue(self.l, self.keys + k as c_int) }
    }

    /// `t[k] = s` for the table on top.
    unsafe fn str(&self, k: K, s: &str) {
        unsafe {
            self.key(k);
            ffi::lua_pushlstring(self.l, s.as_ptr().cast(), s.len());
            ffi::lua_rawset(self.l, -3);
        }
    }

    unsafe fn int(&self, k: K, i: i64) {
        unsafe {
            self.key(k);
            ffi::lua_pushinteger(self.l, i);
            ffi::lua_rawset(self.l, -3);
        }
    }

    unsafe fn bool(&self, k: K, b: bool) {
        unsafe {
            self.key(k);
            ffi::lua_pushboolean(self.l, c_int::from(b));
            ffi::lua_rawset(self.l, -3);
        }
    }

    unsafe fn time(&self, k: K, t: &DateTime<Utc>) {
        let mut buf = StackStr::default();
        rfc3339(t, &mut buf);
        unsafe { self.str(k, buf.as_str()) }
    }

    /// `t[k] = {items...}`, each item pushed by `item` onto the stack top.
    unsafe fn list<T>(&self, k: K, items: &[T], item: impl Fn(&T)) {
        unsafe {
            self.key(k);
            ffi::lua_createtable(self.l, items.len().min(c_int::MAX as usize) as c_int, 0);
            for (i, it) in items.iter().enumerate() {
                item(it);
                ffi::lua_rawseti(self.l, -2, i as ffi::lua_Integer + 1);
            }
            ffi::lua_rawset(self.l, -3);
        }
    }

    /// Pushes a new table sized for `fields` named fields.
    unsafe fn record(&self, fields: c_int) {
        unsafe { ffi::lua_createtable(self.l, 0, fields) }
    }

    /// Pushes the root table; `params` is at stack index 1.
    unsafe fn root(&self, ctx: &AllocationContext) {
        unsafe {
            self.record(5);
            self.list(K::Products, &ctx.products, |p| {
                self.record(9);
                self.str(K::Id, &p.id);
                self.str(K::BrandId, &p.brand_id);
                self.str(K::Sku, &p.sku);
                self.str(K::Name, &p.name);
                self.str(K::Category, &p.category);
                self.str(K::Role, p.role.as_str());
                self.int(K::ListPriceFen, p.list_price_fen);
                self.int(K::FloorPriceFen, p.floor_price_fen);
                self.int(K::StockUnits, p.stock_units);
            });
            self.list(K::Kols, &ctx.kols, |k| {
                self.record(7);
                self.str(K::Id, &k.id);
                self.str(K::Name, &k.name);
                self.str(K::Tier, k.tier.as_str());
                self.list(K::Categories, &k.categories, |c| {
                    ffi::lua_pushlstring(self.l, c.as_ptr().cast(), c.len());
                });
                self.list(K::Accounts, &k.accounts, |a| {
                    self.record(3);
                    self.str(K::Platform, &a.platform);
                    self.str(K::AccountId, &a.account_id);
                    self.int(K::Followers, a.followers);
                });
                self.int(K::RevenueShareBp, k.revenue_share_bp);
                self.str(K::TaxStatus, k.tax_status.as_str());
            });
            self.list(K::Contracts, &ctx.contracts, |c| {
                self.record(11);
                self.str(K::Id, &c.id);
                self.str(K::BrandId, &c.brand_id);
                self.str(K::KolId, &c.kol_id);
                self.str(K::Platform, &c.platform);
                self.str(K::Status, c.status.as_str());
                self.time(K::StartsAt, &c.starts_at);
                self.time(K::EndsAt, &c.ends_at);
                self.int(K::SlotFeeFen, c.slot_fee_fen);
                self.int(K::CommissionBp, c.commission_bp);
                self.bool(K::LowestPriceClause, c.lowest_price_clause);
                self.bool(K::Exclusive, c.exclusive);
            });
            self.list(K::Sessions, &ctx.sessions, |s| {
                self.record(8);
                self.str(K::Id, &s.id);
                self.str(K::KolId, &s.kol_id);
                self.str(K::Platform, &s.platform);
                self.time(K::StartsAt, &s.starts_at);
                self.time(K::EndsAt, &s.ends_at);
                self.str(K::Status, &s.status);
                self.int(K::SlotCapacity, s.slot_capacity);
                self.list(K::Lineup, &s.lineup, |slot| {
                    self.record(5);
                    self.str(K::ProductId, &slot.product_id);
                    if let Some(c) = &slot.contract_id {
                        self.str(K::ContractId, c);
                    }
                    self.int(K::Position, slot.position);
                    self.int(K::LivePriceFen, slot.live_price_fen);
                    self.int(K::Units, slot.units);
                });
            });
            self.key(K::Params);
            ffi::lua_pushvalue(self.l, 1);
            ffi::lua_rawset(self.l, -3);
        }
    }
}

/// A short string on the stack: no destructor, so a Lua error may jump over it.
struct StackStr {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        Self {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `t` as chrono's `to_rfc3339_opts(SecondsFormat::Secs, true)` writes it, without allocating
/// in the common case of a four-digit year.
fn rfc3339(t: &DateTime<Utc>, out: &mut StackStr) {
    let year = t.year();
    let _ = if (0..=9999).contains(&year) {
        // A leap second (nanoseconds past 1e9) is written as :60, like chrono does.
        write!(
            out,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second() + t.nanosecond() / 1_000_000_000
        )
    } else {
        // The String is dropped before any Lua call.
        out.write_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    };
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, SecondsFormat, TimeZone, Utc};
    use mlua::{Lua, Value};
    use serde_json::Value as J;

    use super::{StackStr, ctx_to_lua, rfc3339};
    use crate::domain::allocation::AllocationContext;
    use crate::scripting::{bundled, convert::lua_to_json, synthetic};

    /// What the tables must hold: the ctx's JSON, where Lua has no null (a missing field) and no
    /// empty array (an empty table reads back as an object).
    fn as_lua_sees_it(v: J) -> J {
        match v {
            J::Object(m) => J::Object(
                m.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, as_lua_sees_it(v)))
                    .collect(),
            ),
            J::Array(a) if a.is_empty() => J::Object(Default::default()),
            J::Array(a) => J::Array(a.into_iter().map(as_lua_sees_it).collect()),
            other => other,
        }
    }

    #[test]
    fn the_tables_hold_the_ctx_field_for_field() {
        let mut demo: AllocationContext = serde_json::from_str(bundled::DEMO_FIXTURE).unwrap();
        demo.params = serde_json::json!({"max_kols_per_product": 2, "tiers": ["head"]});
        for ctx in [demo, synthetic::agency(300, 40, 7)] {
            let lua = Lua::new();
            let table = ctx_to_lua(&lua, &ctx).unwrap();
            let got = lua_to_json(&Value::Table(table), 0).unwrap();
            let want = as_lua_sees_it(serde_json::to_value(&ctx).unwrap());
            assert_eq!(got, want);
        }
    }

    #[test]
    fn times_are_written_like_chrono_writes_them() {
        for t in [
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 5, 7).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(12345, 6, 7, 8, 9, 10).unwrap(),
            Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).unwrap(),
            Utc.timestamp_opt(1_764_000_000, 999_999_999).unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .unwrap()
                .and_utc(),
        ] {
            let mut s = StackStr::default();
            rfc3339(&t, &mut s);
            assert_eq!(s.as_str(), t.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }
}
