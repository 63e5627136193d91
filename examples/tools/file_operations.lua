-- file_operations: write, append, read, list, copy, stat and delete inside the allowed paths
-- (tools.file_operations.allowed_paths, default /tmp). Run: llmspell run examples/tools/file_operations.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-file-operations-example"
local function F(params)
  local r = Tool.invoke("file_operations", params)
  return r
end
F({ operation = "mkdir", path = dir })
print(F({ operation = "write", path = dir .. "/notes.txt", input = "first line\n" }).text)
F({ operation = "append", path = dir .. "/notes.txt", input = "second line\n" })
io.write(F({ operation = "read", path = dir .. "/notes.txt" }).text)
F({ operation = "copy", source_path = dir .. "/notes.txt", target_path = dir .. "/copy.txt" })
for _, entry in ipairs(F({ operation = "list_dir", path = dir }).result) do
  print(entry.type, entry.size, entry.name)
end
print("exists:", F({ operation = "exists", path = dir .. "/copy.txt" }).result.exists)
-- A path outside the allowed paths is refused before any I/O:
local ok, err = pcall(function()
  local r = F({ operation = "write", path = "/etc/llmspell-example", input = "no" })
  return r
end)
print("denied:", not ok, err)
F({ operation = "delete", path = dir, recursive = true })
