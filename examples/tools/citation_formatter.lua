-- citation-formatter: in-text citations and a bibliography in CSL styles (citeproc-py), from
-- CSL-JSON references or BibTeX. Run: llmspell run examples/tools/citation_formatter.lua
local references = {
  { id = "dune", type = "book", title = "Dune", author = "Herbert, Frank", issued = 1965, publisher = "Chilton Books" },
  {
    id = "attention",
    type = "article-journal",
    title = "Attention is all you need",
    author = { "Ashish Vaswani", "Noam Shazeer" },
    issued = 2017,
    ["container-title"] = "Advances in Neural Information Processing Systems",
    volume = "30",
    page = "5998-6008",
  },
}
for _, style in ipairs({ "apa", "mla", "ieee" }) do
  local r = Tool.invoke("citation-formatter", { input = references, style = style })
  print(style .. ":", r.result.citations[1].text, r.result.citations[2].text)
  print(r.text)
end
local bib = "@book{knuth84, author = {Donald E. Knuth}, title = {The TeXbook}, publisher = {Addison-Wesley}, year = 1984}"
print(Tool.invoke("citation-formatter", { bibtex = bib, style = "chicago" }).text)
