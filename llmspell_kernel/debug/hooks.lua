-- llmspell debugger, the part that runs inside Lua (see llmspell_kernel/debug/session.py): the
-- hook, the hook masks, stepping and stops. values.lua (previews, references), evaluate.lua
-- (expressions in a frame, conditions, scopes) and breakpoints.lua (the records the hook looks
-- up) are loaded from here. Runs with the host's real globals; scripts never see it, and every
-- name is a local. Cost rules (architecture.md): no line hook unless a step is pending or the
-- running function holds a breakpoint; the call hook decides per function; Python is called
-- only on a hit, a stop, a log message or a poll.
local host, api, modules = ...

local getinfo, sethook, gethook = debug.getinfo, debug.sethook, debug.gethook
local co_running, co_status = coroutine.running, coroutine.status
local real_error, real_type, real_tostring, real_pcall = error, type, tostring, pcall
local real_xpcall = xpcall
local next = next
local setmetatable = setmetatable
local sformat = string.format
local tunpack, tpack = table.unpack, table.pack

local host_poll, host_stop, host_log, host_sync = host.poll, host.stop, host.log, host.sync
local INTERRUPT, is_fatal, env = api.INTERRUPT, api.is_fatal, api.env

local M = {}
local SELF = "=llmspell.debug"
local INTERNAL = { ["<python>"] = true, [SELF] = true }

-- _chook.c's filter (its open function), or nil: then this file's hook sees every event
local chook_open = modules.chook
local C = nil                     -- the filter's functions once opened (see below)

local V = modules.values(api)
local custom_tostring, preview = V.custom_tostring, V.preview

-- State ---------------------------------------------------------------------------------------
local main_thread = co_running()
local threads = setmetatable({}, { __mode = "k" }) -- coroutines created by the script
-- breakpoints.lua's records, kept here as upvalues for the hook (see breakpoints_changed)
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


-- The frame `index` of the current stop (1 = top).
local function frame_at(index)
  local f = stopped and stopped.frames[index]
  if f == nil then
    real_error("no frame " .. real_tostring(index), 0)
  end
  return f
end


