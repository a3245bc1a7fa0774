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
    local in_s = {}
    for _, l in ipairs(s.lineup) do
      in_s[l.product_id] = true
      taken[l.product_id] = (taken[l.product_id] or 0) + l.units
    end
    has[s.id] = in_s
    if not CLOSED[s.status] then
      local list = sessions_by_kol[s.kol_id]
      if not list then list = {}; sessions_by_kol[s.kol_id] = list end
      list[#list + 1] = s
    end
  end
  for _, list in pairs(sessions_by_kol) do
    table.sort(list, function(a, b)
      if a.starts_at ~= b.starts_at then return a.starts_at < b.starts_at end
      return a.id < b.id
    end)
  end

  -- Signed or active contracts by brand (in ctx order) of KOLs in the chosen tiers, each with
  -- the KOL's open sessions on its platform inside its period, found once instead of per product.
  local contracts_by_brand = {}
  for _, c in ipairs(ctx.contracts) do
    local k = kol_by_id[c.kol_id]
    if (c.status == "signed" or c.status == "active") and k and tiers[k.tier] then
      local list = {}
      for _, s in ipairs(sessions_by_kol[k.id] or {}) do
        if s.platform == c.platform and c.starts_at <= s.starts_at and s.ends_at <= c.ends_at then
          list[#list + 1] = s
        end
      end
      local entries = contracts_by_brand[c.brand_id]
      if not entries then entries = {}; contracts_by_brand[c.brand_id] = entries end
      entries[#entries + 1] = { kol = k, kol_id = k.id, cats = kol_cats[k.id], sessions = list }
    end
  end

  -- Products by stock, largest first, then id: one integer key per product,
  -- key = -stock * (n + 1) + position, sorted without a comparator; runs of equal stock by id.
  local n_products = #ctx.products
  local m = n_products + 1
  local max_stock = 0
  for i = 1, n_products do
    local st = math.abs(ctx.products[i].stock_units)
    if st > max_stock then max_stock = st end
  end
  local products = {}
  local function by_id(a, b) return a.id < b.id end
  if max_stock < math.maxinteger // m // 2 then
    local keys, by_key = {}, {}
    for i = 1, n_products do
      local p = ctx.products[i]
      local key = -p.stock_units * m + i
      keys[i] = key
      by_key[key] = p
    end
    table.sort(keys)
    local i = 1
    while i <= n_products do
      local q, j = keys[i] // m, i
      while j < n_products and keys[j + 1] // m == q do j = j + 1 end
      if j == i then
        products[#products + 1] = by_key[keys[i]]
      else
        local run = {}
        for r = i, j do run[#run + 1] = by_key[keys[r]] end
        table.sort(run, by_id)
        for r = 1, #run do products[#products + 1] = run[r] end
      end
      i = j + 1
    end
  else
    for i, p in ipairs(ctx.products) do products[i] = p end
    table.sort(products, function(a, b)
      if a.stock_units ~= b.stock_units then return a.stock_units > b.stock_units end
      return a.id < b.id
    end)
  end

  local given = {}            -- kol id -> products given in this run
  local assignments, unplaced = {}, {}
  -- The max_kols candidates with the fewest products so far (then by KOL id), kept in order
  -- while scanning, in arrays reused for every product.
  local seen, top_kol, top_session, top_given = {}, {}, {}, {}
  local EMPTY = {}
  for pi = 1, #products do
    local p = products[pi]
    local remaining = p.stock_units - (taken[p.id] or 0)
    local k, found = 0, 0
    if remaining > 0 then
      local pid, category = p.id, p.category
      local entries = contracts_by_brand[p.brand_id] or EMPTY
      for ei = 1, #entries do
        local e = entries[ei]
        local kid = e.kol_id
        if seen[kid] ~= pi and e.cats[category] then
          local sessions = e.sessions
          for si = 1, #sessions do
            local s = sessions[si]
            local sid = s.id
            if used[sid] < s.slot_capacity and not has[sid][pid] then
              seen[kid] = pi
              found = found + 1
              local g = given[kid] or 0
              local pos = k + 1
              while pos > 1 and (g < top_given[pos - 1] or (g == top_given[pos - 1] and kid < top_kol[pos - 1].id)) do
                pos = pos - 1
              end
              if pos <= max_kols then
                local last = k < max_kols and k + 1 or max_kols
                for j = last, pos + 1, -1 do
                  top_kol[j], top_session[j], top_given[j] = top_kol[j - 1], top_session[j - 1], top_given[j - 1]
                end
                top_kol[pos], top_session[pos], top_given[pos] = e.kol, s, g
                k = last
              end
              break
            end
          end
        end
      end
    end
    if found == 0 then
      if remaining > 0 then unplaced[#unplaced + 1] = p.sku end
    else
      local n = math.min(found, max_kols, remaining // min_units)
      if n < 1 then n = 1 end
      local share, extra = remaining // n, remaining % n
      local price = p.list_price_fen * (10000 - discount) // 10000
      if price < p.floor_price_fen then price = p.floor_price_fen end
      if price > p.list_price_fen then price = p.list_price_fen end
      local before = "even split of " .. p.sku .. " over " .. n .. " KOLs; "
      for i = 1, n do
        local kol, session = top_kol[i], top_session[i]
        local units = share + (i <= extra and 1 or 0)
        if units > 0 then
          local kid, sid = kol.id, session.id
          local had = given[kid] or 0
          assignments[#assignments + 1] = {
            product_id = p.id, kol_id = kid, session_id = sid,
            units = units, live_price_fen = price,
            reason = before .. kol.name .. " (" .. kol.tier .. ") had " .. had .. " products before this one",
          }
          given[kid] = had + 1
          used[sid] = used[sid] + 1
          has[sid][p.id] = true
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
