-- The Workflow global (lua-api.md 2.10). Python (llmspell_kernel/workflows) keeps definitions,
-- outputs, placeholders, data conditions and the State records; this side runs the steps, on
-- the script's own Lua thread.
--
-- Concurrency: every run executes its steps inside branch coroutines driven by `run_tasks`.
-- A provider call inside a branch does not block: agent.lua submits it to the I/O loop and
-- yields its handle; a retry's back-off does the same. When every branch waits, the scheduler
-- waits for any handle (interruptibly, in Python) and resumes the branches whose work is done;
-- a nested workflow's scheduler passes its waits up to the outer one. Lua code (custom steps,
-- conditions, callbacks) never interleaves: it runs with its branch marked non-yielding.
local env, py, agent_async = ...
local type, error, tostring, tonumber, setmetatable, ipairs, pairs =
  type, error, tostring, tonumber, setmetatable, ipairs, pairs
local pcall = env.pcall -- the sandbox's pcall: an interrupt passes through it
local co_create, co_resume, co_status, co_running, co_yield =
  env.coroutine.create, env.coroutine.resume, env.coroutine.status, coroutine.running, coroutine.yield
local pack, unpack, sfind, ssub, sgsub = table.pack, table.unpack, string.find, string.sub, string.gsub
local tools_api = nil -- tool.lua's {invoke, register}: set_tools below
local branches = agent_async.branches -- coroutine -> true while its provider calls may yield
local timed = setmetatable({}, { __mode = "k" }) -- coroutine -> true while its step has a deadline

-- Python answers (ok, value); raise with the position of whoever called the API function.
local function call(level, f, ...)
  local ok, value = f(...)
  if not ok then
    error(value, level > 0 and level + 1 or 0)
  end
  return value
end

local function colon(is_self, method)
  return function(self)
    if not is_self(self) then
      error(method .. ": call with ':' not '.'", 3)
    end
  end
end

-- Errors raised inside host chunks carry their position; a step's error reads better without.
local function plain(message)
  if type(message) ~= "string" then
    return tostring(message)
  end
  return (sgsub(message, '^%[string "<python>"%]:%d+: ', ""))
end

local function copy(value)
  if type(value) ~= "table" then
    return value
  end
  local out = {}
  for k, v in pairs(value) do
    out[k] = copy(v)
  end
  return out
end

-- Run Lua code of the script (custom steps, conditions) so that its agent calls block instead
-- of yielding: Lua callbacks run one at a time, never interleaved with another branch.
local function serial(fn, ...)
  local co = co_running()
  local was = branches[co]
  if was then
    branches[co] = false
  end
  local results = pack(pcall(fn, ...))
  if was then
    branches[co] = was
  end
  return unpack(results, 1, results.n)
end

-- Hook and event seam (issue 15): every workflow lifecycle point and system event is raised
-- here and only here. `hooked(point)` is one table read when the point has no hooks (callers
-- skip building the hook data then); `lifecycle` runs the point's chain as hook.lua's seam does
-- (action, value: continue, replace, skip, cancel, retry; "modified" has already been merged
-- into `data`); `publish` sends a system event. Hook functions are Lua callbacks: they run
-- with the branch marked non-yielding, like custom steps.
local hook_api, event_api = nil, nil -- hook.lua's and event.lua's seams (set_hooks, set_events)

local function hooked(point)
  return hook_api ~= nil and hook_api.active[point] == true
end

local function lifecycle(point, data)
  if not hooked(point) then
    return "continue", data
  end
  local co = co_running()
  local was = branches[co]
  if was then
    branches[co] = false
  end
  local ok, action, value = pcall(hook_api.fire, point, data, "workflow", data.workflow_name)
  if was then
    branches[co] = was
  end
  if not ok then
    error(action, 0) -- hook.lua logs a hook's own failure; this is an interrupt
  end
  return action, value
end

local function cancelled(reason)
  if hook_api ~= nil then
    return hook_api.cancelled(reason)
  end
  return "Cancelled by hook: " .. tostring(reason)
end

local function publish(event_type, data)
  if event_api ~= nil and event_api.enabled then
    event_api.system(event_type, data)
  end
end

-- Around Lua code of the script run by a step: a publish inside inherits the correlation id.
local function enter()
  if event_api ~= nil then
    event_api.enter()
  end
end
local function leave()
  if event_api ~= nil then
    event_api.leave()
  end
end

-- Wait for in-flight work from inside a branch: yield the handles to the scheduler; a string
-- resumed back is a cancellation (timeout, interrupt, fail_fast) to raise.
local function await(handles)
  local signal = co_yield(handles)
  if signal ~= nil then
    error(signal, 0)
  end
end

