-- luacheck (run by .ci/run; Debian's lua-check package). What it holds the Lua to: no global is
-- read or written by mistake (the kernel's Lua runs with the host's real globals, where a stray
-- assignment leaks into every script) and every file compiles. Unused names, shadowing and line
-- length are style, left to review, except in the debugger's files, which are clean of them.
std = "lua54"
max_line_length = false
ignore = { "21.", "31.", "431" }

files["llmspell_kernel/debug"] = { enable = { "21.", "31.", "431" } }

-- Scripts see llmspell's globals (docs/lua-api.md) and may define their own.
local script_globals = {
  "ARGS", "Agent", "Artifact", "Debug", "Event", "Hook", "JSON", "Provider", "RAG", "Session",
  "State", "Tool", "Workflow", "clear_output", "display", "help", "input",
}
local scripts = { read_globals = script_globals, allow_defined_top = true, ignore = { "24." } }
files["examples"] = scripts
files["tests"] = scripts
files["llmspell_kernel/apps/shipped"] = scripts

exclude_files = { ".venv", "build" }
