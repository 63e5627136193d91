-- llmspell debugger, the part that runs inside Lua (see llmspell_kernel/debug/session.py).
-- Runs with the host's real globals; scripts never see it. Cost rules (architecture.md): no
-- line hook unless a step is pending or the running function holds a breakpoint; the call hook
-- decides per function; Python is called only on a hit, a stop, a log message or a poll.
local host, api = ...

local getinfo, sethook, gethook = debug.getinfo, debug.sethook, debug.gethook
local getlocal, setlocal = debug.getlocal, debug.setlocal
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local getmetatable_raw = debug.getmetatable
local co_running, co_status = coroutine.running, coroutine.status
local real_error, real_type, real_tostring, real_pcall = error, type, tostring, pcall
local real_load, real_xpcall, real_select = load, xpcall, select
local rawget, rawset, rawlen, next = rawget, rawset, rawlen, next
local setmetatable, tostring = setmetatable, tostring
local sformat, ssub, sgsub, sfind, sbyte = string.format, string.sub, string.gsub, string.find, string.byte
local tsort, tconcat, tunpack, tpack = table.sort, table.concat, table.unpack, table.pack
local math_type = math.type

local host_poll, host_stop, host_log, host_sync = host.poll, host.stop, host.log, host.sync
local INTERRUPT, is_fatal, env, fix_utf8 = api.INTERRUPT, api.is_fatal, api.env, api.fix_utf8

local M = {}
local SELF = "=llmspell.debug"
local INTERNAL = { ["<python>"] = true, [SELF] = true }

