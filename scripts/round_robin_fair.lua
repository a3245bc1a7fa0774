-- round_robin_fair.lua: spread products evenly across every qualifying KOL, whatever the tier.
--
-- For agencies that rotate stock fairly: each product goes to the qualifying KOLs that have been
-- given the fewest products so far in this run (ties by KOL id), and its stock is split evenly
-- between them. A KOL qualifies when it sells the product's category, holds a signed or active
-- contract with the product's brand on the platform of one of its open sessions for a period
-- covering that session, and that session has a free slot. One price per product: the list price
-- less `discount_bp`, never under the floor price.
--
-- params (all optional):
--   discount_bp          = 1500
--   max_kols_per_product = 4
--   tiers                = { "head", "waist", "tail" }   -- restrict to some tiers
--   min_units            = 1      -- a KOL gets at least this many units, or the product fewer KOLs

---@param ctx AllocationContext
---@return AllocationResult
function allocate(ctx)
  local params = ctx.params or {}
  local function int(value, default, what)
    if value == nil then return default end
    local i = math.tointeger(value)
    if i == nil then error("params." .. what .. " must be an integer, got " .. tostring(value), 0) end
    return i
  end
  local discount = int(params.discount_bp, 1500, "discount_bp")
  local max_kols = math.max(1, int(params.max_kols_per_product, 4, "max_kols_per_product"))
  local min_units = math.max(1, int(params.min_units, 1, "min_units"))
  local tiers = {}
  for _, t in ipairs(params.tiers or { "head", "waist", "tail" }) do tiers[t] = true end

  local kol_by_id, kol_cats = {}, {}
  for _, k in ipairs(ctx.kols) do
    kol_by_id[k.id] = k
    local cats = {}
    for _, c in ipairs(k.categories) do cats[c] = true end
    kol_cats[k.id] = cats
  end

  local CLOSED = { cancelled = true, completed = true, ended = true }
  local sessions_by_kol, used, has, taken = {}, {}, {}, {}
  for _, s in ipairs(ctx.sessions) do
    used[s.id] = #s.lineup
    has[s.id] = {}
    for _, l in ipairs(s.lineup) do
      has[s.id][l.product_id] = true
      taken[l.product_id] = (taken[l.product_id] or 0) + l.units
    end
    if not CLOSED[s.status] then
      sessions_by_kol[s.kol_id] = sessions_by_kol[s.kol_id] or {}
      table.insert(sessions_by_kol[s.kol_id], s)
    end
  end
  for _, list in pairs(sessions_by_kol) do
    table.sort(list, function(a, b)
      if a.starts_at ~= b.starts_at then return a.starts_at < b.starts_at end
      return a.id < b.id
    end)
  end

  local contracts_by_brand = {}
  for _, c in ipairs(ctx.contracts) do
    if c.status == "signed" or c.status == "active" then
      contracts_by_brand[c.brand_id] = contracts_by_brand[c.brand_id] or {}
      table.insert(contracts_by_brand[c.brand_id], c)
    end
  end

  local products = {}
  for i, p in ipairs(ctx.products) do products[i] = p end
  table.sort(products, function(a, b)
    if a.stock_units ~= b.stock_units then return a.stock_units > b.stock_units end
    return a.id < b.id
  end)

  local given = {}            -- kol id -> products given in this run
  local assignments, unplaced = {}, {}
  for _, p in ipairs(products) do
    local remaining = p.stock_units - (taken[p.id] or 0)
    local cands, seen = {}, {}
    if remaining > 0 then
      for _, c in ipairs(contracts_by_brand[p.brand_id] or {}) do
        local k = kol_by_id[c.kol_id]
        if k and not seen[k.id] and tiers[k.tier] and kol_cats[k.id][p.category] then
          for _, s in ipairs(sessions_by_kol[k.id] or {}) do
            if s.platform == c.platform and c.starts_at <= s.starts_at and s.ends_at <= c.ends_at
                and used[s.id] < s.slot_capacity and not has[s.id][p.id] then
              cands[#cands + 1] = { kol = k, session = s }
              seen[k.id] = true
              break
            end
          end
        end
      end
    end
    if #cands == 0 then
      if remaining > 0 then unplaced[#unplaced + 1] = p.sku end
    else
      table.sort(cands, function(a, b)
        local ga, gb = given[a.kol.id] or 0, given[b.kol.id] or 0
        if ga ~= gb then return ga < gb end
        return a.kol.id < b.kol.id
      end)
      local n = math.min(#cands, max_kols, remaining // min_units)
      if n < 1 then n = 1 end
      local share, extra = remaining // n, remaining % n
      local price = p.list_price_fen * (10000 - discount) // 10000
      if price < p.floor_price_fen then price = p.floor_price_fen end
      if price > p.list_price_fen then price = p.list_price_fen end
      for i = 1, n do
        local c = cands[i]
        local units = share + (i <= extra and 1 or 0)
        if units > 0 then
          assignments[#assignments + 1] = {
            product_id = p.id, kol_id = c.kol.id, session_id = c.session.id,
            units = units, live_price_fen = price,
            reason = string.format("even split of %s over %d KOLs; %s (%s) had %d products before this one",
              p.sku, n, c.kol.name, c.kol.tier, given[c.kol.id] or 0),
          }
          given[c.kol.id] = (given[c.kol.id] or 0) + 1
          used[c.session.id] = used[c.session.id] + 1
          has[c.session.id][p.id] = true
        end
      end
    end
  end

  local lo, hi, kols_used = nil, 0, 0
  for _, count in pairs(given) do
    kols_used = kols_used + 1
    if lo == nil or count < lo then lo = count end
    if count > hi then hi = count end
  end
  local notes = {
    string.format("round robin: %d assignments over %d KOLs; each KOL got between %d and %d products",
      #assignments, kols_used, lo or 0, hi),
    string.format("one price per product: list price less %d bp, never under the floor price", discount),
  }
  if #unplaced > 0 then
    notes[#notes + 1] = string.format("%d products unplaced (no contracted KOL with the category and a free session slot): %s",
      #unplaced, table.concat(unplaced, ", ", 1, math.min(#unplaced, 10)))
  end
  return { assignments = assignments, notes = notes }
end
