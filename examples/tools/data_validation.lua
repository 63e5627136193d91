-- data_validation: JSON schema or simple rules.
local r = Tool.invoke("data_validation", {
  input = { name = "ada", age = -1 },
  schema = { type = "object", properties = { age = { type = "integer", minimum = 0 } } },
})
print("valid:", r.result.valid, r.result.errors[1])
local rules = Tool.invoke("data_validation", { input = "abc", rules = { rules = { { type = "length", min = 5 } } } })
print("rules:", rules.result.valid, rules.result.errors[1])
