-- environment_reader: variables, with *KEY*, *TOKEN*, *SECRET*, *PASSWORD* values redacted.
local home = Tool.invoke("environment_reader", { operation = "get", variable_name = "HOME" })
print("HOME found:", home.result.found)
local listed = Tool.invoke("environment_reader", { operation = "list", pattern = "*KEY*" })
for name, value in pairs(listed.result.variables) do print(name, value) end
print("variables matching *KEY*:", listed.result.count)
