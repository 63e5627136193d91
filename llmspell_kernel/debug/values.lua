-- llmspell debugger, Lua side: values as the front ends show them (short previews, table
-- references a front end expands later, the flat entries of a variables listing). Loaded by
-- hooks.lua with the host's real globals; every name here is a local.
local api = ...

local getinfo, getmetatable_raw = debug.getinfo, debug.getmetatable
local real_type, real_tostring, real_pcall = type, tostring, pcall
local rawget, rawlen, next = rawget, rawlen, next
local setmetatable, tostring = setmetatable, tostring
local sformat, ssub, sgsub, sfind, sbyte = string.format, string.sub, string.gsub, string.find, string.byte
local tsort, tconcat = table.sort, table.concat
local math_type = math.type
local fix_utf8 = api.fix_utf8

local function quote(s)
  if #s > 200 then
    s = ssub(s, 1, 200) .. "…"
  end
  s = sgsub(s, '[%c"\\]', function(c)
    if c == "\n" then return "\\n" elseif c == "\t" then return "\\t" elseif c == '"' then return '\\"'
    elseif c == "\\" then return "\\\\" end
    return sformat("\\%d", sbyte(c))
  end)
  return '"' .. fix_utf8(s) .. '"'
end

local function key_text(k)
  if real_type(k) == "string" and sfind(k, "^[%a_][%w_]*$") then
    return k
  elseif real_type(k) == "string" then
    return "[" .. quote(k) .. "]"
  end
  return "[" .. real_tostring(k) .. "]"
end

local function custom_tostring(v)
  local mt = getmetatable_raw(v)
  if real_type(mt) == "table" and rawget(mt, "__tostring") ~= nil then
    local ok, s = real_pcall(tostring, v)
    if ok and real_type(s) == "string" then
      return s
    end
  end
  return nil
end

local function function_text(f)
  local info = getinfo(f, "S")
  if info.what == "C" then
    return "function (builtin)"
  end
  local src = info.short_src
  return sformat("function (%s:%d)", src, info.linedefined)
end

local preview
local function table_preview(t)
  local s = custom_tostring(t)
  if s then
    return s
  end
  local parts, n, budget = {}, rawlen(t), 60
  for i = 1, n do
    local p = preview(rawget(t, i), true)
    budget = budget - #p - 2
    if budget < 0 then parts[#parts + 1] = "…" break end
    parts[#parts + 1] = p
  end
  if budget >= 0 then
    for k, v in next, t do
      if not (math_type(k) == "integer" and k >= 1 and k <= n) then
        local p = key_text(k) .. " = " .. preview(v, true)
        budget = budget - #p - 2
        if budget < 0 then parts[#parts + 1] = "…" break end
        parts[#parts + 1] = p
      end
    end
  end
  local mt = getmetatable_raw(t)
  local name = real_type(mt) == "table" and rawget(mt, "__name")
  local body = "{" .. tconcat(parts, ", ") .. "}"
  if real_type(name) == "string" then
    return name .. " " .. body
  end
  return body
end

preview = function(v, short)
  local t = real_type(v)
  if t == "string" then
    return quote(v)
  elseif t == "table" then
    if short then
      return custom_tostring(v) or (next(v) == nil and "{}" or "{…}")
    end
    return table_preview(v)
  elseif t == "function" then
    return function_text(v)
  elseif t == "userdata" then
    return custom_tostring(v) or real_tostring(v)
  end
  return real_tostring(v)
end

-- Variable references: tables keep one number for as long as they live (weak both ways);
-- scopes of the current stop use frame * 4 + kind.
local next_ref = 100000
local ref_of_obj = setmetatable({}, { __mode = "k" })
local obj_of_ref = setmetatable({}, { __mode = "v" })

local function ref_for(v)
  local t = real_type(v)
  if t ~= "table" and not (t == "userdata" and getmetatable_raw(v) ~= nil) then
    return 0
  end
  local r = ref_of_obj[v]
  if r == nil then
    next_ref = next_ref + 1
    r = next_ref
    ref_of_obj[v] = r
    obj_of_ref[r] = v
  end
  return r
end

-- Children: flat list of name, value, type, ref, indexed, named per entry.
local function emit(out, name, v)
  out[#out + 1] = name
  out[#out + 1] = preview(v, false)
  out[#out + 1] = real_type(v)
  local r = ref_for(v)
  out[#out + 1] = r
  if r ~= 0 and real_type(v) == "table" then
    local n = rawlen(v)
    local named = 0
    for k in next, v do
      if not (math_type(k) == "integer" and k >= 1 and k <= n) then named = named + 1 end
    end
    if getmetatable_raw(v) ~= nil then named = named + 1 end
    out[#out + 1] = n
    out[#out + 1] = named
  else
    out[#out + 1] = 0
    out[#out + 1] = getmetatable_raw(v) ~= nil and 1 or 0
  end
end

local function sorted_keys(t, skip_array)
  local n = skip_array and rawlen(t) or 0
  local keys = {}
  for k in next, t do
    if not (math_type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  tsort(keys, function(a, b)
    local ta, tb = real_type(a), real_type(b)
    if ta ~= tb then return ta > tb end -- strings before numbers
    if ta == "number" or ta == "string" then return a < b end
    return real_tostring(a) < real_tostring(b)
  end)
  return keys
end


return {
  quote = quote,
  key_text = key_text,
  custom_tostring = custom_tostring,
  preview = preview,
  ref_for = ref_for,
  object_of = function(ref) return obj_of_ref[ref] end,
  emit = emit,
  sorted_keys = sorted_keys,
}
