-- The Event global (lua-api.md 2.5) and the private events seam other globals receive.
-- Python keeps the bus (llmspell_kernel/events); this side tracks whether code runs inside a
-- hook, step or callback, where a publish without correlation_id inherits the execution's id.
local env, py, correlation_id, encode = ... -- encode: json_encode.lua's (nil: cannot)
local type, error, tostring, pairs = type, error, tostring, pairs

local function call(level, f, ...)
  local ok, value = f(...)
  if not ok then
    error(value, level + 1)
  end
  return value
end

local seam = {
  depth = 0, -- > 0 inside a hook, workflow step or stream callback
  current = correlation_id, -- the running execution's correlation id
}

local Event = {}

function Event.publish(event_type, data, opts)
  if type(event_type) ~= "string" or event_type == "" then
    error("Event.publish: event_type must be a non-empty string", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("Event.publish: opts must be a table {correlation_id, ttl_seconds, language}", 2)
  end
  return (call(2, py.publish, event_type, data, opts, seam.depth > 0))
end

function Event.subscribe(pattern, opts)
  if type(pattern) ~= "string" or pattern == "" then
    error("Event.subscribe: pattern must be a non-empty string", 2)
  end
  return (call(2, py.subscribe, pattern, opts))
end

function Event.receive(sub_id, timeout_ms)
  return (call(2, py.receive, sub_id, timeout_ms))
end

function Event.unsubscribe(sub_id)
  return (call(2, py.unsubscribe, sub_id))
end

function Event.list_subscriptions()
  return (call(2, py.list_subscriptions))
end

function Event.get_stats()
  return (call(2, py.get_stats))
end

env.Event = Event

-- The seam ------------------------------------------------------------------------------------
local wanted = {} -- system event type -> boolean ([events] enabled and filters), cached
local system_on = py.enabled()

local function is_wanted(event_type)
  local known = wanted[event_type]
  if known == nil then
    known = system_on and py.wanted(event_type) or false
    wanted[event_type] = known
  end
  return known
end

-- True when system events are emitted at all: callers skip building their data otherwise.
seam.enabled = system_on

-- seam.wanted(event_type) -> boolean: whether a system event of this type is emitted.
seam.wanted = is_wanted

-- seam.system(event_type, data): publish a system event ({name, execution_id?, duration_ms?,
-- error?}) with the execution's correlation id, when [events] enabled and filters allow it.
-- Its fields cross as arguments (key, value, ...) of one call, through a reused table: no JSON
-- text and no table conversion; a value that is itself a table sends the data as JSON.
local fields = {}
local unpack = table.unpack
function seam.system(event_type, data)
  if not is_wanted(event_type) then
    return
  end
  local n = 0
  for key, value in pairs(data) do
    if type(value) == "table" then
      local text = encode and encode(data)
      if text ~= nil then
        py.system_json(event_type, text)
      else
        py.system(event_type, data)
      end
      return
    end
    fields[n + 1], fields[n + 2] = key, value
    n = n + 2
  end
  py.system_fields(event_type, unpack(fields, 1, n))
end

-- seam.correlation() -> the running execution's correlation id (a Jupyter request's msg_id;
-- also the field seam.current).
function seam.correlation()
  return seam.current
end

-- seam.enter() / seam.leave(): around a hook, step or callback (publishes inherit the id);
-- the counter is the field seam.depth.
function seam.enter()
  seam.depth = seam.depth + 1
end
function seam.leave()
  if seam.depth > 0 then
    seam.depth = seam.depth - 1
  end
end

-- Called by the host when an execution starts: its correlation id; depth starts at 0 again
-- (an interrupt may have left a callback without leaving it).
function seam.begin(id)
  seam.current = id
  seam.depth = 0
end

return seam
