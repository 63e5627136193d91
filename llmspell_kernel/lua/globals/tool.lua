-- The Tool global (lua-api.md 2.9). Python keeps the registry and runs the built-in tools;
-- tools that scripts register run here, on the script's own Lua thread.
local env, py, hooks, events = ... -- hooks, events: the seams of hook.lua and event.lua
local type, error, tostring, setmetatable, rawget = type, error, tostring, setmetatable, rawget
local pcall = env.pcall -- the sandbox's pcall: an interrupt passes through it
local hooked = hooks.active -- point -> true while it has hooks

-- Python answers (ok, value); raise with the position of the script's call (level 0: none).
local function call(level, f, ...)
  local ok, value = f(...)
  if not ok then
    error(value, level > 0 and level + 1 or 0)
  end
  return value
end

local script_tools = {} -- canonical name -> Lua function

-- Built-in tools run through `builtin.run` once workflow.lua sets it (a network tool in a
-- parallel workflow's branch then waits without blocking the other branches), else directly.
local builtin = { run = nil, direct = py.invoke }

local function canonical(name)
  return (tostring(name):gsub("-", "_"))
end

-- JSON text of a value (a value JSON cannot hold, e.g. a function, as tostring gives it).
local function encoded(value)
  local ok, text = pcall(env.JSON.stringify, value)
  if ok and type(text) == "string" then
    return text
  end
  return tostring(value)
end

-- A script tool's return value as the uniform result table. Its `text` (what a model that
-- called the tool receives): `text`, else `message`, else `result` (a string as it is, other
-- values as JSON), else `error`, else the whole table as JSON (a plain table: `{temp = 21}`
-- reaches the model as {"temp":21}).
local function script_result(name, value, elapsed)
  local out
  if type(value) == "table" then
    out = value
    if type(out.text) ~= "string" then
      local result = out.result
      if type(out.message) == "string" then
        out.text = out.message
      elseif type(result) == "string" then
        out.text = result
      elseif result ~= nil then
        out.text = encoded(result)
      elseif type(out.error) == "string" then
        out.text = out.error
      else
        out.text = encoded(value) -- before success and metadata are added
      end
    end
    if out.success == nil then
      out.success = true
    end
  else
    out = { success = true, text = value == nil and "" or tostring(value) }
    if value ~= nil then
      out.result = value
    end
  end
  local metadata = type(out.metadata) == "table" and out.metadata or {}
  metadata.tool = name
  metadata.execution_time_ms = elapsed
  out.metadata = metadata
  return out
end

-- One tool call, without hooks or events. `level` is the error level of the script's call,
-- counted from here (0: no position).
local function run(name, params, level)
  local fn = script_tools[canonical(name)]
  if fn == nil then
    local result = call(level, builtin.run or py.invoke, name, params) -- not a tail call
    return result
  end
  local started = py.clock()
  local ok, value = pcall(fn, params)
  if not ok then
    if type(value) == "string" then
      error("Tool '" .. name .. "' execution failed: " .. value, level)
    end
    error(value, 0) -- not ours to rewrite (an interrupt, an error object)
  end
  return script_result(name, value, py.clock() - started)
end

-- AfterToolExecution: the result the caller gets (`level` counted from here).
local function after(name, params, result, level)
  local data = { tool_name = name, parameters = params, result = result }
  local action, value = hooks.fire("AfterToolExecution", data, "tool", name)
  local done, answer = hooks.settle(action, value, level)
  if done then
    return answer
  end
  return data.result
end

-- A tool call with its hooks (Before/AfterToolExecution, ToolError) and its events
-- (tool.started/completed/failed); `level` as for run, counted from here.
-- BeforeToolExecution: true, the caller's result (replace, skip; cancel raises at `level`,
-- counted from the caller) or false, the tool's name (a redirect's) and its parameters.
local function before(name, params, level)
  local data = { tool_name = name, parameters = params }
  local action, value = hooks.fire("BeforeToolExecution", data, "tool", name)
  local done, answer = hooks.settle(action, value, level > 0 and level + 1 or 0)
  if done then
    return true, answer
  elseif action == "redirect" then
    name = value
  end
  return false, name, type(data.parameters) == "table" and data.parameters or params
end