local E = modules.evaluate(api, V, { level_of = level_of, frame_at = frame_at })
local B
-- The C filter forgets its marks (decided with the old records) and learns the lines that have
-- breakpoints and the conditions it can evaluate itself.
local function reset_filter()
  if C ~= nil then
    local lines = {}
    for _, set in next, bps do
      for line in next, set do lines[#lines + 1] = line end
    end
    C.reset(tunpack(lines))
    for source, set in next, bps do
      for line, bp in next, set do
        local simple = bp.simple
        if simple and bp.hit_op == nil then
          C.condition(source, line, simple.name, simple.op, simple.value)
        end
      end
    end
  end
end
-- breakpoints.lua changed its records: read them again, forget the per-function caches that
-- depended on them
local function breakpoints_changed(which)
  bps, have_bps, fbps = B.state()
  if which == "lines" then
    fn_cache = setmetatable({}, { __mode = "k" })
  elseif which == "functions" then
    fb_cache = setmetatable({}, { __mode = "k" })
  end
  reset_filter()
end
B = modules.breakpoints(api, host_log, V, E, breakpoints_changed)
local check_hit, fbp_of_value = B.check_hit, B.fbp_of_value

-- Masks ---------------------------------------------------------------------------------------
-- The one place a hook mask is composed from the state: the line hook while a step is pending
-- or where the running function holds a breakpoint (`lines`), the return hook where a return
-- may lead into such a function (`returns`), the call hook while any breakpoint exists.
local function mask_for(lines, returns)
  if step_mode ~= nil or lines then
    return "crl"
  end
  if returns then
    return "cr"
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

-- With the C filter, debug.sethook still records `hook` as the thread's hook (the engine's
-- wake-up arms ldblib's hook, which calls it), then the filter takes the thread's C hook.
local MASK_BITS = { [""] = 0, c = 1, cr = 3, crl = 7 }
local function apply(co, mask)
  local count = co == main_thread and main_count or co_count
  sethook(co, hook, mask, count)
  if C ~= nil then
    C.sethook(co, MASK_BITS[mask], count, step_mode ~= nil)
  end
  note_mask(co, mask)
end

-- A suspended coroutine resumes inside its functions without a call event, so it needs its
-- line hook (or at least its return hook) set now if a breakpoint is in one of them.
local suspended_mask

local function apply_all()
  local mask = mask_for()
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
  local count = ismain and main_count or co_count
  sethook(hook, mask, count)
  if C ~= nil then
    C.sethook(co, MASK_BITS[mask], count, step_mode ~= nil)
  end
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
  local level, top_seen, mask = 0, false, mask_for()
  while true do
    local info = getinfo(co, level, "f")
    if info == nil then
      return mask
    end
    local set = lines_of(info.func)
    if set ~= NATIVE then
      if set then
        if not top_seen then
          return mask_for(true) -- the function that will run first on resume has breakpoints
        end
        mask = mask_for(false, true)
      end
      top_seen = true
    end
    level = level + 1
  end
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
    set_here(mask_for(true))
  elseif have_bps or fbps then
    set_here(mask_for(false, true))
  end
end

local poll_host
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
  -- A pause (or a breakpoint change) asked for while the script resumes wakes a hook that
  -- apply_all() then replaces: ask once more after it, or the request waits for a hook that
  -- never runs.
  -- (a loop, not a helper: fix_level's level is counted from this function)
  for attempt = 1, 2 do
    apply_all()
    if top ~= nil and top.co == co and step_mode == nil then
      fix_level(level_of(co, top.bottom))
    end
    local r = attempt == 1 and poll_host() or nil
    if r == "pause" and step_mode == nil then
      step_mode, step_reason = "in", "pause"
    elseif r ~= "sync" then
      break
    end
  end
  return action
end

-- host.poll's answers are session.py's Poll: 0 run on, 1 terminate, 2 pause, 3 sync
poll_host = function()
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

-- Line `line` of a function whose breakpoints are `set` is reached; the function is `level`
-- levels above the caller (1: the hook's caller is the user's function).
local function reach(set, line, level)
  local bp = set[line]
  if bp and check_hit(bp, level + 2) then
    do_stop("breakpoint", bp.error_text, bp.id)
    bp.error_text = nil
  end
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
        set_here(mask_for(false, true))
      end
    end
    if set then
      reach(set, line, 1)
    elseif step_mode == nil then
      quiet = quiet + 1
      if quiet > QUIET_LINES then
        set_here(mask_for(false, true))
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
      if C ~= nil then C.mark(f, 3) end
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
        cur_lines = nil
        set_here(mask_for(true))
        return
      end
    end
    if set then
      cur_lines = set
      if not (line_hooks and line_threads[co_running()]) then
        set_here(mask_for(true))
      end
    else
      cur_lines = false
      quiet = 0
      if C ~= nil and not (fbps and fb_cache[f] == nil) then C.mark(f, 3) end
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
    if C ~= nil and caller and (cset == NATIVE or not cset) then
      C.mark(caller.func, 2)
    end
    if cset == NATIVE then
      return -- the C function's own return event decides
    elseif cset then
      cur_lines = cset
      if not (line_hooks and line_threads[co_running()]) then
        set_here(mask_for(true))
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
      local _, _, count = gethook()
      local want = mask_for()
      if count == 1 then
        set_here(want)
        fix_level(2)
      end
    end
  end
end

-- The C filter's line function: called on a line whose number has a breakpoint in some source
-- (and every few dozen other lines), with the running function `f`, while no step is pending.
local function on_line(line, f)
  if in_stop then
    return
  end
  local set = fn_cache[f]
  if set == nil then
    set = lines_of(f)
  end
  if set then
    reach(set, line, 1)
  else
    set_here(mask_for(false, true)) -- no breakpoint in this function: no line hook
  end
end

if chook_open ~= nil then
  C = chook_open(hook, on_line)
  reset_filter()
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
  apply(c, mask_for())
  return c
end
co_lib.wrap = function(f)
  local c = base_create(f)
  threads[c] = true
  apply(c, mask_for())
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
  step_mode = nil
  B.clear_breakpoints()
  B.set_function_breakpoints()
  env.pcall, env.xpcall = safe_pcall, safe_xpcall
  co_lib.create, co_lib.wrap = base_create, base_wrap
  api.error_observer = nil
  apply_all()
end

M.clear_breakpoints = B.clear_breakpoints
M.add_breakpoint = B.add_breakpoint
M.set_function_breakpoints = B.set_function_breakpoints
M.variables, M.evaluate, M.set_variable = E.variables, E.evaluate, E.set_variable

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

function M.filter_active()
  return C ~= nil
end

function M.stopped_source(index)
  local f = frame_at(index)
  return f.source
end

return M
