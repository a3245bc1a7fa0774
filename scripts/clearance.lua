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
    local cats = {}
    for _, c in ipairs(k.categories) do cats[c] = true end
    kol_cats[k.id] = cats
    local f = {}
    for _, a in ipairs(k.accounts) do
      f[a.platform] = (f[a.platform] or 0) + math.max(a.followers, 0)
    end
    followers[k.id] = f
  end
  local contract_by_id = {}
  for _, c in ipairs(ctx.contracts) do contract_by_id[c.id] = c end

  local CLOSED = { cancelled = true, completed = true, ended = true }
  local sessions_by_kol, used, has, taken, promised = {}, {}, {}, {}, {}
  for _, s in ipairs(ctx.sessions) do
    used[s.id] = #s.lineup
    local in_s = {}
    for _, l in ipairs(s.lineup) do
      in_s[l.product_id] = true
      taken[l.product_id] = (taken[l.product_id] or 0) + l.units
      local c = l.contract_id and contract_by_id[l.contract_id]
      if c and c.lowest_price_clause then
        promised[l.product_id] = math.min(promised[l.product_id] or math.maxinteger, l.live_price_fen)
      end
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

  -- Signed or active contracts by brand (in ctx order) of KOLs in the clearance tiers, each
  -- with the KOL's open sessions on its platform inside its period, found once.
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

  -- The products on clearance, most units left first, then id: one integer key per product,
  -- key = -remaining * (n + 1) + position, sorted without a comparator; ties by id.
  local candidates, left = {}, {}
  for _, p in ipairs(ctx.products) do
    local remaining = p.stock_units - (taken[p.id] or 0)
    if remaining > 0 and ((listed and listed[p.id]) or (not listed and remaining >= min_stock)) then
      candidates[#candidates + 1] = p
      left[p] = remaining
    end
  end
  local n_picked = #candidates
  local m = n_picked + 1
  local max_left = 0
  for _, p in ipairs(candidates) do
    if left[p] > max_left then max_left = left[p] end
  end
  local picked = {}
  local function by_id(a, b) return a.id < b.id end
  if max_left < math.maxinteger // m // 2 then
    local keys, by_key = {}, {}
    for i, p in ipairs(candidates) do
      local key = -left[p] * m + i
      keys[i] = key
      by_key[key] = p
    end
    table.sort(keys)
    local i = 1
    while i <= n_picked do
      local q, j = keys[i] // m, i
      while j < n_picked and keys[j + 1] // m == q do j = j + 1 end
      if j == i then
        picked[#picked + 1] = by_key[keys[i]]
      else
        local run = {}
        for r = i, j do run[#run + 1] = by_key[keys[r]] end
        table.sort(run, by_id)
        for r = 1, #run do picked[#picked + 1] = run[r] end
      end
      i = j + 1
    end
  else
    for i, p in ipairs(candidates) do picked[i] = p end
    table.sort(picked, function(a, b)
      if left[a] ~= left[b] then return left[a] > left[b] end
      return a.id < b.id
    end)
  end

  local assignments, protected, unplaced, units_total = {}, {}, {}, 0
  -- The max_kols heaviest candidates (followers on the session's platform, then KOL id), kept in
  -- order while scanning, in arrays reused for every product.
  local seen, top_kol, top_session, top_w, shares = {}, {}, {}, {}, {}
  local EMPTY = {}
  for pi = 1, #picked do
    local p = picked[pi]
    local remaining = left[p]
    local price = p.floor_price_fen
    if discount then
      price = math.max(p.floor_price_fen, p.list_price_fen * (10000 - discount) // 10000)
    end
    if price > p.list_price_fen then price = p.list_price_fen end
    if promised[p.id] and price < promised[p.id] then
      protected[#protected + 1] = p.sku
    else
      local k = 0
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
              local w = math.max(followers[kid][s.platform] or 0, 1)
              local pos = k + 1
              while pos > 1 and (w > top_w[pos - 1] or (w == top_w[pos - 1] and kid < top_kol[pos - 1].id)) do
                pos = pos - 1
              end
              if pos <= max_kols then
                local last = k < max_kols and k + 1 or max_kols
                for j = last, pos + 1, -1 do
                  top_kol[j], top_session[j], top_w[j] = top_kol[j - 1], top_session[j - 1], top_w[j - 1]
                end
                top_kol[pos], top_session[pos], top_w[pos] = e.kol, s, w
                k = last
              end
              break
            end
          end
        end
      end
      if k == 0 then
        unplaced[#unplaced + 1] = p.sku
      else
        local total = 0
        for i = 1, k do total = total + top_w[i] end
        local given = 0
        for i = 1, k do shares[i] = remaining * top_w[i] // total; given = given + shares[i] end
        shares[1] = shares[1] + remaining - given
        local before = "clearance of " .. p.sku .. " (" .. remaining .. " units left) via "
        local after = price == p.floor_price_fen and " at the floor price" or " at a clearance discount"
        for i = 1, k do
          if shares[i] > 0 then
            local kol, session = top_kol[i], top_session[i]
            assignments[#assignments + 1] = {
              product_id = pid, kol_id = kol.id, session_id = session.id,
              units = shares[i], live_price_fen = price,
              reason = before .. kol.tier .. " KOL " .. kol.name .. after,
            }
            used[session.id] = used[session.id] + 1
            has[session.id][pid] = true
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
