-- csv_analyzer: column statistics, columns, select, filter and head of CSV text or files.
-- Run: llmspell run examples/tools/csv_analyzer.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-csv-example"
local data = "city,country,population\nParis,FR,2102650\nLyon,FR,522250\nBerlin,DE,3878100\nHamburg,DE,1910160\n"
Tool.invoke("file_operations", { operation = "write", path = dir .. "/cities.csv", input = data })
local function C(params)
  return Tool.invoke("csv_analyzer", params)
end
print(C({ operation = "analyze", path = dir .. "/cities.csv" }).text)
local big = C({
  operation = "filter",
  path = dir .. "/cities.csv",
  conditions = { { column = "population", op = ">", value = 1000000 } },
  target_path = dir .. "/big.csv",
})
io.write(big.text)
io.write(C({ operation = "select", input = data, columns = { "country", "city" }, limit = 2 }).text)
Tool.invoke("file_operations", { operation = "delete", path = dir, recursive = true })
