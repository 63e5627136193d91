-- archive_handler: create, list and extract zip and tar archives inside the allowed paths;
-- members with `..`, absolute paths or links, and archives that expand past
-- tools.file_operations.max_file_size, are refused. Run: llmspell run examples/tools/archive_handler.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-archive-example"
local function A(params)
  return Tool.invoke("archive_handler", params)
end
Tool.invoke("file_operations", { operation = "write", path = dir .. "/src/notes.txt", input = "hello\n" })
Tool.invoke("file_operations", { operation = "write", path = dir .. "/src/data/n.csv", input = "a,b\n1,2\n" })
print(A({ operation = "create", path = dir .. "/src.tar.gz", files = { dir .. "/src" } }).message)
for _, m in ipairs(A({ operation = "list", path = dir .. "/src.tar.gz" }).result.members) do
  print(m.type, m.size, m.name)
end
print(A({ operation = "extract", path = dir .. "/src.tar.gz", target_path = dir .. "/out" }).message)
local ok, err = pcall(function()
  return A({ operation = "extract", path = dir .. "/src.tar.gz", target_path = "/etc/llmspell-example" })
end)
print("denied:", not ok, err)
Tool.invoke("file_operations", { operation = "delete", path = dir, recursive = true })
