-- hash_calculator: hash text, verify a hash. Run: llmspell run examples/tools/hash_calculator.lua
local h = Tool.invoke("hash_calculator", { operation = "hash", algorithm = "sha256", input = "abc" })
print(h.result.algorithm, h.result.hash)
local v = Tool.invoke("hash_calculator", {
  operation = "verify", algorithm = "sha256", input = "abc", expected_hash = h.result.hash,
})
print("verified:", v.result.verified)
print("md5/base64:", Tool.invoke("hash_calculator", { algorithm = "md5", input = "abc", format = "base64" }).text)
