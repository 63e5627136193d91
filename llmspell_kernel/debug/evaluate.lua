-- llmspell debugger, Lua side: evaluation in a paused frame (its locals, upvalues and varargs,
-- then the script's globals), breakpoint conditions and log messages evaluated on each hit, and
-- the variables of a frame's scopes. Loaded by hooks.lua with the host's real globals; every
-- name here is a local.
local api, values, stack = ...

local getinfo, getmetatable_raw = debug.getinfo, debug.getmetatable
local getlocal, setlocal = debug.getlocal, debug.setlocal
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local real_error, real_type, real_tostring, real_pcall = error, type, tostring, pcall
local real_load = load
local rawget, rawset, next = rawget, rawset, next
local setmetatable = setmetatable
local sformat, ssub, sfind, sbyte = string.format, string.sub, string.find, string.byte
local tconcat, tunpack, tpack = table.concat, table.unpack, table.pack
local env = api.env
local emit, key_text, sorted_keys, object_of = values.emit, values.key_text, values.sorted_keys, values.object_of
local rawlen = rawlen
local level_of, frame_at = stack.level_of, stack.frame_at

-- Evaluation in a frame -----------------------------------------------------------------------
-- The frame's locals (innermost wins) and upvalues, falling back to the script's globals;
-- assignments go back to the frame.
local function frame_env(co, bottom)
  local proxy = {}
  local function find(name)
    local level = level_of(co, bottom)
    local found = nil
    local i = 1
    while true do
      local n = getlocal(co, level, i)
      if n == nil then break end
      if n == name then found = i end
      i = i + 1
    end
    if found then
      return "local", found, level
    end
    local f = getinfo(co, level, "f").func
    i = 1
    while true do
      local n = getupvalue(f, i)
      if n == nil then break end
      if n == name then return "upvalue", i, f end
      i = i + 1
    end
    return nil
  end
  return setmetatable(proxy, {
    __index = function(_, name)
      local kind, i, where = find(name)
      if kind == "local" then
        local _, v = getlocal(co, level_of(co, bottom), i)
        return v
      elseif kind == "upvalue" then
        local _, v = getupvalue(where, i)
        return v
      end
      return env[name]
    end,
    __newindex = function(_, name, value)
      local kind, i, where = find(name)
      if kind == "local" then
        setlocal(co, level_of(co, bottom), i, value)
      elseif kind == "upvalue" then
        setupvalue(where, i, value)
      else
        env[name] = value
      end
    end,
  })
end

-- A snapshot of the frame at `level` (relative to the caller), cheaper than frame_env for
-- breakpoint conditions and log messages evaluated on every hit.
local snap_meta = { __index = env }
local function snapshot(level)
  level = level + 1
  local vars = {}
  local f = getinfo(level, "f").func
  local i = 1
  while true do
    local n, v = getupvalue(f, i)
    if n == nil then break end
    vars[n] = v
    i = i + 1
  end
  i = 1
  while true do
    local n, v = getlocal(level, i)
    if n == nil then break end
    if sbyte(n, 1) ~= 40 then -- skip "(temporary)" slots
      vars[n] = v
    end
    i = i + 1
  end
  return setmetatable(vars, snap_meta)
end

local function compile_expr(text, name)
  local fn, err = real_load("return " .. text, name, "t", env)
  if fn == nil then
    fn, err = real_load(text, name, "t", env)
  end
  return fn, err
end

-- A breakpoint condition compiled against the frame it is first evaluated in: a function that
-- reads just the locals and upvalues the condition names (checking each name, since one line
-- always has the same locals at the same slots) and evaluates it, with no table built per hit.
-- It returns STALE when the frame's layout is not the one it was built for.
local STALE = {}
local function fast_condition(text, level)
  level = level + 1
  local wanted = {}
  local function mentions(n)
    return sfind(n, "^[%a_][%w_]*$") ~= nil and sfind(text, "%f[%w_]" .. n .. "%f[^%w_]") ~= nil
  end
  local i = 1
  while true do
    local n = getlocal(level, i)
    if n == nil then break end
    if mentions(n) then wanted[n] = { "l", i } end
    i = i + 1
  end
  local f = getinfo(level, "f").func
  i = 1
  while true do
    local n = getupvalue(f, i)
    if n == nil then break end
    if wanted[n] == nil and mentions(n) then wanted[n] = { "u", i } end
    i = i + 1
  end
  local lines = { "local _dbg_getlocal_, _dbg_getupvalue_, _dbg_getinfo_, _dbg_stale_ = ...",
    "return function(_dbg_level_)" }
  local need_f = false
  for _, slot in next, wanted do
    if slot[1] == "u" and not need_f then
      need_f = true
      lines[#lines + 1] = "local _dbg_f_ = _dbg_getinfo_(_dbg_level_, 'f').func"
    end
  end
  for n, slot in next, wanted do
    if slot[1] == "l" then
      lines[#lines + 1] = sformat("local _dbg_n_, %s = _dbg_getlocal_(_dbg_level_, %d)", n, slot[2])
    else
      lines[#lines + 1] = sformat("local _dbg_n_, %s = _dbg_getupvalue_(_dbg_f_, %d)", n, slot[2])
    end
    lines[#lines + 1] = sformat("if _dbg_n_ ~= %q then return _dbg_stale_ end", n)
  end
  lines[#lines + 1] = "return (" .. text .. "\n)"
  lines[#lines + 1] = "end"
  -- one line, so that an error in the condition reads "(condition):1:" as before
  local maker = real_load(tconcat(lines, " "), "=(condition)", "t", env)
  if maker == nil then
    return false
  end
  local ok, fn = real_pcall(maker, getlocal, getupvalue, getinfo, STALE)
  return ok and fn or false
end

local function run_in(fn, vars, ...)
  setupvalue(fn, 1, vars)
  return tpack(real_pcall(fn, ...))
end

local function scope_entries(index, kind)
  local f = frame_at(index)
  local entries = {}
  if kind == 1 then
    local level = level_of(f.co, f.bottom)
    local i, seen = 1, {}
    while true do
      local n, v = getlocal(f.co, level, i)
      if n == nil then break end
      if sbyte(n, 1) ~= 40 then
        if seen[n] then entries[seen[n]][3] = true end
        entries[#entries + 1] = { n, v, false, i }
        seen[n] = #entries
      end
      i = i + 1
    end
    local va = -1
    while true do
      local n, v = getlocal(f.co, level, va)
      if n == nil then break end
      entries[#entries + 1] = { "..." .. (-va), v, false, va }
      va = va - 1
    end
  elseif kind == 2 then
    local fn = getinfo(f.co, level_of(f.co, f.bottom), "f").func
    local i = 1
    while true do
      local n, v = getupvalue(fn, i)
      if n == nil then break end
      if n ~= "_ENV" then entries[#entries + 1] = { n, v, false, i } end
      i = i + 1
    end
  end
  return entries, f
end

local function variables(ref, filter, start, count)
  local out = {}
  if ref < 100000 then
    local index, kind = ref // 4, ref % 4
    if kind == 3 then
      local keys = sorted_keys(env, false)
      for _, k in next, keys do
        emit(out, key_text(k), rawget(env, k))
      end
    else
      local entries = scope_entries(index, kind)
      for _, e in next, entries do
        if not e[3] then emit(out, e[1], e[2]) end
      end
    end
  else
    local obj = object_of(ref)
    if obj == nil then
      real_error("the value is no longer available", 0)
    end
    if real_type(obj) == "table" then
      local n = rawlen(obj)
      if filter ~= "named" then
        local first, last = 1, n
        if filter == "indexed" then
          first = start + 1
          last = count > 0 and math.min(n, start + count) or n
        end
        for i = first, last do emit(out, "[" .. i .. "]", rawget(obj, i)) end
      end
      if filter ~= "indexed" then
        for _, k in next, sorted_keys(obj, true) do
          emit(out, key_text(k), rawget(obj, k))
        end
      end
    end
    local mt = getmetatable_raw(obj)
    if mt ~= nil and filter ~= "indexed" then
      emit(out, "(metatable)", mt)
    end
  end
  return tunpack(out, 1, #out)
end

local function parse_name(name)
  if sfind(name, "^%[%d+%]$") then
    return math.tointeger(ssub(name, 2, -2))
  elseif sfind(name, '^%[".*"%]$') then
    local fn = real_load("return " .. ssub(name, 2, -2), "=key", "t", {})
    return fn and fn()
  end
  return name
end

local function eval_value(expr, index)
  local vars = env
  local varargs = { n = 0 }
  if index > 0 then
    local f = frame_at(index)
    vars = frame_env(f.co, f.bottom)
    -- the frame's `...`, so that an expression can use it as the function itself would
    local level, i = level_of(f.co, f.bottom), 1
    while true do
      local name, value = getlocal(f.co, level, -i)
      if name == nil then break end
      varargs[i], varargs.n = value, i
      i = i + 1
    end
  end
  local fn, err = compile_expr(expr, "=(evaluate)")
  if fn == nil then
    return false, err
  end
  local res = run_in(fn, vars, tunpack(varargs, 1, varargs.n))
  if not res[1] then
    return false, real_tostring(res[2])
  end
  return true, res[2]
end

local function evaluate(expr, index)
  local ok, value = eval_value(expr, index)
  if not ok then
    return false, value
  end
  local out = {}
  emit(out, "", value)
  return true, tunpack(out, 1, #out)
end

local function set_variable(ref, name, expr, index)
  local ok, value = eval_value(expr, index)
  if not ok then
    return false, value
  end
  local value_entry = {}
  emit(value_entry, name, value)
  if ref < 100000 then
    local fi, kind = ref // 4, ref % 4
    if kind == 3 then
      rawset(env, parse_name(name), value)
    else
      local entries, f = scope_entries(fi, kind)
      local target = nil
      for _, e in next, entries do
        if e[1] == name and not e[3] then target = e end
      end
      if target == nil then return false, "no variable named " .. name end
      if kind == 1 then
        setlocal(f.co, level_of(f.co, f.bottom), target[4], value)
      else
        setupvalue(getinfo(f.co, level_of(f.co, f.bottom), "f").func, target[4], value)
      end
    end
  else
    local obj = object_of(ref)
    if real_type(obj) ~= "table" then return false, "the value is no longer available" end
    rawset(obj, parse_name(name), value)
  end
  return true, tunpack(value_entry, 1, #value_entry)
end

return {
  frame_env = frame_env,
  snapshot = snapshot,
  compile_expr = compile_expr,
  fast_condition = fast_condition,
  STALE = STALE,
  run_in = run_in,
  variables = variables,
  evaluate = evaluate,
  set_variable = set_variable,
}