-- (`began`: the call's start in ms when tool.started and BeforeToolExecution already ran, see
-- invoke's hooked call.)
local function observed(name, params, level, began)
  local timing = events.enabled
  local started = began or (timing and py.clock() or 0)
  if timing and not began then
    events.system("tool.started", { name = name })
  end
  if hooked.BeforeToolExecution and not began then
    local settled, answer, changed = before(name, params, level)
    if settled then
      return answer
    end
    name, params = answer, changed
  end
  if hooked.ToolValidation then -- the parameters the tool will get: refuse or correct them
    local data = { tool_name = name, parameters = params }
    local action, value = hooks.fire("ToolValidation", data, "tool", name)
    if action == "cancel" then
      error(hooks.cancelled(value), level)
    end
    params = type(data.parameters) == "table" and data.parameters or params
  end
  if not (timing or hooked.ToolError) then -- nothing watches failures: no pcall
    local result = run(name, params, level + 1)
    if hooked.AfterToolExecution then
      result = after(name, params, result, level + 1)
    end
    return result
  end
  local attempt = 1
  local ok, result = pcall(run, name, params, 0)
  while not ok do
    if type(result) ~= "string" then
      error(result, 0) -- an interrupt or an error object passes untouched
    end
    if timing then
      events.system("tool.failed", { name = name, error = result, duration_ms = py.clock() - started })
    end
    if not hooked.ToolError then
      error(result, level)
    end
    local data = { tool_name = name, parameters = params, error = result }
    local action, value = hooks.fire("ToolError", data, "tool", name)
    if action == "retry" and attempt < value.max_attempts then
      attempt = attempt + 1
      hooks.wait(value.delay_ms)
      ok, result = pcall(run, name, params, 0)
    else
      local done, answer = hooks.settle(action, value, level)
      if done then
        return answer
      end
      error(result, level)
    end
  end
  if hooked.AfterToolExecution then
    result = after(name, params, result, level + 1)
  end
  if timing then
    events.system("tool.completed", {
      name = name, success = type(result) ~= "table" or result.success ~= false,
      duration_ms = py.clock() - started,
    })
  end
  return result
end

-- Whether tool.started, tool.completed and tool.failed are all emitted ([events] filters).
local all_reported
local function reported()
  if all_reported == nil then
    all_reported = events.wanted("tool.started") and events.wanted("tool.completed")
      and events.wanted("tool.failed")
  end
  return all_reported
end

-- The one invocation function: every call of every tool goes through here (Tool.invoke,
-- t:execute, Tool.<name>, agents' tool calls), and so through its hooks and events.
-- `level` is the error level of the script's call, counted from here.
local function invoke(name, params, level)
  if type(name) ~= "string" then
    error("Tool.invoke: the tool name must be a string", level)
  end
  if params == nil then
    params = {}
  elseif type(params) ~= "table" then
    error("Tool '" .. name .. "' execution failed: parameters must be a table", level)
  end
  local result
  if events.enabled and reported() and not (hooked.BeforeToolExecution
      or hooked.AfterToolExecution or hooked.ToolError or hooked.ToolValidation)
      and script_tools[canonical(name)] == nil
      and not (builtin.branched and builtin.branched()) then
    -- A built-in tool with its three events and no hooks (the common call): one crossing,
    -- Python queues tool.started and tool.completed/failed around the call as observed does.
    local ok, done, value = pcall(py.invoke_observed, name, params)
    if ok and done then
      return value
    elseif not ok and type(done) ~= "string" then
      error(done, 0) -- an interrupt or an error object passes untouched
    end
    error(ok and value or done, level) -- a failure, or the host's own (memory)
  end
  if events.enabled and reported() and hooked.BeforeToolExecution and not (hooked.AfterToolExecution
      or hooked.ToolError or hooked.ToolValidation) and script_tools[canonical(name)] == nil
      and not (builtin.branched and builtin.branched()) then
    -- The same with BeforeToolExecution hooks: Python queues tool.started (answering the
    -- start), the hooks run here, then the call and tool.completed/failed in one crossing.
    local began = py.tool_started(name)
    local settled, answer, changed = before(name, params, level)
    if settled then
      return answer
    end
    name, params = answer, changed
    if script_tools[canonical(name)] ~= nil then -- redirected to a script's tool
      result = observed(name, params, level > 0 and level + 1 or 0, began * 1000.0)
      return result
    end
    local ok, done, out = pcall(py.invoke_observed, name, params, began)
    if ok and done then
      return out
    elseif not ok and type(done) ~= "string" then
      error(done, 0)
    end
    error(ok and out or done, level)
  end
  if events.enabled or hooked.BeforeToolExecution or hooked.AfterToolExecution or hooked.ToolError
      or hooked.ToolValidation then
    result = observed(name, params, level > 0 and level + 1 or 0)
  else
    result = run(name, params, level > 0 and level + 1 or 0)
  end
  return result
end

-- Register a Lua function as a tool (Tool.register, Agent.wrap_as_tool); agents may call it.
local function register(name, description, parameters, fn, level)
  if type(fn) ~= "function" then
    error("Tool.register: fn must be a function", level)
  end
  local title = call(level, py.register, name, description or "", parameters)
  script_tools[canonical(title)] = fn
  return title
end

-- Tool objects ----------------------------------------------------------------------------------
local tool_names = setmetatable({}, { __mode = "k" }) -- object -> name
local tool_methods = {}
function tool_methods.execute(self, params)
  local name = type(self) == "table" and tool_names[self]
  if not name then
    error("execute: call with ':' not '.'", 2)
  end
  local result = invoke(name, params, 3)
  return result
end
local tool_meta = { __index = tool_methods, __metatable = false }

local function tool_object(name)
  local info = call(3, py.get, name)
  if info == nil then
    return nil
  end
  local object = setmetatable(info, tool_meta)
  tool_names[object] = info.name
  return object
end

-- Statics ---------------------------------------------------------------------------------------
local Tool = {}

function Tool.invoke(name, params)
  local result = invoke(name, params, 3)
  return result
end

function Tool.get(name)
  if type(name) ~= "string" then
    return nil
  end
  return (tool_object(name))
end

function Tool.exists(name)
  return type(name) == "string" and call(2, py.get, name) ~= nil
end

-- Tool.list and Tool.discover, with the BeforeToolDiscovery hooks (a cancel raises; a
-- modified `filter` is used) and AfterToolDiscovery (`tools` may be modified or replaced).
local function discover(filter, level)
  if hooked.BeforeToolDiscovery then
    local data = { filter = filter }
    local action, value = hooks.fire("BeforeToolDiscovery", data, "tool", "discovery")
    if action == "cancel" then
      error(hooks.cancelled(value), level)
    end
    filter = data.filter
  end
  local found
  if filter == nil then
    found = call(level, py.list)
  else
    found = call(level, py.discover, filter)
  end
  if hooked.AfterToolDiscovery then
    local data = { filter = filter, tools = found }
    local action, value = hooks.fire("AfterToolDiscovery", data, "tool", "discovery")
    local done, answer = hooks.settle(action, value, level)
    found = done and answer or data.tools
  end
  return found
end

function Tool.list()
  return (discover(nil, 3))
end

function Tool.categories()
  return (call(2, py.categories))
end

function Tool.discover(filter)
  return (discover(filter or {}, 3))
end

function Tool.register(spec, ...)
  if type(spec) == "string" then -- Tool.register(name, {description, parameters, fn})
    local rest = ...
    if type(rest) ~= "table" then
      error("Tool.register: expected (name, {description, parameters, fn})", 2)
    end
    local title = register(spec, rest.description, rest.parameters, rest.fn or rest.execute, 3)
    return title
  end
  if type(spec) ~= "table" then
    error("Tool.register: expected a table {name, description, parameters, fn}", 2)
  end
  local title = register(spec.name, spec.description, spec.parameters, spec.fn or spec.execute, 3)
  return title
end

-- Tool.<name> / Tool["webhook-caller"]: the static functions above take precedence.
setmetatable(Tool, {
  __index = function(_, key)
    if type(key) ~= "string" then
      return nil
    end
    return (tool_object(key))
  end,
  __metatable = false,
})

env.Tool = Tool

return {
  invoke = invoke,
  builtin = builtin,
  register = function(name, description, parameters, fn)
    local title = register(name, description, parameters, fn, 3)
    return title
  end,
}
