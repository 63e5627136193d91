-- llmspell debugger, Lua side: line breakpoints (conditions, hit counts, log messages) and
-- function breakpoints, as records the hook looks up; `check_hit` decides whether a hit stops.
-- Loaded by hooks.lua with the host's real globals; every name here is a local. hooks.lua reads
-- the records through `changed(which)`, called after every change ("lines" or "functions":
-- which of its per-function caches no longer hold).
local api, host_log, values, evaluate, changed = ...

local setupvalue = debug.setupvalue
local real_type, real_tostring, real_pcall = type, tostring, pcall
local real_select = select
local rawget, next = rawget, next
local tconcat = table.concat
local env = api.env
local preview = values.preview
local snapshot, compile_expr, run_in = evaluate.snapshot, evaluate.compile_expr, evaluate.run_in
local fast_condition, STALE = evaluate.fast_condition, evaluate.STALE

local bps = {}                    -- source -> { [line] = breakpoint record }
local have_bps = false
local fbps = nil                  -- function name -> record, or nil

-- A condition the C hook filter can evaluate itself: a local compared with a constant
-- (`i == 500`, `s < 0`, `name ~= "x"`), as { name, op (0 ==, 1 ~=, 2 <, 3 <=, 4 >, 5 >=),
-- value }; nil for anything else.
local OPS = { ["=="] = 0, ["~="] = 1, ["<"] = 2, ["<="] = 3, [">"] = 4, [">="] = 5 }
local KEYWORDS = {}
for word in string.gmatch("and break do else elseif end false for function goto if in local nil "
  .. "not or repeat return then true until while", "%a+") do
  KEYWORDS[word] = true
end
local smatch, ssub, real_tonumber = string.match, string.sub, tonumber
local function simple_condition(text)
  local name, op, rhs = smatch(text, "^%s*([%a_][%w_]*)%s*([=~<>]=?)%s*(.-)%s*$")
  if name == nil or KEYWORDS[name] or OPS[op] == nil then
    return nil
  end
  local value
  if rhs == "true" or rhs == "false" then
    value = rhs == "true"
  elseif rhs == "nil" then
    value = nil
  elseif smatch(rhs, '^"[^"\\]*"$') or smatch(rhs, "^'[^'\\]*'$") then
    value = ssub(rhs, 2, -2)
  elseif smatch(rhs, "^%-?[%d%.]+$") or smatch(rhs, "^%-?[%d%.]+[eE][%+%-]?%d+$") then
    value = real_tonumber(rhs)
    if value == nil then
      return nil
    end
  else
    return nil
  end
  return { name = name, op = OPS[op], value = value }
end

local function check_hit(bp, level)
  bp.hits = bp.hits + 1
  local vars = nil
  if bp.cond then
    local fast, ok, value = bp.fast, false, STALE
    if fast == nil then
      fast = fast_condition(bp.cond_text, level + 1)
      bp.fast = fast
    end
    if fast then
      -- frames seen from the condition: itself, pcall, check_hit, the hook, the user function
      ok, value = real_pcall(fast, level + 3)
    end
    if value == STALE then
      if fast then
        bp.fast = nil -- another layout: rebuild on the next hit
      end
      vars = snapshot(level + 1)
      setupvalue(bp.cond, 1, vars)
      ok, value = real_pcall(bp.cond)
    end
    if ok and not value then
      return false
    end
    if not ok then
      bp.error_text = "condition failed: " .. real_tostring(value)
    end
  end
  local op, n, hits = bp.hit_op, bp.hit_n, bp.hits
  if op ~= nil then
    if (op == "==" and hits ~= n) or (op == ">=" and hits < n) or (op == ">" and hits <= n)
      or (op == "<" and hits >= n) or (op == "<=" and hits > n) or (op == "%" and hits % n ~= 0) then
      return false
    end
  end
  if bp.log then
    vars = vars or snapshot(level + 1)
    local out = {}
    for _, piece in next, bp.log do
      if real_type(piece) == "string" then
        out[#out + 1] = piece
      else
        local res = run_in(piece, vars)
        if res[1] then
          local parts = {}
          for i = 2, res.n do parts[#parts + 1] = preview(res[i], false) end
          out[#out + 1] = real_type(res[2]) == "string" and res.n == 2 and res[2] or tconcat(parts, ", ")
        else
          out[#out + 1] = "<error: " .. real_tostring(res[2]) .. ">"
        end
      end
    end
    host_log(tconcat(out) .. "\n", bp.source, bp.line)
    return false
  end
  return true
end

-- A function breakpoint whose whole name leads to `f` from the globals, if any.
local function fbp_of_value(f)
  for _, fb in next, fbps do
    local v = env
    local path = fb.path
    for i = 1, #path do
      if real_type(v) ~= "table" then
        v = nil
        break
      end
      v = rawget(v, path[i])
    end
    if v == f then
      return fb
    end
  end
  return nil
end

local function clear_breakpoints()
  bps = {}
  have_bps = false
  changed("lines")
end

-- records: list of { line, id, cond, hit_op, hit_n, log = { "text", <expr>, ... } }
local function add_breakpoint(source, line, id, cond, hit_op, hit_n, ...)
  local log_parts = real_select("#", ...) > 0 and { ... } or nil
  local set = bps[source]
  if set == nil then
    set = {}
    bps[source] = set
  end
  local bp = { id = id, line = line, source = source, hits = 0, hit_op = hit_op, hit_n = hit_n }
  if cond ~= nil then
    bp.cond = compile_expr(cond, "=(condition)")
    bp.cond_text = cond
    bp.simple = simple_condition(cond)
  end
  if log_parts ~= nil then
    local parts = {}
    for i = 1, #log_parts do
      local p = log_parts[i]
      if i % 2 == 1 then
        parts[i] = p
      else
        parts[i] = compile_expr(p, "=(log message)") or ("{" .. p .. "}")
      end
    end
    bp.log = parts
  end
  set[line] = bp
  have_bps = true
  changed(nil)
end

-- Names are given whole ("M.run", "obj:step", "greet"); a call matches by its last part, or,
-- when the call has no name (tail calls), by being the function the whole name leads to from
-- the globals (looked up with rawget: no user metamethod runs inside the hook).
local function set_function_breakpoints(...)
  local names = { ... }
  local t = nil
  for i = 1, #names do
    local path = {}
    for part in string.gmatch(names[i], "[^.:]+") do
      path[#path + 1] = part
    end
    if #path > 0 then
      t = t or {}
      t[path[#path]] = { hits = 0, path = path }
    end
  end
  fbps = t
  changed("functions")
end

return {
  check_hit = check_hit,
  fbp_of_value = fbp_of_value,
  clear_breakpoints = clear_breakpoints,
  add_breakpoint = add_breakpoint,
  set_function_breakpoints = set_function_breakpoints,
  -- what the hook reads: the records by source, whether there are any, function breakpoints
  state = function() return bps, have_bps, fbps end,
}
