-- Session (+ builder) and Artifact globals (lua-api.md 2.4); errors carry the caller's position.
local env, py_session, py_artifact = ...
local real_error, real_type, real_setmetatable = error, type, setmetatable

local function wrap(f)
  return function(...)
    local ok, value = f(...)
    if not ok then
      real_error(value, 2)
    end
    return value
  end
end

-- Session ----------------------------------------------------------------------------------------
local Session = {}
for _, name in ipairs({
  "create", "get", "list", "save", "load", "suspend", "resume", "complete", "fail", "archive",
  "delete", "get_current", "set_current",
}) do
  Session[name] = wrap(py_session[name])
end

local builder_mt = { __name = "Session.builder", __metatable = "Session.builder" }
builder_mt.__index = builder_mt
local builders = real_setmetatable({}, { __mode = "k" }) -- the builders this chunk made

local function check_self(self, method)
  if not builders[self] then
    real_error(method .. ": call with ':' not '.'", 3)
  end
end

local function setter(field)
  return function(self, value)
    check_self(self, field)
    self._opts[field] = value
    return self
  end
end
builder_mt.name = setter("name")
builder_mt.description = setter("description")
builder_mt.parent_session_id = setter("parent_session_id")
builder_mt.metadata = setter("metadata")

function builder_mt.tag(self, tag)
  check_self(self, "tag")
  local tags = self._opts.tags
  tags[#tags + 1] = tag
  return self
end

function builder_mt.tags(self, list)
  check_self(self, "tags")
  if real_type(list) ~= "table" then
    real_error("tags: expected a table of strings", 2)
  end
  for _, tag in ipairs(list) do
    self._opts.tags[#self._opts.tags + 1] = tag
  end
  return self
end

function builder_mt.build(self)
  check_self(self, "build")
  local ok, value = py_session.create(self._opts)
  if not ok then
    real_error(value, 2)
  end
  return value
end

function Session.builder()
  local builder = real_setmetatable({ _opts = { tags = {} } }, builder_mt)
  builders[builder] = true
  return builder
end

env.Session = Session

-- Artifact ---------------------------------------------------------------------------------------
-- lupa hands Lua strings to Python decoded as UTF-8, which binary content is not. So content
-- travels inside a carrier whose __tostring returns it: Python's str() of a Lua object falls
-- back to Latin-1 (one character per byte) when UTF-8 fails, and the host recovers the exact
-- bytes from the character count (session.py, content_bytes). No byte is touched in Lua.
local carrier_mt = { __tostring = function(self) return self[1] end, __metatable = "Artifact.content" }

local Artifact = {}
for _, name in ipairs({ "store_file", "get", "list", "delete", "query" }) do
  Artifact[name] = wrap(py_artifact[name])
end

function Artifact.store(session_id, kind, name, content, metadata)
  if real_type(content) ~= "string" then
    real_error("Artifact.store: content must be a string, got " .. real_type(content), 2)
  end
  local carrier = real_setmetatable({ content }, carrier_mt)
  local ok, value = py_artifact.store(session_id, kind, name, carrier, #content, metadata)
  if not ok then
    real_error(value, 2)
  end
  return value
end

env.Artifact = Artifact
