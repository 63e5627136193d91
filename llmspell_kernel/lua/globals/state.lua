-- State global (lua-api.md 2.3). Python does the work; errors carry the caller's position.
-- Values to store are encoded to JSON here when `encode` can (the common case: one string
-- crosses to Python instead of a table walked item by item); otherwise Python converts them.
local env, py, encode, fix_utf8 = ...
local real_type = type
local real_error = error

local function wrap(f)
  return function(...)
    local ok, value = f(...)
    if not ok then
      real_error(value, 2)
    end
    return value
  end
end

local State = {}
for _, name in ipairs({
  "load", "delete", "list_keys", "workflow_get", "workflow_list", "agent_get", "tool_get",
}) do
  State[name] = wrap(py[name])
end

-- A value that encodes to "null" (nil, JSON.null, NaN) deletes the key: the Python path does.
local function setter(convert_and_store, store_text)
  return function(a, b, value)
    local text = encode(value)
    local ok, err
    if text and text ~= "null" then
      ok, err = store_text(a, b, text)
    else
      if real_type(value) == "string" then
        value = fix_utf8(value) -- invalid bytes become U+FFFD (lua-api.md 1.3)
      end
      ok, err = convert_and_store(a, b, value)
    end
    if not ok then
      real_error(err, 2)
    end
  end
end

-- version, value: read together, so a compare_and_set on that version changes that value.
function State.version(scope, key)
  local ok, result = py.version(scope, key)
  if not ok then
    real_error(result, 2)
  end
  return result.version, result.value
end

-- ok, version: ok when the key was at expected_version (nil or 0: absent) and now holds value.
function State.compare_and_set(scope, key, expected_version, value)
  local ok, result = py.compare_and_set(scope, key, expected_version, value)
  if not ok then
    real_error(result, 2)
  end
  return result.ok, result.version
end

State.save = setter(py.save, py.save_json)
State.agent_set = setter(py.agent_set, py.agent_set_json)
State.tool_set = setter(py.tool_set, py.tool_set_json)

env.State = State
