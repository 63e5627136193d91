-- Agent and Provider globals (lua-api.md 2.7, 2.8). Python resolves providers and makes the
-- calls; this side drives each execution so that tool functions and stream callbacks run on
-- the script's own Lua thread (debuggable, under the memory limit, interruptible).
local env, py, tools, hooks, events = ... -- tools: tool.lua's {invoke, register}; hooks,
-- events: the seams of hook.lua and event.lua
local type, error, tostring, setmetatable, ipairs = type, error, tostring, setmetatable, ipairs
local pcall = env.pcall -- the sandbox's pcall: an interrupt passes through it
local hooked = hooks.active -- point -> true while it has hooks

-- Python answers (ok, value); raise with the position of whoever called the API function.
local function call(level, f, ...)
  local ok, value = f(...)
  if not ok then
    error(value, level + 1)
  end
  return value
end

local function colon(is_self, method)
  return function(self, ...)
    if not is_self(self) then
      error(method .. ": call with ':' not '.'", 3)
    end
    return ...
  end
end

local function canonical(name)
  return (tostring(name):gsub("-", "_"))
end

local function tool_text(result)
  if type(result) == "table" then
    if type(result.text) == "string" then
      return result.text
    end
    return env.JSON.stringify(result)
  end
  return tostring(result)
end

-- Agent instances -----------------------------------------------------------------------------
local agents = setmetatable({}, { __mode = "v" }) -- name -> object (objects are cheap)
local names = setmetatable({}, { __mode = "k" }) -- object -> name

local function is_agent(self)
  return type(self) == "table" and names[self] ~= nil
end

-- Inside a workflow branch (workflow.lua) a provider call does not block: it is submitted to
-- the I/O loop and the branch yields its handle to the workflow's scheduler, which resumes it
-- when the call is done, or with a message (timeout, interrupt, cancellation) to raise.
-- Streamed calls stay blocking: their chunks feed a Lua callback as they come.
local async = { branches = setmetatable({}, { __mode = "k" }) }
local co_running, co_yield = coroutine.running, coroutine.yield

local function provider_step(turn, streaming)
  if streaming or not async.branches[co_running()] then
    return py.step(turn, streaming)
  end
  local ok, handle = py.submit(turn)
  if not ok then
    return false, handle
  end
  local signal = co_yield({ handle })
  if signal ~= nil then
    py.abandon(turn)
    return false, signal
  end
  return py.step(turn, false, handle)
end

local function run(self, input, on_chunk, context)
  local name = names[self]
  local turn = call(3, py.begin, name, input, context)
  local streaming = on_chunk ~= nil
  local chunks = 0
  while true do
    local ok, step = provider_step(turn, streaming)
    if not ok then
      error(step, 3)
    end
    if step.kind == "done" then
      return step.output, chunks
    elseif step.kind == "chunk" then
      chunks = chunks + 1
      if type(on_chunk) == "function" then
        local done, err = pcall(on_chunk, { text = step.text, chunk_index = chunks })
        if not done then
          py.abandon(turn)
          error(err, 3)
        end
      end
    else
      local results = {}
      for i, tool_call in ipairs(step.calls) do
        local done, result = pcall(tools.invoke, tool_call.name, tool_call.arguments, 0)
        results[i] = done and tool_text(result) or ("error: " .. tostring(result))
      end
      call(3, py.tool_results, turn, results)
    end
  end
end

local methods = {}

local function define(method, fn)
  local check = colon(is_agent, method)
  methods[method] = function(self, ...)
    check(self)
    return fn(self, ...)
  end
end

-- run() raises at level 3, the script's call; run under pcall (to offer a failure to the
-- AgentError hooks) that level is observed() here, whose position this prefix strips again.
local _, probe = pcall(error, "@", 2)
local here = type(probe) == "string" and probe:match("^(.*:)%d+: @$") or nil

local lookup_agent -- agent_object, defined below: the object of a registered name

