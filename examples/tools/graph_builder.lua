-- graph-builder: a build pipeline as a graph: its order, a shortest weighted path, an analysis
-- and a Graphviz export. Run: llmspell run examples/tools/graph_builder.lua
local function G(params) return Tool.invoke("graph-builder", params) end
local g = G({ operation = "create", edges = {
  { "fetch", "parse", 1 }, { "parse", "index", 3 }, { "parse", "summarise", 1 },
  { "summarise", "index", 1 }, { "index", "publish", 1 },
} }).result.graph
print("order:", G({ operation = "topological_sort", graph = g }).text)
print("cheapest:", G({ operation = "shortest_path", graph = g, source = "fetch", target = "publish" }).text)
print(G({ operation = "analyze", graph = g }).message)
print(G({ operation = "export", graph = g, format = "dot" }).text)
