-- api-tester: a request and checks on its answer. Needs an API: -- --url https://...
if not ARGS.url then
  print("skipped: pass an API URL with -- --url URL")
  return
end
local r = Tool.invoke("api-tester", { input = ARGS.url, expected_status = 200, max_response_time_ms = 2000 })
print(r.message)
for _, check in ipairs(r.result.checks) do print(check.name, check.passed, check.actual) end