local function unpositioned(message)
  if here ~= nil and type(message) == "string" and message:sub(1, #here) == here then
    local rest = message:match("^%d+: (.*)$", #here + 1)
    if rest ~= nil then
      return rest
    end
  end
  return message
end

-- Every agent execution passes here, with its hooks (Before/AfterAgentExecution, AgentError)
-- and events (agent.started/completed/failed). The method closures tail-call it, so its own
-- errors raise at level 2 and run()'s at level 3 are the script's call.
local function observed(self, input, on_chunk, context)
  if not (events.enabled or hooked.BeforeAgentExecution or hooked.AfterAgentExecution
      or hooked.AgentError) then
    local output, chunks = run(self, input, on_chunk, context)
    if on_chunk ~= nil then
      output.success, output.chunks_received = true, chunks
    end
    return output
  end
  local name = names[self]
  local started = events.enabled and hooks.clock() or 0
  if events.enabled then
    events.system("agent.started", { name = name })
  end
  if type(on_chunk) == "function" then -- publishes in the callback inherit the correlation id
    local callback = on_chunk
    on_chunk = function(chunk)
      events.enter()
      local ok, err = pcall(callback, chunk)
      events.leave()
      if not ok then
        error(err, 0)
      end
    end
  end
  if hooked.BeforeAgentExecution then
    local data = { agent_name = name, input = input }
    local action, value = hooks.fire("BeforeAgentExecution", data, "agent", name)
    local done, answer = hooks.settle(action, value, 2)
    if done then
      return answer
    elseif action == "redirect" then
      if not call(2, py.exists, value) then
        error("Agent '" .. tostring(value) .. "' not found", 2)
      end
      self, name = lookup_agent(value), value
    end
    input = data.input
  end
  local output, chunks
  if hooked.AgentError then
    local attempt = 1
    while true do
      local ok, first, second = pcall(run, self, input, on_chunk, context)
      if ok then
        output, chunks = first, second
        break
      end
      if type(first) ~= "string" then
        error(first, 0) -- an interrupt or an error object passes untouched
      end
      local message = unpositioned(first)
      if events.enabled then
        events.system("agent.failed", {
          name = name, error = message, duration_ms = hooks.clock() - started,
        })
      end
      local data = { agent_name = name, input = input, error = message, attempt = attempt }
      local action, value = hooks.fire("AgentError", data, "agent", name)
      if action == "retry" and attempt < value.max_attempts then
        attempt = attempt + 1
        hooks.wait(value.delay_ms)
      else
        local done, answer = hooks.settle(action, value, 2)
        if done then
          return answer
        end
        error(message, 2)
      end
    end
  elseif events.enabled then
    local ok, first, second = pcall(run, self, input, on_chunk, context)
    if not ok then
      if type(first) ~= "string" then
        error(first, 0)
      end
      local message = unpositioned(first)
      events.system("agent.failed", { name = name, error = message, duration_ms = hooks.clock() - started })
      error(message, 2)
    end
    output, chunks = first, second
  else
    output, chunks = run(self, input, on_chunk, context)
  end
  if on_chunk ~= nil then
    output.success, output.chunks_received = true, chunks
  end
  if hooked.AfterAgentExecution then
    local data = { agent_name = name, input = input, output = output }
    local action, value = hooks.fire("AfterAgentExecution", data, "agent", name)
    local done, answer = hooks.settle(action, value, 2)
    output = done and answer or data.output
  end
  if events.enabled then
    events.system("agent.completed", { name = name, duration_ms = hooks.clock() - started })
  end
  return output
end

local function execute(self, input)
  return observed(self, input, nil, nil)
end
define("execute", execute)
define("invoke", execute)
define("execute_with_context", function(self, input, context)
  return observed(self, input, nil, context)
end)
define("invokeStream", function(self, input, on_chunk)
  return observed(self, input, on_chunk or false, nil)
end)
define("get_config", function(self)
  return (call(2, py.config, names[self]))
end)
define("clear_conversation", function(self)
  call(2, py.clear, names[self])
end)
define("save_state", function(self)
  call(2, py.save_state, names[self])
end)
define("load_state", function(self)
  return (call(2, py.load_state, names[self]))
end)
define("delete_state", function(self)
  call(2, py.delete_state, names[self])
end)
define("get_state", function(self)
  return (call(2, py.state, names[self]))
end)
define("get_metrics", function(self)
  return (call(2, py.metrics, names[self]))
end)
local function allowed(self)
  return call(3, py.config, names[self]).allowed_tools or {}
end
define("has_tool", function(self, tool)
  for _, t in ipairs(allowed(self)) do
    if canonical(t) == canonical(tool) then
      return true
    end
  end
  return false
end)
define("discover_tools", function(self)
  return allowed(self)
end)
define("get_tool_metadata", function(self, tool)
  return (call(2, py.tool_metadata, tool))
end)
define("get_all_tool_metadata", function(self)
  local all = {}
  for _, t in ipairs(allowed(self)) do
    all[t] = call(2, py.tool_metadata, t)
  end
  return all
end)

local agent_meta = { __index = methods, __metatable = false }

local function agent_object(name)
  local existing = agents[name]
  if existing ~= nil then
    return existing
  end
  local object = setmetatable({}, agent_meta)
  names[object] = name
  agents[name] = object
  return object
end
lookup_agent = agent_object

-- Building, with the BeforeAgentInit hooks (a cancel refuses the agent; a modified `config`
-- is the one built) and AfterAgentInit; `level` counted from here.
local function build_agent(cfg, level)
  if hooked.BeforeAgentInit then
    local data = { agent_name = cfg.name, config = cfg }
    local action, value = hooks.fire("BeforeAgentInit", data, "agent", cfg.name)
    if action == "cancel" then
      error(hooks.cancelled(value), level)
    end
    cfg = type(data.config) == "table" and data.config or cfg
  end
  local name = call(level, py.build, cfg)
  if hooked.AfterAgentInit then
    hooks.fire("AfterAgentInit", { agent_name = name, config = call(level, py.config, name) }, "agent", name)
  end
  return name
end

-- Builder -------------------------------------------------------------------------------------
local builders = setmetatable({}, { __mode = "k" }) -- builder -> config table

local function is_builder(self)
  return type(self) == "table" and builders[self] ~= nil
end

local builder_methods = {}
local function setter(method, field)
  local check = colon(is_builder, method)
  builder_methods[method] = function(self, value)
    check(self)
    builders[self][field or method] = value
    return self
  end
end
for _, field in ipairs({
  "name", "description", "system_prompt", "temperature", "max_tokens", "model", "provider",
  "max_conversation_length", "base_url", "api_key", "max_execution_time", "max_memory_mb",
  "max_tool_calls", "max_recursion_depth",
}) do
  setter(field)
end

local function builder_method(method, fn)
  local check = colon(is_builder, method)
  builder_methods[method] = function(self, ...)
    check(self)
    fn(builders[self], ...)
    return self
  end
end
builder_method("type", function() end) -- accepted and ignored: always "llm"
builder_method("allow_tool", function(cfg, tool)
  local list = cfg.allowed_tools or {}
  list[#list + 1] = tool
  cfg.allowed_tools = list
end)
builder_method("allowed_tools", function(cfg, list)
  cfg.allowed_tools = list
end)
builder_method("resource_limits", function(cfg, limits)
  if type(limits) == "table" then
    cfg.max_execution_time = limits.max_execution_time_secs or cfg.max_execution_time
    cfg.max_memory_mb = limits.max_memory_mb or cfg.max_memory_mb
    cfg.max_tool_calls = limits.max_tool_calls or cfg.max_tool_calls
    cfg.max_recursion_depth = limits.max_recursion_depth or cfg.max_recursion_depth
  end
end)
builder_method("custom_config", function(cfg, custom)
  if type(custom) == "table" then
    cfg.system_prompt = custom.system_prompt or cfg.system_prompt
    cfg.max_conversation_length = custom.max_conversation_length or cfg.max_conversation_length
  end
end)
do
  local check = colon(is_builder, "build")
  builder_methods.build = function(self)
    check(self)
    return agent_object(build_agent(builders[self], 3))
  end
end

local builder_meta = { __index = builder_methods, __metatable = false }

-- Statics -------------------------------------------------------------------------------------
local Agent = {}

function Agent.builder()
  local builder = setmetatable({}, builder_meta)
  builders[builder] = {}
  return builder
end

function Agent.register(cfg)
  if type(cfg) ~= "table" then
    error("Agent.register: configuration must be a table", 2)
  end
  local model = cfg.model
  local flat = {
    name = cfg.name, description = cfg.description, allowed_tools = cfg.allowed_tools,
  }
  if type(model) == "table" then
    flat.provider, flat.model = model.provider, model.model_id
    flat.temperature, flat.max_tokens = model.temperature, model.max_tokens
    local settings = model.settings
    if type(settings) == "table" then
      flat.base_url, flat.api_key = settings.base_url, settings.api_key
    end
  else
    flat.model = model
  end
  local custom = cfg.custom_config
  if type(custom) == "table" then
    flat.system_prompt = custom.system_prompt
    flat.max_conversation_length = custom.max_conversation_length
  end
  local limits = cfg.resource_limits
  if type(limits) == "table" then
    flat.max_execution_time = limits.max_execution_time_secs
    flat.max_memory_mb = limits.max_memory_mb
    flat.max_tool_calls = limits.max_tool_calls
    flat.max_recursion_depth = limits.max_recursion_depth
  end
  local name = build_agent(flat, 3)
  agent_object(name)
  return name
end

function Agent.get(name)
  if type(name) ~= "string" or not call(2, py.exists, name) then
    return nil
  end
  return agent_object(name)
end

function Agent.list()
  local out = {}
  for i, name in ipairs(call(2, py.names)) do
    out[i] = { name = name }
  end
  return out
end

function Agent.list_instances()
  return (call(2, py.names))
end

function Agent.discover()
  return { { type = "llm" } }
end

function Agent.get_info(kind)
  if kind ~= "llm" then
    error("Unknown agent type: " .. tostring(kind), 2)
  end
  return { type = "llm", description = "An agent backed by a language model provider" }
end

function Agent.list_capabilities()
  return { llm = { "chat", "streaming", "tool_calling", "conversation_memory" } }
end

function Agent.create()
  error("Agent.create is deprecated: use Agent.builder()", 2)
end

function Agent.wrap_as_tool(agent_name, cfg)
  if type(agent_name) ~= "string" or not call(2, py.exists, agent_name) then
    error("Agent '" .. tostring(agent_name) .. "' not found", 2)
  end
  cfg = type(cfg) == "table" and cfg or {}
  local tool_name = cfg.tool_name or (agent_name .. "_tool")
  local description = cfg.description or ("Ask the agent '" .. agent_name .. "'")
  local parameters = {
    type = "object",
    properties = { input = { type = "string", description = "What to ask the agent" } },
    required = { "input" },
  }
  tools.register(tool_name, description, parameters, function(params)
    local object = agent_object(agent_name)
    local output = execute(object, { text = params.input or params.text or "" })
    return { success = true, text = output.text, metadata = output.metadata }
  end)
  return tool_name
end

env.Agent = Agent

-- Provider -------------------------------------------------------------------------------------
local Provider = {}
function Provider.list()
  return (call(2, py.provider_list))
end
function Provider.get(name)
  return (call(2, py.provider_get, name))
end
function Provider.getCapabilities(name)
  return (call(2, py.provider_capabilities, name))
end
function Provider.isAvailable(name)
  return (call(2, py.provider_available, name))
end
env.Provider = Provider

return async
