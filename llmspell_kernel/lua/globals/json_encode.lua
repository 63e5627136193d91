-- Fast JSON encoding of Lua values, for State and JSON.stringify (lua-api.md 1.3).
--
-- encode(v) returns exactly the text Python's json.dumps(sort_keys=True, separators=(",", ":"),
-- ensure_ascii=False) gives for the converted value, or nil when the value needs the Python
-- converter: invalid UTF-8, functions/userdata/threads (the converter raises the error), float
-- keys, tables mixing integer keys with other keys, sparse arrays, nesting of 64 levels or more,
-- a float Python would spell differently, or string order that is not byte order (a locale).
-- The caller then takes the Python path, so the semantics stay those of convert.to_python.
-- This chunk returns a factory: encoder_for(null) gives `encode` for that JSON.null sentinel.
local type, next, rawequal, rawlen, rawget, tonumber = type, next, rawequal, rawlen, rawget, tonumber
local getmetatable = getmetatable
local mtype, floor, huge = math.type, math.floor, math.huge
local sformat, sfind, sgsub, schar, ssub = string.format, string.find, string.gsub, string.char, string.sub
local sort, concat = table.sort, table.concat
local utf8_len = utf8.len

local MAX_DEPTH = 64 -- convert.MAX_DEPTH
local TINY = 2.2250738585072014e-308 -- the smallest normal double
local NEEDS_ESCAPE = '[%z\1-\31"\\]'

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\b"] = "\\b", ["\f"] = "\\f",
}
for b = 0, 31 do
  local c = schar(b)
  if not ESCAPES[c] then
    ESCAPES[c] = sformat("\\u%04x", b)
  end
end