-- State ---------------------------------------------------------------------------------------
local main_thread = co_running()
local threads = setmetatable({}, { __mode = "k" }) -- coroutines created by the script
local bps = {}                    -- source -> { [line] = breakpoint record }
local have_bps = false
local fbps = nil                  -- function name -> record, or nil
local fn_cache = setmetatable({}, { __mode = "k" }) -- function -> lineset, NATIVE or false
-- function -> its function breakpoint record or false, decided at its first call by name (or,
-- called without a name, by being the value a breakpoint's name leads to; not cached if not)
local fb_cache = setmetatable({}, { __mode = "k" })
local step_mode = nil             -- nil | "in" | "over" | "out"
local step_thread, step_depth, step_reason = nil, 0, "step"
local cur_lines = nil             -- lineset of the running function; nil means "look it up"
-- A function without breakpoints entered (or returned to) with the line hook on keeps it for
-- up to QUIET_LINES line events before the hook drops it: two sethook calls per call of a
-- short helper cost more than its few ignored line events.
local QUIET_LINES = 32
local quiet = 0
local in_stop = false
local main_count = 0              -- 1000 when the interrupt cannot be armed asynchronously
local co_count = 1000
local catch_uncaught, catch_caught = false, false
local stopped = nil               -- { co, frames = { {co, bottom, ...} }, reason }
local hook

-- Stack levels --------------------------------------------------------------------------------
-- A frame is addressed by (thread, bottom index): its distance from the bottom of that thread's
-- stack, which stays valid while frames are pushed above it (the paused hook, Python, helpers).
local function depth(co)
  local running = co == co_running()
  local lo, hi = 1, 2
  while getinfo(co, hi, "l") do
    lo, hi = hi, hi * 2
  end
  while hi - lo > 1 do
    local mid = (lo + hi) // 2
    if getinfo(co, mid, "l") then lo = mid else hi = mid end
  end
  if running then
    return lo - 1 -- this function's own frame
  end
  return lo
end

-- Level of a bottom index, as seen from the caller of level_of.
local function level_of(co, bottom)
  local running = co == co_running()
  local n = depth(co)
  if running then
    return n - bottom - 1
  end
  return n - bottom
end

local function is_user(info)
  return info.what ~= "C" and not INTERNAL[info.source]
end

-- Masks ---------------------------------------------------------------------------------------
local function base_mask()
  if step_mode ~= nil then
    return "crl"
  end
  if have_bps or fbps then
    return "c"
  end
  return ""
end

-- Threads whose hook has a line mask, so that the call and return hooks know whether to drop
-- it without asking gethook() (most calls happen with no line hook anywhere).
local line_threads = setmetatable({}, { __mode = "k" })
local line_hooks = false -- next(line_threads) ~= nil

local function note_mask(co, mask)
  if mask == "crl" then
    line_threads[co] = true
    line_hooks = true
  elseif line_threads[co] then
    line_threads[co] = nil
    line_hooks = next(line_threads) ~= nil
  end
end

local function apply(co, mask)
  local count = co == main_thread and main_count or co_count
  sethook(co, hook, mask, count)
  note_mask(co, mask)
end

-- A suspended coroutine resumes inside its functions without a call event, so it needs its
-- line hook (or at least its return hook) set now if a breakpoint is in one of them.
local suspended_mask

local function apply_all()
  local mask = base_mask()
  cur_lines = nil
  line_threads = setmetatable({}, { __mode = "k" })
  line_hooks = false
  apply(main_thread, mask)
  for co in next, threads do
    local status = co_status(co)
    if status == "suspended" and mask == "c" then
      apply(co, suspended_mask(co))
    elseif status ~= "dead" then
      apply(co, mask)
    end
  end
end

local function set_here(mask)
  local co, ismain = co_running()
  sethook(hook, mask, ismain and main_count or co_count)
  note_mask(co, mask)
end

local NATIVE = {} -- lines_of() of C functions: they have no lines and keep the caller's mask

local function lines_of(f)
  local c = fn_cache[f]
  if c == nil then
    c = false
    local info = getinfo(f, "SL")
    local set = bps[info.source]
    if info.what == "C" then
      c = NATIVE
    elseif set ~= nil and info.activelines ~= nil then
      for line in next, info.activelines do
        if set[line] then
          c = set
          break
        end
      end
    end
    fn_cache[f] = c
  end
  return c
end

suspended_mask = function(co)
  local level, top_seen, mask = 0, false, "c"
  while true do
    local info = getinfo(co, level, "f")
    if info == nil then
      return mask
    end
    local set = lines_of(info.func)
    if set ~= NATIVE then
      if set then
        if not top_seen then
          return "crl" -- the function that will run first on resume has breakpoints
        end
        mask = "cr"
      end
      top_seen = true
    end
    level = level + 1
  end
end

-- Values --------------------------------------------------------------------------------------
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

function preview(v, short)
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

-- Evaluation in a frame -----------------------------------------------------------------------
-- The frame's locals (innermost wins) and upvalues, falling back to the script's globals;
-- assignments go back to the frame.
local function frame_env(co, bottom)
  local proxy = {}
  local function find(name)
    local level = level_of(co, bottom)
    local found = nil
    local i = 1
    while true do
      local n = getlocal(co, level, i)
      if n == nil then break end
      if n == name then found = i end
      i = i + 1
    end
    if found then
      return "local", found, level
    end
    local f = getinfo(co, level, "f").func
    i = 1
    while true do
      local n = getupvalue(f, i)
      if n == nil then break end
      if n == name then return "upvalue", i, f end
      i = i + 1
    end
    return nil
  end
  return setmetatable(proxy, {
    __index = function(_, name)
      local kind, i, where = find(name)
      if kind == "local" then
        local _, v = getlocal(co, level_of(co, bottom), i)
        return v
      elseif kind == "upvalue" then
        local _, v = getupvalue(where, i)
        return v
      end
      return env[name]
    end,
    __newindex = function(_, name, value)
      local kind, i, where = find(name)
      if kind == "local" then
        setlocal(co, level_of(co, bottom), i, value)
      elseif kind == "upvalue" then
        setupvalue(where, i, value)
      else
        env[name] = value
      end
    end,
  })
end

-- A snapshot of the frame at `level` (relative to the caller), cheaper than frame_env for
-- breakpoint conditions and log messages evaluated on every hit.
local snap_meta = { __index = env }
local function snapshot(level)
  level = level + 1
  local vars = {}
  local f = getinfo(level, "f").func
  local i = 1
  while true do
    local n, v = getupvalue(f, i)
    if n == nil then break end
    vars[n] = v
    i = i + 1
  end
  i = 1
  while true do
    local n, v = getlocal(level, i)
    if n == nil then break end
    if sbyte(n, 1) ~= 40 then -- skip "(temporary)" slots
      vars[n] = v
    end
    i = i + 1
  end
  return setmetatable(vars, snap_meta)
end

local function compile_expr(text, name)
  local fn, err = real_load("return " .. text, name, "t", env)
  if fn == nil then
    fn, err = real_load(text, name, "t", env)
  end
  return fn, err
end

-- A breakpoint condition compiled against the frame it is first evaluated in: a function that
-- reads just the locals and upvalues the condition names (checking each name, since one line
-- always has the same locals at the same slots) and evaluates it, with no table built per hit.
-- It returns STALE when the frame's layout is not the one it was built for.
local STALE = {}
local function fast_condition(text, level)
  level = level + 1
  local wanted = {}
  local function mentions(n)
    return sfind(n, "^[%a_][%w_]*$") ~= nil and sfind(text, "%f[%w_]" .. n .. "%f[^%w_]") ~= nil
  end
  local i = 1
  while true do
    local n = getlocal(level, i)
    if n == nil then break end
    if mentions(n) then wanted[n] = { "l", i } end
    i = i + 1
  end
  local f = getinfo(level, "f").func
  i = 1
  while true do
    local n = getupvalue(f, i)
    if n == nil then break end
    if wanted[n] == nil and mentions(n) then wanted[n] = { "u", i } end
    i = i + 1
  end
  local lines = { "local _dbg_getlocal_, _dbg_getupvalue_, _dbg_getinfo_, _dbg_stale_ = ...",
    "return function(_dbg_level_)" }
  local need_f = false
  for n, slot in next, wanted do
    if slot[1] == "u" and not need_f then
      need_f = true
      lines[#lines + 1] = "local _dbg_f_ = _dbg_getinfo_(_dbg_level_, 'f').func"
    end
  end
  for n, slot in next, wanted do
    if slot[1] == "l" then
      lines[#lines + 1] = sformat("local _dbg_n_, %s = _dbg_getlocal_(_dbg_level_, %d)", n, slot[2])
    else
      lines[#lines + 1] = sformat("local _dbg_n_, %s = _dbg_getupvalue_(_dbg_f_, %d)", n, slot[2])
    end
    lines[#lines + 1] = sformat("if _dbg_n_ ~= %q then return _dbg_stale_ end", n)
  end
  lines[#lines + 1] = "return (" .. text .. "\n)"
  lines[#lines + 1] = "end"
  -- one line, so that an error in the condition reads "(condition):1:" as before
  local maker = real_load(tconcat(lines, " "), "=(condition)", "t", env)
  if maker == nil then
    return false
  end
  local ok, fn = real_pcall(maker, getlocal, getupvalue, getinfo, STALE)
  return ok and fn or false
end

local function run_in(fn, vars, ...)
  setupvalue(fn, 1, vars)
  return tpack(real_pcall(fn, ...))
end

-- Stops ---------------------------------------------------------------------------------------
-- The global a function is stored in: the name of a frame Lua cannot name (a tail call).
local function global_name(f)
  for k, v in next, env do
    if v == f and real_type(k) == "string" then
      return k
    end
  end
  return nil
end

local function capture(co)
  local frames = {}
  local function walk(thread)
    local running = thread == co_running()
    local n = depth(thread)
    local level = running and 2 or 0
    while true do
      local info = getinfo(thread, level, "Slnf")
      if info == nil then break end
      if is_user(info) then
        frames[#frames + 1] = {
          co = thread,
          bottom = n - level,
          source = info.source,
          line = info.currentline,
          name = info.name or (info.what == "Lua" and global_name(info.func)) or nil,
          linedefined = info.linedefined,
          short_src = info.short_src,
          what = info.what,
        }
      end
      level = level + 1
    end
  end
  walk(co)
  if co ~= main_thread then
    walk(main_thread)
  end
  return frames
end

-- After a stop or a configuration change the running function may need its line hook back.
local function fix_level(level)
  if step_mode ~= nil then
    return
  end
  local f = getinfo(level + 1, "f")
  local set = f and lines_of(f.func)
  if set and set ~= NATIVE then
    cur_lines = set
    set_here("crl")
  elseif have_bps or fbps then
    set_here("cr")
  end
end

local function do_stop(reason, text, bp_id)
  local co = co_running()
  in_stop = true
  stopped = { co = co, frames = capture(co), reason = reason }
  local ok, action = real_pcall(host_stop, reason, text or "", bp_id or 0)
  local top = stopped.frames[1]
  stopped = nil
  in_stop = false
  if not ok or action == "terminate" then
    real_error(INTERRUPT, 0)
  end
  step_reason = "step"
  if action == "continue" or top == nil then
    step_mode = nil
  else
    step_mode = action
    step_thread = top.co
    step_depth = top.bottom
  end
  apply_all()
  if top ~= nil and top.co == co and step_mode == nil then
    fix_level(level_of(co, top.bottom))
  end
  return action
end

local function check_hit(bp, level)
  bp.hits = bp.hits + 1
  local vars = nil
  if bp.cond then
    local fast, ok, value = bp.fast, false, STALE
    if fast == nil then
      fast = fast_condition(bp.cond_text, level + 1)
      bp.fast = fast
    end
    if fast then
      -- frames seen from the condition: itself, pcall, check_hit, the hook, the user function
      ok, value = real_pcall(fast, level + 3)
    end
    if value == STALE then
      if fast then
        bp.fast = nil -- another layout: rebuild on the next hit
      end
      vars = snapshot(level + 1)
      setupvalue(bp.cond, 1, vars)
      ok, value = real_pcall(bp.cond)
    end
    if ok and not value then
      return false
    end
    if not ok then
      bp.error_text = "condition failed: " .. real_tostring(value)
    end
  end
  local op, n, hits = bp.hit_op, bp.hit_n, bp.hits
  if op ~= nil then
    if (op == "==" and hits ~= n) or (op == ">=" and hits < n) or (op == ">" and hits <= n)
      or (op == "<" and hits >= n) or (op == "<=" and hits > n) or (op == "%" and hits % n ~= 0) then
      return false
    end
  end
  if bp.log then
    vars = vars or snapshot(level + 1)
    local out = {}
    for _, piece in next, bp.log do
      if real_type(piece) == "string" then
        out[#out + 1] = piece
      else
        local res = run_in(piece, vars)
        if res[1] then
          local parts = {}
          for i = 2, res.n do parts[#parts + 1] = preview(res[i], false) end
          out[#out + 1] = real_type(res[2]) == "string" and res.n == 2 and res[2] or tconcat(parts, ", ")
        else
          out[#out + 1] = "<error: " .. real_tostring(res[2]) .. ">"
        end
      end
    end
    host_log(tconcat(out) .. "\n", bp.source, bp.line)
    return false
  end
  return true
end

local function poll_host()
  local r = host_poll()
  if r == 1 then
    real_error(INTERRUPT, 0)
  elseif r == 3 then
    host_sync()
    return "sync"
  elseif r == 2 then
    return "pause"
  end
  return nil
end

local function step_done(line_info_level)
  -- Called from the hook on a line event while a step is pending.
  local info = getinfo(line_info_level + 1, "S")
  if not is_user(info) then
    return false
  end
  if step_mode == "in" then
    return true
  end
  local co = co_running()
  if co ~= step_thread then
    local st = co_status(step_thread)
    return st == "dead" or st == "suspended"
  end
  local b = depth(co) - line_info_level - 1
  if step_mode == "over" then
    return b <= step_depth
  end
  return b < step_depth
end

local function fbp_of_value(f)
  for _, fb in next, fbps do
    local v = env
    local path = fb.path
    for i = 1, #path do
      if real_type(v) ~= "table" then
        v = nil
        break
      end
      v = rawget(v, path[i])
    end
    if v == f then
      return fb
    end
  end
  return nil
end

hook = function(event, line)
  if in_stop then
    return
  end
  if event == "line" then
    if step_mode ~= nil and step_done(2) then
      do_stop(step_reason, nil, 0)
      return
    end
    local set = cur_lines
    if set == nil then
      set = lines_of(getinfo(2, "f").func)
      cur_lines = set
      if not set and step_mode == nil then
        set_here("cr")
      end
    end
    if set then
      local bp = set[line]
      if bp and check_hit(bp, 2) then
        do_stop("breakpoint", bp.error_text, bp.id)
        bp.error_text = nil
      end
    elseif step_mode == nil then
      quiet = quiet + 1
      if quiet > QUIET_LINES then
        set_here("cr")
      end
    end
  elseif event == "call" or event == "tail call" then
    if step_mode ~= nil then
      cur_lines = nil
      if event == "tail call" and step_mode == "over" and co_running() == step_thread
        and depth(step_thread) - 2 == step_depth then
        step_depth = step_depth - 1
      end
      return
    end
    -- The hot path: one getinfo without source or line fields, then per-function caches.
    local f = getinfo(2, "f").func
    local set = fn_cache[f]
    if set == nil then
      set = lines_of(f)
    end
    if set == NATIVE then
      cur_lines = nil
      return
    end
    if fbps then
      local fb = fb_cache[f]
      if fb == nil then
        local name = getinfo(2, "n").name
        -- a tail call (a REPL's `f(x)` is `return f(x)`) has no name: match the function itself
        fb = (name and fbps[name]) or fbp_of_value(f) or false
        if fb or name ~= nil then
          fb_cache[f] = fb
        end
      end
      if fb then
        fb.hits = fb.hits + 1
        step_mode, step_reason = "in", "function breakpoint"
        set_here("crl")
        return
      end
    end
    if set then
      cur_lines = set
      if not (line_hooks and line_threads[co_running()]) then
        set_here("crl")
      end
    else
      cur_lines = false
      quiet = 0
    end
  elseif event == "return" then
    cur_lines = nil
    if step_mode ~= nil then
      return
    end
    local caller = getinfo(3, "f")
    local cset = false
    if caller then
      cset = fn_cache[caller.func]
      if cset == nil then
        cset = lines_of(caller.func)
      end
    end
    if cset == NATIVE then
      return -- the C function's own return event decides
    elseif cset then
      cur_lines = cset
      if not (line_hooks and line_threads[co_running()]) then
        set_here("crl")
      end
      return
    end
    -- Returning into a function without breakpoints: with the line hook on, it keeps it
    -- for its quiet budget (then the line event drops it but keeps the return hook, so that
    -- returning further into a function with breakpoints turns it back on; walking the
    -- whole stack here to prove no such frame exists cost more than the hooks it saves).
    cur_lines = false
    quiet = 0
  elseif event == "count" then
    local r = poll_host()
    if r == "pause" then
      local info = getinfo(2, "S")
      if is_user(info) then
        do_stop("pause", nil, 0)
        return
      end
      step_mode, step_reason = "in", "pause"
      apply_all()
    elseif r == "sync" then
      apply_all()
      fix_level(2)
    else
      local _, mask, count = gethook()
      local want = base_mask()
      if count == 1 then
        set_here(want)
        fix_level(2)
      end
    end
  end
end

-- Exceptions ----------------------------------------------------------------------------------
local function on_error(e, caught)
  if in_stop or is_fatal(e) then
    return
  end
  if (caught and catch_caught) or (not caught and catch_uncaught) then
    local text = real_type(e) == "string" and e or (custom_tostring(e) or preview(e, false))
    do_stop("exception", text, 0)
  end
end

api.error_observer = function(e) on_error(e, false) end

local safe_pcall, safe_xpcall = env.pcall, env.xpcall
local function rethrow(ok, ...)
  if not ok then
    local e = ...
    if is_fatal(e) then
      real_error(e, 0)
    end
  end
  return ok, ...
end
local function catching_pcall(f, ...)
  return rethrow(real_xpcall(f, function(e)
    on_error(e, true)
    return e
  end, ...))
end
local function catching_xpcall(f, handler, ...)
  return rethrow(real_xpcall(f, function(e)
    if is_fatal(e) then return e end
    on_error(e, true)
    return handler(e)
  end, ...))
end

-- Coroutines created while debugging get the debug hook (it also does the interrupt checks).
local co_lib = env.coroutine
local base_create, base_wrap = co_lib.create, co_lib.wrap
co_lib.create = function(f)
  local c = base_create(f)
  threads[c] = true
  apply(c, base_mask())
  return c
end
co_lib.wrap = function(f)
  local c = base_create(f)
  threads[c] = true
  apply(c, base_mask())
  local resume = co_lib.resume
  return function(...)
    local res = tpack(resume(c, ...))
    if res[1] then
      return tunpack(res, 2, res.n)
    end
    real_error(res[2], 0)
  end
end

-- API used by session.py ----------------------------------------------------------------------
function M.begin_run(count_on_main)
  main_thread = co_running()
  main_count = count_on_main and 1000 or 0
  in_stop, stopped = false, nil
  -- a step or a function breakpoint's pending stop belongs to the run that asked for it
  step_mode, step_thread, step_depth, step_reason = nil, nil, 0, "step"
  fn_cache = setmetatable({}, { __mode = "k" })
  fb_cache = setmetatable({}, { __mode = "k" })
  apply_all()
end

function M.detach()
  step_mode, have_bps, fbps = nil, false, nil
  bps = {}
  env.pcall, env.xpcall = safe_pcall, safe_xpcall
  co_lib.create, co_lib.wrap = base_create, base_wrap
  api.error_observer = nil
  apply_all()
end

function M.clear_breakpoints()
  bps = {}
  have_bps = false
  fn_cache = setmetatable({}, { __mode = "k" })
end

-- records: list of { line, id, cond, hit_op, hit_n, log = { "text", <expr>, ... } }
function M.add_breakpoint(source, line, id, cond, hit_op, hit_n, ...)
  local log_parts = real_select("#", ...) > 0 and { ... } or nil
  local set = bps[source]
  if set == nil then
    set = {}
    bps[source] = set
  end
  local bp = { id = id, line = line, source = source, hits = 0, hit_op = hit_op, hit_n = hit_n }
  if cond ~= nil then
    bp.cond = compile_expr(cond, "=(condition)")
    bp.cond_text = cond
  end
  if log_parts ~= nil then
    local parts = {}
    for i = 1, #log_parts do
      local p = log_parts[i]
      if i % 2 == 1 then
        parts[i] = p
      else
        parts[i] = compile_expr(p, "=(log message)") or ("{" .. p .. "}")
      end
    end
    bp.log = parts
  end
  set[line] = bp
  have_bps = true
end

-- Names are given whole ("M.run", "obj:step", "greet"); a call matches by its last part, or,
-- when the call has no name (tail calls), by being the function the whole name leads to from
-- the globals (looked up with rawget: no user metamethod runs inside the hook).
function M.set_function_breakpoints(...)
  local names = { ... }
  local t = nil
  for i = 1, #names do
    local path = {}
    for part in string.gmatch(names[i], "[^.:]+") do
      path[#path + 1] = part
    end
    if #path > 0 then
      t = t or {}
      t[path[#path]] = { hits = 0, path = path }
    end
  end
  fbps = t
  fb_cache = setmetatable({}, { __mode = "k" })
end

function M.set_exceptions(uncaught, caught)
  catch_uncaught, catch_caught = uncaught, caught
  if caught then
    env.pcall, env.xpcall = catching_pcall, catching_xpcall
  else
    env.pcall, env.xpcall = safe_pcall, safe_xpcall
  end
end

function M.request_step_in(reason)
  step_mode, step_reason = "in", reason
  apply_all()
end

function M.frames()
  local out = {}
  local frames = stopped and stopped.frames or {}
  for i = 1, #frames do
    local f = frames[i]
    out[#out + 1] = f.source
    out[#out + 1] = f.line
    out[#out + 1] = f.name or (f.what == "main" and "main chunk")
      or sformat("function <%s:%d>", f.short_src, f.linedefined)
    out[#out + 1] = f.linedefined
  end
  return tunpack(out, 1, #out)
end

local function frame_at(index)
  local f = stopped and stopped.frames[index]
  if f == nil then
    real_error("no frame " .. real_tostring(index), 0)
  end
  return f
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

local function scope_entries(index, kind)
  local f = frame_at(index)
  local entries = {}
  if kind == 1 then
    local level = level_of(f.co, f.bottom)
    local i, seen = 1, {}
    while true do
      local n, v = getlocal(f.co, level, i)
      if n == nil then break end
      if sbyte(n, 1) ~= 40 then
        if seen[n] then entries[seen[n]][3] = true end
        entries[#entries + 1] = { n, v, false, i }
        seen[n] = #entries
      end
      i = i + 1
    end
    local va = -1
    while true do
      local n, v = getlocal(f.co, level, va)
      if n == nil then break end
      entries[#entries + 1] = { "..." .. (-va), v, false, va }
      va = va - 1
    end
  elseif kind == 2 then
    local fn = getinfo(f.co, level_of(f.co, f.bottom), "f").func
    local i = 1
    while true do
      local n, v = getupvalue(fn, i)
      if n == nil then break end
      if n ~= "_ENV" then entries[#entries + 1] = { n, v, false, i } end
      i = i + 1
    end
  end
  return entries, f
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

-- variables(ref, filter, start, count) -> flat list (see emit)
function M.variables(ref, filter, start, count)
  local out = {}
  if ref < 100000 then
    local index, kind = ref // 4, ref % 4
    if kind == 3 then
      local keys = sorted_keys(env, false)
      for _, k in next, keys do
        emit(out, key_text(k), rawget(env, k))
      end
    else
      local entries = scope_entries(index, kind)
      for _, e in next, entries do
        if not e[3] then emit(out, e[1], e[2]) end
      end
    end
  else
    local obj = obj_of_ref[ref]
    if obj == nil then
      real_error("the value is no longer available", 0)
    end
    if real_type(obj) == "table" then
      local n = rawlen(obj)
      if filter ~= "named" then
        local first, last = 1, n
        if filter == "indexed" then
          first = start + 1
          last = count > 0 and math.min(n, start + count) or n
        end
        for i = first, last do emit(out, "[" .. i .. "]", rawget(obj, i)) end
      end
      if filter ~= "indexed" then
        for _, k in next, sorted_keys(obj, true) do
          emit(out, key_text(k), rawget(obj, k))
        end
      end
    end
    local mt = getmetatable_raw(obj)
    if mt ~= nil and filter ~= "indexed" then
      emit(out, "(metatable)", mt)
    end
  end
  return tunpack(out, 1, #out)
end

local function parse_name(obj, name)
  if sfind(name, "^%[%d+%]$") then
    return math.tointeger(ssub(name, 2, -2))
  elseif sfind(name, '^%[".*"%]$') then
    local fn = real_load("return " .. ssub(name, 2, -2), "=key", "t", {})
    return fn and fn()
  end
  return name
end

local function eval_value(expr, index)
  local vars = env
  local varargs = { n = 0 }
  if index > 0 then
    local f = frame_at(index)
    vars = frame_env(f.co, f.bottom)
    -- the frame's `...`, so that an expression can use it as the function itself would
    local level, i = level_of(f.co, f.bottom), 1
    while true do
      local name, value = getlocal(f.co, level, -i)
      if name == nil then break end
      varargs[i], varargs.n = value, i
      i = i + 1
    end
  end
  local fn, err = compile_expr(expr, "=(evaluate)")
  if fn == nil then
    return false, err
  end
  local res = run_in(fn, vars, tunpack(varargs, 1, varargs.n))
  if not res[1] then
    return false, real_tostring(res[2])
  end
  return true, res[2]
end

function M.evaluate(expr, index)
  local ok, value = eval_value(expr, index)
  if not ok then
    return false, value
  end
  local out = {}
  emit(out, "", value)
  return true, tunpack(out, 1, #out)
end

function M.set_variable(ref, name, expr, index)
  local ok, value = eval_value(expr, index)
  if not ok then
    return false, value
  end
  local value_entry = {}
  emit(value_entry, name, value)
  if ref < 100000 then
    local fi, kind = ref // 4, ref % 4
    if kind == 3 then
      rawset(env, parse_name(env, name), value)
    else
      local entries, f = scope_entries(fi, kind)
      local target = nil
      for _, e in next, entries do
        if e[1] == name and not e[3] then target = e end
      end
      if target == nil then return false, "no variable named " .. name end
      if kind == 1 then
        setlocal(f.co, level_of(f.co, f.bottom), target[4], value)
      else
        setupvalue(getinfo(f.co, level_of(f.co, f.bottom), "f").func, target[4], value)
      end
    end
  else
    local obj = obj_of_ref[ref]
    if real_type(obj) ~= "table" then return false, "the value is no longer available" end
    rawset(obj, parse_name(obj, name), value)
  end
  return true, tunpack(value_entry, 1, #value_entry)
end

function M.stopped_source(index)
  local f = frame_at(index)
  return f.source
end

return M
