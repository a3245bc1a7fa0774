-- pyramid.lua: the KOL pyramid (design §1).
--
-- Launch products go to head KOLs (awareness), traffic products to waist KOLs at a deeper
-- discount, profit products to tail KOLs. A KOL qualifies for a product when it sells the
-- product's category and holds a signed or active contract with the product's brand on the
-- platform of one of its open sessions, for a period covering that session, and the session has
-- a free slot. Stock is split across the heaviest qualifying KOLs by expected GMV (followers on
-- the session's platform x a tier factor). The live price is the list price less the role's
-- discount, never under the floor price.
--
-- params (all optional):
--   discount_bp          = { launch = 500, traffic = 2500, profit = 1000 }
--   tier_for_role        = { launch = "head", traffic = "waist", profit = "tail" }
--   tier_factor          = { head = 100, waist = 40, tail = 15 }
--   max_kols_per_product = 3
--
-- The same algorithm is written in Rust in host/src/scripting/native_pyramid.rs; keep them equal.

---@param ctx AllocationContext
---@return AllocationResult
function allocate(ctx)
  local params = ctx.params or {}

  -- Reads an integer parameter, with a default; floats are accepted only when integral.
  local function int(value, default, what)
    if value == nil then return default end
    local i = math.tointeger(value)
    if i == nil then error("params." .. what .. " must be an integer, got " .. tostring(value), 0) end
    return i
  end

  local ROLES = { "launch", "traffic", "profit" }
  local ROLE_RANK = { launch = 1, traffic = 2, profit = 3 }
  local DEFAULT_DISCOUNT = { launch = 500, traffic = 2500, profit = 1000 }
  local DEFAULT_TIER = { launch = "head", traffic = "waist", profit = "tail" }
  local DEFAULT_FACTOR = { head = 100, waist = 40, tail = 15 }

  local discount, tier_for_role, tier_factor = {}, {}, {}
  for _, role in ipairs(ROLES) do
    discount[role] = int((params.discount_bp or {})[role], DEFAULT_DISCOUNT[role], "discount_bp." .. role)
    tier_for_role[role] = (params.tier_for_role or {})[role] or DEFAULT_TIER[role]
  end
  for tier, default in pairs(DEFAULT_FACTOR) do
    tier_factor[tier] = int((params.tier_factor or {})[tier], default, "tier_factor." .. tier)
  end
  local max_kols = math.max(1, int(params.max_kols_per_product, 3, "max_kols_per_product"))

  -- 1. Indexes, built once.
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

  -- Signed or active contracts by brand and by the KOL's tier (in id order), each with the
  -- KOL's open sessions on the contract's platform inside its period (in time order).
  -- Sorting plain strings or integers needs no comparator: table.sort then compares in C, which
  -- is several times faster than calling a Lua function per comparison (scripts/README.md).
  local contract_ids, contract_by_id = {}, {}
  for _, c in ipairs(ctx.contracts) do
    if c.status == "signed" or c.status == "active" then
      contract_ids[#contract_ids + 1] = c.id
      contract_by_id[c.id] = c
    end
  end
  table.sort(contract_ids)
  local contracts = {}
  for i, id in ipairs(contract_ids) do contracts[i] = contract_by_id[id] end
  local by_brand_tier = {}
  for _, c in ipairs(contracts) do
    local k = kol_by_id[c.kol_id]
    if k then
      local list = {}
      for _, s in ipairs(sessions_by_kol[k.id] or {}) do
        if s.platform == c.platform and c.starts_at <= s.starts_at and s.ends_at <= c.ends_at then
          list[#list + 1] = s
        end
      end
      if #list > 0 then
        local by_tier = by_brand_tier[c.brand_id]
        if not by_tier then by_tier = {}; by_brand_tier[c.brand_id] = by_tier end
        local entries = by_tier[k.tier]
        if not entries then entries = {}; by_tier[k.tier] = entries end
        entries[#entries + 1] = {
          kol = k, kol_id = k.id, cats = kol_cats[k.id], sessions = list,
          w = math.max(followers[k.id][c.platform] or 0, 1) * tier_factor[k.tier],
        }
      end
    end
  end

  -- 2. Products: launches first, then traffic, then profit; within a role the largest stock value,
  -- then the id. Sorted per role bucket by one precomputed integer key,
  -- key = -value * (n + 1) + position in ctx.products, so a plain integer sort (in C, no
  -- comparator) orders by value; the rare runs of equal value are then put in id order.
  local n_products = #ctx.products
  local m = n_products + 1
  local max_value = 0
  for i = 1, n_products do
    local p = ctx.products[i]
    local v = math.abs(p.list_price_fen) * math.abs(p.stock_units)
    if v > max_value then max_value = v end
  end
  local products = {}
  local function by_id(a, b) return a.id < b.id end
  if max_value < math.maxinteger // m // 2 then
    local keys, by_key = { launch = {}, traffic = {}, profit = {} }, {}
    for i = 1, n_products do
      local p = ctx.products[i]
      local key = -(p.list_price_fen * p.stock_units) * m + i
      local bucket = keys[p.role]
      bucket[#bucket + 1] = key
      by_key[key] = p
    end
    for _, role in ipairs(ROLES) do
      local bucket = keys[role]
      table.sort(bucket)
      local i, nb = 1, #bucket
      while i <= nb do
        -- key // m is -value: equal for a run of products of equal value.
        local q, j = bucket[i] // m, i
        while j < nb and bucket[j + 1] // m == q do j = j + 1 end
        if j == i then
          products[#products + 1] = by_key[bucket[i]]
        else
          local run = {}
          for r = i, j do run[#run + 1] = by_key[bucket[r]] end
          table.sort(run, by_id)
          for r = 1, #run do products[#products + 1] = run[r] end
        end
        i = j + 1
      end
    end
  else
    -- Values too large for the packed key: the same order by comparison.
    for i, p in ipairs(ctx.products) do products[i] = p end
    table.sort(products, function(a, b)
      local ra, rb = ROLE_RANK[a.role], ROLE_RANK[b.role]
      if ra ~= rb then return ra < rb end
      local va, vb = a.list_price_fen * a.stock_units, b.list_price_fen * b.stock_units
      if va ~= vb then return va > vb end
      return a.id < b.id
    end)
  end

  local assignments, n = {}, 0
  local by_role = {}
  for _, role in ipairs(ROLES) do by_role[role] = { products = 0, assignments = 0, units = 0 } end
  local unplaced, no_stock = {}, {}
  local EMPTY = {}

  -- 3. Each product to the qualifying KOLs of its role's tier. The hot loops use numeric `for`:
  -- `ipairs` calls a C function for every element.
  local head = {}
  for _, role in ipairs(ROLES) do head[role] = role .. " product -> " .. tier_for_role[role] .. " KOL " end
  local seen, top_kol, top_session, top_w, units = {}, {}, {}, {}, {}
  for pi = 1, #products do
    local p = products[pi]
    local remaining = p.stock_units - (taken[p.id] or 0)
    if remaining <= 0 then
      no_stock[#no_stock + 1] = p.sku
    else
      -- The heaviest max_kols qualifying KOLs by (weight, then KOL id), kept sorted while
      -- scanning (the same as collecting all, sorting and cutting), in parallel arrays reused
      -- for every product: no table is made per candidate.
      local k = 0
      local pid, category = p.id, p.category
      local entries = (by_brand_tier[p.brand_id] or EMPTY)[tier_for_role[p.role]] or EMPTY
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
              local w = e.w
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
        -- 4. Split the stock by expected GMV among them.
        local total = 0
        for i = 1, k do total = total + top_w[i] end
        local given = 0
        for i = 1, k do
          local u = remaining * top_w[i] // total
          units[i] = u
          given = given + u
        end
        units[1] = units[1] + (remaining - given)

        local list_price = p.list_price_fen
        local price = list_price * (10000 - discount[p.role]) // 10000
        if price < p.floor_price_fen then price = p.floor_price_fen end
        if price > list_price then price = list_price end
        local off_bp = 0
        if list_price > 0 then off_bp = (list_price - price) * 10000 // list_price end

        local stats = by_role[p.role]
        stats.products = stats.products + 1
        -- The reason in one concatenation per assignment (cheaper than string.format), its
        -- per-role and per-product parts made once.
        local before = head[p.role]
        local after = " of " .. remaining .. " units by expected GMV, " .. off_bp .. " bp off list"
        for i = 1, k do
          local u = units[i]
          if u > 0 then
            local kol, session = top_kol[i], top_session[i]
            local sid = session.id
            n = n + 1
            assignments[n] = {
              product_id = pid,
              kol_id = kol.id,
              session_id = sid,
              units = u,
              live_price_fen = price,
              reason = before .. kol.name .. " (" .. category .. "): " .. u .. after,
            }
            used[sid] = used[sid] + 1
            has[sid][pid] = true
            stats.assignments = stats.assignments + 1
            stats.units = stats.units + u
          end
        end
      end
    end
  end

  local notes = {
    string.format("pyramid: %d assignments for %d of %d products", n,
      by_role.launch.products + by_role.traffic.products + by_role.profit.products, #ctx.products),
  }
  for _, role in ipairs(ROLES) do
    local s = by_role[role]
    notes[#notes + 1] = string.format("%s -> %s KOLs: %d products, %d assignments, %d units, %d bp off list (floor price respected)",
      role, tier_for_role[role], s.products, s.assignments, s.units, discount[role])
  end
  local function list(skus)
    if #skus <= 10 then return table.concat(skus, ", ") end
    return table.concat(skus, ", ", 1, 10) .. string.format(" and %d more", #skus - 10)
  end
  if #unplaced > 0 then
    notes[#notes + 1] = string.format("%d products unplaced (no contracted KOL of the right tier and category with a free session slot): %s",
      #unplaced, list(unplaced))
  end
  if #no_stock > 0 then
    notes[#notes + 1] = string.format("%d products skipped, no stock left after existing lineups: %s", #no_stock, list(no_stock))
  end
  return { assignments = assignments, notes = notes }
end
