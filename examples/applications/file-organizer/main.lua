-- File Organizer (layer 1, simple): "my files are a complete mess".
-- Three agents in a loop workflow over the files of a messy folder: file_scanner describes
-- each file, category_classifier files it under one of seven categories (JSON with a schema;
-- a category the model gets wrong falls back to the file's extension), and
-- organization_suggester proposes a folder structure. The files are then copied into
-- organized/<Category>/ and the plan is written as organization.json and organization-plan.md.
--
-- Run: llmspell app run file-organizer [-- --output DIR --max-files N]
--  or: llmspell -c examples/applications/file-organizer/config.toml \
--        run examples/applications/file-organizer/main.lua -- --output DIR

local APP = "file-organizer"
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

local max_files = tonumber(ARGS["max-files"]) or 10

print("=== File Organizer ===")
print("Output: " .. output_dir)

local CATEGORIES = {"Documents", "Images", "Videos", "Audio", "Code", "Archive", "Other"}
local BY_EXTENSION = {
    pdf = "Documents", txt = "Documents", docx = "Documents", doc = "Documents", pptx = "Documents",
    md = "Documents", jpg = "Images", jpeg = "Images", png = "Images", gif = "Images",
    mp4 = "Videos", mov = "Videos", mkv = "Videos", mp3 = "Audio", wav = "Audio", flac = "Audio",
    py = "Code", lua = "Code", js = "Code", rs = "Code", zip = "Archive", tar = "Archive", gz = "Archive",
}

-- 1. Agents -------------------------------------------------------------------------------------
local stamp = os.time()
local names = {
    scanner = "file_scanner_" .. stamp,
    classifier = "category_classifier_" .. stamp,
    suggester = "organization_suggester_" .. stamp,
}
Agent.builder():name(names.scanner):model("openai/gpt-4o-mini")
    :description("Describes what a file probably holds from its name")
    :system_prompt("You look at a file name and say in one short sentence what the file most likely contains.")
    :temperature(temp(0.1)):max_tokens(tokens(48)):max_conversation_length(0):build()
Agent.builder():name(names.classifier):model("anthropic/claude-3-haiku-20240307")
    :description("Files each file under one category")
    :system_prompt("You sort files into exactly one of these folders: " .. table.concat(CATEGORIES, ", ")
        .. ". Answer with JSON only.")
    :temperature(temp(0)):max_tokens(tokens(48)):max_conversation_length(0):build()
local suggester = Agent.builder():name(names.suggester):model("openai/gpt-4o-mini")
    :description("Suggests a simple folder structure")
    :system_prompt("You suggest simple folder structures for ordinary computer users. Answer with JSON only.")
    :temperature(temp(0.3)):max_tokens(tokens(160)):build()
print("1. Created 3 agents: file_scanner, category_classifier, organization_suggester")

-- 2. The messy folder ---------------------------------------------------------------------------
local samples = dofile(app_dir .. "/sample-files.lua")
for _, file in ipairs(samples) do write("messy_files/" .. file.name, file.content .. "\n") end
local listing = Tool.invoke("file_operations", {operation = "list_dir", path = output_dir .. "/messy_files"})
local files = {}
for _, entry in ipairs(listing.result or {}) do
    if entry.type == "file" then files[#files + 1] = entry.name end
end
table.sort(files)
print("2. Messy folder: " .. #files .. " files in " .. output_dir .. "/messy_files")

-- 3. Loop workflow: scan and classify each file -------------------------------------------------
local classification_schema = {
    type = "object",
    properties = {
        category = {type = "string", enum = CATEGORIES},
        reason = {type = "string"},
    },
    required = {"category", "reason"},
}
local workflow = Workflow.builder()
    :name("file_organization")
    :description("Scan and classify each file of the messy folder")
    :loop()
    :with_collection(files)
    :max_iterations(max_files)
    :add_step({
        name = "scan_file",
        type = "agent",
        agent = names.scanner,
        input = "File name: {{loop_value}}. In one sentence: what does this file most likely contain?",
    })
    :add_step({
        name = "classify_file",
        type = "agent",
        agent = names.classifier,
        input = {
            text = "File name: {{loop_value}}. Which folder does it belong in? "
                .. "Give the category and a short reason as JSON.",
            parameters = {response_format = {name = "classification", schema = classification_schema}},
        },
    })
    :build()
print("3. Loop workflow over " .. math.min(#files, max_files) .. " files (max_iterations " .. max_files .. ")")
local result = workflow:execute({text = "Organize the messy folder"})
if not result.success then error("the organization workflow failed: " .. tostring(result.error)) end
local execution = result.metadata.extra.execution_id

-- Each iteration's step outputs, from the workflow's state records (iteration_<i>:<step>).
local per_iteration = {}
for _, suffix in ipairs(State.workflow_list(execution) or {}) do
    local index, step = suffix:match("^iteration_(%d+):(.+)$")
    if index then
        local record = State.workflow_get(execution, suffix)
        per_iteration[tonumber(index)] = per_iteration[tonumber(index)] or {}
        per_iteration[tonumber(index)][step] = record and record.output
    end
end
local first_index = per_iteration[0] and 0 or 1

-- 4. Categories: the model's answer when it is one of the seven, else the extension rule -------
local valid = {}
for _, c in ipairs(CATEGORIES) do valid[c] = true end
local organized, counts = {}, {}
local processed = math.min(#files, max_files)
for i = 1, processed do
    local name = files[i]
    local outputs = per_iteration[i - 1 + first_index] or {}
    local answer = parse_json(outputs.classify_file) or {}
    local extension = (name:match("%.([%w]+)$") or ""):lower()
    local category, source = answer.category, "model"
    if not valid[category] then category, source = BY_EXTENSION[extension] or "Other", "extension rule" end
    organized[#organized + 1] = {
        name = name,
        category = category,
        decided_by = source,
        description = clean(outputs.scan_file, "(no description)", 200),
        reason = clean(answer.reason, "", 200),
    }
    counts[category] = (counts[category] or 0) + 1
    Tool.invoke("file_operations", {
        operation = "copy",
        source_path = output_dir .. "/messy_files/" .. name,
        target_path = output_dir .. "/organized/" .. category .. "/" .. name,
    })
end
print("4. Classified " .. processed .. " files; copies are in " .. output_dir .. "/organized")

-- 5. Folder structure suggestion ----------------------------------------------------------------
local lines = {}
for _, f in ipairs(organized) do lines[#lines + 1] = f.name .. " -> " .. f.category end
local suggestion_schema = {
    type = "object",
    properties = {
        folders = {type = "array", items = {type = "object",
            properties = {name = {type = "string"}, purpose = {type = "string"}}, required = {"name", "purpose"}}},
        tips = {type = "array", items = {type = "string"}},
    },
    required = {"folders", "tips"},
}
local reply = suggester:execute({
    text = "These files were sorted like this:\n" .. table.concat(lines, "\n")
        .. "\nSuggest a simple folder structure (folders with their purpose) and up to three tips, as JSON.",
    parameters = {response_format = {name = "structure", schema = suggestion_schema}},
})
local suggestion = parse_json(reply.text) or {}
local folders = {}
for _, folder in ipairs(json_list(reply.text, "folders")) do
    if type(folder) == "table" and clean(folder.name, nil) then
        folders[#folders + 1] = {name = clean(folder.name, nil, 60), purpose = clean(folder.purpose, "", 160)}
    end
end
if #folders == 0 then  -- the categories in use are a structure of their own
    for _, c in ipairs(CATEGORIES) do
        if counts[c] then folders[#folders + 1] = {name = c, purpose = counts[c] .. " file(s)"} end
    end
end
local tips = {}
for _, tip in ipairs(type(suggestion.tips) == "table" and suggestion.tips or {}) do
    if clean(tip, nil) then tips[#tips + 1] = clean(tip, nil, 200) end
end
if #tips == 0 then tips = {"Keep new downloads in one inbox folder and sort it weekly."} end
print("5. Suggested " .. #folders .. " folders")

-- 6. The plan -----------------------------------------------------------------------------------
local category_counts = {}
for _, c in ipairs(CATEGORIES) do category_counts[c] = counts[c] or 0 end
write("organization.json", JSON.stringify({
    app = APP,
    generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    workflow = {execution_id = execution, iterations = result.metadata.extra.iterations,
        success = result.success},
    files = organized,
    categories = category_counts,
    folders = folders,
    tips = tips,
}, true))

local md = {"# File Organization Plan", "", "Generated " .. os.date("%Y-%m-%d %H:%M"), "",
    "## Summary", "", processed .. " of " .. #files .. " files scanned and classified by 3 agents; "
        .. "copies sorted into `organized/`.", "", "## Categories", "",
    "| File | Category | Decided by | Description |", "|---|---|---|---|"}
for _, f in ipairs(organized) do
    md[#md + 1] = string.format("| %s | %s | %s | %s |", f.name, f.category, f.decided_by,
        (f.description:gsub("|", "/")))
end
md[#md + 1] = ""
md[#md + 1] = "## Suggested structure"
md[#md + 1] = ""
for _, folder in ipairs(folders) do md[#md + 1] = "- **" .. folder.name .. "/**: " .. folder.purpose end
md[#md + 1] = ""
md[#md + 1] = "## Next steps"
md[#md + 1] = ""
for _, tip in ipairs(tips) do md[#md + 1] = "- " .. tip end
write("organization-plan.md", table.concat(md, "\n") .. "\n")

print("6. Wrote " .. output_dir .. "/organization-plan.md and organization.json")
print("Done: " .. processed .. " files organized into " .. #folders .. " folders. Output: " .. output_dir)
