-- webpage-monitor: compare a page (or a CSS selection) with an earlier look. Offline it compares
-- two versions given inline; with -- --url URL it fetches the page twice.
local function look(params)
  if ARGS.url then params.input, params.html = ARGS.url, nil end
  return Tool.invoke("webpage-monitor", params)
end
local first = look({ html = "<div id='price'>10 EUR</div>", selector = "#price" })
local second = look({ html = "<div id='price'>12 EUR</div>", selector = "#price", previous_content = first.result.content })
print(first.result.content, "->", second.result.content, "changed:", second.result.changed)
for _, line in ipairs(second.result.diff or {}) do print(line) end
