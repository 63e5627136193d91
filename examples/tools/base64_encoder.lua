-- base64_encoder: encode and decode, standard and url-safe.
local e = Tool.invoke("base64_encoder", { operation = "encode", input = "Hello LLMSpell" })
print("encoded:", e.result.output)
print("decoded:", Tool.invoke("base64_encoder", { operation = "decode", input = e.result.output }).result.output)
print("url-safe:", Tool.invoke("base64_encoder", { operation = "encode", input = "??>", variant = "url-safe" }).text)
