-- http_request: an HTTP request with a JSON body. Needs a URL: -- --url https://...
if not ARGS.url then
  print("skipped: pass a URL with -- --url URL")
  return
end
local r = Tool.invoke("http_request", { input = ARGS.url, method = "GET", headers = { Accept = "application/json" } })
print(r.result.status_code, #r.result.body .. " bytes", r.success)
