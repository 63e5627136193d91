-- json_processor: jq programs over JSON; JSON-schema validation.
local doc = { users = { { name = "ada", age = 36 }, { name = "alan", age = 41 } } }
local q = Tool.invoke("json_processor", { input = doc, query = "[.users[] | select(.age > 40) | .name]" })
print(q.text)
local v = Tool.invoke("json_processor", {
  operation = "validate", input = doc, schema = { type = "object", required = { "users", "groups" } },
})
print("valid:", v.result.valid, v.result.errors[1])
