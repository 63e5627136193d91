-- The Hook global (lua-api.md 2.6) and the private hooks seam other globals receive at install
-- time (tool.lua, agent.lua, workflow.lua), like agent.lua receives tool.lua's private table.
--
-- The seam (`hooks`):
--   hooks.active[point]    true while `point` has hooks: the no-hook path is one table read
--   hooks.fire(point, data, component_type, component_name) -> action, value
--       runs the chain on the script's thread with ctx = {point, correlation_id,
--       component_id={type, name}, language, metadata, data}; `data` is the caller's table and
--       {type="modified"} results are merged into it. action / value:
--         "continue", data       proceed (with the possibly modified data)
--         "replace",  T          Before*: skip the operation, T is its result; After*: T replaces it
--         "skip",     reason     skip the operation; the caller returns hooks.skipped(reason)
--         "cancel",   reason     abort: the caller raises hooks.cancelled(reason)
--         "redirect", name       Before{Agent,Tool}Execution only: run agent/tool `name` instead
--         "retry",    {delay_ms, max_attempts}   ...Error points only: run the operation again
--   hooks.cancelled(reason) -> "Cancelled by hook: <reason>"
--   hooks.skipped(reason)   -> {success=false, skipped=true, reason=reason, text=""}
--   hooks.settle(action, value, level) -> true, result | false   cancel raises at `level`,
--                           skip and replace answer; the rest is the caller's
--   hooks.wait(ms)          interruptible sleep (a retry's delay)
--   hooks.clock()           milliseconds of a monotonic clock (durations in events)
local env, py, events, points = ...
local type, error, tostring, tonumber, setmetatable, pairs, ipairs =
  type, error, tostring, tonumber, setmetatable, pairs, ipairs
local raw_pcall = pcall -- (a hook's call: a failure then goes through env.pcall, see fire)
local pcall = env.pcall -- the sandbox's pcall: an interrupt passes through it
local names, redirect_points, retry_points = points.names, points.redirect, points.retry

local function call(level, f, ...)
  local ok, value = f(...)
  if not ok then
    error(value, level + 1)
  end
  return value
end

local active = {} -- point -> true while it has hooks
local chains = {} -- point -> { {id, name, fn | nil (a Python hook)}, ... } in run order
local functions = {} -- hook id -> Lua function

-- Rebuild one point's chain from the registry's order (a new table: a chain being run keeps
-- the one it started with, so hooks may unregister themselves while it runs).
local function rebuild(point, order)
  if #order == 0 then
    chains[point], active[point] = nil, nil
    return
  end
  local chain = {}
  for i, entry in ipairs(order) do
    chain[i] = { id = entry.id, name = entry.name, key = entry.key, fn = functions[entry.id] }
  end
  chains[point], active[point] = chain, true
end

local function warn(text)
  py.warn(text)
end

-- A hook's return value as (action, value); see the seam above.
local function interpret(point, result)
  if result == nil or result == "continue" then
    return "continue"
  end
  local kind = type(result)
  if kind == "string" then
    if result == "skip" or result == "skipped" then
      return "skip", "skipped by hook"
    end
    return "cancel", result
  end
  if kind ~= "table" then
    warn("a hook on " .. point .. " returned a " .. kind .. "; continuing")
    return "continue"
  end
  local t = result.type
  if t == nil or t == "continue" then
    return "continue"
  elseif t == "modified" then
    if type(result.data) == "table" then
      return "modified", result.data
    end
    return "continue"
  elseif t == "replace" then
    return "replace", result.data
  elseif t == "skip" or t == "skipped" then
    return "skip", result.reason ~= nil and tostring(result.reason) or "skipped by hook"
  elseif t == "cancel" then
    return "cancel", result.reason ~= nil and tostring(result.reason) or "cancelled"
  elseif t == "redirect" and redirect_points[point] and result.target ~= nil then
    return "redirect", tostring(result.target)
  elseif t == "retry" and retry_points[point] then
    local delay = tonumber(result.delay_ms) or 1000
    local attempts = tonumber(result.max_attempts) or 3
    return "retry", { delay_ms = delay < 0 and 0 or delay, max_attempts = attempts < 1 and 1 or attempts }
  end
  warn("a hook on " .. point .. " returned {type=" .. tostring(t) .. "}, which " .. point
    .. " does not take; continuing")
  return "continue"
end

-- hook.executed: now() before a hook runs, executed(key, action (nil: continue), component,
-- started) after it (plain Python functions that never raise, see hook.py; key: the hook's
-- number in its chain entry)
-- executed answers now() as it returns: the next hook's start (one crossing less per run)
local executed, now = py.executed, py.now
local hook_events -- whether hook.executed events are emitted (known on the first fire)

local function fire(point, data, component_type, component_name)
  local chain = chains[point]
  if chain == nil then
    return "continue", data
  end
  local ctx = {
    point = point,
    correlation_id = events.current,
    component_id = { type = component_type or "script", name = component_name or "" },
    language = "lua",
    metadata = {},
    data = data,
  }
  local observed = hook_events
  if observed == nil then
    observed = events.wanted("hook.executed")
    hook_events = observed
  end
  events.depth = events.depth + 1 -- publishes in the hooks inherit the correlation id
  local started = observed and now() or 0
  for i = 1, #chain do
    local entry = chain[i]
    local fn, ok, result = entry.fn, nil, nil
    if fn ~= nil then
      ok, result = raw_pcall(fn, ctx)
      if not ok then -- through the sandbox's pcall: an interrupt (or other fatal error) goes on
        ok, result = pcall(error, result, 0)
      end
    else
      ok, result = py.run(entry.id, ctx)
    end
    local action, value = "continue", nil
    if not ok then
      warn("hook " .. entry.name .. " on " .. point .. " failed: " .. tostring(result))
    elseif result ~= nil then
      action, value = interpret(point, result)
    end
    if observed then -- the event's fields as arguments: no table per run (see hook.py)
      started = executed(entry.key, action ~= "continue" and action or nil, component_name, started)
    end
    if action == "modified" then
      for key, item in pairs(value) do
        data[key] = item
      end
    elseif action ~= "continue" then
      events.depth = events.depth - 1
      return action, value
    end
  end
  events.depth = events.depth - 1
  return "continue", data
end

-- Handles -------------------------------------------------------------------------------------
local handles = setmetatable({}, { __mode = "k" }) -- handle -> {id, point}
local handle_methods = {}

local function handle_of(self, method)
  local info = type(self) == "table" and handles[self]
  if not info then
    error(method .. ": call with ':' not '.'", 3)
  end
  return info
end

local function unregister(id)
  local point = call(3, py.unregister, id)
  if point == nil then
    return false
  end
  functions[id] = nil
  rebuild(point, call(3, py.chain, point))
  return true
end

function handle_methods.id(self)
  return handle_of(self, "id").id
end
function handle_methods.hook_point(self)
  return handle_of(self, "hook_point").point
end
function handle_methods.unregister(self)
  return unregister(handle_of(self, "unregister").id)
end
local handle_meta = { __index = handle_methods, __metatable = false }

-- Statics -------------------------------------------------------------------------------------
local Hook = {}

function Hook.register(point, fn, priority)
  local canonical = names[point]
  if canonical == nil then
    error("Unknown hook point: " .. tostring(point), 2)
  end
  if type(fn) ~= "function" then
    error("Hook.register: the hook must be a function", 2)
  end
  local entry = call(2, py.register, canonical, priority)
  functions[entry.id] = fn
  rebuild(canonical, call(2, py.chain, canonical))
  local handle = setmetatable({}, handle_meta)
  handles[handle] = { id = entry.id, point = canonical }
  return handle
end

function Hook.unregister(handle_or_id)
  local id = handle_or_id
  if type(handle_or_id) == "table" then
    local info = handles[handle_or_id]
    id = info and info.id
  end
  if type(id) ~= "string" then
    return false
  end
  return unregister(id)
end

function Hook.list(filter)
  if type(filter) == "string" then
    local canonical = names[filter]
    if canonical == nil then
      error("Unknown hook point: " .. filter, 2)
    end
    filter = { hook_point = canonical }
  elseif type(filter) == "table" and filter.hook_point ~= nil then
    local canonical = names[filter.hook_point]
    if canonical == nil then
      error("Unknown hook point: " .. tostring(filter.hook_point), 2)
    end
    filter = { hook_point = canonical, language = filter.language, priority = filter.priority,
      tag = filter.tag }
  elseif filter ~= nil and type(filter) ~= "table" then
    error("Hook.list: the filter must be a hook point or a table {hook_point, language, priority, tag}", 2)
  end
  return (call(2, py.list, filter))
end

env.Hook = Hook

-- Chains that Python extensions registered before any script ran.
for point, order in pairs(points.initial) do
  rebuild(point, order)
end

local seam = { active = active, fire = fire }

function seam.cancelled(reason)
  return "Cancelled by hook: " .. tostring(reason)
end

function seam.skipped(reason)
  return { success = false, skipped = true, reason = reason, text = "" }
end

-- hooks.settle(action, value, level) -> true, result | false: the results every seam treats
-- alike. "cancel" raises `Cancelled by hook: <reason>` at `level` (counted from the caller of
-- settle, as error() counts), "skip" answers the skipped table, "replace" the replacement;
-- anything else (continue, redirect, retry) is the caller's to handle.
function seam.settle(action, value, level)
  if action == "cancel" then
    error(seam.cancelled(value), level + 1)
  elseif action == "skip" then
    return true, seam.skipped(value)
  elseif action == "replace" then
    return true, value
  end
  return false
end

function seam.wait(ms)
  py.sleep(ms)
end

-- hooks.clock() -> milliseconds (perf_counter): for durations in events
seam.clock = py.clock

return seam
