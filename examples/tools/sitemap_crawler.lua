-- sitemap-crawler: the URLs a site's sitemaps list. Needs a site: -- --url https://example.org/
if not ARGS.url then
  print("skipped: pass a site or sitemap URL with -- --url URL")
  return
end
local r = Tool.invoke("sitemap-crawler", { input = ARGS.url, max_urls = 20 })
print(r.result.count .. " URLs from " .. #r.result.sitemaps .. " sitemaps")
for _, u in ipairs(r.result.urls) do print(u.loc, u.lastmod or "") end
