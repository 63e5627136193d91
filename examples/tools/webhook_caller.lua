-- webhook-caller: POST a JSON payload, retrying 5xx. Needs a URL: -- --url https://...
-- (this machine's own addresses also need tools.http_request.allow_localhost = true).
if not ARGS.url then
  print("skipped: pass a webhook URL with -- --url URL")
  return
end
local r = Tool.invoke("webhook-caller", { input = ARGS.url, payload = { event = "example", ok = true }, max_retries = 1 })
print(r.result.status_code, r.result.status_text, r.success)
