-- Process Orchestrator (layer 3, expert): complex processes need intelligent coordination.
-- Eight agents and nested, conditional workflows three levels deep. Each request goes through
-- a master conditional workflow: process_intake and rules_classifier read it first, then the
-- business rule on its type picks a branch: approval (approval_coordinator decides, then a
-- nested validation workflow runs document checks by qa_coordinator and a signature check by
-- hash_calculator, each itself a nested workflow), migration (migration_manager plans,
-- qa_coordinator validates), quality gate (qa_coordinator), or incident (a conditional workflow:
-- a critical incident runs incident_manager and notification_orchestrator in parallel, others
-- incident_manager alone). master_orchestrator summarises the day.
--
-- Run: llmspell app run process-orchestrator [-- --scenarios N] [-- --output DIR]

local APP = "process-orchestrator"
local app_dir = ARGS["app-dir"] or ("examples/applications/" .. APP)
local output_dir = ARGS.output
if not output_dir then
    error("no output directory: use 'llmspell app run " .. APP .. "', or pass -- --output DIR "
        .. "(a directory inside tools.file_operations.allowed_paths)")
end
local token_cap = tonumber(ARGS["max-tokens"])
local temperature = tonumber(ARGS.temperature)  -- validation asks for 0: reproducible runs

-- Helpers (each app carries its own: the safe sandbox has no `require`) -------------------------
local function tokens(n) return token_cap and math.min(n, token_cap) or n end
local function temp(t) return temperature or t end

local function write(relative, content)
    local path = output_dir .. "/" .. relative
    local r = Tool.invoke("file_operations", {operation = "write", path = path, input = content})
    if not r.success then error("could not write " .. path .. ": " .. tostring(r.error)) end
    return path
end

-- A model reply as a table: the whole text as JSON, else the first {...} in it, else nil.
local function parse_json(text)
    if type(text) == "table" then return text end
    if type(text) ~= "string" then return nil end
    local ok, value = pcall(JSON.parse, text)
    if ok and type(value) == "table" then return value end
    local object = text:match("%b{}")
    if object then
        ok, value = pcall(JSON.parse, object)
        if ok and type(value) == "table" then return value end
    end
    return nil
end

