-- url-analyzer: a URL's parts (offline); -- --url URL --fetch 1 also fetches the page's metadata.
local url = ARGS.url or "https://docs.example.org:8443/guide/tools.html?lang=en&v=2#web"
local r = Tool.invoke("url-analyzer", { input = url, fetch_metadata = ARGS.fetch ~= nil })
print(r.result.host, r.result.port, r.result.path, r.result.query_params.lang, r.result.extension)
if r.result.metadata then print(r.result.metadata.status_code, r.result.metadata.title) end
