-- llmspell host bootstrap. Runs once per Lua runtime with the real globals and builds the
-- script environment for the configured security level (lua-api.md section 5). Host-only
-- capabilities (the real debug library, hooks, Python callbacks) stay in upvalues here and are
-- never reachable from scripts.
local host, level = ...

local _G = _G
local real_debug = debug
local sethook, gethook, traceback, getinfo = debug.sethook, debug.gethook, debug.traceback, debug.getinfo
local real_load, real_pcall, real_xpcall, real_error = load, pcall, xpcall, error
local real_select, real_type, real_tostring, real_setmetatable = select, type, tostring, setmetatable
local real_getmetatable, real_rawget, real_pairs, real_next = getmetatable, rawget, pairs, next
local real_io_open, real_io_lines = io.open, io.lines
local co_create, co_wrap, co_resume, co_running, co_status, co_close =
  coroutine.create, coroutine.wrap, coroutine.resume, coroutine.running, coroutine.status, coroutine.close
local tconcat, tunpack, tpack = table.concat, table.unpack, table.pack
local sfind, ssub, sgsub, sformat, srep = string.find, string.sub, string.gsub, string.format, string.rep

local raw_host_write = host.write_fast or host.write
local utf8_len, utf8_char = utf8.len, utf8.char

-- Python receives text: replace invalid UTF-8 bytes with U+FFFD (lua-api.md 1.3).
local function fix_utf8(s)
  if utf8_len(s) then
    return s
  end
  local out, i, n = {}, 1, #s
  while i <= n do
    local ok, len = utf8_len(s, i, i)
    if ok then
      local c = ssub(s, i, i)
      local b = string.byte(c)
      local width = b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
      local piece = ssub(s, i, i + width - 1)
      if utf8_len(piece) then
        out[#out + 1] = piece
        i = i + width
      else
        out[#out + 1] = utf8_char(0xFFFD)
        i = i + 1
      end
    else
      out[#out + 1] = utf8_char(0xFFFD)
      i = i + 1
    end
  end
  return tconcat(out)
end

local function host_write(stream, s)
  raw_host_write(stream, fix_utf8(s))
end
local raw_host_read = host.read
local raw_check_read = host.check_read
local raw_check_write = host.check_write
local host_interrupted = host.interrupted
local function host_read(prompt)
  return raw_host_read(fix_utf8(prompt))
end
local function host_check_read(path)
  if real_type(path) ~= "string" then
    return nil, "path must be a string"
  end
  return raw_check_read(fix_utf8(path))
end
local function host_check_write(path)
  if real_type(path) ~= "string" then
    return nil, "path must be a string"
  end
  return raw_check_write(fix_utf8(path))
end
local host_module_path = host.module_path

-- lupa gives every Python object one shared metatable, and replacing its __call would intercept
-- every host callback (the permission checks among them). Scripts never hold a Python object
-- (host.py wraps every host function), and should one ever leak, its metatable stays locked.
local py_mt = real_getmetatable(host_interrupted)
if real_type(py_mt) == "table" then
  rawset(py_mt, "__metatable", "locked")
end

-- Errors that user code must not be able to swallow: an interrupt and os.exit.
local INTERRUPT = real_setmetatable({}, {
  __tostring = function() return "Interrupted" end,
  __name = "llmspell.Interrupted",
  __metatable = "llmspell.Interrupted",
})
local EXIT = real_setmetatable({}, { __name = "llmspell.Exit", __metatable = "llmspell.Exit" })
local exit_code = nil

local function is_fatal(e)
  return e == INTERRUPT or e == EXIT
end

-- The hook that an interrupt arms asynchronously on the main thread (see interrupt.py).
local function interrupt_hook()
  real_error(INTERRUPT, 0)
end

-- Coroutines run their own count hook (hooks are per Lua thread) that asks the host.
local function coroutine_hook()
  if host_interrupted() then
    real_error(INTERRUPT, 0)
  end
end

local coroutine_hook_count = 1000

local function install_coroutine_hook(co)
  sethook(co, coroutine_hook, "", coroutine_hook_count)
end

local function rethrow_fatal(ok, ...)
  if not ok then
    local e = ...
    if is_fatal(e) then
      real_error(e, 0)
    end
  end
  return ok, ...
end

local function safe_pcall(f, ...)
  return rethrow_fatal(real_pcall(f, ...))
end

local function safe_xpcall(f, handler, ...)
  return rethrow_fatal(real_xpcall(f, function(e)
    if is_fatal(e) then
      return e
    end
    return handler(e)
  end, ...))
end

local function copy(t)
  local c = {}
  for k, v in real_pairs(t) do
    c[k] = v
  end
  return c
end

local env = {}

-- Base functions ---------------------------------------------------------------------------
for _, name in ipairs({
  "assert", "error", "select", "type", "tostring", "tonumber", "pairs", "ipairs", "next",
  "rawequal", "rawget", "rawset", "rawlen", "setmetatable", "getmetatable", "collectgarbage",
}) do
  env[name] = _G[name]
end
-- Finalizers run with hooks off (Lua disables them inside __gc), so a looping one could never be
-- interrupted: below `unrestricted`, metatables with __gc are refused. (Adding __gc to a
-- metatable later does not mark its objects for finalization, so this check is enough.)
if level ~= "unrestricted" then
  env.setmetatable = function(t, mt)
    if real_type(mt) == "table" and real_rawget(mt, "__gc") ~= nil then
      real_error("setmetatable: __gc metamethods are not allowed at security level '" .. level
        .. "' (finalizers cannot be interrupted)", 2)
    end
    return real_setmetatable(t, mt)
  end
end
env._VERSION = _VERSION
env._G = env
env.pcall = safe_pcall
env.xpcall = safe_xpcall

local function write_values(stream, fname, ...)
  local n = real_select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = real_select(i, ...)
    local tv = real_type(v)
    if tv ~= "string" and tv ~= "number" then
      real_error(sformat("bad argument #%d to '%s' (string expected, got %s)", i, fname, tv), 3)
    end
    parts[i] = real_tostring(v)
  end
  host_write(stream, tconcat(parts))
end

env.print = function(...)
  local n = real_select("#", ...)
  local tostr = env.tostring
  if n == 1 and tostr == real_tostring then -- the common case, without a table per line
    local v = ...
    local line = (real_type(v) == "string" and v or real_tostring(v)) .. "\n"
    if utf8_len(line) then -- valid UTF-8 (fix_utf8's own test), handed over without a call
      raw_host_write("stdout", line)
    else
      host_write("stdout", line)
    end
    return
  end
  local parts = {}
  for i = 1, n do
    parts[i] = tostr((real_select(i, ...)))
  end
  host_write("stdout", tconcat(parts, "\t") .. "\n")
end

-- Standard libraries --------------------------------------------------------------------------
env.table = copy(table)
env.math = copy(math)
env.utf8 = copy(utf8)
env.string = copy(string)
if level ~= "unrestricted" then
  env.string.dump = nil
end

-- Scripts reach string methods through the shared string metatable: point it at the sandbox's
-- string table (so `("x"):dump()` is unreachable) and hide the real metatable.
local string_mt = real_getmetatable("")
string_mt.__index = env.string
string_mt.__metatable = real_setmetatable({}, { __index = { __index = env.string }, __newindex = function()
  real_error("the string metatable is read-only", 2)
end, __metatable = "locked" })

-- Coroutines: every new coroutine gets the interrupt hook.
local co = copy(coroutine)
co.create = function(f)
  local c = co_create(f)
  install_coroutine_hook(c)
  return c
end
co.wrap = function(f)
  local c = co_create(f)
  install_coroutine_hook(c)
  return function(...)
    local res = tpack(co_resume(c, ...))
    if res[1] then
      return tunpack(res, 2, res.n)
    end
    local e = res[2]
    if real_type(e) == "string" then
      real_error(e, 0)
    end
    real_error(e, 0)
  end
end
co.resume = function(c, ...)
  return rethrow_fatal(co_resume(c, ...))
end
env.coroutine = co

-- load: text chunks only below `unrestricted`, environment defaults to the sandbox.
env.load = function(chunk, name, mode, ...)
  local chunk_env = env
  if real_select("#", ...) > 0 then
    chunk_env = ...
  end
  if level ~= "unrestricted" then
    if mode ~= nil and mode ~= "t" then
      if real_type(mode) == "string" and sfind(mode, "b", 1, true) then
        return nil, "load: binary chunks are not allowed at security level '" .. level .. "'"
      end
    end
    mode = "t"
  end
  return real_load(chunk, name, mode, chunk_env)
end

-- Files ----------------------------------------------------------------------------------------
-- `level` names the script's frame for the error position: 3 when a global (io.open) calls
-- this directly, 4 through load_file (dofile, loadfile).
local function readable(path, fname, level)
  local resolved, err = host_check_read(path)
  if resolved == nil then
    real_error(sformat("%s: %s", fname, real_tostring(err)), level or 3)
  end
  return resolved
end

local function writable(path, fname)
  local resolved, err = host_check_write(path)
  if resolved == nil then
    real_error(sformat("%s: %s", fname, real_tostring(err)), 3)
  end
  return resolved
end

local function read_text(path)
  local fh, err = real_io_open(path, "rb")
  if not fh then
    return nil, err
  end
  local text = fh:read("a")
  fh:close()
  if sfind(text, "^\27") then
    return nil, "binary chunks are not allowed"
  end
  return text
end

local function load_file(path, fname, chunk_env)
  local resolved = readable(path, fname, 4)
  local text, err = read_text(resolved)
  if not text then
    return nil, err
  end
  return real_load(text, "@" .. resolved, "t", chunk_env or env)
end

local stdout_proxy = {}
local stderr_proxy = {}
stdout_proxy.write = function(self, ...)
  if self ~= stdout_proxy then
    real_error("write: call with ':' not '.'", 2)
  end
  write_values("stdout", "write", ...)
  return self
end
stderr_proxy.write = function(self, ...)
  if self ~= stderr_proxy then
    real_error("write: call with ':' not '.'", 2)
  end
  write_values("stderr", "write", ...)
  return self
end
stdout_proxy.flush = function(self) return self end
stderr_proxy.flush = function(self) return self end
stdout_proxy.close = function() return nil, "cannot close standard file" end
stderr_proxy.close = stdout_proxy.close
stdout_proxy.setvbuf = function() return true end
stderr_proxy.setvbuf = stdout_proxy.setvbuf

-- Standard input: io.read, io.lines() and io.stdin follow Lua 5.4's formats ("l", "L", "n", "a"
-- and counts) over a buffer that the host fills. host.read("", want) returns some raw input
-- (want "L": a line, "a": everything, N: up to N bytes; more or less is fine, it keeps its
-- newlines) or nil at end of input. What a read leaves stays for the next one, as C stdio keeps
-- it: io.read(3) then io.read() gives the rest of the line.
local real_tonumber, math_tointeger, maxinteger = tonumber, math.tointeger, math.maxinteger
local in_buf, in_pos = "", 1 -- the unread input is ssub(in_buf, in_pos)

local function in_left()
  return #in_buf - in_pos + 1
end

local function in_fill(want)
  local chunk = raw_host_read("", want)
  if chunk == nil or chunk == "" then
    return false
  end
  in_buf = in_pos > #in_buf and chunk or ssub(in_buf, in_pos) .. chunk
  in_pos = 1
  return true
end

local function in_take(n)
  local s = ssub(in_buf, in_pos, in_pos + n - 1)
  in_pos = in_pos + n
  return s
end

local function read_line(keep_newline)
  local from = in_pos
  while true do
    local nl = sfind(in_buf, "\n", from, true)
    if nl then
      local line = in_take(nl - in_pos + (keep_newline and 1 or 0))
      if not keep_newline then
        in_pos = in_pos + 1
      end
      return line
    end
    local searched = in_left()
    if not in_fill("L") then
      return searched > 0 and in_take(searched) or nil
    end
    from = searched + 1
  end
end

local function read_chars(n)
  while in_left() < n and in_fill(n - in_left()) do end
  local have = in_left()
  if have == 0 then
    return nil
  end
  return in_take(have < n and have or n)
end

local function read_all()
  local parts = { in_take(in_left()) }
  while true do
    local chunk = raw_host_read("", "a")
    if chunk == nil or chunk == "" then
      break
    end
    parts[#parts + 1] = chunk
  end
  in_buf, in_pos = "", 1
  return tconcat(parts)
end

local function in_peek() -- the next byte, or nil at end of input
  if in_pos > #in_buf and not in_fill("L") then
    return nil
  end
  return ssub(in_buf, in_pos, in_pos)
end

-- liolib.c's read_number: the longest prefix (up to 200 characters) that looks like a numeral,
-- then tonumber; the character after it stays unread.
local MAX_NUMERAL = 200
local function read_number()
  local c = in_peek()
  while c ~= nil and sfind(" \t\n\v\f\r", c, 1, true) do
    in_pos = in_pos + 1
    c = in_peek()
  end
  local buff, count, valid = {}, 0, true
  local function accept()
    if #buff >= MAX_NUMERAL then
      valid = false
      return false
    end
    buff[#buff + 1] = c
    in_pos = in_pos + 1
    c = in_peek()
    return true
  end
  local function test2(set)
    return c ~= nil and sfind(set, c, 1, true) ~= nil and accept()
  end
  local function digits(hex)
    local n = 0
    while c ~= nil and sfind(c, hex and "^%x" or "^%d") and accept() do
      n = n + 1
    end
    return n
  end
  local hex = false
  test2("-+")
  if test2("0") then
    if test2("xX") then
      hex = true
    else
      count = 1
    end
  end
  count = count + digits(hex)
  if test2(".") then
    count = count + digits(hex)
  end
  if count > 0 and test2(hex and "pP" or "eE") then
    test2("-+")
    digits(false)
  end
  return valid and real_tonumber(tconcat(buff)) or nil
end

local function read_one(fmt)
  if real_type(fmt) == "number" then
    local n = math_tointeger(fmt)
    if n == 0 then
      return in_peek() ~= nil and "" or nil
    end
    return read_chars(n < 0 and maxinteger or n)
  end
  local f = ssub(fmt, 1, 1) == "*" and ssub(fmt, 2, 2) or ssub(fmt, 1, 1)
  if f == "l" then
    return read_line(false)
  elseif f == "L" then
    return read_line(true)
  elseif f == "n" then
    return read_number()
  end
  return read_all()
end

-- Errors name the script's line: `level` 3 when the function a script called checks.
local function check_formats(fname, level, n, ...)
  for i = 1, n do
    local fmt = real_select(i, ...)
    local why
    if real_type(fmt) == "number" then
      if math_tointeger(fmt) == nil then
        why = "number has no integer representation"
      end
    elseif real_type(fmt) ~= "string" then
      why = "string expected, got " .. (fmt == nil and "nil" or real_type(fmt))
    elseif not sfind(fmt, "^%*?[lLna]") then
      why = "invalid format"
    end
    if why then
      real_error(sformat("bad argument #%d to '%s' (%s)", i, fname, why), level)
    end
  end
end

-- g_read: the formats in order until one fails; that one is nil and no more are read.
local function read_formats(n, ...)
  if n == 0 then
    return read_line(false)
  end
  local out = {}
  for i = 1, n do
    local v = read_one((real_select(i, ...)))
    out[i] = v
    if v == nil then
      return tunpack(out, 1, i)
    end
  end
  return tunpack(out, 1, n)
end

local function read_input(...)
  local n = real_select("#", ...)
  check_formats("read", 3, n, ...)
  return read_formats(n, ...)
end

local function stdin_lines(...)
  local n = real_select("#", ...)
  check_formats("lines", 3, n, ...)
  if n == 0 then
    return function() return read_line(false) end
  end
  local formats = tpack(...)
  return function()
    local res = tpack(read_formats(n, tunpack(formats, 1, n)))
    if res[1] == nil then
      return
    end
    return tunpack(res, 1, res.n)
  end
end

local stdin_proxy = {}
local function stdin_method(name, fn)
  return function(self, ...)
    if self ~= stdin_proxy then
      real_error(name .. ": call with ':' not '.'", 2)
    end
    return fn(...)
  end
end
stdin_proxy.read = stdin_method("read", read_input)
stdin_proxy.lines = stdin_method("lines", stdin_lines)
stdin_proxy.close = stdout_proxy.close
stdin_proxy.setvbuf = stdout_proxy.setvbuf
stdin_proxy.flush = function(self) return self end
stdin_proxy.seek = function() return nil, "Illegal seek", 29 end

local io_env = {}
io_env.write = function(...)
  write_values("stdout", "write", ...)
  return stdout_proxy
end
io_env.read = read_input
io_env.stderr = stderr_proxy
io_env.stdin = stdin_proxy

if level == "unrestricted" then
  for k, v in real_pairs(io) do
    if io_env[k] == nil then
      io_env[k] = v
    end
  end
  io_env.stdout = stdout_proxy
  io_env.lines = function(path, ...)
    if path == nil then
      return stdin_lines(...)
    end
    return real_io_lines(path, ...)
  end
else
  -- The write-denied hint names the tool only where a Tool global offers it.
  local function file_tool_exists()
    local tool = real_rawget(env, "Tool")
    if real_type(tool) ~= "table" then
      return false
    end
    local ok, found = safe_pcall(function() return tool.exists("file_operations") end)
    return ok and found == true
  end
  -- A path the sandbox refuses is a file the script may not open, as Lua's io.open reports one:
  -- nil, "<path>: Permission denied (<why>)", 13 (EACCES), so that scripts probing candidate
  -- paths go on to the next. A path that is not a string still raises.
  local function denied(path, reason)
    return nil, sformat("%s: Permission denied (%s)", path, real_tostring(reason)), 13
  end
  io_env.open = function(path, mode)
    if real_type(path) ~= "string" then
      real_error("io.open: path must be a string", 2)
    end
    mode = mode or "r"
    local m = sgsub(mode, "b", "")
    local check
    if m == "r" then
      check = host_check_read
    elseif level == "privileged" then
      check = host_check_write
    else
      return denied(path, "writing files is not allowed at security level 'safe'"
        .. (file_tool_exists() and "; use the file_operations tool" or ""))
    end
    local resolved, _, reason = check(path)
    if resolved == nil then
      return denied(path, reason)
    end
    return real_io_open(resolved, mode)
  end
  io_env.lines = function(path, ...)
    if path == nil then
      return stdin_lines(...)
    end
    return real_io_lines(readable(path, "io.lines"), ...)
  end
  io_env.type = io.type
end
env.io = io_env

-- input(prompt): one line without its newline, nil at end of input; input left over by io.read
-- comes first (after the prompt, as Python's input() does).
env.input = function(prompt)
  prompt = prompt ~= nil and real_tostring(prompt) or ""
  if in_left() > 0 then
    host_write("stdout", prompt)
    return read_line(false)
  end
  return host_read(prompt)
end

env.dofile = function(path)
  if path == nil then
    real_error("dofile: reading standard input is not supported", 2)
  end
  local f, err = load_file(path, "dofile")
  if not f then
    real_error(err, 2)
  end
  return f()
end

env.loadfile = function(path, mode, ...)
  local chunk_env = env
  if real_select("#", ...) > 0 then
    chunk_env = ...
  end
  if level == "unrestricted" then
    return loadfile(path, mode, chunk_env)
  end
  if path == nil then
    return nil, "loadfile: reading standard input is not supported"
  end
  local resolved, rerr = host_check_read(path)
  if resolved == nil then
    return nil, "loadfile: " .. real_tostring(rerr)
  end
  local text, err = read_text(resolved)
  if not text then
    return nil, err
  end
  return real_load(text, "@" .. resolved, "t", chunk_env)
end

-- os ---------------------------------------------------------------------------------------------
local os_env = {
  time = os.time,
  clock = os.clock,
  date = os.date,
  difftime = os.difftime,
}
os_env.exit = function(code)
  if code == nil or code == true then
    exit_code = 0
  elseif code == false then
    exit_code = 1
  else
    exit_code = math.tointeger(code) or 1
  end
  real_error(EXIT, 0)
end
if level == "privileged" then
  os_env.getenv = os.getenv
  os_env.tmpname = os.tmpname
  os_env.remove = function(path)
    return os.remove(writable(path, "os.remove"))
  end
  os_env.rename = function(a, b)
    return os.rename(writable(a, "os.rename"), writable(b, "os.rename"))
  end
elseif level == "unrestricted" then
  for k, v in real_pairs(os) do
    if os_env[k] == nil then
      os_env[k] = v
    end
  end
end
env.os = os_env

-- require / package / debug ----------------------------------------------------------------------
local loaded_modules = {}
local function sandbox_require(name)
  if real_type(name) ~= "string" then
    real_error("bad argument #1 to 'require' (string expected, got " .. real_type(name) .. ")", 2)
  end
  local cached = loaded_modules[name]
  if cached ~= nil then
    return cached
  end
  local path = host_module_path(name)
  if path == nil then
    if level == "unrestricted" then
      return require(name)
    end
    real_error("module '" .. name .. "' not found in the script directory or allowed_paths", 2)
  end
  local f, err = load_file(path, "require")
  if not f then
    real_error(err, 2)
  end
  local result = f(name, path)
  if result == nil then
    result = true
  end
  loaded_modules[name] = result
  return result, path
end

if level == "privileged" then
  env.require = sandbox_require
  env.debug = { traceback = traceback }
elseif level == "unrestricted" then
  env.require = sandbox_require
  env.package = package
  env.debug = real_debug
  env.io.popen = io.popen
end

-- Host API used by the engine --------------------------------------------------------------------
local api = {}
api.env = env
api.INTERRUPT = INTERRUPT
api.is_fatal = is_fatal

local function message_handler(e)
  if is_fatal(e) then
    return e
  end
  -- The debugger stops here on uncaught errors while the erroring frames still exist.
  local observer = api.error_observer
  if observer ~= nil then
    observer(e)
  end
  local msg
  if real_type(e) == "string" then
    msg = e
  else
    local mt = real_getmetatable(e)
    if real_type(mt) == "table" and real_rawget(mt, "__tostring") then
      local ok, s = real_pcall(real_tostring, e)
      msg = ok and s or "(error object is a " .. real_type(e) .. " value)"
    elseif e == nil then
      msg = "nil"
    else
      msg = "(error object is a " .. real_type(e) .. " value)"
    end
  end
  return { message = msg, traceback = traceback(msg, 2) }
end

-- Compile `code` for execution. Returns fn or nil, message.
function api.compile(code, chunkname)
  return real_load(code, chunkname, "t", env)
end

local MEMORY_ERROR = "not enough memory"

local function run_result(ok, ...)
  if ok then
    local n, first = real_select("#", ...), ...
    if real_type(first) == "string" then
      first = fix_utf8(first)
    end
    if n > 1 then -- more values: the rest travel packed (n keeps trailing nils)
      return "ok", n, first, tpack(real_select(2, ...))
    end
    return "ok", n, first
  end
  local e = ...
  if e == MEMORY_ERROR then
    -- Lua's own message (no handler runs for it): answered without allocating, since an
    -- allocation here would meet the limit beside the dead script's heap and pay a full
    -- collection of it first (benchmarks/memory_limit.py)
    return "memory"
  elseif e == INTERRUPT then
    return "interrupt"
  elseif e == EXIT then
    return "exit", exit_code
  end
  if real_type(e) ~= "table" then
    return "error", { message = fix_utf8(real_tostring(e)), traceback = "" }
  end
  return "error", { message = fix_utf8(real_tostring(e.message)), traceback = fix_utf8(real_tostring(e.traceback)) }
end

-- Run a compiled chunk. Returns status, values...:
--   "ok", n, v1..vn       | "error", {message, traceback}
--   "exit", code          | "interrupt" | "memory"
function api.run(fn)
  exit_code = nil
  return run_result(real_xpcall(fn, message_handler))
end

function api.set_global(name, value)
  env[name] = value
end

-- `ARGS` and `arg` of the next run, fresh each time (a script may change them), in one call:
-- `name` is arg[0], `positional` and `named` are tables or nil.
function api.set_args(name, positional, named)
  local args, argv = { [0] = name }, { [0] = name }
  if positional then
    for i = 1, #positional do
      args[i], argv[i] = positional[i], positional[i]
    end
  end
  if named then
    for key, value in real_pairs(named) do
      args[key] = value
    end
  end
  env.ARGS, env.arg = args, argv
end

function api.get_global(name)
  return env[name]
end

-- Walk `parts` from the sandbox globals without running metamethods except __index tables.
local function lookup(parts)
  local v = env
  for i = 1, #parts do
    if real_type(v) == "string" then
      v = env.string
    end
    if real_type(v) ~= "table" then
      return nil
    end
    local nv = real_rawget(v, parts[i])
    if nv == nil then
      local mt = real_getmetatable(v)
      while nv == nil and real_type(mt) == "table" and real_type(real_rawget(mt, "__index")) == "table" do
        local idx = real_rawget(mt, "__index")
        nv = real_rawget(idx, parts[i])
        mt = real_getmetatable(idx)
      end
    end
    v = nv
  end
  return v
end
api.lookup = lookup

-- Field names of the value at `parts` (string keys that are identifiers), with their types.
function api.fields(parts, methods_only)
  local v = lookup(parts)
  local out = {}
  local seen = {}
  if real_type(v) == "string" then
    v = env.string
  end
  local guard = 0
  while real_type(v) == "table" and guard < 8 do
    guard = guard + 1
    for k, val in real_next, v do
      if real_type(k) == "string" and not seen[k] and sfind(k, "^[%a_][%w_]*$") then
        if not methods_only or real_type(val) == "function" then
          seen[k] = true
          out[#out + 1] = k
          out[#out + 1] = real_type(val)
        end
      end
    end
    local mt = real_getmetatable(v)
    if real_type(mt) == "table" and real_type(real_rawget(mt, "__index")) == "table" then
      v = real_rawget(mt, "__index")
    else
      v = nil
    end
  end
  return out
end

function api.type_of(parts)
  return real_type(lookup(parts))
end

function api.describe(parts)
  local v = lookup(parts)
  local t = real_type(v)
  local info = { type = t }
  if t == "function" then
    local d = getinfo(v, "S")
    info.what = d.what
    info.source = d.short_src
    info.line = d.linedefined
    local params = {}
    local i = 1
    while true do
      local name = real_debug.getlocal(v, i)
      if not name then break end
      params[#params + 1] = name
      i = i + 1
    end
    info.params = tconcat(params, ", ")
    local d2 = getinfo(v, "u")
    info.vararg = d2.isvararg
  else
    local ok, s = real_pcall(real_tostring, v)
    info.repr = ok and s or t
  end
  return info
end

-- A copy of `v` whose strings (and string keys) are valid UTF-8, for conversion to Python.
local function sanitize_deep(v, seen)
  local t = real_type(v)
  if t == "string" then
    return fix_utf8(v)
  elseif t ~= "table" then
    return v
  end
  seen = seen or {}
  if seen[v] then
    return seen[v]
  end
  local c = {}
  seen[v] = c
  for k, val in real_next, v do
    c[sanitize_deep(k, seen)] = sanitize_deep(val, seen)
  end
  return c
end
api.sanitize_deep = sanitize_deep
api.fix_utf8 = fix_utf8

-- tostring with the sandbox's view (honours __tostring / __name).
api.tostring = real_tostring

-- Dedicated thread-free hook setup, see interrupt.py: a coroutine that never runs keeps the
-- interrupt hook installed, so that the C hook function's address can be read from it when an
-- interrupt first needs it (from any thread); the main thread gets the hook's table entry only.
local hook_donor = nil

function api.prepare_interrupt_hook()
  hook_donor = co_create(function() end)
  sethook(hook_donor, interrupt_hook, "", 1000000)
  sethook(interrupt_hook, "", 0)
  return real_tostring(co_running()), real_tostring(hook_donor)
end

function api.store_interrupt_hook()
  sethook(interrupt_hook, "", 0)
end

function api.main_thread_address()
  return real_tostring(co_running())
end

function api.clear_main_hook()
  sethook()
end

function api.enable_main_count_hook()
  sethook(coroutine_hook, "", coroutine_hook_count)
end

function api.collect()
  collectgarbage("collect")
end

function api.memory_kb()
  return collectgarbage("count")
end

return api
