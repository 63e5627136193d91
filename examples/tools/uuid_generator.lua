-- uuid_generator: UUIDs v4, v5, v7, component ids, validation.
local function U(p) local r = Tool.invoke("uuid_generator", p) return r end
print("v4:", U({ operation = "generate", version = "v4" }).result.uuid)
print("v7:", U({ version = "v7" }).result.uuid)
print("v5:", U({ operation = "deterministic", namespace = "dns", name = "example.com" }).result.id)
print("component:", U({ operation = "component_id", prefix = "tool", short = true }).result.id)
print("valid:", U({ operation = "validate", uuid = "not-a-uuid" }).result.valid)