-- The objects of the array `key` of a JSON reply; from a reply cut off by max_tokens, the
-- complete objects before the cut.
local function json_list(text, key)
    local parsed = parse_json(text)
    if parsed and type(parsed[key]) == "table" then return parsed[key] end
    local items = {}
    if type(text) ~= "string" then return items end
    local start = text:find("[", 1, true)
    if not start then return items end
    for object in text:sub(start + 1):gmatch("%b{}") do
        local ok, value = pcall(JSON.parse, object)
        if ok and type(value) == "table" then items[#items + 1] = value end
    end
    return items
end

-- One line of model text (whitespace folded, at most `limit` characters), or `default`.
local function clean(text, default, limit)
    if type(text) ~= "string" then return default end
    text = text:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
    if text == "" then return default end
    return limit and text:sub(1, limit) or text
end

-- The non-empty strings of a model's array (or `fallback` when there are none).
local function strings(list, fallback, limit)
    local out = {}
    for _, item in ipairs(type(list) == "table" and list or {}) do
        local text = clean(type(item) == "table" and (item.text or item.title or item.name) or item, nil, limit)
        if text then out[#out + 1] = text end
    end
    if #out == 0 then return fallback or {} end
    return out
end

-- An agent input asking for JSON that follows `schema`.
local function json_input(text, name, schema)
    return {text = text, parameters = {response_format = {name = name, schema = schema}}}
end

local function string_list(description)
    return {type = "array", items = {type = "string"}, description = description}
end

print("=== Process Orchestrator ===")
print("Output: " .. output_dir)
local scenarios = dofile(app_dir .. "/process-scenarios.lua")
local scenario_count = math.min(#scenarios, tonumber(ARGS.scenarios) or #scenarios)
write("process-scenarios.json", JSON.stringify({scenarios = scenarios, processing = scenario_count}, true))

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local n = {}
local function agent(key, prompt, max_tokens)
    n[key] = key .. "_" .. stamp
    Agent.builder():name(n[key]):model("openai/gpt-4o-mini"):system_prompt(prompt)
        :temperature(temp(0.2)):max_tokens(tokens(max_tokens)):max_conversation_length(0):build()
end
agent("process_intake", "You register incoming business requests: a one-line summary and the key facts. Answer with JSON only.", 100)
agent("rules_classifier", "You apply business rules: which process (approval, migration, qa, incident) a request needs and whether it must be escalated. Answer with JSON only.", 60)
agent("approval_coordinator", "You decide purchase approvals: approve, reject or escalate, with a reason. Amounts over $10,000 need a director. Answer with JSON only.", 80)
agent("migration_manager", "You plan data migrations as short numbered steps with a rollback.", 160)
agent("qa_coordinator", "You run quality gates and document checks: say pass or fail and why, briefly.", 100)
agent("incident_manager", "You lead incident response: severity, first actions and owner, briefly.", 120)
agent("notification_orchestrator", "You write short status notifications for stakeholders.", 80)
agent("master_orchestrator", "You summarise a day of process orchestration for operations managers, briefly.", 160)
print("1. Created 8 agents")

-- 2. Workflows, innermost first -----------------------------------------------------------------
-- Level 3
local document_validation = Workflow.builder():name("document_validation"):sequential()
    :add_step({name = "check_documents", type = "agent", agent = n.qa_coordinator,
        input = "Check that this request has the documents an approval needs (quote, budget line): {{request}}"})
    :build()
local signature_verification = Workflow.builder():name("signature_verification"):sequential()
    :add_step({name = "fingerprint", type = "tool", tool = "hash_calculator",
        input = {operation = "hash", algorithm = "sha256", input = "{{request}}"}})
    :build()
-- Level 2
local approval_validation = Workflow.builder():name("approval_validation"):sequential()
    :add_step({name = "documents", type = "workflow", workflow = document_validation, input = {request = "{{request}}"}})
    :add_step({name = "signature", type = "workflow", workflow = signature_verification, input = {request = "{{request}}"}})
    :build()
local decision_schema = {type = "object", properties = {decision = {type = "string", enum = {"approve", "reject", "escalate"}},
    reason = {type = "string"}}, required = {"decision", "reason"}}
-- Level 1: one workflow per process
local approval_process = Workflow.builder():name("approval_process"):sequential()
    :add_step({name = "decide", type = "agent", agent = n.approval_coordinator,
        input = json_input("Request: {{request}}\nAmount: ${{amount}}. Approve, reject or escalate?", "decision", decision_schema)})
    :add_step({name = "validate", type = "workflow", workflow = approval_validation, input = {request = "{{request}}"}})
    :build()
local migration_process = Workflow.builder():name("migration_process"):sequential()
    :add_step({name = "plan_migration", type = "agent", agent = n.migration_manager, input = "Plan this migration: {{request}}"})
    :add_step({name = "validate_plan", type = "agent", agent = n.qa_coordinator,
        input = "Does this migration plan have a rollback and a validation step? {{plan_migration}}"})
    :build()
local qa_process = Workflow.builder():name("qa_process"):sequential()
    :add_step({name = "quality_gate", type = "agent", agent = n.qa_coordinator, input = "Quality gate for: {{request}}"})
    :build()
local critical_incident = Workflow.builder():name("critical_incident"):parallel()
    :add_step({name = "respond", type = "agent", agent = n.incident_manager, input = "CRITICAL incident: {{request}}"})
    :add_step({name = "notify", type = "agent", agent = n.notification_orchestrator,
        input = "Write a status notification for customers and executives about: {{request}}"})
    :build()
local standard_incident = Workflow.builder():name("standard_incident"):sequential()
    :add_step({name = "respond", type = "agent", agent = n.incident_manager, input = "Incident: {{request}}"})
    :build()
local incident_process = Workflow.builder():name("incident_process"):conditional()
    :condition({type = "shared_data_equals", key = "severity", value = "critical"})
    :add_then_step({name = "critical", type = "workflow", workflow = critical_incident, input = {request = "{{request}}"}})
    :add_else_step({name = "standard", type = "workflow", workflow = standard_incident, input = {request = "{{request}}"}})
    :build()

-- Level 0: the master, routing on the request's type (the business rule)
local intake_schema = {type = "object", properties = {summary = {type = "string"}, facts = string_list("key facts")},
    required = {"summary", "facts"}}
local rules_schema = {type = "object", properties = {process = {type = "string", enum = {"approval", "migration", "qa", "incident"}},
    escalate = {type = "boolean"}}, required = {"process", "escalate"}}
local function route(kind) return {type = "shared_data_equals", key = "process_type", value = kind} end
local master = Workflow.builder():name("master_process_orchestration"):conditional()
    :add_step({name = "intake", type = "agent", agent = n.process_intake,
        input = json_input("Register this request: {{request}}", "intake", intake_schema)})
    :add_step({name = "classify", type = "agent", agent = n.rules_classifier,
        input = json_input("Which process does this request need, and must it be escalated? {{request}}", "rules", rules_schema)})
    :condition(route("approval"))
    :add_then_step({name = "approval", type = "workflow", workflow = approval_process,
        input = {request = "{{request}}", amount = "{{amount}}"}})
    :add_branch(route("migration"), {{name = "migration", type = "workflow", workflow = migration_process, input = {request = "{{request}}"}}})
    :add_branch(route("qa"), {{name = "qa", type = "workflow", workflow = qa_process, input = {request = "{{request}}"}}})
    :add_else_step({name = "incident", type = "workflow", workflow = incident_process,
        input = {request = "{{request}}", severity = "{{severity}}"}})
    :build()
print("2. Built 10 workflows: master (conditional, 4 branches) > process > validation > checks")

-- The agent outputs a run recorded (workflow:<exec>:agent:<name>:output), nested runs included.
local function agent_outputs_since(before)
    local out = {}
    for _, key in ipairs(State.list_keys("workflow")) do
        local name = key:match(":agent:(.+):output$")
        if name and not before[key] then out[name] = State.load("workflow", key) end
    end
    return out
end
local function key_set()
    local set = {}
    for _, key in ipairs(State.list_keys("workflow")) do set[key] = true end
    return set
end

-- 3. Run every request ------------------------------------------------------------------------
local report = {}
for i = 1, scenario_count do
    local s = scenarios[i]
    local before = key_set()
    local result = master:execute({text = s.request, request = s.request, process_type = s.type,
        amount = tostring(s.amount or 0), severity = s.severity or "standard", priority = s.priority})
    local outputs = agent_outputs_since(before)
    local intake = parse_json(outputs[n.process_intake]) or {}
    local rules = parse_json(outputs[n.rules_classifier]) or {}
    local entry = {id = s.id, type = s.type, priority = s.priority, success = result.success == true,
        execution_id = result.metadata and result.metadata.extra and result.metadata.extra.execution_id,
        summary = clean(intake.summary, s.request, 300), classifier_process = rules.process,
        classifier_agrees = rules.process == s.type, escalate = rules.escalate == true,
        agents = {}, error = result.error}
    for key, name in pairs(n) do
        if outputs[name] then entry.agents[key] = clean(outputs[name], "", 600) end
    end
    if s.type == "approval" then
        local d = parse_json(outputs[n.approval_coordinator]) or {}
        entry.decision = (d.decision == "approve" or d.decision == "reject" or d.decision == "escalate") and d.decision
            or ((s.amount or 0) > 10000 and "escalate" or "approve")
        entry.reason = clean(d.reason, "amount rule", 300)
    end
    report[#report + 1] = entry
    print(string.format("3.%d %s (%s): %s", i, s.id, s.type, entry.success and "completed" or ("failed: " .. tostring(result.error))))
end

-- 4. Summary by the master orchestrator -------------------------------------------------------
local lines, completed = {}, 0
for _, e in ipairs(report) do
    if e.success then completed = completed + 1 end
    lines[#lines + 1] = string.format("- %s %s: %s%s", e.type, e.id, e.success and "completed" or "failed",
        e.decision and (" (" .. e.decision .. ")") or "")
end
local summary = Agent.get(n.master_orchestrator):execute("Today's processes:\n" .. table.concat(lines, "\n")
    .. "\nSummarise the day in three sentences for the operations manager.")
local summary_text = clean(summary.text, "No summary.", 1500)
write("orchestration-report.json", JSON.stringify({app = APP, generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    completed = completed, total = scenario_count, processes = report, summary = summary_text}, true))
write("orchestration-summary.txt", table.concat({
    "Process Orchestrator - execution summary", "========================================",
    string.format("Status: %d/%d processes completed", completed, scenario_count),
    "Generated: " .. os.date("%Y-%m-%d %H:%M:%S"), "", "Processes:", table.concat(lines, "\n"), "",
    "Agents (8): process_intake, rules_classifier, approval_coordinator, migration_manager, qa_coordinator,",
    "            incident_manager, notification_orchestrator, master_orchestrator",
    "Workflows: master conditional (4 branches) -> process workflows -> approval validation -> checks", "",
    "Summary:", summary_text, ""}, "\n"))
if completed < scenario_count then error(string.format("%d of %d processes failed", scenario_count - completed, scenario_count)) end
print("Done: " .. completed .. "/" .. scenario_count .. " processes. Output: " .. output_dir)
