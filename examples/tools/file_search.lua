-- file_search: files by glob, then the lines holding a text or a regular expression (bounded by
-- max_results; links are not followed). Run: llmspell run examples/tools/file_search.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-file-search-example"
local function W(path, text)
  Tool.invoke("file_operations", { operation = "write", path = dir .. "/" .. path, input = text })
end
W("app/main.lua", "-- TODO: parse arguments\nprint('hello')\n")
W("app/lib/util.lua", "local M = {}\n-- todo: more helpers\nreturn M\n")
W("README.md", "# Example\nTODO: write it\n")
print(Tool.invoke("file_search", { path = dir, pattern = "*.lua" }).text)
local hits = Tool.invoke("file_search", { path = dir, content = "todo", case_sensitive = false })
print(hits.text)
print("matches:", hits.result.count, "files scanned:", hits.result.files_scanned)
print(Tool.invoke("file_search", { path = dir, content = "^local \\w+", regex = true }).text)
Tool.invoke("file_operations", { operation = "delete", path = dir, recursive = true })
