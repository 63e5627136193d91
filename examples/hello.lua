-- hello.lua: the first script. Run it with
--   llmspell run examples/hello.lua -- --name Ada
local name = ARGS.name or "world"
print("Hello, " .. name .. "!")

local facts = {
  language = _VERSION,
  args = #arg,
  encoded = JSON.stringify({greeting = "hello", to = name}),
}
Debug.info("computed the facts", "hello")
return facts