-- Lua's pattern matcher restarts at every position (about 20 ns a byte), so a long string is
-- searched for each character that needs escaping with plain finds (memchr) instead, and
-- escaped by splitting at each one; a short one takes the single pattern search.
local LONG = 256
local SPECIALS = { "\\", '"' } -- the backslash first: the others' escapes add backslashes
for b = 0, 31 do
  SPECIALS[#SPECIALS + 1] = schar(b)
end

local function replace_plain(s, c, rep)
  local parts, n, i = {}, 0, 1
  while true do
    local j = sfind(s, c, i, true)
    if not j then
      break
    end
    parts[n + 1], parts[n + 2], n, i = ssub(s, i, j - 1), rep, n + 2, j + 1
  end
  parts[n + 1] = ssub(s, i)
  return concat(parts, "", 1, n + 1)
end

local function quote(s)
  if not utf8_len(s) then
    return nil
  end
  if #s < LONG then
    if sfind(s, NEEDS_ESCAPE) then
      s = sgsub(s, NEEDS_ESCAPE, ESCAPES)
    end
  else
    for i = 1, #SPECIALS do
      local c = SPECIALS[i]
      if sfind(s, c, 1, true) then
        s = replace_plain(s, c, ESCAPES[c])
      end
    end
  end
  return '"' .. s .. '"'
end

-- The quoted-key fragments ('{"k":' and ',"k":') of keys seen before: records in a list repeat
-- their keys, and quoting one costs a UTF-8 check, a search and two concatenations. Bounded:
-- cleared when it holds KEY_CACHE_MAX keys.
local KEY_CACHE_MAX = 4096
local first_key, next_key, cached_keys = {}, {}, 0

local function key_fragments(k)
  local q = quote(k)
  if not q then
    return nil
  end
  if cached_keys >= KEY_CACHE_MAX then
    first_key, next_key, cached_keys = {}, {}, 0
  end
  local open, more = "{" .. q .. ":", "," .. q .. ":"
  first_key[k], next_key[k], cached_keys = open, more, cached_keys + 1
  return open, more
end

-- Python's float repr: the shortest digits that read back as the same double, in fixed
-- notation from 1e-4 up to 1e16 (integral values keep a ".0"), else as C's %g writes it. For a
-- normal double whose shortest form has k <= 14 digits, %.14g prints exactly those digits; past
-- 14, the first of %.15g/%.16g/%.17g that reads back is the shortest (and the nearest) form.
local function float_text(x)
  if x ~= x or x == huge or x == -huge then
    return "null"
  end
  if x == floor(x) and x > -1e16 and x < 1e16 then
    return sformat("%.1f", x)
  end
  if x > -TINY and x < TINY then
    return nil -- subnormal: fewer digits than %.14g may already read back
  end
  local s = sformat("%.14g", x)
  if tonumber(s) ~= x then
    s = sformat("%.15g", x)
    if tonumber(s) ~= x then
      s = sformat("%.16g", x)
      if tonumber(s) ~= x then
        s = sformat("%.17g", x)
      end
    end
  end
  if (x >= 1e16 or x <= -1e16) and not sfind(s, "e", 1, true) then
    return nil -- %.17g wrote 1e16..1e17 in fixed notation; Python uses an exponent
  end
  return s
end

return function(null)
  local encode_into

  local function encode_table(t, buf, n, depth)
    if rawequal(t, null) then
      n = n + 1
      buf[n] = "null"
      return n
    end
    if depth >= MAX_DEPTH then
      return nil
    end
    local len = rawlen(t)
    if len > 0 then
      -- A sequence when it has exactly `len` keys and none of t[1..len] is nil (the loop below
      -- gives up on a nil): one bare counting pass instead of the key-by-key checks.
      local count = 0
      for _ in next, t do
        count = count + 1
      end
      if count ~= len then
        return nil -- integer keys mixed with others, or sparse: the converter decides
      end
      if getmetatable(t) ~= nil then -- t[i] below must not reach an __index for a raw nil
        for i = 1, len do
          if rawget(t, i) == nil then
            return nil
          end
        end
      end
      n = n + 1
      buf[n] = "["
      for i = 1, len do
        if i > 1 then
          n = n + 1
          buf[n] = ","
        end
        local v = t[i]
        if mtype(v) == "integer" then -- the common element of a list, without a call
          n = n + 1
          buf[n] = sformat("%d", v)
        else
          n = encode_into(v, buf, n, depth + 1)
          if not n then
            return nil
          end
        end
      end
      n = n + 1
      buf[n] = "]"
      return n
    end
    local keys, nkeys, nint, maxint, nother = nil, 0, 0, 0, 0
    for k in next, t do
      local tk = type(k)
      if tk == "string" then
        nkeys = nkeys + 1
        if keys then
          keys[nkeys] = k
        else
          keys = { k }
        end
      elseif tk == "number" then
        if mtype(k) ~= "integer" or k < 1 then
          return nil
        end
        nint = nint + 1
        if k > maxint then
          maxint = k
        end
      else
        nother = nother + 1 -- boolean and table keys are skipped, as the converter does
      end
    end
    if nint > 0 then
      return nil -- integer keys without t[1] (sparse), or mixed with other keys
    end
    if nkeys == 0 then
      n = n + 1
      buf[n] = "{}"
      return n
    end
    if nkeys > 1 then
      sort(keys)
    end
    for i = 1, nkeys do
      local k = keys[i]
      local fragment = (i == 1 and first_key or next_key)[k]
      if not fragment then
        local open, more = key_fragments(k)
        if not open then
          return nil
        end
        fragment = i == 1 and open or more
      end
      n = n + 1
      buf[n] = fragment
      n = encode_into(t[k], buf, n, depth + 1)
      if not n then
        return nil
      end
    end
    n = n + 1
    buf[n] = "}"
    return n
  end

  encode_into = function(v, buf, n, depth)
    local tv = type(v)
    local s
    if tv == "string" then
      s = quote(v)
    elseif tv == "number" then
      if mtype(v) == "integer" then
        s = sformat("%d", v)
      else
        s = float_text(v)
      end
    elseif tv == "boolean" then
      s = v and "true" or "false"
    elseif tv == "table" then
      return encode_table(v, buf, n, depth)
    end
    if not s then
      return nil
    end
    n = n + 1
    buf[n] = s
    return n
  end

  return function(v)
    -- Keys are sorted with Lua's `<`, which follows LC_COLLATE; Python sorts by code point.
    if not ("B" < "a" and "Z" < "_") then
      return nil
    end
    local buf = {}
    local n = encode_into(v, buf, 0, 0)
    if not n then
      return nil
    end
    return concat(buf, "", 1, n)
  end
end
