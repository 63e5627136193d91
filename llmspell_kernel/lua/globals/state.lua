-- State global (lua-api.md 2.3). Python does the work; errors carry the caller's position.
local env, py = ...
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
  "save", "load", "delete", "list_keys", "workflow_get", "workflow_list",
  "agent_get", "agent_set", "tool_get", "tool_set",
}) do
  State[name] = wrap(py[name])
end

env.State = State
