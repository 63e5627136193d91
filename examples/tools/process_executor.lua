-- process_executor: read-only programs run (no shell); others need
-- runtime.security.allow_process_spawn = true; rm, curl, ... never run.
local r = Tool.invoke("process_executor", { executable = "echo", arguments = { "hello", "from", "echo" } })
io.write(r.result.stdout)
print("exit code:", r.result.exit_code)
local ok, err = pcall(function()
  local x = Tool.invoke("process_executor", { executable = "rm", arguments = { "-rf", "/tmp/nothing-here" } })
  return x
end)
print("denied:", not ok, err)
