-- graphql_query: a GraphQL query. Needs an endpoint: -- --url https://.../graphql
if not ARGS.url then
  print("skipped: pass a GraphQL endpoint with -- --url URL")
  return
end
local r = Tool.invoke("graphql_query", { input = ARGS.url, operation = "introspect" })
if not r.success then print("error:", r.error) return end
print("query type:", r.result.data.queryType.name, "types:", #r.result.data.types)
