-- WebApp Creator (layer 3, expert): build a web application with AI.
-- Twenty agents in one sequential workflow, from requirements to code review, each answering
-- JSON with a schema; then a loop workflow over the data model's entities has the backend,
-- frontend and test agents design each entity's CRUD code. The project's files are generated
-- from those answers by templates, so a small model's imperfect replies still give files that
-- parse: SQL that SQLite accepts, an OpenAPI YAML, JavaScript that `node --check` accepts, JSON
-- documents and a README.
--
-- Run: llmspell app run webapp-creator [-- --input user-input.lua|minimal-input.lua|FILE]
--                                      [-- --entities N] [-- --output DIR]

local APP = "webapp-creator"
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

print("=== WebApp Creator ===")
local input_file = ARGS.input or "user-input.lua"
if not input_file:match("^/") then input_file = app_dir .. "/" .. input_file end
local spec = dofile(input_file)
if type(spec) ~= "table" or type(spec.requirements) ~= "string" or type(spec.entities) ~= "table" then
    error(input_file .. " must return {project = {...}, requirements = '...', entities = {...}}")
end
local project = spec.project or {}
local project_name = clean(project.name, "webapp", 60)
local slug = project_name:lower():gsub("[^%w]+", "-"):gsub("^-+", ""):gsub("-+$", "")
local project_dir = slug
local entity_count = math.min(#spec.entities, tonumber(ARGS.entities) or #spec.entities)
local tech = spec.technical or {}
print("Project: " .. project_name .. " from " .. input_file)
print("Output: " .. output_dir .. "/" .. project_dir)

local function file(relative, content) return write(project_dir .. "/" .. relative, content) end

-- Identifiers for SQL and JavaScript: lower snake case, never empty, never starting with a digit.
local function ident(text, default)
    local s = tostring(text or ""):lower():gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", "")
    if s == "" then s = default or "item" end
    if s:match("^%d") then s = "x_" .. s end
    return s
end
local function comment(text) return (tostring(text or ""):gsub("[\r\n]+", " "):gsub("%*/", "* /")) end
local function js(value) return JSON.stringify(value) end
local SQL_TYPES = {text = "TEXT", string = "TEXT", integer = "INTEGER", int = "INTEGER", decimal = "NUMERIC",
    number = "NUMERIC", float = "REAL", boolean = "BOOLEAN", bool = "BOOLEAN", date = "DATE", datetime = "TIMESTAMP"}

-- A YAML document from a Lua value (strings double-quoted, so any text is safe).
local function yaml(value, indent)
    indent = indent or ""
    local lines = {}
    local function scalar(v)
        if type(v) == "string" then return JSON.stringify(v) end
        return tostring(v)
    end
    if type(value) ~= "table" then return scalar(value) end
    if #value > 0 then
        for _, item in ipairs(value) do
            if type(item) == "table" then
                local inner = yaml(item, indent .. "  ")
                lines[#lines + 1] = indent .. "- " .. inner:gsub("^%s+", "")
            else
                lines[#lines + 1] = indent .. "- " .. scalar(item)
            end
        end
    else
        local keys = {}
        for k in pairs(value) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        for _, k in ipairs(keys) do
            local v = value[k]
            if type(v) == "table" and next(v) ~= nil then
                lines[#lines + 1] = indent .. JSON.stringify(k) .. ":"
                lines[#lines + 1] = yaml(v, indent .. "  ")
            elseif type(v) == "table" then
                lines[#lines + 1] = indent .. JSON.stringify(k) .. ": {}"
            else
                lines[#lines + 1] = indent .. JSON.stringify(k) .. ": " .. scalar(v)
            end
        end
    end
    return table.concat(lines, "\n")
end

-- 1. The twenty agents, each with the JSON its artefact needs ------------------------------------
local function obj(props, required) return {type = "object", properties = props, required = required} end
local function list_of(props, required) return {type = "array", items = obj(props, required)} end
local S = {type = "string"}
local ROLES = {
    {"requirements_analyst", "turn requirements into features and user stories",
        obj({features = string_list(), user_stories = string_list()}, {"features", "user_stories"}), "{{requirements}}"},
    {"ux_researcher", "describe the users and their main journeys",
        obj({personas = string_list(), journeys = string_list()}, {"personas", "journeys"}), "{{requirements}}"},
    {"market_researcher", "name comparable products and how this one differs",
        obj({competitors = string_list(), differentiators = string_list()}, {"competitors", "differentiators"}), "{{requirements}}"},
    {"tech_stack_advisor", "recommend the technology stack",
        obj({frontend = S, backend = S, database = S, reasons = string_list()}, {"frontend", "backend", "database", "reasons"}),
        "{{requirements}}\nPreferred: {{technical}}"},
    {"feasibility_analyst", "list the delivery risks and estimate the effort",
        obj({risks = string_list(), effort_weeks = {type = "integer"}}, {"risks", "effort_weeks"}), "{{requirements}}"},
    {"system_architect", "split the system into components",
        obj({components = list_of({name = S, responsibility = S}, {"name", "responsibility"})}, {"components"}),
        "{{requirements}}\nFeatures: {{requirements_analyst}}"},
    {"database_architect", "design the tables and their columns",
        obj({tables = list_of({name = S, columns = list_of({name = S, type = S}, {"name", "type"})}, {"name", "columns"})}, {"tables"}),
        "Entities: {{entities}}\n{{requirements}}"},
    {"api_designer", "design the REST endpoints",
        obj({endpoints = list_of({method = {type = "string", enum = {"GET", "POST", "PUT", "DELETE"}}, path = S, summary = S},
            {"method", "path", "summary"})}, {"endpoints"}), "Entities: {{entities}}\n{{requirements}}"},
    {"security_architect", "list the threats and the controls against them",
        obj({threats = string_list(), controls = string_list()}, {"threats", "controls"}), "{{requirements}}"},
    {"frontend_designer", "design the pages and the UI components",
        obj({pages = string_list(), components = string_list()}, {"pages", "components"}), "{{requirements}}\nUsers: {{ux_researcher}}"},
    {"backend_developer", "list the server's middleware and settings",
        obj({middleware = string_list(), port = {type = "integer"}}, {"middleware", "port"}), "Architecture: {{system_architect}}"},
    {"frontend_developer", "list the app's routes (URL path and page name)",
        obj({routes = list_of({path = S, page = S}, {"path", "page"})}, {"routes"}), "Pages: {{frontend_designer}}"},
    {"database_developer", "list the indexes the queries need",
        obj({indexes = list_of({table = S, column = S}, {"table", "column"})}, {"indexes"}), "Tables: {{database_architect}}"},
    {"api_developer", "describe how each endpoint validates its input",
        obj({validations = list_of({path = S, rule = S}, {"path", "rule"})}, {"validations"}), "Endpoints: {{api_designer}}"},
    {"integration_developer", "list the external services to integrate",
        obj({integrations = list_of({name = S, purpose = S}, {"name", "purpose"})}, {"integrations"}), "{{requirements}}"},
    {"test_engineer", "list the unit test cases",
        obj({cases = string_list()}, {"cases"}), "Features: {{requirements_analyst}}"},
    {"devops_engineer", "describe the deployment: build steps and environment variables",
        obj({steps = string_list(), env = string_list()}, {"steps", "env"}), "Stack: {{tech_stack_advisor}}"},
    {"documentation_writer", "write the README's overview and setup steps",
        obj({overview = S, setup = string_list()}, {"overview", "setup"}), "{{requirements}}\nStack: {{tech_stack_advisor}}"},
    {"performance_optimizer", "recommend performance improvements",
        obj({recommendations = string_list()}, {"recommendations"}), "Architecture: {{system_architect}}"},
    {"code_reviewer", "review the design and list findings",
        obj({findings = string_list()}, {"findings"}), "Architecture: {{system_architect}}\nSecurity: {{security_architect}}"},
}
local stamp = os.time()
local agent_id = {}
for _, role in ipairs(ROLES) do
    local key, job = role[1], role[2]
    agent_id[key] = key .. "_" .. stamp
    Agent.builder():name(agent_id[key]):model(key == "system_architect" and "anthropic/claude-3-haiku-20240307" or "openai/gpt-4o-mini")
        :system_prompt("You are the " .. key:gsub("_", " ") .. " of a web development team; you " .. job .. ". Answer with JSON only.")
        :temperature(temp(0.3)):max_tokens(tokens(200)):max_conversation_length(0):build()
end
print("1. Created " .. #ROLES .. " agents")

-- 2. The sequential workflow: every agent in turn -----------------------------------------------
local entity_names, entity_lines = {}, {}
for i = 1, entity_count do
    local e = spec.entities[i]
    entity_names[#entity_names + 1] = ident(e.name, "entity")
    local fields = {}
    for _, f in ipairs(e.fields or {}) do fields[#fields + 1] = f[1] .. " " .. f[2] end
    entity_lines[#entity_lines + 1] = e.name .. "(" .. table.concat(fields, ", ") .. ")"
end
local builder = Workflow.builder():name("webapp_creator_workflow"):sequential()
for _, role in ipairs(ROLES) do
    builder:add_step({name = role[1], type = "agent", agent = agent_id[role[1]],
        input = json_input("Project " .. project_name .. ". " .. role[4] .. "\nYour task: " .. role[2] .. ".", role[1], role[3])})
end
local main = builder:build():execute({text = spec.requirements, requirements = spec.requirements,
    entities = table.concat(entity_lines, "; "),
    technical = string.format("frontend %s, backend %s, database %s", tech.frontend or "React", tech.backend or "Node.js", tech.database or "SQLite")})
if not main.success then error("the main workflow failed: " .. tostring(main.error)) end
local answer = {}
for _, role in ipairs(ROLES) do answer[role[1]] = parse_json(main.outputs[role[1]]) or {} end
print("2. Sequential workflow: " .. (main.metadata.extra.successful_steps or #ROLES) .. " agent steps")

-- 3. The loop workflow: CRUD design per entity ---------------------------------------------------
local crud = Workflow.builder():name("crud_generator"):loop():with_collection(entity_names):max_iterations(entity_count)
    :add_step({name = "backend_crud", type = "agent", agent = agent_id.backend_developer,
        input = json_input("Entity {{loop_value}}: list the validation rule of each field for its create and update routes.",
            "crud_rules", obj({rules = list_of({field = S, rule = S}, {"field", "rule"})}, {"rules"}))})
    :add_step({name = "frontend_crud", type = "agent", agent = agent_id.frontend_developer,
        input = json_input("Entity {{loop_value}}: which fields does its list view show, and what is the page title?",
            "crud_view", obj({title = S, columns = string_list()}, {"title", "columns"}))})
    :add_step({name = "crud_tests", type = "agent", agent = agent_id.test_engineer,
        input = json_input("Entity {{loop_value}}: list API test cases for its create, read, update and delete endpoints.",
            "crud_tests", obj({cases = string_list()}, {"cases"}))})
    :build()
local looped = crud:execute({text = "CRUD for each entity"})
if not looped.success then error("the CRUD loop failed: " .. tostring(looped.error)) end
local crud_exec = looped.metadata.extra.execution_id
local per_entity = {}
for _, suffix in ipairs(State.workflow_list(crud_exec) or {}) do
    local index, step = suffix:match("^iteration_(%d+):(.+)$")
    if index then
        local record = State.workflow_get(crud_exec, suffix)
        per_entity[tonumber(index)] = per_entity[tonumber(index)] or {}
        per_entity[tonumber(index)][step] = record and record.output
    end
end
local base = per_entity[0] and 0 or 1
print("3. Loop workflow over " .. entity_count .. " entities (" .. tostring(looped.metadata.extra.iterations) .. " iterations)")

-- 4. Files -------------------------------------------------------------------------------------
local function doc(key, fields) -- an agent's JSON, the listed array fields made clean string lists
    local a, out = answer[key], {agent = key}
    for name, kind in pairs(fields) do
        if kind == "list" then out[name] = strings(a[name], {}, 300) else out[name] = a[name] end
    end
    return JSON.stringify(out, true)
end
file("requirements.json", doc("requirements_analyst", {features = "list", user_stories = "list"}))
file("ux-research.json", doc("ux_researcher", {personas = "list", journeys = "list"}))
file("market-analysis.json", doc("market_researcher", {competitors = "list", differentiators = "list"}))
file("tech-stack.json", JSON.stringify({agent = "tech_stack_advisor",
    frontend = clean(answer.tech_stack_advisor.frontend, tech.frontend or "React", 80),
    backend = clean(answer.tech_stack_advisor.backend, tech.backend or "Node.js", 80),
    database = clean(answer.tech_stack_advisor.database, tech.database or "SQLite", 80),
    reasons = strings(answer.tech_stack_advisor.reasons, {}, 300)}, true))
file("feasibility.json", JSON.stringify({agent = "feasibility_analyst", risks = strings(answer.feasibility_analyst.risks, {}, 300),
    effort_weeks = math.max(1, math.floor(tonumber(answer.feasibility_analyst.effort_weeks) or 4))}, true))
local components = {}
for _, c in ipairs(json_list(main.outputs.system_architect, "components")) do
    if type(c) == "table" and clean(c.name, nil) then components[#components + 1] = {name = clean(c.name, nil, 80), responsibility = clean(c.responsibility, "", 300)} end
end
if #components == 0 then components = {{name = "web client", responsibility = "UI"}, {name = "api server", responsibility = "REST API"}, {name = "database", responsibility = "storage"}} end
file("architecture.json", JSON.stringify({agent = "system_architect", components = components}, true))
file("security.json", doc("security_architect", {threats = "list", controls = "list"}))
file("ui-design.json", doc("frontend_designer", {pages = "list", components = "list"}))
file("performance.json", doc("performance_optimizer", {recommendations = "list"}))
file("code-review.json", doc("code_reviewer", {findings = "list"}))

-- database/schema.sql: one table per entity (its fields from the input, plus columns the
-- database architect proposed for it), then any further tables the architect proposed.
local tables, seen_table = {}, {}
local proposed = {}
for _, t in ipairs(json_list(main.outputs.database_architect, "tables")) do
    if type(t) == "table" and clean(t.name, nil) then proposed[ident(t.name)] = t.columns end
end
for i = 1, entity_count do
    local e = spec.entities[i]
    local name = ident(e.name, "entity")
    local columns, have = {{"id", "INTEGER PRIMARY KEY AUTOINCREMENT"}}, {id = true}
    for _, f in ipairs(e.fields or {}) do
        local c = ident(f[1], "field")
        if not have[c] then have[c] = true columns[#columns + 1] = {c, SQL_TYPES[f[2]] or "TEXT"} end
    end
    for _, c in ipairs(type(proposed[name]) == "table" and proposed[name] or {}) do
        local cname = type(c) == "table" and ident(c.name, nil)
        if cname and not have[cname] then
            have[cname] = true
            columns[#columns + 1] = {cname, SQL_TYPES[tostring(c.type or ""):lower()] or "TEXT"}
        end
    end
    tables[#tables + 1] = {name = name, columns = columns}
    seen_table[name] = true
end
local sql = {"-- " .. project_name .. " database schema (SQLite dialect), from the database architect's design", ""}
for _, t in ipairs(tables) do
    local cols = {}
    for _, c in ipairs(t.columns) do cols[#cols + 1] = '    "' .. c[1] .. '" ' .. c[2] end
    sql[#sql + 1] = 'CREATE TABLE IF NOT EXISTS "' .. t.name .. '" (\n' .. table.concat(cols, ",\n") .. "\n);"
    sql[#sql + 1] = ""
end
file("database/schema.sql", table.concat(sql, "\n"))
local migrations = {"-- Indexes proposed by the database developer (only for existing tables and columns)", ""}
local columns_of = {}
for _, t in ipairs(tables) do columns_of[t.name] = {} for _, c in ipairs(t.columns) do columns_of[t.name][c[1]] = true end end
for _, t in ipairs(tables) do  -- foreign keys get an index whatever the model said
    for _, c in ipairs(t.columns) do
        if c[1]:match("_id$") then migrations[#migrations + 1] = string.format('CREATE INDEX IF NOT EXISTS "idx_%s_%s" ON "%s" ("%s");', t.name, c[1], t.name, c[1]) end
    end
end
for _, ix in ipairs(json_list(main.outputs.database_developer, "indexes")) do
    local t, c = type(ix) == "table" and ident(ix.table, nil), type(ix) == "table" and ident(ix.column, nil)
    if t and c and columns_of[t] and columns_of[t][c] then
        migrations[#migrations + 1] = string.format('CREATE INDEX IF NOT EXISTS "idx_%s_%s" ON "%s" ("%s");', t, c, t, c)
    end
end
file("database/migrations.sql", table.concat(sql, "\n") .. "\n" .. table.concat(migrations, "\n") .. "\n")

-- api-spec.yaml (OpenAPI 3): CRUD paths for every entity plus the designer's other endpoints.
local paths = {}
for _, name in ipairs(entity_names) do
    paths["/api/" .. name .. "s"] = {get = {summary = "List " .. name .. "s"}, post = {summary = "Create a " .. name}}
    paths["/api/" .. name .. "s/{id}"] = {get = {summary = "Read a " .. name}, put = {summary = "Update a " .. name},
        delete = {summary = "Delete a " .. name}}
end
local extra_endpoints = {}
for _, ep in ipairs(json_list(main.outputs.api_designer, "endpoints")) do
    local method = type(ep) == "table" and tostring(ep.method or ""):lower()
    local path = type(ep) == "table" and tostring(ep.path or "")
    if method and ({get = 1, post = 1, put = 1, delete = 1})[method] and path:match("^/[%w%-_/{}]*$") then
        paths[path] = paths[path] or {}
        if not paths[path][method] then
            paths[path][method] = {summary = clean(ep.summary, method .. " " .. path, 200)}
            extra_endpoints[#extra_endpoints + 1] = {method = method:upper(), path = path}
        end
    end
end
for _, ops in pairs(paths) do
    for _, op in pairs(ops) do op.responses = {["200"] = {description = "OK"}} end
end
file("api-spec.yaml", "openapi: \"3.0.3\"\n" .. yaml({info = {title = project_name .. " API", version = project.version or "0.1.0",
    description = clean(project.description, project_name, 300)}, paths = paths}) .. "\n")

-- JavaScript: the server, the routes, integrations, the CRUD modules and the tests.
local middleware = strings(answer.backend_developer.middleware, {"express.json"}, 80)
local port = math.floor(tonumber(answer.backend_developer.port) or 3000)
if port < 1024 or port > 65535 then port = 3000 end
local server = {"// " .. project_name .. " API server (Express).", "// Middleware suggested by the backend developer: " .. comment(table.concat(middleware, ", ")),
    "'use strict';", "const express = require('express');", "const routes = require('./routes');", "",
    "const app = express();", "app.use(express.json());", "app.use('/api', routes);",
    "app.get('/health', (req, res) => res.json({ status: 'ok' }));", "",
    "const port = Number(process.env.PORT || " .. port .. ");",
    "if (require.main === module) {", "  app.listen(port, () => console.log(`" .. project_name:gsub("`", "") .. " API on port ${port}`));", "}",
    "", "module.exports = app;", ""}
file("backend/src/server.js", table.concat(server, "\n"))
local routes = {"// Routes: one CRUD router per entity, plus endpoints the API designer proposed.", "'use strict';",
    "const express = require('express');", "const router = express.Router();", ""}
for _, name in ipairs(entity_names) do
    routes[#routes + 1] = "router.use('/" .. name .. "s', require('./crud/" .. name .. "_routes'));"
end
local validations = {}
for _, v in ipairs(json_list(main.outputs.api_developer, "validations")) do
    if type(v) == "table" and clean(v.rule, nil) then validations[#validations + 1] = "// " .. comment(clean(v.path, "?", 80)) .. ": " .. comment(clean(v.rule, nil, 200)) end
end
routes[#routes + 1] = ""
routes[#routes + 1] = "// Validation notes from the API developer:"
for _, line in ipairs(#validations > 0 and validations or {"// (none)"}) do routes[#routes + 1] = line end
for _, ep in ipairs(extra_endpoints) do
    if not ep.path:find("{", 1, true) then
        routes[#routes + 1] = "router." .. ep.method:lower() .. "(" .. js(ep.path:gsub("^/api", "")) .. ", (req, res) => res.status(501).json({ error: 'not built yet' }));"
    end
end
routes[#routes + 1] = ""
routes[#routes + 1] = "module.exports = router;"
file("backend/src/routes.js", table.concat(routes, "\n") .. "\n")
local integrations = {"// Integrations proposed by the integration developer.", "'use strict';", "module.exports = ["}
for _, it in ipairs(json_list(main.outputs.integration_developer, "integrations")) do
    if type(it) == "table" and clean(it.name, nil) then
        integrations[#integrations + 1] = "  { name: " .. js(clean(it.name, nil, 80)) .. ", purpose: " .. js(clean(it.purpose, "", 200)) .. " },"
    end
end
integrations[#integrations + 1] = "];"
file("backend/src/integrations.js", table.concat(integrations, "\n") .. "\n")

local crud_files = 0
for i = 1, entity_count do
    local name, e = entity_names[i], spec.entities[i]
    local outputs = per_entity[i - 1 + base] or {}
    local fields = {}
    for _, f in ipairs(e.fields or {}) do fields[#fields + 1] = ident(f[1], "field") end
    local rules = {}
    for _, r in ipairs(json_list(outputs.backend_crud, "rules")) do
        if type(r) == "table" and clean(r.rule, nil) then rules[#rules + 1] = "// " .. comment(clean(r.field, "?", 60)) .. ": " .. comment(clean(r.rule, nil, 200)) end
    end
    file("backend/src/crud/" .. name .. "_routes.js", table.concat({
        "// CRUD routes for " .. name .. " (in-memory store; swap in the database layer).", "'use strict';",
        "const express = require('express');", "const router = express.Router();",
        "const FIELDS = " .. js(fields) .. ";", "const items = new Map();", "let nextId = 1;", "",
        "// Validation rules from the backend developer:", table.concat(#rules > 0 and rules or {"// (none)"}, "\n"), "",
        "function pick(body) {", "  const out = {};", "  for (const f of FIELDS) if (body && body[f] !== undefined) out[f] = body[f];", "  return out;", "}", "",
        "router.get('/', (req, res) => res.json([...items.values()]));",
        "router.post('/', (req, res) => {", "  const item = { id: nextId++, ...pick(req.body) };", "  items.set(item.id, item);", "  res.status(201).json(item);", "});",
        "router.get('/:id', (req, res) => {", "  const item = items.get(Number(req.params.id));", "  return item ? res.json(item) : res.status(404).end();", "});",
        "router.put('/:id', (req, res) => {", "  const id = Number(req.params.id);", "  if (!items.has(id)) return res.status(404).end();",
        "  const item = { ...items.get(id), ...pick(req.body), id };", "  items.set(id, item);", "  return res.json(item);", "});",
        "router.delete('/:id', (req, res) => res.status(items.delete(Number(req.params.id)) ? 204 : 404).end());", "",
        "module.exports = router;", ""}, "\n"))
    local view = parse_json(outputs.frontend_crud) or {}
    local columns = {}
    for _, c in ipairs(strings(view.columns, fields, 60)) do
        local id = ident(c, nil)
        for _, f in ipairs(fields) do if f == id then columns[#columns + 1] = id end end
    end
    if #columns == 0 then columns = fields end
    file("frontend/src/crud/" .. name .. ".js", table.concat({
        "// " .. name .. " list view (React without JSX, so it runs without a build step).", "'use strict';",
        "const React = require('react');", "const COLUMNS = " .. js(columns) .. ";",
        "const TITLE = " .. js(clean(view.title, name .. "s", 80)) .. ";", "",
        "function " .. name:gsub("_(%w)", string.upper):gsub("^%l", string.upper) .. "List({ items }) {",
        "  const head = React.createElement('tr', null, COLUMNS.map((c) => React.createElement('th', { key: c }, c)));",
        "  const rows = items.map((item) => React.createElement('tr', { key: item.id },",
        "    COLUMNS.map((c) => React.createElement('td', { key: c }, String(item[c] ?? '')))));",
        "  return React.createElement('section', null, React.createElement('h2', null, TITLE),",
        "    React.createElement('table', null, React.createElement('thead', null, head), React.createElement('tbody', null, rows)));",
        "}", "", "module.exports = " .. name:gsub("_(%w)", string.upper):gsub("^%l", string.upper) .. "List;", ""}, "\n"))
    local cases = strings((parse_json(outputs.crud_tests) or {}).cases, {"create, read, update and delete a " .. name}, 200)
    local tests = {"// API tests for " .. name .. " (node:test; run with node --test).", "'use strict';",
        "const test = require('node:test');", "const assert = require('node:assert');", ""}
    for _, c in ipairs(cases) do
        tests[#tests + 1] = "test(" .. js(c) .. ", { todo: 'written by the test engineer; implement against the running API' }, () => {"
        tests[#tests + 1] = "  assert.ok(true);"
        tests[#tests + 1] = "});"
    end
    file("tests/crud/" .. name .. "_test.js", table.concat(tests, "\n") .. "\n")
    crud_files = crud_files + 3
end
local unit = {"// Unit test plan from the test engineer (node:test).", "'use strict';", "const test = require('node:test');", ""}
for _, c in ipairs(strings(answer.test_engineer.cases, {"the server answers /health"}, 200)) do
    unit[#unit + 1] = "test(" .. js(c) .. ", { todo: true }, () => {});"
end
file("tests/unit.test.js", table.concat(unit, "\n") .. "\n")
local frontend_routes = {}
for _, r in ipairs(json_list(main.outputs.frontend_developer, "routes")) do
    if type(r) == "table" and tostring(r.path or ""):match("^/[%w%-_/:]*$") then frontend_routes[#frontend_routes + 1] = {path = r.path, page = clean(r.page, r.path, 60)} end
end
if #frontend_routes == 0 then for _, name in ipairs(entity_names) do frontend_routes[#frontend_routes + 1] = {path = "/" .. name .. "s", page = name .. " list"} end end
file("frontend/src/routes.js", "// Client routes from the frontend developer.\n'use strict';\nmodule.exports = " .. js(frontend_routes) .. ";\n")
file("frontend/package.json", JSON.stringify({name = slug .. "-frontend", version = project.version or "0.1.0", private = true,
    main = "src/routes.js", dependencies = {react = "^18.3.0", ["react-dom"] = "^18.3.0"}}, true))
file("backend/package.json", JSON.stringify({name = slug .. "-backend", version = project.version or "0.1.0", private = true,
    main = "src/server.js", scripts = {start = "node src/server.js", test = "node --test ../tests"},
    dependencies = {express = "^4.19.0"}}, true))
file("deployment.yaml", yaml({service = slug, build = strings(answer.devops_engineer.steps, {"npm ci", "npm test"}, 200),
    env = strings(answer.devops_engineer.env, {"PORT"}, 80), port = port}) .. "\n")

local readme = {"# " .. project_name, "", clean(answer.documentation_writer.overview, clean(project.description, project_name, 300), 800), "",
    "## Features", ""}
for _, f in ipairs(strings(answer.requirements_analyst.features, {"see requirements.json"}, 200)) do readme[#readme + 1] = "- " .. f end
readme[#readme + 1] = ""
readme[#readme + 1] = "## Setup"
readme[#readme + 1] = ""
for i, step in ipairs(strings(answer.documentation_writer.setup, {"cd backend && npm install && npm start"}, 200)) do readme[#readme + 1] = i .. ". " .. step end
readme[#readme + 1] = ""
readme[#readme + 1] = "## Data model"
readme[#readme + 1] = ""
for _, t in ipairs(tables) do
    local cols = {}
    for _, c in ipairs(t.columns) do cols[#cols + 1] = c[1] end
    readme[#readme + 1] = "- **" .. t.name .. "**: " .. table.concat(cols, ", ")
end
readme[#readme + 1] = ""
readme[#readme + 1] = "## API"
readme[#readme + 1] = ""
readme[#readme + 1] = "See `api-spec.yaml` (OpenAPI 3). Every entity has CRUD routes under `/api/<entity>s`."
file("README.md", table.concat(readme, "\n") .. "\n")

write("webapp-summary.json", JSON.stringify({app = APP, project = project_name, directory = project_dir,
    agents = #ROLES, entities = entity_names, tables = #tables, crud_files = crud_files,
    workflows = {main = main.metadata.extra.execution_id, crud = crud_exec, crud_iterations = looped.metadata.extra.iterations}}, true))
print("4. Generated " .. project_name .. ": " .. #tables .. " tables, " .. crud_files .. " CRUD files")
print("Done. Output: " .. output_dir .. "/" .. project_dir)
