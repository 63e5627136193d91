-- Code Review Assistant (layer 2, complex): code quality at scale.
-- Seven agents: for each file, a sequential workflow runs the security, quality, performance,
-- practices and dependency reviewers one after another (each answers JSON with a schema: issues
-- with a severity and a line); a fix workflow has fix_generator propose fixes for the most
-- severe issues, and a report workflow has report_writer write the executive summary.
--
-- Run: llmspell app run code-review-assistant [-- --input code-input.lua] [-- --files N]
--                                             [-- --output DIR]

local APP = "code-review-assistant"
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

print("=== Code Review Assistant ===")
print("Output: " .. output_dir)
local input = ARGS.input or "code-input.lua"
if not input:match("^/") then input = app_dir .. "/" .. input end
local samples = dofile(input)
local file_count = math.min(#samples, tonumber(ARGS.files) or #samples)
print("Reviewing " .. file_count .. " of " .. #samples .. " files from " .. input)

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local REVIEWERS = {
    {key = "security", focus = "security: secrets in code, injection, weak hashing, logging of sensitive data"},
    {key = "quality", focus = "code quality: naming, error handling, readability, duplication"},
    {key = "performance", focus = "performance: needless loops, repeated work, blocking calls"},
    {key = "practices", focus = "best practices of the language: idioms, resource handling, structure"},
    {key = "dependencies", focus = "dependencies: risky or outdated modules, missing pinning, unused imports"},
}
local names = {}
for _, r in ipairs(REVIEWERS) do
    names[r.key] = r.key .. "_reviewer_" .. stamp
    Agent.builder():name(names[r.key]):model(r.key == "security" and "anthropic/claude-3-haiku-20240307" or "openai/gpt-4o-mini")
        :system_prompt("You are a code reviewer focused on " .. r.focus .. ". Report concrete issues. Answer with JSON only.")
        :temperature(temp(0.1)):max_tokens(tokens(200)):max_conversation_length(0):build()
end
names.fix = "fix_generator_" .. stamp
names.report = "report_writer_" .. stamp
Agent.builder():name(names.fix):model("openai/gpt-4o-mini")
    :system_prompt("You propose minimal, concrete code fixes for review findings. Answer with JSON only.")
    :temperature(temp(0.2)):max_tokens(tokens(240)):max_conversation_length(0):build()
Agent.builder():name(names.report):model("openai/gpt-4o-mini")
    :system_prompt("You write short executive summaries of code reviews for engineering managers.")
    :temperature(temp(0.3)):max_tokens(tokens(200)):max_conversation_length(0):build()
print("1. Created 7 agents: 5 reviewers, fix_generator, report_writer")

-- 2. Review each file (a sequential workflow of the five reviewers) ------------------------------
local SEVERITIES = {"critical", "high", "medium", "low"}
local severity_rank = {critical = 1, high = 2, medium = 3, low = 4}
local issues_schema = {type = "object", properties = {issues = {type = "array", items = {type = "object",
    properties = {severity = {type = "string", enum = SEVERITIES}, line = {type = "integer"},
        description = {type = "string"}}, required = {"severity", "line", "description"}}}},
    required = {"issues"}}
local findings, all_issues = {}, {}
for i = 1, file_count do
    local sample = samples[i]
    local line_count = select(2, sample.code:gsub("\n", "\n")) + 1
    local numbered, n = {}, 0
    for line in (sample.code .. "\n"):gmatch("(.-)\n") do n = n + 1 numbered[#numbered + 1] = n .. ": " .. line end
    local builder = Workflow.builder():name("review_" .. sample.filename:gsub("%W", "_")):sequential()
    for _, r in ipairs(REVIEWERS) do
        builder:add_step({name = r.key, type = "agent", agent = names[r.key],
            input = json_input("Review this " .. sample.language .. " file (" .. sample.filename .. ") for " .. r.key
                .. " issues. Give each issue's severity, line number and description.\n{{code}}", "issues", issues_schema)})
    end
    local result = builder:build():execute({text = sample.code, code = table.concat(numbered, "\n")})
    if not result.success then error("the review of " .. sample.filename .. " failed: " .. tostring(result.error)) end
    local file_issues = {}
    for _, r in ipairs(REVIEWERS) do
        for _, issue in ipairs(json_list(result.outputs[r.key], "issues")) do
            local description = type(issue) == "table" and clean(issue.description, nil, 300)
            if description then
                local line = math.floor(tonumber(issue.line) or 0)
                file_issues[#file_issues + 1] = {file = sample.filename, aspect = r.key,
                    severity = severity_rank[issue.severity] and issue.severity or "medium",
                    line = (line >= 1 and line <= line_count) and line or nil, description = description}
            end
        end
    end
    for _, issue in ipairs(file_issues) do all_issues[#all_issues + 1] = issue end
    findings[#findings + 1] = {file = sample.filename, language = sample.language, lines = line_count,
        issues = file_issues, workflow = result.metadata.extra.execution_id}
    print(string.format("2.%d %s: %d issues from 5 reviewers", i, sample.filename, #file_issues))
end
table.sort(all_issues, function(a, b)
    if severity_rank[a.severity] ~= severity_rank[b.severity] then return severity_rank[a.severity] < severity_rank[b.severity] end
    return a.file < b.file
end)

-- 3. Fixes for the most severe issues -----------------------------------------------------------
local top = {}
for i = 1, math.min(5, #all_issues) do
    local issue = all_issues[i]
    top[#top + 1] = string.format("%d. [%s] %s line %s: %s", i, issue.severity, issue.file, tostring(issue.line or "?"), issue.description)
end
local fixes_schema = {type = "object", properties = {fixes = {type = "array", items = {type = "object",
    properties = {issue = {type = "integer"}, fix = {type = "string"}}, required = {"issue", "fix"}}}}, required = {"fixes"}}
local fix_result = Workflow.builder():name("fix_generation"):sequential()
    :add_step({name = "generate_fixes", type = "agent", agent = names.fix,
        input = json_input("Propose a fix for each numbered issue:\n{{issues}}", "fixes", fixes_schema)})
    :build():execute({text = "Generate fixes", issues = #top > 0 and table.concat(top, "\n") or "(no issues were reported)"})
if not fix_result.success then error("fix generation failed: " .. tostring(fix_result.error)) end
local fixes = {}
for _, f in ipairs(json_list(fix_result.outputs.generate_fixes, "fixes")) do
    local number = type(f) == "table" and math.floor(tonumber(f.issue) or 0)
    if number and all_issues[number] and number <= #top and clean(f.fix, nil) then
        fixes[#fixes + 1] = {issue = number, file = all_issues[number].file, fix = clean(f.fix, nil, 600)}
    end
end
print("3. " .. #fixes .. " fixes proposed for the " .. #top .. " most severe issues")

-- 4. Executive summary --------------------------------------------------------------------------
local counts = {critical = 0, high = 0, medium = 0, low = 0}
for _, issue in ipairs(all_issues) do counts[issue.severity] = counts[issue.severity] + 1 end
local report_result = Workflow.builder():name("report_generation"):sequential()
    :add_step({name = "write_summary", type = "agent", agent = names.report,
        input = "Files reviewed: {{files}}. Issues: {{counts}}. Most severe:\n{{top}}\nWrite a three-sentence executive summary."})
    :build():execute({text = "Generate report", files = tostring(file_count),
        counts = string.format("%d critical, %d high, %d medium, %d low", counts.critical, counts.high, counts.medium, counts.low),
        top = #top > 0 and table.concat(top, "\n") or "none"})
if not report_result.success then error("the report failed: " .. tostring(report_result.error)) end
local summary = clean(report_result.outputs.write_summary, "No summary was written.", 1500)

-- 5. Outputs ------------------------------------------------------------------------------------
write("review-findings.json", JSON.stringify({app = APP, reviewed_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    files = findings, totals = counts, total_issues = #all_issues, fixes = fixes}, true))
local md = {"# Code Review Report", "", os.date("%Y-%m-%d %H:%M") .. ": " .. file_count .. " files, 7 agents", "",
    "## Summary", "", summary, "", "## Findings", "",
    "| Severity | File | Line | Aspect | Issue |", "|---|---|---|---|---|"}
for _, issue in ipairs(all_issues) do
    md[#md + 1] = string.format("| %s | %s | %s | %s | %s |", issue.severity, issue.file, tostring(issue.line or "-"),
        issue.aspect, (issue.description:gsub("|", "/")))
end
if #all_issues == 0 then md[#md + 1] = "| - | - | - | - | no issues reported |" end
md[#md + 1] = ""
md[#md + 1] = "## Fixes"
md[#md + 1] = ""
for _, f in ipairs(fixes) do md[#md + 1] = "- Issue " .. f.issue .. " (" .. f.file .. "): " .. f.fix end
if #fixes == 0 then md[#md + 1] = "- No fixes proposed." end
write("review-report.md", table.concat(md, "\n") .. "\n")
write("review-summary.txt", string.format("Code review: %d files, %d issues (%d critical, %d high, %d medium, %d low), %d fixes\n\n%s\n",
    file_count, #all_issues, counts.critical, counts.high, counts.medium, counts.low, #fixes, summary))
print("Done: " .. #all_issues .. " issues, " .. #fixes .. " fixes. Output: " .. output_dir)
