-- system_monitor: read-only CPU, memory, disk and process figures (present only with psutil
-- installed: pip install psutil). Run: llmspell run examples/tools/system_monitor.lua
if not Tool.exists("system_monitor") then
  print("system_monitor is absent: psutil is not installed (pip install psutil)")
  return
end
print(Tool.invoke("system_monitor", { operation = "all", interval = 0.2 }).text)
print("top processes by memory:")
print(Tool.invoke("system_monitor", { operation = "processes", limit = 3 }).text)
