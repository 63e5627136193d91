-- template_engine: Jinja2 syntax (upstream's tera) rendered in a sandbox.
local r = Tool.invoke("template_engine", {
  input = "Report for {{ user }}:\n{% for item in items %}- {{ item.name }}: {{ item.score }}\n{% endfor %}",
  context = { user = "Ada", items = { { name = "speed", score = 9 }, { name = "style", score = 7 } } },
})
io.write(r.result.rendered)
local ok, err = pcall(function()
  local x = Tool.invoke("template_engine", { input = "{{ ''.__class__ }}" })
  return x
end)
print("sandboxed:", not ok, err)
