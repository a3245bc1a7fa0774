-- clearance.lua: clear slow-moving, high-stock products through tail KOLs at the floor price.
--
-- A product is on clearance when the stock left after existing lineups is at least
-- `min_stock_units` (or when its id is listed in `product_ids`). It goes to up to
-- `max_kols_per_product` qualifying KOLs of the clearance tiers (tail by default), stock split by
-- followers on the session's platform, at the floor price (or the list price less `discount_bp`
-- when that is higher). A product already in a lineup under a lowest-price-clause contract at a
-- higher price is left alone: selling it cheaper elsewhere would break that promise (全网最低价).
--
-- params (all optional):
--   min_stock_units      = 1000
--   product_ids          = nil       -- e.g. { "0b6c…" }: clear exactly these
--   tiers                = { "tail" }
--   max_kols_per_product = 5
--   discount_bp          = nil       -- nil: the floor price

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
  local min_stock = int(params.min_stock_units, 1000, "min_stock_units")
  local max_kols = math.max(1, int(params.max_kols_per_product, 5, "max_kols_per_product"))
  local discount = params.discount_bp ~= nil and int(params.discount_bp, 0, "discount_bp") or nil
  local tiers = {}
  for _, t in ipairs(params.tiers or { "tail" }) do tiers[t] = true end
  local listed
  if params.product_ids then
    listed = {}
    for _, id in ipairs(params.product_ids) do listed[id] = true end
  end

  local kol_by_id, kol_cats, followers = {}, {}, {}
  for _, k in ipairs(ctx.kols) do
    kol_by_id[k.id] = k
    kol_cats[k.id] = {}
    for _, c in ipairs(k.categories) do kol_cats[k.id][c] = true end
    followers[k.id] = {}
    for _, a in ipairs(k.accounts) do
      followers[k.id][a.platform] = (followers[k.id][a.platform] or 0) + math.max(a.followers, 0)
    end
  end
  local contract_by_id = {}
  local contracts_by_brand = {}
  for _, c in ipairs(ctx.contracts) do
    contract_by_id[c.id] = c
    if c.status == "signed" or c.status == "active" then
      contracts_by_brand[c.brand_id] = contracts_by_brand[c.brand_id] or {}
      table.insert(contracts_by_brand[c.brand_id], c)
    end
  end

  local CLOSED = { cancelled = true, completed = true, ended = true }
  local sessions_by_kol, used, has, taken, promised = {}, {}, {}, {}, {}
  for _, s in ipairs(ctx.sessions) do
    used[s.id] = #s.lineup
    has[s.id] = {}
    for _, l in ipairs(s.lineup) do
      has[s.id][l.product_id] = true
      taken[l.product_id] = (taken[l.product_id] or 0) + l.units
      local c = l.contract_id and contract_by_id[l.contract_id]
      if c and c.lowest_price_clause then
        promised[l.product_id] = math.min(promised[l.product_id] or math.maxinteger, l.live_price_fen)
      end
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

  local picked = {}
  for _, p in ipairs(ctx.products) do
    local remaining = p.stock_units - (taken[p.id] or 0)
    if remaining > 0 and ((listed and listed[p.id]) or (not listed and remaining >= min_stock)) then
      picked[#picked + 1] = { product = p, remaining = remaining }
    end
  end
  table.sort(picked, function(a, b)
    if a.remaining ~= b.remaining then return a.remaining > b.remaining end
    return a.product.id < b.product.id
  end)

  local assignments, protected, unplaced, units_total = {}, {}, {}, 0
  for _, item in ipairs(picked) do
    local p, remaining = item.product, item.remaining
    local price = p.floor_price_fen
    if discount then
      price = math.max(p.floor_price_fen, p.list_price_fen * (10000 - discount) // 10000)
    end
    if price > p.list_price_fen then price = p.list_price_fen end
    if promised[p.id] and price < promised[p.id] then
      protected[#protected + 1] = p.sku
    else
      local cands, seen = {}, {}
      for _, c in ipairs(contracts_by_brand[p.brand_id] or {}) do
        local k = kol_by_id[c.kol_id]
        if k and not seen[k.id] and tiers[k.tier] and kol_cats[k.id][p.category] then
          for _, s in ipairs(sessions_by_kol[k.id] or {}) do
            if s.platform == c.platform and c.starts_at <= s.starts_at and s.ends_at <= c.ends_at
                and used[s.id] < s.slot_capacity and not has[s.id][p.id] then
              cands[#cands + 1] = { kol = k, session = s, w = math.max(followers[k.id][s.platform] or 0, 1) }
              seen[k.id] = true
              break
            end
          end
        end
      end
      if #cands == 0 then
        unplaced[#unplaced + 1] = p.sku
      else
        table.sort(cands, function(a, b)
          if a.w ~= b.w then return a.w > b.w end
          return a.kol.id < b.kol.id
        end)
        for i = #cands, max_kols + 1, -1 do cands[i] = nil end
        local total = 0
        for _, c in ipairs(cands) do total = total + c.w end
        local shares, given = {}, 0
        for i, c in ipairs(cands) do shares[i] = remaining * c.w // total; given = given + shares[i] end
        shares[1] = shares[1] + remaining - given
        for i, c in ipairs(cands) do
          if shares[i] > 0 then
            assignments[#assignments + 1] = {
              product_id = p.id, kol_id = c.kol.id, session_id = c.session.id,
              units = shares[i], live_price_fen = price,
              reason = string.format("clearance of %s (%d units left) via %s KOL %s at %s",
                p.sku, remaining, c.kol.tier, c.kol.name, price == p.floor_price_fen and "the floor price" or "a clearance discount"),
            }
            used[c.session.id] = used[c.session.id] + 1
            has[c.session.id][p.id] = true
            units_total = units_total + shares[i]
          end
        end
      end
    end
  end

  local notes = {
    string.format("clearance: %d of %d products qualify (%s); %d assignments, %d units",
      #picked, #ctx.products, listed and "listed in params.product_ids" or ("at least " .. min_stock .. " units left"),
      #assignments, units_total),
  }
  if #protected > 0 then
    notes[#notes + 1] = "left alone, a lowest-price clause promised a higher price elsewhere: " .. table.concat(protected, ", ")
  end
  if #unplaced > 0 then
    notes[#notes + 1] = "no contracted clearance KOL with the category and a free slot: " .. table.concat(unplaced, ", ")
  end
  return { assignments = assignments, notes = notes }
end
