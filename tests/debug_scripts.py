"""Lua programs the debugger tests step through (line numbers matter: keep them stable)."""

MAIN = """\
local function add(a, b)
  local c = a + b
  return c
end

local config = { name = "demo", sizes = { 1, 2, 3 }, inner = { deep = { x = 42 } } }
setmetatable(config, { __tostring = function() return "Config<demo>" end })

local function risky(n)
  if n > 2 then
    error("too big: " .. n)
  end
  return n
end

local function tail(n)
  return add(n, 100)
end

local gen = coroutine.wrap(function(a)
  local b = coroutine.yield(a + 1)
  return b * 2
end)

local total = 0
for i = 1, 5 do
  total = add(total, i)
end
local ok, err = pcall(risky, 5)
local t = tail(1)
local first = gen(10)
local second = gen(7)
print("done", total, ok, t, first, second)
"""

LOOP = """\
local count = 0
local function work(n)
  return n + 1
end
while true do
  count = work(count)
end
"""

UNCAUGHT = """\
local function explode(x)
  local reason = "bad " .. x
  error(reason)
end
explode("input")
"""
