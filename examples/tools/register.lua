-- Tool.register: a Lua function becomes a tool that scripts and agents can call.
Tool.register({
  name = "word-counter",
  description = "Count the words of a text",
  parameters = { type = "object", properties = { text = { type = "string" } }, required = { "text" } },
  fn = function(params)
    local n = 0
    for _ in params.text:gmatch("%S+") do n = n + 1 end
    return { result = { words = n }, text = tostring(n) }
  end,
})
print("words:", Tool.invoke("word_counter", { text = "tools are how scripts touch the world" }).text)
for _, t in ipairs(Tool.discover({ category = "custom" })) do print(t.name, t.description) end
