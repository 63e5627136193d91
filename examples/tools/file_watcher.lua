-- file_watcher: wait (at most timeout_seconds) until files under a directory are created,
-- modified or deleted. Here nothing else writes, so the watch ends at its timeout; start this
-- and touch a file in the directory from another terminal to see an event.
-- Run: llmspell run examples/tools/file_watcher.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-watch-example"
Tool.invoke("file_operations", { operation = "mkdir", path = dir })
local r = Tool.invoke("file_watcher", { path = dir, timeout_seconds = tonumber(ARGS.seconds or "0.3"), pattern = "*.txt" })
print(r.message)
for _, e in ipairs(r.result.events) do print(e.kind, e.path) end
