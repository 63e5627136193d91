-- Communication Manager (layer 2, complex): "managing business communications is overwhelming".
-- Five agents behind one conditional workflow run per message: comm_classifier (type and
-- priority) and sentiment_analyzer run first; a negative message (or one a keyword rule flags)
-- takes the escalation branch (an urgent reply from response_generator, a notification, and a
-- tracking update), any other the standard branch (reply, meeting proposal from schedule_coordinator, tracking update from
-- tracking_agent). Client threads persist in State across runs, the run is a Session, and each
-- reply is stored as an Artifact of it.
--
-- Run: llmspell app run communication-manager [-- --messages N] [-- --webhook URL] [-- --output DIR]
-- (without --webhook, escalations are appended to escalations.log instead of POSTed)

local APP = "communication-manager"
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

print("=== Communication Manager ===")
print("Output: " .. output_dir)
local inbox = dofile(app_dir .. "/messages.lua")
local limit = math.min(#inbox, tonumber(ARGS.messages) or #inbox)
write("communication-queue.json", JSON.stringify({messages = inbox, processing = limit}, true))

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local n = {classifier = "comm_classifier_" .. stamp, sentiment = "sentiment_analyzer_" .. stamp,
    responder = "response_generator_" .. stamp, scheduler = "schedule_coordinator_" .. stamp,
    tracker = "tracking_agent_" .. stamp}
local function agent(name, prompt, max_tokens, model)
    Agent.builder():name(name):model(model or "openai/gpt-4o-mini"):system_prompt(prompt)
        :temperature(temp(0.2)):max_tokens(tokens(max_tokens)):max_conversation_length(0):build()
end
agent(n.classifier, "You classify business messages by type and priority (1-10). Answer with JSON only.", 80)
agent(n.sentiment, "You judge the sentiment of business messages: POSITIVE, NEUTRAL or NEGATIVE. Answer with JSON only.", 40,
    "anthropic/claude-3-haiku-20240307")
agent(n.responder, "You write short, professional replies to business messages. Reply text only, signed 'The team'.", 200)
agent(n.scheduler, "You find the meetings and follow-ups a message needs. Answer with JSON only.", 120)
agent(n.tracker, "You keep track of client relationships: status and next action. Answer with JSON only.", 80)
print("1. Created 5 agents: comm_classifier, sentiment_analyzer, response_generator, schedule_coordinator, tracking_agent")

-- 2. The conditional workflow -------------------------------------------------------------------
local classify_schema = {type = "object", properties = {type = {type = "string"},
    priority = {type = "integer", minimum = 1, maximum = 10}, summary = {type = "string"}},
    required = {"type", "priority", "summary"}}
local sentiment_schema = {type = "object", properties = {sentiment = {type = "string",
    enum = {"POSITIVE", "NEUTRAL", "NEGATIVE"}}}, required = {"sentiment"}}
local schedule_schema = {type = "object", properties = {meeting_needed = {type = "boolean"},
    proposed_times = string_list("suggested slots"), follow_up = {type = "string"}},
    required = {"meeting_needed", "proposed_times", "follow_up"}}
local tracking_schema = {type = "object", properties = {status = {type = "string"},
    next_action = {type = "string"}}, required = {"status", "next_action"}}

local notify_step
if ARGS.webhook then
    notify_step = {name = "notify_management", type = "tool", tool = "webhook-caller",
        input = {input = ARGS.webhook, method = "POST",
            payload = {alert = "negative message", client = "{{client}}", content = "{{message}}"}}}
else
    notify_step = {name = "notify_management", type = "tool", tool = "file_operations",
        input = {operation = "append", path = output_dir .. "/escalations.log",
            input = "[{{received_at}}] ESCALATION {{client}}: {{message}}\n"}}
end
local track_input = json_input("Client {{client}}. Message: {{message}}\nClassification: {{classify_communication}}\n"
    .. "Give the relationship status and the next action.", "tracking", tracking_schema)

local workflow = Workflow.builder()
    :name("communication_management")
    :description("Classify, judge sentiment, then escalate or answer normally")
    :conditional()
    :add_step({name = "classify_communication", type = "agent", agent = n.classifier,
        input = json_input("Message from {{sender}}: {{message}}\nGive its type, a priority from 1 to 10 and a one-line summary.",
            "classification", classify_schema)})
    :add_step({name = "analyze_sentiment", type = "agent", agent = n.sentiment,
        input = json_input("Message: {{message}}\nIs its sentiment POSITIVE, NEUTRAL or NEGATIVE?", "sentiment", sentiment_schema)})
    -- Escalate a negative message, or one the keyword rule flagged (the models may miss it).
    :condition({type = "or", conditions = {
        {type = "step_output_contains", step = "analyze_sentiment", text = "NEGATIVE"},
        {type = "shared_data_equals", key = "flagged", value = "yes"},
    }})
    :add_then_step({name = "escalate_response", type = "agent", agent = n.responder,
        input = "URGENT: write an immediate, empathetic reply that acknowledges the problem and promises a call within the hour.\nMessage from {{sender}}: {{message}}"})
    :add_then_step(notify_step)
    :add_then_step({name = "track_escalation", type = "agent", agent = n.tracker, input = track_input})
    :add_else_step({name = "standard_response", type = "agent", agent = n.responder,
        input = "Write a friendly professional reply.\nMessage from {{sender}}: {{message}}"})
    :add_else_step({name = "coordinate_schedule", type = "agent", agent = n.scheduler,
        input = json_input("Message: {{message}}\nIs a meeting needed? Propose up to three times and one follow-up.", "schedule", schedule_schema)})
    :add_else_step({name = "track_communication", type = "agent", agent = n.tracker, input = track_input})
    :build()
print("2. Conditional workflow: classify + sentiment, then escalation or standard branch")

-- 3. Work through the inbox ---------------------------------------------------------------------
local session = Session.create({name = "communication-manager " .. os.date("%Y-%m-%d %H:%M"),
    description = "One run of the communication manager", tags = {"app", APP}})
local threads, calendar, dashboard, log = {}, {}, {}, {}
local URGENT_WORDS = {"urgent", "immediately", "outage", "is down", "unacceptable", "asap"}
for i = 1, limit do
    local msg = inbox[i]
    local received_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
    local lower = msg.text:lower()
    local flagged = false
    for _, word in ipairs(URGENT_WORDS) do if lower:find(word, 1, true) then flagged = true end end
    local result = workflow:execute({text = msg.text, message = msg.text, sender = msg.from,
        client = msg.client, received_at = received_at, flagged = flagged and "yes" or "no"})
    if not result.success then error("message " .. msg.id .. " failed: " .. tostring(result.error)) end
    local out = result.outputs
    local class = parse_json(out.classify_communication) or {}
    local mood = (parse_json(out.analyze_sentiment) or {}).sentiment
    local escalated = out.escalate_response ~= nil
    if mood ~= "POSITIVE" and mood ~= "NEUTRAL" and mood ~= "NEGATIVE" then mood = escalated and "NEGATIVE" or "NEUTRAL" end
    local reply = clean(out.escalate_response or out.standard_response, "(no reply drafted)", 2000)
    local track = parse_json(out.track_escalation or out.track_communication) or {}
    local priority = math.max(1, math.min(10, math.floor(tonumber(class.priority) or (escalated and 9 or 5))))
    local entry = {message_id = msg.id, client = msg.client, from = msg.from, received_at = received_at,
        type = clean(class.type, msg.kind_hint, 60), priority = priority, sentiment = mood,
        branch = escalated and "escalation" or "standard", reply = reply,
        status = clean(track.status, "open", 80), next_action = clean(track.next_action, "follow up", 200),
        workflow_execution = result.metadata.extra.execution_id}
    -- The client's thread survives between runs (State), newest message last.
    local thread = State.load("custom:communication_manager", "thread:" .. msg.client) or {client = msg.client, messages = {}}
    thread.messages[#thread.messages + 1] = {id = msg.id, at = received_at, branch = entry.branch, priority = priority}
    State.save("custom:communication_manager", "thread:" .. msg.client, thread)
    Artifact.store(session, "agent_output", "reply-" .. msg.id .. ".txt", reply, {client = msg.client})
    threads[#threads + 1] = {client = msg.client, history_length = #thread.messages, last = entry}
    if not escalated then
        local plan = parse_json(out.coordinate_schedule) or {}
        calendar[#calendar + 1] = {client = msg.client, meeting_needed = plan.meeting_needed == true,
            proposed_times = strings(plan.proposed_times, {}, 80), follow_up = clean(plan.follow_up, entry.next_action, 200)}
    end
    dashboard[#dashboard + 1] = entry
    log[#log + 1] = string.format("[%s] %s %s (%s, priority %d, %s)\n  reply: %s", received_at, msg.id, msg.from,
        entry.type, priority, entry.branch, reply:sub(1, 300))
    print(string.format("3.%d %s: %s, %s -> %s branch", i, msg.id, entry.type, mood, entry.branch))
end
Session.complete(session)

-- 4. Outputs ------------------------------------------------------------------------------------
local escalations = 0
for _, e in ipairs(dashboard) do if e.branch == "escalation" then escalations = escalations + 1 end end
write("client-threads.json", JSON.stringify({session_id = session, threads = threads}, true))
write("schedule-calendar.json", JSON.stringify({generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"), entries = calendar}, true))
write("tracking-dashboard.json", JSON.stringify({session_id = session, processed = limit, escalations = escalations,
    standard = limit - escalations, communications = dashboard}, true))
write("communication-log.txt", "Communication log, session " .. session .. "\n\n" .. table.concat(log, "\n\n") .. "\n")
print("Done: " .. limit .. " messages, " .. escalations .. " escalated. Output: " .. output_dir)