-- Workflow objects ------------------------------------------------------------------------------
local defs = {} -- definition id -> {def = normalised table, fns = {...}}
local objects = setmetatable({}, { __mode = "v" }) -- definition id -> object
local ids = setmetatable({}, { __mode = "k" }) -- object -> definition id

local function is_workflow(self)
  return type(self) == "table" and ids[self] ~= nil
end

local methods = {}
local workflow_meta = { __index = methods, __metatable = false }

local function workflow_object(def)
  local existing = objects[def.id]
  if existing ~= nil then
    return existing
  end
  local object = setmetatable({ id = def.id, name = def.name, type = def.type }, workflow_meta)
  ids[object] = def.id
  objects[def.id] = object
  return object
end

-- The scheduler -------------------------------------------------------------------------------
-- `tasks`: functions run as branches, at most `width` at a time. `run.deadline` and each
-- branch's step deadline bound the waits; `run.stop` (a message) ends the run early: branches
-- still waiting are resumed with it and none is started any more.
local function run_tasks(run, tasks, width)
  local active = {} -- array of {co, waiting}
  local next_task = 1
  local here = branches[co_running()]
  local outer = here == true or here == "wide"
  -- "wide": branches that run side by side (their network tool calls may wait in a thread)
  local mark = (width > 1 or here == "wide") and "wide" or true

  local function step(task, signal)
    local ok, waiting = co_resume(task.co, signal)
    if not ok then
      error(waiting, 0) -- not a step failure (those are caught inside): a bug or an interrupt
    end
    if co_status(task.co) == "dead" then
      branches[task.co] = nil
      return false
    end
    task.waiting = waiting
    return true
  end

  local function cancel_all(signal)
    for _, task in ipairs(active) do
      for _, h in ipairs(task.waiting or {}) do
        py.cancel(h) -- the call in flight is cancelled before its branch hears of it
      end
      if co_status(task.co) == "suspended" and step(task, signal) then
        -- a branch that catches the signal and waits again is not resumed a second time
        for _, h in ipairs(task.waiting or {}) do
          py.cancel(h)
        end
      end
      branches[task.co] = nil
    end
    active = {}
  end

  while true do
    while run.stop == nil and #active < width and next_task <= #tasks do
      local co = co_create(tasks[next_task])
      next_task = next_task + 1
      branches[co] = mark
      local task = { co = co }
      if step(task, nil) then
        active[#active + 1] = task
      end
    end
    if run.stop ~= nil then
      cancel_all(run.stop)
      return
    end
    if #active == 0 then
      return
    end
    local handles, n = {}, 0
    for _, task in ipairs(active) do
      for _, h in ipairs(task.waiting) do
        n = n + 1
        handles[n] = h
      end
    end
    local now = py.clock()
    local deadline = run.deadline
    for _, task in ipairs(active) do
      -- a step's timeout, or the deadline a nested run's scheduler passed up with its waits
      for _, d in ipairs({ run.deadlines[task.co] or false, task.waiting.deadline or false }) do
        if d and (deadline == nil or d < deadline) then
          deadline = d
        end
      end
    end
    local ready
    if outer then
      handles.deadline = deadline -- the outer scheduler wakes this run then to check its clocks
      local ok, signal = pcall(await, handles)
      if not ok then
        cancel_all(signal)
        error(signal, 0)
      end
      ready = call(0, py.ready, handles)
    else
      local timeout = nil
      if deadline ~= nil then
        timeout = deadline - now
        if timeout < 0 then
          timeout = 0
        end
      end
      local ok, value = py.wait_any(handles, timeout)
      if not ok then
        cancel_all(value)
        error(value, 0)
      end
      ready = value
    end
    now = py.clock()
    if run.deadline ~= nil and now >= run.deadline then
      run.stop = run.timeout_message
      run.timed_out = true
      cancel_all(run.stop)
      return
    end
    local done = {}
    for _, h in ipairs(ready) do
      done[h] = true
    end
    local still = {}
    for _, task in ipairs(active) do
      local signal = nil
      local d = run.deadlines[task.co]
      if d ~= nil and now >= d then
        signal = run.step_timeout[task.co]
      end
      local wake = signal ~= nil or (task.waiting.deadline ~= nil and now >= task.waiting.deadline)
      if not wake then
        for _, h in ipairs(task.waiting) do
          if done[h] then
            wake = true
            break
          end
        end
      end
      if wake then
        if signal ~= nil then
          for _, h in ipairs(task.waiting) do
            py.cancel(h)
          end
        end
        if step(task, signal) then
          still[#still + 1] = task
        end
      else
        still[#still + 1] = task
      end
    end
    active = still
  end
end

-- Steps ------------------------------------------------------------------------------------------
local function input_is_empty(input)
  if input == nil then
    return true
  end
  if type(input) == "string" then
    return input == ""
  end
  return type(input) == "table" and (input.text == nil or input.text == "")
end

local function step_ctx(run, step, frame, input)
  local scope = call(0, py.scope, run.id, frame)
  scope.workflow_name = run.def.name
  scope.execution_id = run.id
  scope.step_name = step.name
  scope.step_index = step.id
  scope.input = input
  return scope
end

-- One attempt of one step: (true, result) or (false, message).
local function attempt(run, step, frame, input)
  local kind = step.type
  if kind == "tool" then
    if input ~= nil and type(input) ~= "table" then
      return false, "a tool step's input must be a table of parameters"
    end
    local ok, result = pcall(run.tools.invoke, step.target, input or {}, 0)
    if not ok then
      return false, plain(result)
    end
    if type(result) == "table" and result.success == false then
      return false, tostring(result.error or result.text or "the tool reported a failure"), result
    end
    return true, result
  elseif kind == "agent" then
    if input_is_empty(input) then
      return false, "the agent step's input is empty (give input, or a run input with text)"
    end
    local agent = env.Agent.get(step.target)
    if agent == nil then
      return false, "Agent '" .. step.target .. "' not found"
    end
    local ok, output = pcall(agent.execute, agent, input)
    if not ok then
      return false, plain(output)
    end
    return true, output
  elseif kind == "workflow" then
    local nested = defs[step.target]
    if nested == nil then
      return false, "Workflow '" .. step.target .. "' not found"
    end
    if input ~= nil and type(input) ~= "table" then
      input = { text = tostring(input) }
    end
    local ok, result = pcall(run.execute_nested, nested, input or {})
    if not ok then
      return false, plain(result)
    end
    if type(result) == "table" and result.success == false then
      return false, tostring(result.error or result.text), result
    end
    return true, result
  end
  -- custom: a Lua function(input, ctx) returning a string or a table
  local fn = run.fns[step.fn_ref]
  enter()
  local ok, value = serial(fn, input, step_ctx(run, step, frame, input))
  leave()
  if not ok then
    return false, plain(value)
  end
  if type(value) == "table" and value.success == false then
    return false, tostring(value.error or value.text or "the step reported a failure"), value
  end
  return true, value
end

local function hook_data(run, step, frame, input, output, err)
  return {
    workflow_name = run.def.name, execution_id = run.id, step_name = step and step.name,
    step_index = step and step.id, iteration = frame, input = input, output = output, error = err,
  }
end

-- Run one step with its timeout and retries; records it. Returns true, or false and the error.
local function run_step(run, step, frame)
  if run.stop ~= nil then
    return false, run.stop
  end
  if step.type == "custom" or hooked("BeforeWorkflowStage") then
    call(0, py.flush, run.id) -- Lua code may read the State keys of earlier steps
  end
  local began = py.clock()
  local input
  if step.static_input then -- no placeholders: the template itself (a copy: steps may change it)
    input = copy(run.inputs[step.name])
    if input == nil and step.type == "agent" then
      input = run.input.text
    end
  else
    input = call(0, py.input, run.id, step.id, frame)
  end
  if hooked("BeforeWorkflowStage") then
    local data = hook_data(run, step, frame, input)
    local action, value = lifecycle("BeforeWorkflowStage", data)
    if action == "continue" then
      input = data.input
    elseif action == "skip" then
      call(0, py.finish, run.id, step.id, frame, false, nil, tostring(value or "skipped by hook"), 0, true, began)
      return true
    elseif action == "replace" then
      call(0, py.finish, run.id, step.id, frame, true, value, nil, 0, false, began)
      return true
    elseif action == "cancel" then -- aborts the whole run, whatever the error strategy
      local message = cancelled(value)
      call(0, py.finish, run.id, step.id, frame, false, nil, message, 0, false, began)
      run.cancelled = run.cancelled or message
      run.stop = run.stop or message
      return false, message
    end
  end
  local attempts = 1 + (step.retry_count or 0)
  if run.def.error_strategy == "retry" and attempts < 3 then
    attempts = 3
  end
  local co = co_running()
  local ok, value, partial
  local tries, hook_retries = 0, 0
  local n = 0
  while n < attempts do
    n = n + 1
    tries = n - 1
    if n > 1 then
      local back = call(0, py.sleep, run.backoff_next or run.backoff_ms)
      run.backoff_next = nil
      local waited, signal = pcall(await, { back })
      if not waited then
        ok, value = false, plain(signal)
        break
      end
    end
    local started = n == 1 and began or py.clock()
    if step.timeout_ms then
      run.deadlines[co] = started + step.timeout_ms
      run.step_timeout[co] = "step '" .. step.name .. "' timed out after " .. string.format("%g", step.timeout_ms) .. " ms"
    end
    timed[co] = (step.timeout_ms or run.deadline) and true or nil
    ok, value, partial = attempt(run, step, frame, input)
    timed[co] = nil
    run.deadlines[co] = nil
    if ok and step.timeout_ms and py.clock() - started > step.timeout_ms then
      ok, value = false, run.step_timeout[co]
    end
    run.step_timeout[co] = nil
    if ok or run.stop ~= nil then
      break
    end
    if n == attempts and hooked("WorkflowError") then
      local action, how = lifecycle("WorkflowError", hook_data(run, step, frame, input, nil, value))
      local most = type(how) == "table" and tonumber(how.max_attempts) or 3
      if action == "cancel" then
        run.cancelled = run.cancelled or cancelled(how)
        run.stop = run.stop or run.cancelled
      elseif action == "retry" and hook_retries < most then
        hook_retries = hook_retries + 1
        attempts = attempts + 1
        run.backoff_next = type(how) == "table" and tonumber(how.delay_ms) or nil
      end
    end
  end
  local replaced_by_hook = false
  if ok then
    if hooked("AfterWorkflowStage") then
      local data = hook_data(run, step, frame, input, value)
      local action, replaced = lifecycle("AfterWorkflowStage", data)
      if action == "replace" then
        value, replaced_by_hook = replaced, true
      elseif action == "continue" then
        value = data.output
      elseif action == "cancel" then
        local message = cancelled(replaced)
        call(0, py.finish, run.id, step.id, frame, false, nil, message, tries, false, began)
        run.cancelled = run.cancelled or message
        run.stop = run.stop or message
        return false, message
      end
    end
    local kept = value
    if not step.keep_result and not replaced_by_hook and type(value) == "table" and type(value.text) == "string" then
      kept = value.text -- nothing reads the rest of this tool result: no table to convert
    end
    call(0, py.finish, run.id, step.id, frame, true, kept, nil, tries, false, began)
    if event_api ~= nil and event_api.enabled then -- no event data built when events are off
      publish("workflow.step.completed", {
        name = run.def.name, execution_id = run.id, step = step.name, success = true,
        duration_ms = py.clock() - began,
      })
    end
    return true
  end
  call(0, py.finish, run.id, step.id, frame, false, partial, value, tries, false, began)
  if event_api ~= nil and event_api.enabled then
    publish("workflow.step.completed", {
      name = run.def.name, execution_id = run.id, step = step.name, success = false,
      error = value, duration_ms = py.clock() - began,
    })
  end
  return false, value
end

-- Steps in order in the current branch; a failure stops them under fail_fast.
local function run_inline(run, steps, frame)
  for i, step in ipairs(steps) do
    if run.stop ~= nil then
      return
    end
    if i > 1 and hooked("WorkflowStageTransition") then
      lifecycle("WorkflowStageTransition", hook_data(run, step, frame))
    end
    local ok, err = run_step(run, step, frame)
    if not ok then
      if run.first_error == nil then
        run.first_error, run.failed_step = err, step.name
      end
      if run.def.error_strategy ~= "continue" then
        run.stop = run.stop or ("cancelled: step '" .. step.name .. "' failed")
        run.failed = true
        return
      end
    end
  end
end

-- Conditions: the tree and custom functions here, data leaves in Python.
local function holds(run, condition, frame)
  local kind = condition.type
  if kind == "always" then
    return true
  elseif kind == "never" then
    return false
  elseif kind == "and" then
    for _, c in ipairs(condition.conditions) do
      if not holds(run, c, frame) then
        return false
      end
    end
    return true
  elseif kind == "or" then
    for _, c in ipairs(condition.conditions) do
      if holds(run, c, frame) then
        return true
      end
    end
    return false
  elseif kind == "not" then
    return not holds(run, condition.condition, frame)
  elseif kind == "custom" then
    call(0, py.flush, run.id)
    local scope = call(0, py.scope, run.id, frame)
    scope.workflow_name, scope.execution_id = run.def.name, run.id
    local ok, value = serial(run.fns[condition.fn_ref], scope)
    if not ok then
      error("condition function failed: " .. plain(value), 0)
    end
    return value and true or false
  end
  return call(0, py.check, run.id, condition, frame)
end

-- A loop's while check: a function(ctx) or an expression over loop_index, loop_value, input,
-- outputs (and the script's globals).
local function while_holds(run, iterator, frame)
  call(0, py.flush, run.id)
  local scope = call(0, py.scope, run.id, frame)
  scope.iteration = scope.loop_index
  if iterator.while_ref then
    local ok, value = serial(run.fns[iterator.while_ref], scope, scope.loop_index)
    if not ok then
      error("loop condition failed: " .. plain(value), 0)
    end
    return value and true or false
  end
  local chunk, err = env.load("return " .. iterator.while_expr, "=while", "t",
    setmetatable(scope, { __index = env }))
  if not chunk then
    error("loop condition '" .. iterator.while_expr .. "' does not parse: " .. tostring(err), 0)
  end
  local ok, value = serial(chunk)
  if not ok then
    error("loop condition failed: " .. plain(value), 0)
  end
  return value and true or false
end

local function run_body(run)
  local def = run.def
  local kind = def.type
  if kind == "sequential" then
    run_tasks(run, { function() run_inline(run, def.steps, nil) end }, 1)
  elseif kind == "parallel" then
    local tasks = {}
    for i, step in ipairs(def.steps) do
      tasks[i] = function() run_inline(run, { step }, nil) end
    end
    run_tasks(run, tasks, def.max_concurrency)
  elseif kind == "conditional" then
    run_tasks(run, { function()
      run_inline(run, def.steps, nil)
      if run.stop ~= nil then
        return
      end
      local chosen = def.default_steps
      for _, branch in ipairs(def.branches) do
        local ok, value = pcall(holds, run, branch.condition, nil)
        if not ok then
          run.first_error = run.first_error or plain(value)
          run.failed_step = run.failed_step or "condition"
          run.failed = true
          run.stop = plain(value)
          return
        end
        if value then
          chosen = branch.steps
          break
        end
      end
      run_inline(run, chosen, nil)
    end }, 1)
  else -- loop
    local iterator = def.iterator
    local limit = def.max_iterations
    if iterator.kind == "while" or def.max_concurrency <= 1 then
      run_tasks(run, { function()
        local index = 0
        while run.stop == nil and (limit == nil or index < limit) do
          if not call(0, py.frame, run.id, index) then
            return
          end
          if iterator.kind == "while" then
            local ok, value = pcall(while_holds, run, iterator, index)
            if not ok then
              run.first_error = run.first_error or plain(value)
              run.failed_step = run.failed_step or "loop condition"
              run.failed, run.stop = true, plain(value)
              return
            end
            if not value then
              call(0, py.unframe, run.id, index)
              return
            end
          end
          run_inline(run, def.steps, index)
          index = index + 1
        end
      end }, 1)
    else
      local count = iterator.count
      if limit ~= nil and limit < count then
        count = limit
      end
      local tasks = {}
      for index = 0, count - 1 do
        tasks[index + 1] = function()
          call(0, py.frame, run.id, index)
          run_inline(run, def.steps, index)
        end
      end
      run_tasks(run, tasks, def.max_concurrency)
    end
  end
end

-- One run of a definition: the result table, or raises under fail_fast / a timeout.
-- `level` is the error level of the script's call counted from here (0 for nested runs: no
-- position).
local function execute(entry, input, level, execute_nested)
  local def = entry.def
  if input == nil then
    input = {}
  elseif type(input) == "string" then
    input = { text = input }
  elseif type(input) ~= "table" then
    error("execute: the input must be a table", level)
  end
  if hooked("BeforeWorkflowStart") then
    local data = hook_data({ def = def }, nil, nil, input)
    local action, value = lifecycle("BeforeWorkflowStart", data)
    if action == "cancel" then
      error(cancelled(value), level)
    elseif action == "skip" then
      return hook_api.skipped(value)
    elseif action == "replace" then
      return value
    end
    input = data.input
  end
  local run_id = call(level, py.start, def.id, input)
  local run = {
    id = run_id, def = def, fns = entry.fns, deadlines = {}, step_timeout = {},
    tools = tools_api, execute_nested = execute_nested, backoff_ms = entry.backoff_ms,
    inputs = entry.inputs, input = input,
    timeout_message = "Workflow '" .. def.name .. "' timed out",
  }
  if def.timeout_ms then
    run.deadline = py.clock() + def.timeout_ms
  end
  publish("workflow.started", { name = def.name, execution_id = run_id })
  local ok, err = pcall(run_body, run)
  if not ok then -- an interrupt, or a failure of the engine itself: the run is abandoned
    py.abandon(run_id)
    error(err, 0)
  end
  local success = not run.failed and not run.timed_out and run.first_error == nil
  local message = run.cancelled or (run.timed_out and run.timeout_message) or run.first_error
  local result = call(0, py.finish_run, run_id, success, message)
  if run.cancelled then -- a hook's {type = "cancel"}: the script gets its error as it is
    publish("workflow.failed", { name = def.name, execution_id = run_id, error = message })
    error(message, level)
  end
  if run.timed_out then
    if hooked("WorkflowError") then
      lifecycle("WorkflowError", hook_data(run, nil, nil, input, nil, message))
    end
    publish("workflow.failed", { name = def.name, execution_id = run_id, error = message })
    error(message, level)
  end
  if run.failed and def.error_strategy ~= "continue" then
    local text = "Workflow '" .. def.name .. "' failed at step '" .. tostring(run.failed_step)
      .. "': " .. tostring(run.first_error)
    if hooked("WorkflowError") then
      lifecycle("WorkflowError", hook_data(run, nil, nil, input, nil, text))
    end
    publish("workflow.failed", { name = def.name, execution_id = run_id, error = text })
    error(text, level)
  end
  if hooked("AfterWorkflowComplete") then
    local data = hook_data(run, nil, nil, input, result)
    local action, value = lifecycle("AfterWorkflowComplete", data)
    if action == "replace" then
      result = value
    elseif action == "cancel" then
      error(cancelled(value), level)
    end
  end
  publish(success and "workflow.completed" or "workflow.failed", {
    name = def.name, execution_id = run_id, duration_ms = result.metadata.execution_time_ms,
    error = message,
  })
  return result
end

local function execute_nested(entry, input)
  return execute(entry, input, 0, execute_nested)
end

local function entry_of(self)
  local entry = defs[ids[self]]
  if entry == nil then
    error("this workflow was removed", 3)
  end
  return entry
end

local function define(method, fn)
  local check = colon(is_workflow, method)
  methods[method] = function(self, ...)
    check(self)
    return fn(self, ...)
  end
end

define("execute", function(self, input)
  local entry = entry_of(self)
  local result = execute(entry, input, 3, execute_nested) -- not a tail call: levels count it
  return result
end)
define("get_info", function(self)
  return { id = self.id, name = self.name, type = self.type, description = defs[self.id] and defs[self.id].def.description }
end)
define("get_execution_id", function(self)
  return (call(2, py.last_execution, self.id))
end)
define("get_output", function(self, step)
  return (call(2, py.output, self.id, step))
end)
define("get_all_outputs", function(self)
  return (call(2, py.outputs, self.id))
end)
define("list_outputs", function(self)
  return (call(2, py.output_names, self.id))
end)
define("clear_outputs", function(self)
  call(2, py.clear_outputs, self.id)
end)
define("validate", function(self)
  return (call(2, py.validate, self.id))
end)
define("get_metrics", function(self)
  return (call(2, py.metrics, self.id))
end)
define("get_id", function(self)
  return self.id
end)
-- Upstream's `wf:set_shared_data(key, value)`: data every later run's conditions see (below the
-- run's own input), as advanced-patterns/complex-workflows.lua uses it.
define("set_shared_data", function(self, key, value)
  call(2, py.set_shared, self.id, key, value)
end)

-- Builder -----------------------------------------------------------------------------------------
local builders = setmetatable({}, { __mode = "k" }) -- builder -> config table

local function is_builder(self)
  return type(self) == "table" and builders[self] ~= nil
end

local function agent_name(agent)
  if type(agent) == "table" and type(agent.get_config) == "function" then
    local ok, config = pcall(agent.get_config, agent)
    if ok and type(config) == "table" then
      return config.name
    end
  end
  return agent
end

-- Check a step as `add_step` receives it (the rest is checked by build); `level` counts
-- from here.
local function check_step(step, level)
  if type(step) ~= "table" then
    error("add_step: a step must be a table {name, type, ...}", level)
  end
  if type(step.name) ~= "string" or step.name == "" then
    error("add_step: a step needs a name", level)
  end
  if step.type == "agent" and step.agent == nil then
    error("add_step: step '" .. step.name .. "' needs agent = <agent name>", level)
  end
  return step
end

local builder_methods = {}
local function builder_method(method, fn)
  local check = colon(is_builder, method)
  builder_methods[method] = function(self, ...)
    check(self)
    fn(builders[self], ...)
    return self
  end
end
for _, kind in ipairs({ "sequential", "parallel", "conditional", "loop" }) do
  builder_method(kind, function(cfg)
    cfg.type = kind
  end)
end
builder_method("loop_workflow", function(cfg)
  cfg.type = "loop"
end)
for _, field in ipairs({ "name", "description", "max_iterations", "max_concurrency", "error_strategy", "timeout_ms" }) do
  builder_method(field, function(cfg, value)
    cfg[field] = value
  end)
end
builder_method("add_step", function(cfg, step)
  cfg.steps[#cfg.steps + 1] = check_step(step, 4)
end)
builder_method("condition", function(cfg, condition)
  cfg.condition = condition
end)
builder_method("add_then_step", function(cfg, step)
  cfg.then_steps[#cfg.then_steps + 1] = check_step(step, 4)
end)
builder_method("add_else_step", function(cfg, step)
  cfg.else_steps[#cfg.else_steps + 1] = check_step(step, 4)
end)
builder_method("add_branch", function(cfg, condition, steps)
  if type(steps) ~= "table" then
    error("add_branch: expected (condition, {step, ...})", 3)
  end
  for _, step in ipairs(steps) do
    check_step(step, 4)
  end
  cfg.extra_branches[#cfg.extra_branches + 1] = { condition = condition, steps = steps }
end)
builder_method("with_range", function(cfg, range)
  cfg.iterator = { range = range }
end)
builder_method("with_collection", function(cfg, values)
  cfg.iterator = { collection = values }
end)
builder_method("with_while", function(cfg, condition)
  cfg.iterator = { ["while"] = condition }
end)
builder_method("loop_condition", function(cfg, condition)
  cfg.iterator = { ["while"] = condition }
end)

-- The builder's table as Python can take it: functions as references into `fns`.
local function portable(cfg)
  local fns = {}
  local function ref(fn)
    fns[#fns + 1] = fn
    return #fns
  end
  local function condition(c)
    if type(c) == "function" then
      return { type = "custom", fn_ref = ref(c) }
    end
    if type(c) ~= "table" then
      return c
    end
    local out = {}
    for k, v in pairs(c) do
      out[k] = v
    end
    if c.type == "custom" then
      local fn = c.fn or c.func or c["function"] or c.evaluate
      if type(fn) ~= "function" then
        error("a 'custom' condition needs fn = function(ctx) ... end", 0)
      end
      out.fn, out.func, out["function"], out.evaluate = nil, nil, nil, nil
      out.fn_ref = ref(fn)
    end
    if type(c.conditions) == "table" then
      local list = {}
      for i, sub in ipairs(c.conditions) do
        list[i] = condition(sub)
      end
      out.conditions = list
    end
    if c.condition ~= nil then
      out.condition = condition(c.condition)
    end
    return out
  end
  local function steps(list)
    local out = {}
    for i, step in ipairs(list or {}) do
      local s = {}
      for k, v in pairs(step) do
        s[k] = v
      end
      local fn = step["function"] or step.fn or step.handler
      if type(fn) == "function" then
        s["function"], s.fn, s.handler = nil, nil, nil
        s.fn_ref = ref(fn)
        s.type = s.type or "custom"
      end
      if s.agent ~= nil then
        s.agent = agent_name(s.agent)
      end
      if type(s.workflow) == "table" and ids[s.workflow] then
        s.workflow = ids[s.workflow]
      elseif type(s.workflow) == "string" then
        local ok, found = py.lookup(s.workflow)
        if not ok then
          error(found, 0)
        end
        if found == nil then
          error("step '" .. tostring(s.name) .. "': Workflow '" .. s.workflow .. "' not found", 0)
        end
        s.workflow = found
      end
      out[i] = s
    end
    return out
  end
  local raw = {
    name = cfg.name, description = cfg.description, type = cfg.type,
    max_iterations = cfg.max_iterations, max_concurrency = cfg.max_concurrency,
    error_strategy = cfg.error_strategy, timeout_ms = cfg.timeout_ms,
    steps = steps(cfg.steps),
  }
  if cfg.type == "conditional" then
    local list = {}
    if cfg.condition ~= nil or #cfg.then_steps > 0 then
      list[1] = { condition = condition(cfg.condition or "always"), steps = steps(cfg.then_steps) }
    end
    for _, b in ipairs(cfg.extra_branches) do
      list[#list + 1] = { condition = condition(b.condition or "always"), steps = steps(b.steps) }
    end
    raw.branches = list
    raw.default_branch = steps(cfg.else_steps)
  end
  local it = cfg.iterator
  if type(it) == "table" then
    local w = it["while"]
    if it.range ~= nil then
      raw.iterator = { range = it.range }
    elseif it.collection ~= nil then
      raw.iterator = { collection = it.collection }
    elseif type(w) == "function" then
      raw.iterator = { while_ref = ref(w) }
    elseif type(w) == "string" then
      raw.iterator = { while_expr = w }
    elseif w ~= nil then
      error("with_while: expected a function or an expression string", 0)
    end
  end
  return raw, fns
end

-- `level` counts from here.
local function build(cfg, level)
  local ok, raw, fns = pcall(portable, cfg)
  if not ok then
    error(plain(raw), level)
  end
  local def = call(level, py.build, raw)
  local inputs = {} -- step name -> its input template, for steps without placeholders
  local function keep(list)
    for _, step in ipairs(list or {}) do
      local template = step.input -- as definition.py picks it
      if template == nil or (step.fn_ref ~= nil and step.parameters ~= nil) then
        template = step.parameters
      end
      inputs[step.name] = template
    end
  end
  keep(raw.steps)
  keep(raw.default_branch)
  for _, branch in ipairs(raw.branches or {}) do
    keep(branch.steps)
  end
  defs[def.id] = { def = def, fns = fns, backoff_ms = def.backoff_ms, inputs = inputs }
  return workflow_object(def)
end

do
  local check = colon(is_builder, "build")
  builder_methods.build = function(self)
    check(self)
    local workflow = build(builders[self], 3) -- not a tail call: levels count it
    return workflow
  end
end
local builder_meta = { __index = builder_methods, __metatable = false }

local function new_config()
  return { steps = {}, then_steps = {}, else_steps = {}, extra_branches = {} }
end

-- Statics -----------------------------------------------------------------------------------------
local Workflow = {}

function Workflow.builder()
  local builder = setmetatable({}, builder_meta)
  builders[builder] = new_config()
  return builder
end

local function from_table(kind, cfg)
  if type(cfg) ~= "table" then
    error("Workflow." .. kind .. ": expected a configuration table", 3)
  end
  local c = new_config()
  c.type = kind
  for _, field in ipairs({ "name", "description", "max_iterations", "max_concurrency", "error_strategy", "timeout_ms" }) do
    c[field] = cfg[field]
  end
  for _, step in ipairs(cfg.steps or {}) do
    c.steps[#c.steps + 1] = check_step(step, 4)
  end
  if kind == "conditional" then
    for _, b in ipairs(cfg.branches or {}) do
      c.extra_branches[#c.extra_branches + 1] = { condition = b.condition, steps = b.steps or {} }
    end
    local default = cfg.default_branch
    if type(default) == "table" then
      c.else_steps = default.steps or default
    end
  elseif kind == "loop" then
    local it = cfg.iterator or {}
    if it.while_condition ~= nil then
      c.iterator = { ["while"] = it.while_condition }
    else
      c.iterator = it
    end
    local body = cfg.body
    if type(body) == "table" then
      for _, step in ipairs(body.steps or body) do
        c.steps[#c.steps + 1] = check_step(step, 4)
      end
    end
  end
  local workflow = build(c, 4)
  return workflow
end

for _, kind in ipairs({ "sequential", "parallel", "conditional", "loop" }) do
  Workflow[kind] = function(cfg)
    local workflow = from_table(kind, cfg) -- not a tail call: levels count it
    return workflow
  end
end

function Workflow.types()
  return { "sequential", "conditional", "loop", "parallel" }
end

function Workflow.list()
  return (call(2, py.list))
end

function Workflow.get(id_or_name)
  if type(id_or_name) ~= "string" then
    return nil
  end
  local id = call(2, py.lookup, id_or_name)
  if id == nil or defs[id] == nil then
    return nil
  end
  return workflow_object(defs[id].def)
end

function Workflow.remove(id_or_name)
  if type(id_or_name) == "table" and ids[id_or_name] then
    id_or_name = ids[id_or_name]
  end
  if type(id_or_name) ~= "string" then
    return false
  end
  local id = call(2, py.lookup, id_or_name)
  if id == nil then
    return false
  end
  defs[id] = nil
  return (call(2, py.remove, id))
end

function Workflow.clear()
  call(2, py.clear)
  defs = {}
end

env.Workflow = Workflow

-- Called once the Hook and Event globals exist (their private APIs for other globals).
-- Built-in network tools (web, api, service_checker) called inside a branch of a parallel
-- workflow, or by a step under a timeout, run in a thread while the branch yields, like an
-- agent's provider call; every other tool call runs directly. tool.lua calls this for every
-- built-in tool.
local network = {} -- tool name -> whether it waits on the network
-- Whether the running code is a branch beside others, or a step under a timeout that must be
-- able to stop the wait (a network tool's call then runs in a thread while it yields).
local function branched()
  local co = co_running()
  local branch = branches[co]
  if not branch then
    return false
  end
  return branch == "wide" or timed[co] == true
end
local function run_builtin(name, params)
  local direct = tools_api.builtin.direct
  if not branched() then
    return direct(name, params)
  end
  local waits = network[name]
  if waits == nil then
    local ok, value = py.tool_is_network(name)
    waits = ok and value == true
    network[name] = waits
  end
  if not waits then
    return direct(name, params)
  end
  local ok, handle = py.tool_submit(name, params)
  if not ok then
    return false, handle
  end
  local signal = co_yield({ handle })
  if signal ~= nil then
    py.cancel(handle)
    return false, signal
  end
  return py.tool_result(handle)
end

return {
  set_tools = function(t)
    tools_api = t
    if t.builtin ~= nil then
      t.builtin.run = run_builtin
      t.builtin.branched = branched
    end
  end,
  set_hooks = function(h)
    hook_api = h
  end,
  set_events = function(e)
    event_api = e
  end,
}
