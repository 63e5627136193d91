-- Research Collector (layer 1, simple, RAG): "I need to research this thoroughly".
-- Two agents in a parallel workflow: search_agent gathers findings on the topic while
-- synthesis_agent turns it into practical recommendations (both answer JSON with a schema).
-- RAG keeps the research: background notes are ingested first, related knowledge is searched
-- before the research and handed to both agents, and the new summary is ingested afterwards
-- (and searched again to prove it can be found next time).
--
-- Run: llmspell app run research-collector [-- --scenario vacation|health|shopping|education]
--                                          [-- --topic "any question"] [-- --output DIR]

local APP = "research-collector"
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

print("=== Research Collector ===")
print("Output: " .. output_dir)

local scenarios = dofile(app_dir .. "/research-topics.lua")
local topic = ARGS.topic or scenarios[ARGS.scenario or "vacation"]
if not topic then error("unknown scenario '" .. tostring(ARGS.scenario) .. "' (vacation, health, shopping, education)") end
write("research-query.txt", topic .. "\n")
print("Topic: " .. topic)

-- 0. Knowledge base -----------------------------------------------------------------------------
local scope = "research_knowledge"
local rag = {enabled = RAG ~= nil, hits = 0, sources = {}, ingested = 0, found_again = false}
local knowledge_context = "(no earlier knowledge)"
if RAG then
    local notes = dofile(app_dir .. "/background-notes.lua")
    local docs = {}
    for _, note in ipairs(notes) do
        docs[#docs + 1] = {content = note.content, metadata = {title = note.title, kind = "background"}}
    end
    local ingested = RAG.ingest_batch(docs, {scope = "custom", scope_id = scope})
    rag.ingested = ingested.documents_processed or #docs
    local found = RAG.search(topic, {top_k = 3, scope = "custom", scope_id = scope})
    local lines = {}
    for _, hit in ipairs(found.results or {}) do
        local title = hit.metadata and hit.metadata.title or hit.id
        rag.sources[#rag.sources + 1] = {title = title, score = hit.score}
        lines[#lines + 1] = "- " .. title .. ": " .. clean(hit.content or hit.text, "", 240)
    end
    rag.hits = #rag.sources
    if #lines > 0 then knowledge_context = table.concat(lines, "\n") end
    print("0. Knowledge base: " .. rag.ingested .. " notes ingested, " .. rag.hits .. " related entries found")
else
    print("0. RAG is not enabled ([rag] enabled = true): researching without a knowledge base")
end

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local search_name, synthesis_name = "search_agent_" .. stamp, "synthesis_agent_" .. stamp
Agent.builder():name(search_name):model("openai/gpt-4o-mini")
    :description("Gathers the facts a researcher needs")
    :system_prompt("You are a careful researcher. List concrete, useful findings about the topic. Answer with JSON only.")
    :temperature(temp(0.3)):max_tokens(tokens(220)):build()
Agent.builder():name(synthesis_name):model("anthropic/claude-3-haiku-20240307")
    :description("Turns research into practical recommendations")
    :system_prompt("You turn research into a short summary and practical recommendations for an ordinary person. Answer with JSON only.")
    :temperature(temp(0.4)):max_tokens(tokens(220)):build()
print("1. Created 2 agents: search_agent, synthesis_agent")

-- 2. Parallel research --------------------------------------------------------------------------
local findings_schema = {
    type = "object",
    properties = {findings = {type = "array", items = {type = "object",
        properties = {title = {type = "string"}, detail = {type = "string"}}, required = {"title", "detail"}}}},
    required = {"findings"},
}
local synthesis_schema = {
    type = "object",
    properties = {summary = {type = "string"}, recommendations = string_list("practical next steps")},
    required = {"summary", "recommendations"},
}
local workflow = Workflow.builder()
    :name("main_research")
    :description("Search and synthesis side by side")
    :parallel()
    :add_step({name = "search", type = "agent", agent = search_name,
        input = json_input("Topic: {{topic}}\nWhat we already know:\n{{knowledge}}\nList up to five findings (title and detail).",
            "findings", findings_schema)})
    :add_step({name = "synthesis", type = "agent", agent = synthesis_name,
        input = json_input("Topic: {{topic}}\nWhat we already know:\n{{knowledge}}\nWrite a two-sentence summary and up to four recommendations.",
            "synthesis", synthesis_schema)})
    :build()
local result = workflow:execute({text = topic, topic = topic, knowledge = knowledge_context})
if not result.success then error("the research workflow failed: " .. tostring(result.error)) end
print("2. Parallel workflow finished in " .. math.floor(result.metadata.execution_time_ms or 0) .. " ms")

local search = parse_json(result.outputs.search) or {}
local synthesis = parse_json(result.outputs.synthesis) or {}
local findings = {}
for _, f in ipairs(json_list(result.outputs.search, "findings")) do
    if type(f) == "table" and clean(f.title, nil) then
        findings[#findings + 1] = {title = clean(f.title, nil, 120), detail = clean(f.detail, "", 400)}
    end
end
if #findings == 0 then  -- the model's raw text is still the search agent's finding
    findings[1] = {title = "Search notes", detail = clean(result.outputs.search, "(no findings)", 600)}
end
for _, source in ipairs(rag.sources) do
    findings[#findings + 1] = {title = "From the knowledge base: " .. source.title, detail = "related earlier note"}
end
local summary = clean(synthesis.summary, clean(result.outputs.synthesis, "(no summary)", 600), 800)
local recommendations = strings(synthesis.recommendations, {"Compare at least two sources before deciding."}, 300)

-- 3. Summary, and the knowledge base grows --------------------------------------------------------
local md = {"# Research Summary: " .. topic, "", "Collected " .. os.date("%Y-%m-%d %H:%M") .. " by 2 agents in parallel.", "",
    "## Summary", "", summary, "", "## Findings", ""}
for _, f in ipairs(findings) do md[#md + 1] = "- **" .. f.title .. "**: " .. f.detail end
md[#md + 1] = ""
md[#md + 1] = "## Recommendations"
md[#md + 1] = ""
for i, r in ipairs(recommendations) do md[#md + 1] = i .. ". " .. r end
md[#md + 1] = ""
md[#md + 1] = "## Sources"
md[#md + 1] = ""
if #rag.sources == 0 then md[#md + 1] = "- (no knowledge base entries)" end
for _, s in ipairs(rag.sources) do md[#md + 1] = string.format("- %s (score %.2f)", s.title, tonumber(s.score) or 0) end
local summary_text = table.concat(md, "\n") .. "\n"
write("research-summary.md", summary_text)

if RAG then
    RAG.ingest({content = summary .. "\n" .. table.concat(recommendations, "\n"),
        metadata = {title = "Research: " .. topic, kind = "summary", research_query = topic}},
        {scope = "custom", scope_id = scope})
    local again = RAG.search(topic, {top_k = 5, scope = "custom", scope_id = scope})
    for _, hit in ipairs(again.results or {}) do
        if hit.metadata and hit.metadata.kind == "summary" then rag.found_again = true end
    end
    local stats = RAG.get_stats("custom", scope)
    rag.total_documents = stats and stats.total_documents
    print("3. Summary ingested into the knowledge base" .. (rag.found_again and " (found again by search)" or ""))
end

write("search-results.json", JSON.stringify({
    app = APP,
    query = topic,
    generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    workflow = {execution_id = result.metadata.extra.execution_id, type = "parallel", success = result.success},
    findings = findings,
    summary = summary,
    recommendations = recommendations,
    rag = rag,
}, true))
print("Done: " .. #findings .. " findings, " .. #recommendations .. " recommendations. Output: " .. output_dir)
