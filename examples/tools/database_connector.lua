-- database-connector: parameterised SQL on a SQLite file inside the allowed paths. Read-only
-- unless [tools.database_connector] allow_write = true. Run: llmspell run examples/tools/database_connector.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-database-example"
-- A small books.db, shipped as a base64 tar.gz and unpacked with two other tools:
local packed = "H4sIAFc5EGsC/+3TTUoDMRgG4CRjmZUbQasUIeBGodRqS91atdhFEbS9QKb9tKGdSclkwFl6CW/hBVy58QKew0OY"
  .. "KRWKq24Uiu9Dki//gYRExkzS2ihiv6jutZrNefR+xtOl+qL/rNE6YbLO/kCWOmX9kex/6t/2tCN5b2ysnGwwwThn"
  .. "51L6ocBnsTS1qG8stfkK2wesNuSbxWT+zHyClYx5WC6X+dOxU9GUouKPzgtxeddpDzpy0L7odeS861CPpE4cPZCV"
  .. "M6tjZXM5obwqnXZTko4eXVWqzI2NXTRyUvZ7yVHxNgF/ZfyTf/gAa2MnKLH9iujmM7LaJH0dxyZJw/ddUWIHe+KG"
  .. "MmtilQzJXusoNUn4tsVLbLsirrKEumQjsi58wT0CAAAAAAAAAAAAAAAAAAAArLcv33hG9gAoAAA="
Tool.invoke("file_operations", { operation = "mkdir", path = dir })
Tool.invoke("base64_encoder", { operation = "decode", input = packed, output_file = dir .. "/books.tar.gz" })
Tool.invoke("archive_handler", { operation = "extract", path = dir .. "/books.tar.gz", target_path = dir })
local db = dir .. "/books.db"
local function D(params)
  params.database = db
  return Tool.invoke("database-connector", params)
end
print("tables:", D({ operation = "tables" }).text)
print(D({ operation = "schema", table = "books" }).text)
print(D({ query = "SELECT title, year FROM books WHERE year > ? ORDER BY year", params = { 1970 } }).text)
print(D({ query = "SELECT author FROM books WHERE title = :title", params = { title = "Dune" } }).text)
-- Writes are refused while the database is read-only, and values never go in the SQL text:
for _, sql in ipairs({ "DELETE FROM books", "SELECT * FROM books WHERE title = 'x' OR 1=1" }) do
  local ok, err = pcall(function()
    return D({ query = sql })
  end)
  print("refused:", not ok, err)
end
Tool.invoke("file_operations", { operation = "delete", path = dir, recursive = true })
-- PostgreSQL (pip install 'llmspell[postgres]'): the same calls on a postgresql:// connection
-- string; its host passes the NET gate (this machine's needs tools.http_request.allow_localhost).
if ARGS.postgres then
  print(Tool.invoke("database-connector", { database = ARGS.postgres, operation = "tables" }).text)
else
  print("PostgreSQL part skipped: pass -- --postgres postgresql://user@host/db")
end
