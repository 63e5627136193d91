-- web-scraper: title, text, links and CSS selections of a page. Offline it reads HTML given
-- inline; with -- --url https://... it fetches the page (NET gate).
local page = [[<html><head><title>Release notes</title></head><body>
<h1>llmspell</h1><ul><li class="change">web tools</li><li class="change">pdf-processor</li></ul>
<a href="/docs">Docs</a></body></html>]]
local params = { selectors = { changes = "li.change" }, extract_links = true }
if ARGS.url then params.input = ARGS.url else params.html, params.input = page, "https://example.org/" end
local r = Tool.invoke("web-scraper", params)
print(r.result.title)
for _, change in ipairs(r.result.selected.changes) do print("-", change) end
for _, link in ipairs(r.result.links) do print(link.text, link.url) end
