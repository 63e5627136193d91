-- Personal Assistant (layer 2, complex, RAG): an AI productivity companion for the day.
-- Four agents: task_agent prioritises the tasks and schedule_agent plans the day side by side
-- (a parallel workflow, JSON with a schema); knowledge_agent answers questions from what RAG
-- finds in the day's tasks, calendar and notes (a sequential workflow per question); and
-- communication_agent drafts the day's message (another sequential workflow).
--
-- Run: llmspell app run personal-assistant [-- --questions N] [-- --output DIR]

local APP = "personal-assistant"
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

print("=== Personal Assistant ===")
print("Output: " .. output_dir)
local day = dofile(app_dir .. "/daily-context.lua")
local question_count = math.min(#day.questions, tonumber(ARGS.questions) or #day.questions)

-- 0. Knowledge: the day goes into RAG ------------------------------------------------------------
local scope = {scope = "custom", scope_id = "personal_assistant"}
local rag = {enabled = RAG ~= nil, ingested = 0, hits = 0}
local task_lines, schedule_lines = {}, {}
for _, t in ipairs(day.tasks) do
    task_lines[#task_lines + 1] = string.format("%s (priority %s, %s, due %s)", t.task, t.priority, t.category, t.deadline)
end
for _, e in ipairs(day.schedule) do
    schedule_lines[#schedule_lines + 1] = string.format("%s %s (%d min)", e.time, e.event, e.minutes)
end
if RAG then
    local docs = {}
    for i, line in ipairs(task_lines) do docs[#docs + 1] = {content = "Task: " .. line, metadata = {type = "task", index = i}} end
    for i, line in ipairs(schedule_lines) do docs[#docs + 1] = {content = "Calendar: " .. line, metadata = {type = "schedule", index = i}} end
    for i, note in ipairs(day.notes) do docs[#docs + 1] = {content = "Note: " .. note, metadata = {type = "note", index = i}} end
    rag.ingested = (RAG.ingest_batch(docs, scope) or {}).documents_processed or #docs
    print("0. Knowledge base: " .. rag.ingested .. " entries for today")
else
    print("0. RAG is not enabled ([rag] enabled = true): answers use the whole day instead")
end

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local n = {task = "task_agent_" .. stamp, schedule = "schedule_agent_" .. stamp,
    knowledge = "knowledge_agent_" .. stamp, communication = "communication_agent_" .. stamp}
local function agent(name, prompt, max_tokens)
    Agent.builder():name(name):model("openai/gpt-4o-mini"):system_prompt(prompt)
        :temperature(temp(0.3)):max_tokens(tokens(max_tokens)):max_conversation_length(0):build()
end
agent(n.task, "You help people prioritise their tasks: urgent and due-today first. Answer with JSON only.", 200)
agent(n.schedule, "You plan a productive day around fixed meetings, with breaks. Answer with JSON only.", 200)
agent(n.knowledge, "You answer questions about the user's day using only the facts given. Be brief.", 100)
agent(n.communication, "You draft short, " .. day.preferences.style .. " messages.", 200)
print("1. Created 4 agents: task_agent, schedule_agent, knowledge_agent, communication_agent")

-- 2. Daily planning (parallel) ------------------------------------------------------------------
local tasks_schema = {type = "object", properties = {priorities = {type = "array", items = {type = "object",
    properties = {task = {type = "string"}, why = {type = "string"}}, required = {"task", "why"}}}},
    required = {"priorities"}}
local schedule_schema = {type = "object", properties = {blocks = {type = "array", items = {type = "object",
    properties = {time = {type = "string"}, activity = {type = "string"}}, required = {"time", "activity"}}},
    tip = {type = "string"}}, required = {"blocks", "tip"}}
local planning = Workflow.builder():name("daily_planning"):parallel()
    :add_step({name = "analyze_tasks", type = "agent", agent = n.task,
        input = json_input("Today's tasks:\n{{tasks}}\nList them in the order to do them, each with a short reason.", "priorities", tasks_schema)})
    :add_step({name = "optimize_schedule", type = "agent", agent = n.schedule,
        input = json_input("Fixed calendar:\n{{schedule}}\nWork hours {{hours}}, breaks {{breaks}}. Plan the day in time blocks and give one tip.", "day_plan", schedule_schema)})
    :build()
local planned = planning:execute({text = "Plan my day", tasks = table.concat(task_lines, "\n"),
    schedule = table.concat(schedule_lines, "\n"), hours = day.preferences.work_hours, breaks = day.preferences.breaks})
if not planned.success then error("daily planning failed: " .. tostring(planned.error)) end

-- The model's order where it names real tasks; every task keeps a place (urgent first).
local rank = {urgent = 1, high = 2, medium = 3, low = 4}
local by_name, ordered, seen = {}, {}, {}
for _, t in ipairs(day.tasks) do by_name[t.task:lower()] = t end
for _, p in ipairs(json_list(planned.outputs.analyze_tasks, "priorities")) do
    local t = type(p) == "table" and type(p.task) == "string" and by_name[p.task:lower()]
    if t and not seen[t.task] then
        seen[t.task] = true
        ordered[#ordered + 1] = {task = t.task, priority = t.priority, deadline = t.deadline, why = clean(p.why, "", 200)}
    end
end
local rest = {}
for _, t in ipairs(day.tasks) do if not seen[t.task] then rest[#rest + 1] = t end end
table.sort(rest, function(a, b) return rank[a.priority] < rank[b.priority] end)
for _, t in ipairs(rest) do
    ordered[#ordered + 1] = {task = t.task, priority = t.priority, deadline = t.deadline, why = "priority " .. t.priority}
end
local day_plan = parse_json(planned.outputs.optimize_schedule) or {}
local blocks = {}
for _, b in ipairs(json_list(planned.outputs.optimize_schedule, "blocks")) do
    if type(b) == "table" and clean(b.time, nil) and clean(b.activity, nil) then
        blocks[#blocks + 1] = {time = clean(b.time, nil, 20), activity = clean(b.activity, nil, 160)}
    end
end
if #blocks == 0 then for _, e in ipairs(day.schedule) do blocks[#blocks + 1] = {time = e.time, activity = e.event} end end
print("2. Daily plan: " .. #ordered .. " tasks in order, " .. #blocks .. " time blocks")

-- 3. Questions (sequential workflow per question, context from RAG) -------------------------------
local knowledge = Workflow.builder():name("knowledge_query"):sequential()
    :add_step({name = "answer", type = "agent", agent = n.knowledge,
        input = "Facts about my day:\n{{facts}}\nQuestion: {{question}}"})
    :build()
local everything = table.concat(task_lines, "\n") .. "\n" .. table.concat(schedule_lines, "\n")
local answers = {}
for i = 1, question_count do
    local question = day.questions[i]
    local facts, sources = everything, {}
    if RAG then
        local found = RAG.search(question, {top_k = 4, scope = "custom", scope_id = "personal_assistant"})
        local lines = {}
        for _, hit in ipairs(found.results or {}) do
            lines[#lines + 1] = hit.content or hit.text
            sources[#sources + 1] = hit.metadata and hit.metadata.type or "entry"
        end
        rag.hits = rag.hits + #lines
        if #lines > 0 then facts = table.concat(lines, "\n") end
    end
    local r = knowledge:execute({text = question, question = question, facts = facts})
    if not r.success then error("question " .. i .. " failed: " .. tostring(r.error)) end
    answers[#answers + 1] = {question = question, answer = clean(r.outputs.answer, "(no answer)", 600), sources = sources}
end
print("3. Answered " .. #answers .. " questions (" .. rag.hits .. " knowledge base hits)")

-- 4. The day's message (sequential) -------------------------------------------------------------
local communication = Workflow.builder():name("communication_helper"):sequential()
    :add_step({name = "draft_message", type = "agent", agent = n.communication,
        input = "Draft a short {{kind}} to {{recipient}} to {{purpose}}. Mention: {{top_task}}."})
    :build()
local drafted = communication:execute({text = day.message.purpose, kind = day.message.kind,
    recipient = day.message.recipient, purpose = day.message.purpose, top_task = ordered[1].task})
if not drafted.success then error("the message draft failed: " .. tostring(drafted.error)) end
local draft = clean(drafted.outputs.draft_message, nil) and drafted.outputs.draft_message or "(no draft)"
print("4. Drafted the " .. day.message.kind .. " to " .. day.message.recipient)

-- 5. Outputs ------------------------------------------------------------------------------------
write("personal-tasks.json", JSON.stringify({date = os.date("%Y-%m-%d"), tasks = ordered,
    workflow = planned.metadata.extra.execution_id, rag = rag}, true))
local schedule_md = {"# Schedule for " .. os.date("%A %d %B"), "", "## Time blocks", "", "| Time | Activity |", "|---|---|"}
for _, b in ipairs(blocks) do schedule_md[#schedule_md + 1] = "| " .. b.time .. " | " .. b.activity:gsub("|", "/") .. " |" end
schedule_md[#schedule_md + 1] = ""
schedule_md[#schedule_md + 1] = "## Tip"
schedule_md[#schedule_md + 1] = ""
schedule_md[#schedule_md + 1] = clean(day_plan.tip, "Take a short break every " .. day.preferences.breaks .. ".", 300)
write("personal-schedule.md", table.concat(schedule_md, "\n") .. "\n")
write("personal-notes.txt", table.concat(day.notes, "\n") .. "\n")
local report = {"# Personal Assistant Daily Report", "", os.date("%Y-%m-%d") .. ", 4 agents, "
    .. (RAG and (rag.ingested .. " knowledge base entries") or "no knowledge base"), "", "## Priorities", ""}
for i, t in ipairs(ordered) do report[#report + 1] = string.format("%d. %s (%s, due %s): %s", i, t.task, t.priority, t.deadline, t.why) end
report[#report + 1] = ""
report[#report + 1] = "## Schedule"
report[#report + 1] = ""
for _, b in ipairs(blocks) do report[#report + 1] = "- " .. b.time .. " " .. b.activity end
report[#report + 1] = ""
report[#report + 1] = "## Answers"
report[#report + 1] = ""
for _, a in ipairs(answers) do report[#report + 1] = "- **" .. a.question .. "** " .. a.answer end
report[#report + 1] = ""
report[#report + 1] = "## Draft message"
report[#report + 1] = ""
report[#report + 1] = draft
write("assistant-report.md", table.concat(report, "\n") .. "\n")
write("answers.json", JSON.stringify({answers = answers, rag = rag}, true))
print("Done: report, tasks and schedule written. Output: " .. output_dir)
