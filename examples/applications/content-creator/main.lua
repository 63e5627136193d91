-- Content Creator (layer 2, complex): "creating content takes forever".
-- Four agents: content_planner plans (JSON: title, sections, key points), content_writer drafts
-- it (a sequential workflow), content_editor and content_formatter check grammar and SEO side
-- by side (a parallel workflow, JSON scores), and a conditional workflow sends a draft below
-- the quality threshold back to the editor for a revision (or just tidies a good one). The
-- final article is assembled from the plan's structure, so it always has its sections.
--
-- Run: llmspell app run content-creator [-- --request 1|2|3] [-- --threshold 7] [-- --output DIR]

local APP = "content-creator"
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

print("=== Content Creator ===")
print("Output: " .. output_dir)
local requests = dofile(app_dir .. "/content-input.lua")
local request = requests[tonumber(ARGS.request) or 1]
if not request then error("no content request " .. tostring(ARGS.request) .. " (1.." .. #requests .. ")") end
local threshold = tonumber(ARGS.threshold) or 7
write("content-topic.txt", request.type .. ": " .. request.topic .. "\n")
print("Request: " .. request.type .. " - " .. request.topic)

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local n = {planner = "content_planner_" .. stamp, writer = "content_writer_" .. stamp,
    editor = "content_editor_" .. stamp, formatter = "content_formatter_" .. stamp}
Agent.builder():name(n.planner):model("openai/gpt-4o-mini")
    :system_prompt("You plan written content: a title, three to five section headings and key points. Answer with JSON only.")
    :temperature(temp(0.4)):max_tokens(tokens(200)):build()
Agent.builder():name(n.writer):model("openai/gpt-4o-mini")
    :system_prompt("You write clear, engaging content that follows the plan you are given. Plain prose, no preamble.")
    :temperature(temp(0.7)):max_tokens(tokens(400)):build()
Agent.builder():name(n.editor):model("anthropic/claude-3-haiku-20240307")
    :system_prompt("You are an editor: you judge grammar, clarity and style, and you revise drafts when asked.")
    :temperature(temp(0.2)):max_tokens(tokens(300)):build()
Agent.builder():name(n.formatter):model("openai/gpt-4o-mini")
    :system_prompt("You judge how well content is optimised for readers and search engines. Answer with JSON only.")
    :temperature(temp(0.2)):max_tokens(tokens(160)):build()
print("1. Created 4 agents: content_planner, content_writer, content_editor, content_formatter")

-- 2. Plan and draft (sequential) ----------------------------------------------------------------
local plan_schema = {
    type = "object",
    properties = {title = {type = "string"}, sections = string_list("section headings"),
        key_points = string_list("points the content must make")},
    required = {"title", "sections", "key_points"},
}
local creation = Workflow.builder():name("content_creation"):sequential()
    :add_step({name = "plan_content", type = "agent", agent = n.planner,
        input = json_input("Plan a {{type}} on: {{topic}}. Audience: {{audience}}. Tone: {{tone}}. "
            .. "Give a title, section headings and key points.", "plan", plan_schema)})
    :add_step({name = "write_draft", type = "agent", agent = n.writer,
        input = "Write a {{type}} of about {{words}} words on '{{topic}}' for {{audience}}, following this plan: {{plan_content}}"})
    :build()
local created = creation:execute({text = request.topic, type = request.type, topic = request.topic,
    audience = request.audience, tone = request.tone, words = tostring(request.words)})
if not created.success then error("content creation failed: " .. tostring(created.error)) end
local plan = parse_json(created.outputs.plan_content) or {}
local title = clean(plan.title, request.topic, 120)
local sections = strings(plan.sections, {"Introduction", "Main points", "Conclusion"}, 80)
local key_points = strings(plan.key_points, request.keywords, 200)
local draft = clean(created.outputs.write_draft, nil) and created.outputs.write_draft or ("(the writer produced no text) " .. request.topic)
write("content-plan.md", table.concat({"# Content Plan: " .. title, "", "## Audience", "", request.audience,
    "", "## Sections", "", "- " .. table.concat(sections, "\n- "), "", "## Key points", "", "- " .. table.concat(key_points, "\n- "), ""}, "\n"))
write("draft-content.md", "# " .. title .. "\n\n" .. draft .. "\n")
print("2. Planned " .. #sections .. " sections and wrote a draft of " .. select(2, draft:gsub("%S+", "")) .. " words")

-- 3. Quality checks (parallel) ------------------------------------------------------------------
local grammar_schema = {type = "object", properties = {score = {type = "integer", minimum = 0, maximum = 10},
    issues = string_list("problems found")}, required = {"score", "issues"}}
local seo_schema = {type = "object", properties = {score = {type = "integer", minimum = 0, maximum = 10},
    keywords = string_list("keywords the text uses"), suggestions = string_list("improvements")},
    required = {"score", "keywords", "suggestions"}}
local quality = Workflow.builder():name("parallel_quality_checks"):parallel()
    :add_step({name = "grammar_check", type = "agent", agent = n.editor,
        input = json_input("Score this draft from 0 to 10 for grammar, clarity and style and list its issues:\n{{draft}}", "grammar", grammar_schema)})
    :add_step({name = "seo_check", type = "agent", agent = n.formatter,
        input = json_input("Score this draft from 0 to 10 for readability and search optimisation (keywords: {{keywords}}) and suggest improvements:\n{{draft}}", "seo", seo_schema)})
    :build()
local checked = quality:execute({text = draft, draft = draft, keywords = table.concat(request.keywords, ", ")})
if not checked.success then error("quality checks failed: " .. tostring(checked.error)) end
local grammar = parse_json(checked.outputs.grammar_check) or {}
local seo = parse_json(checked.outputs.seo_check) or {}
local function score(v) v = tonumber(v) if not v then return 5 end return math.max(0, math.min(10, math.floor(v))) end
local grammar_score, seo_score = score(grammar.score), score(seo.score)
local overall = (grammar_score + seo_score) / 2
print("3. Quality: grammar " .. grammar_score .. "/10, SEO " .. seo_score .. "/10")

-- 4. Quality gate (conditional) -----------------------------------------------------------------
local issues = strings(grammar.issues, {}, 200)
local gate = Workflow.builder():name("quality_gate"):conditional()
    :condition({type = "shared_data_equals", key = "needs_revision", value = "yes"})
    :add_then_step({name = "revise", type = "agent", agent = n.editor,
        input = "Revise this draft so it reads better; fix: {{issues}}. Return only the revised text.\n{{draft}}"})
    :add_else_step({name = "tidy", type = "tool", tool = "text_manipulator",
        input = {operation = "normalize_whitespace", input = "{{draft}}"}})
    :build()
local gated = gate:execute({text = draft, draft = draft, issues = table.concat(issues, "; "),
    needs_revision = overall < threshold and "yes" or "no"})
if not gated.success then error("the quality gate failed: " .. tostring(gated.error)) end
local revised = overall < threshold
local final_body = clean(gated.outputs.revise or gated.outputs.tidy, nil) and (gated.outputs.revise or gated.outputs.tidy) or draft
print("4. Quality gate: " .. (revised and "revised by the editor" or "good enough, tidied"))

-- 5. Final content ------------------------------------------------------------------------------
-- The body's paragraphs are spread over the plan's sections, so every section has text.
local paragraphs = {}
for p in (final_body .. "\n\n"):gmatch("(.-)\n%s*\n") do
    p = p:gsub("^%s+", ""):gsub("%s+$", "")
    if p ~= "" and not p:match("^#") then paragraphs[#paragraphs + 1] = p end
end
if #paragraphs == 0 then paragraphs = {final_body} end
local md = {"# " .. title, "", "*A " .. request.type .. " for " .. request.audience .. "*", ""}
local per = math.max(1, math.ceil(#paragraphs / #sections))
for i, heading in ipairs(sections) do
    md[#md + 1] = "## " .. heading
    md[#md + 1] = ""
    local chunk = {}
    for j = (i - 1) * per + 1, math.min(#paragraphs, i * per) do chunk[#chunk + 1] = paragraphs[j] end
    md[#md + 1] = #chunk > 0 and table.concat(chunk, "\n\n") or ("- " .. (key_points[i] or heading))
    md[#md + 1] = ""
end
write("final-content.md", table.concat(md, "\n"))
write("quality-report.json", JSON.stringify({
    app = APP,
    request = request,
    title = title,
    grammar = {score = grammar_score, issues = issues},
    seo = {score = seo_score, keywords = strings(seo.keywords, request.keywords, 80),
        suggestions = strings(seo.suggestions, {}, 200)},
    overall_score = overall,
    threshold = threshold,
    revised = revised,
    workflows = {creation = created.metadata.extra.execution_id, quality = checked.metadata.extra.execution_id,
        gate = gated.metadata.extra.execution_id},
}, true))
print("Done: " .. title .. " (" .. #sections .. " sections). Output: " .. output_dir)
