---@meta
-- LuaLS annotations of what a kolhost allocation strategy receives and returns (design §4, §6).
-- Put this file in your editor's workspace library (LuaLS `workspace.library`) to get completion
-- for `ctx`. Money is integer fen (`_fen`), rates basis points (`_bp`, 2000 = 20%), times RFC 3339
-- UTC strings to the second (`"2026-12-03T12:00:00Z"`, so they compare correctly as strings),
-- IDs UUID strings.

---@alias Platform "taobao"|"douyin"|"kuaishou"
---@alias ProductRole "launch"|"traffic"|"profit"
---@alias Tier "head"|"waist"|"tail"
---@alias ContractStatus "draft"|"proposed"|"signed"|"active"|"completed"|"cancelled"|"terminated"

---@class Product
---@field id string
---@field brand_id string
---@field sku string
---@field name string
---@field category string            e.g. "food", "home_textiles", "womens_fashion", "beauty"
---@field role ProductRole
---@field list_price_fen integer
---@field floor_price_fen integer     the lowest live price the brand allows
---@field stock_units integer         stock for livestreams, existing lineups included

---@class KolAccount
---@field platform Platform
---@field account_id string
---@field followers integer

---@class Kol
---@field id string
---@field name string
---@field tier Tier
---@field categories string[]
---@field accounts KolAccount[]
---@field revenue_share_bp integer
---@field tax_status "individual"|"company"

---@class Contract
---@field id string
---@field brand_id string
---@field kol_id string
---@field platform Platform
---@field status ContractStatus       only "signed" and "active" allow allocation
---@field starts_at string
---@field ends_at string
---@field slot_fee_fen integer
---@field commission_bp integer
---@field lowest_price_clause boolean  全网最低价: one product, one lowest price across the allocation
---@field exclusive boolean

---@class LineupSlot
---@field product_id string
---@field contract_id string?
---@field position integer
---@field live_price_fen integer
---@field units integer

---@class Session
---@field id string
---@field kol_id string
---@field platform Platform
---@field starts_at string
---@field ends_at string
---@field status string                e.g. "scheduled"; "cancelled", "completed", "ended" are closed
---@field slot_capacity integer        most lineup slots, the existing lineup included
---@field lineup LineupSlot[]          the lineup already in the session

---@class AllocationContext
---@field products Product[]
---@field kols Kol[]
---@field contracts Contract[]
---@field sessions Session[]
---@field params table<string, any>    the request's `params`, JSON null as nil

---@class Assignment
---@field product_id string
---@field kol_id string
---@field session_id string           a session of that KOL
---@field units integer               > 0; a float is accepted only if integral
---@field live_price_fen integer      floor price <= live price <= list price
---@field reason string?              why: shown to ops in the preview

---@class AllocationResult
---@field assignments Assignment[]
---@field notes string[]?             what the strategy did, for the preview

--- Host helpers: the only way out of the sandbox.
---@class kolhost
kolhost = {}

--- Current time, RFC 3339 UTC to the second.
---@return string
function kolhost.now() end

--- Seconds since the Unix epoch of an RFC 3339 time (any offset).
---@param rfc3339 string
---@return integer
function kolhost.time(rfc3339) end

--- Seconds since this run started (a float).
---@return number
function kolhost.clock() end

--- Adds a line to the run's log (shown by dry runs and `kolhost script test`); `print` does the same.
---@param ... any
function kolhost.log(...) end

kolhost.json = {}

---@param value any
---@return string
function kolhost.json.encode(value) end

---@param text string
---@return any
function kolhost.json.decode(text) end

--- The entry point every strategy defines.
---@param ctx AllocationContext
---@return AllocationResult
function allocate(ctx) end
