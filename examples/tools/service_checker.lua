-- service_checker: is a TCP port open? (pass another with: -- --target host:port)
local target = ARGS.target or "127.0.0.1:9"
local r = Tool.invoke("service_checker", { check_type = "tcp", target = target, timeout_ms = 1000 })
print(r.text)
print("healthy:", r.result.healthy, "in", r.result.response_time_ms, "ms")
