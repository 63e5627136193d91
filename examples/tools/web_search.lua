-- web_search: DuckDuckGo needs no key; provider = "brave", "google", "serpapi" or "serperdev"
-- read their keys from the environment. Needs the network: -- --query "lua scripting"
if not ARGS.query then
  print("skipped: pass a query with -- --query WORDS (this searches the web)")
  return
end
local r = Tool.invoke("web_search", { input = ARGS.query, max_results = 5 })
for _, hit in ipairs(r.result.results) do
  print(hit.rank, hit.title, hit.url)
end
