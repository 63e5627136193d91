-- The RAG global (lua-api.md 2.12). Python does the work and answers (ok, value); errors are
-- raised here with the position of the script's call.
local env, py = ...
local type, error, ipairs, next, setmetatable = type, error, ipairs, next, setmetatable

-- Callers keep a local (no tail call) so that level 3 is the script's own line.
local function call(name, f, ...)
  local ok, value = f(...)
  if not ok then
    error("RAG." .. name .. ": " .. value, 3)
  end
  return value
end

local RAG = {}

-- The array part mirrors `results`, so `#r` and `ipairs(r)` work on what search returns.
local function mirrored(result)
  for i, item in ipairs(result.results) do
    result[i] = item
  end
  return result
end

function RAG.search(query, opts)
  if type(query) == "table" and opts == nil then
    opts = query
    query = opts.query
  end
  local result = call("search", py.search, query, opts)
  return mirrored(result)
end

function RAG.ingest(doc, opts)
  local result = call("ingest", py.ingest, doc, opts)
  return result
end
RAG.ingest_batch = RAG.ingest -- examples call it; upstream lacked it

-- (scope, scope_id, tenant_id) given as arguments or as one table {scope=, scope_id=, ...}.
local function scope_args(scope, scope_id, tenant_id)
  if type(scope) == "table" then
    return true, scope.scope, scope.scope_id, scope.tenant_id
  end
  return false, scope, scope_id, tenant_id
end

function RAG.get_stats(...)
  local _, scope, scope_id, tenant_id = scope_args(...)
  local stats = call("get_stats", py.get_stats, scope, scope_id, tenant_id)
  return stats
end

-- cleanup_scope(scope, id) -> count; the table form {scope, scope_id, tenant_id} that examples
-- use answers {success, deleted} instead.
function RAG.cleanup_scope(...)
  local as_table, scope, scope_id, tenant_id = scope_args(...)
  local n = call("cleanup_scope", py.cleanup_scope, scope, scope_id, tenant_id)
  if as_table then
    return { success = true, deleted = n, vectors_deleted = n }
  end
  return n
end

-- The rest pass their arguments straight through.
for _, name in ipairs({
  "configure", "save", "list_providers", "create_session_collection", "configure_session",
}) do
  local f = py[name]
  RAG[name] = function(...)
    local value = call(name, f, ...)
    return value
  end
end

-- RAG.config: a read-only snapshot of [rag] (with RAG.configure's changes), read on access.
RAG.config = setmetatable({}, {
  __index = function(_, key)
    local snapshot = call("config", py.config)
    return snapshot[key]
  end,
  __pairs = function()
    local snapshot = call("config", py.config)
    return next, snapshot, nil
  end,
  __newindex = function()
    error("RAG.config is read-only: use RAG.configure{...}", 2)
  end,
  __metatable = false,
})

env.RAG = RAG
