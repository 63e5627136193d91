-- Every workflow type, with tool and Lua function steps only (no API key needed):
--   llmspell run examples/workflows/workflow-basics.lua
-- Each section prints one line; the script returns a table of what each workflow produced.

local results = {}

-- 1. Sequential: each step's output feeds the next through {{...}} placeholders.
local pipeline = Workflow.builder()
  :name("text_pipeline")
  :description("normalise, hash and describe a text")
  :sequential()
  :add_step({ name = "upper", type = "tool", tool = "text_manipulator",
              input = { operation = "uppercase", input = "{{input.text}}" } })
  :add_step({ name = "digest", type = "tool", tool = "hash_calculator",
              input = { operation = "hash", algorithm = "sha256", input = "{{upper}}" } })
  :add_step({ name = "describe", type = "custom",
              ["function"] = function(input, ctx)
                return input.word .. " hashes to " .. ctx.outputs.digest:sub(1, 12) .. "..."
              end,
              parameters = { word = "{{step.upper.output}}" } })
  :build()
local seq = pipeline:execute({ text = "hello workflows" })
print("sequential: " .. seq.text)
results.sequential = seq.outputs.describe

-- 2. Parallel: independent steps run side by side; results come back by step name.
local gather = Workflow.parallel({
  name = "gather",
  max_concurrency = 3,
  steps = {
    { name = "id", type = "tool", tool = "uuid_generator", input = { operation = "generate" } },
    { name = "b64", type = "tool", tool = "base64_encoder",
      input = { operation = "encode", input = "parallel" } },
    { name = "sum", type = "tool", tool = "calculator", input = { input = "6 * 7" } },
  },
})
local par = gather:execute({})
print("parallel: " .. par.text)
results.parallel = { b64 = par.outputs.b64, sum = par.outputs.sum }

-- 3. Conditional: the first branch whose condition holds runs, else the default steps.
local router = Workflow.builder()
  :name("router")
  :conditional()
  :add_step({ name = "kind", type = "custom", ["function"] = function(input) return input.kind end,
              parameters = { kind = "{{input.kind}}" } })
  :condition("step:kind:urgent")
  :add_then_step({ name = "page", type = "custom", ["function"] = function() return "paged on-call" end })
  :add_branch({ type = "shared_data_equals", key = "kind", value = "routine" },
              { { name = "ticket", type = "custom", ["function"] = function() return "filed a ticket" end } })
  :add_else_step({ name = "ignore", type = "custom", ["function"] = function() return "ignored" end })
  :build()
local routed = {}
for _, kind in ipairs({ "urgent", "routine", "spam" }) do
  local r = router:execute({ kind = kind })
  routed[#routed + 1] = r.outputs.page or r.outputs.ticket or r.outputs.ignore
end
print("conditional: " .. table.concat(routed, ", "))
results.conditional = routed

-- 4. Loops: over a range (end exclusive), a collection, and while a condition holds.
local squares = Workflow.builder():name("squares"):loop()
  :with_range({ start = 1, ["end"] = 5, step = 1 })
  :add_step({ name = "square", type = "tool", tool = "calculator",
              input = { input = "{{loop_value}} * {{loop_value}}" } })
  :build()
local sq = squares:execute({})
local exec = sq.metadata.extra.execution_id
local each = {}
for i = 0, sq.metadata.extra.iterations - 1 do
  each[#each + 1] = State.load("workflow", exec .. ":iteration_" .. i .. ":square").output
end
print("loop (range): " .. table.concat(each, " "))
results.range = each

local names = Workflow.loop({
  name = "greetings",
  iterator = { collection = { "ada", "grace", "linus" } },
  body = { steps = { { name = "greet", type = "tool", tool = "text_manipulator",
                       input = { operation = "uppercase", input = "hi {{loop_value}} (#{{loop_index}})" } } } },
})
print("loop (collection): last = " .. names:execute({}).outputs.greet)

local countdown = Workflow.builder():name("countdown"):loop()
  :with_while("loop_index < input.from")
  :add_step({ name = "tick", type = "custom", ["function"] = function(input) return input.n end,
              parameters = { n = "{{loop_index}}" } })
  :build()
local cd = countdown:execute({ from = 3 })
print("loop (while): " .. cd.metadata.extra.iterations .. " iterations")
results.while_iterations = cd.metadata.extra.iterations

-- 5. Nested: a workflow is a step of another; it sees only the input it is given.
local outer = Workflow.builder():name("outer"):sequential()
  :add_step({ name = "inner", type = "workflow", workflow = pipeline, input = { text = "{{input.word}}" } })
  :add_step({ name = "wrap", type = "custom", ["function"] = function(input) return "[" .. input.t .. "]" end,
              parameters = { t = "{{inner}}" } })
  :build()
local nested = outer:execute({ word = "nested" })
print("nested: " .. nested.outputs.wrap)
results.nested = nested.outputs.wrap

-- 6. Errors: fail_fast raises, continue records the failure and goes on.
local fragile = Workflow.builder():name("fragile"):sequential():error_strategy("continue")
  :add_step({ name = "bad", type = "tool", tool = "calculator", input = { input = "1 +" } })
  :add_step({ name = "good", type = "custom", ["function"] = function() return "still ran" end })
  :build()
local f = fragile:execute({})
print("continue: success=" .. tostring(f.success) .. ", good=" .. f.outputs.good)
local ok, err = pcall(function()
  local strict = Workflow.builder():name("strict"):sequential()
    :add_step({ name = "boom", type = "custom", ["function"] = function() error("no luck", 0) end })
    :build()
  local r = strict:execute({})
  return r
end)
print("fail_fast: " .. tostring(err))
results.fail_fast = err

local listed = {}
for _, w in ipairs(Workflow.list()) do
  listed[#listed + 1] = w.name
end
table.sort(listed)
print("registered: " .. table.concat(listed, ", "))
return results
