-- JSON and Debug globals (lua-api.md 2.1, 2.2). Python does the work; these wrappers give the
-- errors the caller's position and keep Python objects out of the script's reach.
local env, py, traceback, getinfo, load_encoder = ...

local real_error, real_type, real_select = error, type, select
local real_setmetatable, real_tostring = setmetatable, tostring

-- JSON -------------------------------------------------------------------------------------------
local JSON = {}
local null = real_setmetatable({}, {
  __name = "JSON.null",
  __metatable = "JSON.null",
  __tostring = function() return "null" end,
  __newindex = function() real_error("JSON.null is read-only", 2) end,
})
JSON.null = null

-- Lua-side JSON encoding (json_encode.lua), compiled on first use; nil means "ask Python".
local encode_impl
local function encode(v)
  local impl = encode_impl
  if impl == nil then
    impl = load_encoder()(null)
    encode_impl = impl
  end
  return impl(v)
end

function JSON.parse(s)
  if real_type(s) ~= "string" then
    real_error("JSON parse error: expected a string, got " .. real_type(s), 2)
  end
  local ok, value, err = py.json_parse(s)
  if not ok then
    real_error(err, 2)
  end
  return value
end

function JSON.stringify(v, pretty)
  if pretty ~= true then
    local text = encode(v)
    if text then
      return text
    end
  end
  local ok, text, err = py.json_stringify(v, pretty == true)
  if not ok then
    real_error(err, 2)
  end
  return text
end

env.JSON = JSON

-- Debug ------------------------------------------------------------------------------------------
local Debug = {}
local LEVELS = { trace = true, debug = true, info = true, warn = true, error = true }

for name in pairs(LEVELS) do
  Debug[name] = function(msg, module)
    py.log(name, real_tostring(msg), module ~= nil and real_tostring(module) or nil)
  end
end

function Debug.log(level, msg, module)
  if real_type(level) ~= "string" or not LEVELS[level:lower()] then
    real_error("Debug.log: unknown level '" .. real_tostring(level) .. "'", 2)
  end
  py.log(level:lower(), real_tostring(msg), module ~= nil and real_tostring(module) or nil)
end

function Debug.logWithData(level, msg, data, module)
  if real_type(level) ~= "string" or not LEVELS[level:lower()] then
    real_error("Debug.logWithData: unknown level '" .. real_tostring(level) .. "'", 2)
  end
  local ok, text = py.json_stringify(data, false)
  if not ok then
    text = real_tostring(data)
  end
  py.log(level:lower(), real_tostring(msg) .. " " .. text, module ~= nil and real_tostring(module) or nil, text)
end

function Debug.setLevel(level)
  if real_type(level) ~= "string" or not LEVELS[level:lower()] then
    return false
  end
  py.set_level(level:lower())
  return true
end

function Debug.getLevel()
  return py.get_level()
end

function Debug.setEnabled(flag)
  py.set_enabled(flag and true or false)
end

function Debug.isEnabled()
  return py.is_enabled()
end

local timer_mt = {}
timer_mt.__index = timer_mt
timer_mt.__name = "Debug.timer"
timer_mt.__metatable = "Debug.timer"
local timers = real_setmetatable({}, { __mode = "k" }) -- the timers this chunk made

local function check_self(self, method)
  if not timers[self] then
    real_error(method .. ": call with ':' not '.'", 3)
  end
end

function timer_mt.elapsed(self)
  check_self(self, "elapsed")
  local stop = self._stopped or py.now()
  return (stop - self._start) * 1000.0
end

function timer_mt.lap(self, name)
  check_self(self, "lap")
  if self._stopped then
    return false
  end
  local now = py.now()
  self.laps[#self.laps + 1] = { name = real_tostring(name), ms = (now - self._start) * 1000.0 }
  return true
end

function timer_mt.stop(self)
  check_self(self, "stop")
  if self._stopped then
    return nil
  end
  self._stopped = py.now()
  local ms = (self._stopped - self._start) * 1000.0
  py.log("debug", "timer '" .. self.name .. "' stopped after " .. string.format("%.3f", ms) .. " ms", "timer")
  return ms
end

local timer_count = 0
function Debug.timer(name)
  timer_count = timer_count + 1
  local timer = real_setmetatable({
    id = "timer-" .. timer_count,
    name = real_tostring(name or ("timer-" .. timer_count)),
    laps = {},
    _start = py.now(),
  }, timer_mt)
  timers[timer] = true
  return timer
end

local function frames(max_depth, include_source)
  local out = {}
  local level = 3
  while #out < max_depth do
    local info = getinfo(level, "Snl")
    if not info then
      break
    end
    out[#out + 1] = {
      name = info.name or "?",
      source = include_source and info.short_src or nil,
      line = info.currentline,
      what = info.what,
    }
    level = level + 1
  end
  return out
end

function Debug.stackTrace(opts)
  opts = opts or {}
  return traceback("stack traceback", 2)
end

function Debug.stackTraceJson(opts)
  opts = opts or {}
  local max_depth = opts.max_depth or 50
  local include_source = opts.include_source ~= false
  local ok, text = py.json_stringify(frames(max_depth, include_source), false)
  return text
end

function Debug.getCapturedEntries(limit)
  return py.captured(limit)
end

function Debug.clearCaptured()
  py.clear_captured()
end

function Debug.dump(value)
  return py.dump(value)
end

env.Debug = Debug

-- Notebook helpers (new): rich display, clearing output, paging help text.
function env.display(value, mimetype)
  if mimetype ~= nil and real_type(mimetype) ~= "string" then
    real_error("display: mimetype must be a string", 2)
  end
  py.display(value, mimetype)
end

function env.clear_output(wait)
  py.clear_output(wait == true)
end

function env.help(name)
  if real_type(name) ~= "string" then
    real_error("help: pass the name as a string, e.g. help(\"string.format\")", 2)
  end
  py.page(name)
end

return null, encode
