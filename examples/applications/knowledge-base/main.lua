-- Knowledge Base (layer 1, simple, RAG): personal knowledge management.
-- Three agents: ingestion_agent summarises and tags each document before it goes into the RAG
-- index; for each question, a sequential workflow has query_agent extract the relevant facts
-- from the passages RAG finds and synthesis_agent write the answer citing them; an update
-- workflow adds a new note the same way, and a search proves it can be found.
--
-- Run: llmspell app run knowledge-base [-- --questions N] [-- --output DIR]

local APP = "knowledge-base"
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

print("=== Knowledge Base ===")
print("Output: " .. output_dir)
if not RAG then
    error("knowledge-base needs RAG: set [rag] enabled = true in the configuration")
end
local corpus = dofile(app_dir .. "/documents.lua")
local question_count = math.min(#corpus.questions, tonumber(ARGS.questions) or #corpus.questions)
local scope = {scope = "custom", scope_id = "personal_knowledge"}

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local n = {ingestion = "ingestion_agent_" .. stamp, query = "query_agent_" .. stamp, synthesis = "synthesis_agent_" .. stamp}
local ingestion = Agent.builder():name(n.ingestion):model("openai/gpt-4o-mini")
    :system_prompt("You summarise a document in one sentence and give up to four topic tags. Answer with JSON only.")
    :temperature(temp(0.1)):max_tokens(tokens(120)):max_conversation_length(0):build()
Agent.builder():name(n.query):model("openai/gpt-4o-mini")
    :system_prompt("You pick out the facts in the passages that answer the question. Be brief; use only the passages.")
    :temperature(temp(0.1)):max_tokens(tokens(120)):max_conversation_length(0):build()
Agent.builder():name(n.synthesis):model("anthropic/claude-3-haiku-20240307")
    :system_prompt("You write a short, clear answer from the facts given, citing passages as [1], [2].")
    :temperature(temp(0.3)):max_tokens(tokens(160)):max_conversation_length(0):build()
print("1. Created 3 agents: ingestion_agent, query_agent, synthesis_agent")

-- 2. Ingestion ----------------------------------------------------------------------------------
local summary_schema = {type = "object", properties = {summary = {type = "string"}, tags = string_list("topics")},
    required = {"summary", "tags"}}
local documents = {}
local function add_document(doc)
    local reply = ingestion:execute(json_input("Title: " .. doc.title .. "\n" .. doc.content, "summary", summary_schema))
    local parsed = parse_json(reply.text) or {}
    local entry = {title = doc.title, summary = clean(parsed.summary, doc.content:sub(1, 120), 300),
        tags = strings(parsed.tags, {"general"}, 40)}
    local r = RAG.ingest({content = doc.title .. ". " .. doc.content,
        metadata = {title = doc.title, summary = entry.summary, tags = table.concat(entry.tags, ",")}}, scope)
    entry.vectors = r.vectors_created or 0
    documents[#documents + 1] = entry
    return entry
end
for _, doc in ipairs(corpus.documents) do add_document(doc) end
print("2. Ingested " .. #documents .. " documents")

-- 3. Questions (a sequential workflow: facts, then the answer) -------------------------------------
local query_workflow = Workflow.builder():name("knowledge_query"):sequential()
    :add_step({name = "extract_facts", type = "agent", agent = n.query,
        input = "Question: {{question}}\nPassages:\n{{passages}}\nWhich facts answer it?"})
    :add_step({name = "synthesize", type = "agent", agent = n.synthesis,
        input = "Question: {{question}}\nFacts: {{extract_facts}}\nPassages:\n{{passages}}\nAnswer in two sentences with citations."})
    :build()
local answers, total_hits = {}, 0
for i = 1, question_count do
    local question = corpus.questions[i]
    local found = RAG.search(question, {top_k = 3, scope = "custom", scope_id = "personal_knowledge"})
    local passages, sources = {}, {}
    for j, hit in ipairs(found.results or {}) do
        passages[#passages + 1] = "[" .. j .. "] " .. (hit.content or hit.text or "")
        sources[#sources + 1] = {title = hit.metadata and hit.metadata.title or hit.id, score = hit.score}
    end
    total_hits = total_hits + #sources
    local r = query_workflow:execute({text = question, question = question, passages = table.concat(passages, "\n")})
    if not r.success then error("question " .. i .. " failed: " .. tostring(r.error)) end
    answers[#answers + 1] = {question = question, answer = clean(r.outputs.synthesize, "(no answer)", 800),
        facts = clean(r.outputs.extract_facts, "", 600), sources = sources}
end
print("3. Answered " .. #answers .. " questions from " .. total_hits .. " passages")

-- 4. Update: a new note joins the knowledge base ------------------------------------------------
local update_workflow = Workflow.builder():name("knowledge_update"):sequential()
    :add_step({name = "review_note", type = "agent", agent = n.ingestion,
        input = json_input("Title: {{title}}\n{{content}}", "summary", summary_schema)})
    :build()
local updated = update_workflow:execute({text = corpus.update.content, title = corpus.update.title, content = corpus.update.content})
if not updated.success then error("the update failed: " .. tostring(updated.error)) end
local note = parse_json(updated.outputs.review_note) or {}
RAG.ingest({content = corpus.update.title .. ". " .. corpus.update.content,
    metadata = {title = corpus.update.title, summary = clean(note.summary, "", 300), added = "update"}}, scope)
local check = RAG.search("metatable __index", {top_k = 3, scope = "custom", scope_id = "personal_knowledge"})
local found_update = false
for _, hit in ipairs(check.results or {}) do
    if hit.metadata and hit.metadata.title == corpus.update.title then found_update = true end
end
local stats = RAG.get_stats("custom", "personal_knowledge") or {}
print("4. Added '" .. corpus.update.title .. "'" .. (found_update and " (found by search)" or " (not found by search)"))

-- 5. Outputs ------------------------------------------------------------------------------------
local md = {"# Knowledge Base Report", "", os.date("%Y-%m-%d %H:%M") .. ": " .. (#documents + 1) .. " documents, "
    .. tostring(stats.total_vectors or "?") .. " vectors", "", "## Documents", ""}
for _, d in ipairs(documents) do md[#md + 1] = "- **" .. d.title .. "** (" .. table.concat(d.tags, ", ") .. "): " .. d.summary end
md[#md + 1] = ""
md[#md + 1] = "## Answers"
for _, a in ipairs(answers) do
    md[#md + 1] = ""
    md[#md + 1] = "### " .. a.question
    md[#md + 1] = ""
    md[#md + 1] = a.answer
    local cited = {}
    for j, s in ipairs(a.sources) do cited[#cited + 1] = "[" .. j .. "] " .. tostring(s.title) end
    md[#md + 1] = ""
    md[#md + 1] = "Sources: " .. (#cited > 0 and table.concat(cited, "; ") or "none")
end
md[#md + 1] = ""
md[#md + 1] = "## Update"
md[#md + 1] = ""
md[#md + 1] = "Added **" .. corpus.update.title .. "**; a search for it " .. (found_update and "finds it." or "does not find it yet.")
write("knowledge-output.md", table.concat(md, "\n") .. "\n")
write("knowledge-stats.json", JSON.stringify({
    documents = documents, questions = answers, passages_found = total_hits,
    update = {title = corpus.update.title, found = found_update},
    stats = {total_documents = stats.total_documents, total_vectors = stats.total_vectors},
}, true))
print("Done: " .. #answers .. " answers. Output: " .. output_dir)
