-- The Config global (lua-api.md 2.11): the effective configuration, read-only. Python answers
-- (ok, value); errors are raised here with the position of the script's call.
local env, py = ...
local error, ipairs = error, ipairs

local Config = {}

for _, name in ipairs({
  "get", "getSection", "getProvider", "listProviders", "getDefaultEngine", "getSecurity",
  "getTools", "isFileAccessAllowed", "isNetworkAccessAllowed",
}) do
  local f = py[name]
  Config[name] = function(...)
    local ok, value = f(...)
    if not ok then
      error("Config." .. name .. ": " .. value, 2)
    end
    return value
  end
end

-- Upstream's mutators: the configuration a script runs under does not change under it.
for _, name in ipairs({ "setProvider", "setSecurity", "addAllowedPath", "snapshot", "restoreSnapshot" }) do
  Config[name] = function()
    error("Config is read-only", 2)
  end
end

env.Config = Config
