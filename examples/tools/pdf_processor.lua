-- pdf-processor: page count, metadata and text of a PDF; new PDFs of chosen pages or of several
-- files merged. This example writes a two-page PDF first (inside tools.file_operations.allowed_paths).
-- Run: llmspell run examples/tools/pdf_processor.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-pdf-example"

-- A minimal PDF: catalog, page tree, two pages showing a line of Helvetica each, cross-reference table.
local function tiny_pdf(lines)
  local objects = { "<< /Type /Catalog /Pages 2 0 R >>", "" , "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>" }
  local kids = {}
  for i, line in ipairs(lines) do
    local content = "BT /F1 18 Tf 72 700 Td (" .. line .. ") Tj ET"
    objects[#objects + 1] = "<< /Length " .. #content .. " >>\nstream\n" .. content .. "\nendstream"
    objects[#objects + 1] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
      .. #objects .. " 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    kids[#kids + 1] = #objects .. " 0 R"
  end
  objects[2] = "<< /Type /Pages /Kids [" .. table.concat(kids, " ") .. "] /Count " .. #lines .. " >>"
  local out, offsets = { "%PDF-1.4\n" }, {}
  local size = #out[1]
  for i, body in ipairs(objects) do
    offsets[i] = size
    local text = i .. " 0 obj\n" .. body .. "\nendobj\n"
    out[#out + 1] = text
    size = size + #text
  end
  local xref = { "xref\n0 " .. (#objects + 1) .. "\n0000000000 65535 f \n" }
  for _, offset in ipairs(offsets) do xref[#xref + 1] = string.format("%010d 00000 n \n", offset) end
  out[#out + 1] = table.concat(xref)
  out[#out + 1] = "trailer\n<< /Size " .. (#objects + 1) .. " /Root 1 0 R >>\nstartxref\n" .. size .. "\n%%EOF\n"
  return table.concat(out)
end

Tool.invoke("file_operations", { operation = "write", path = dir .. "/notes.pdf", input = tiny_pdf({ "Tools call one function", "Results are uniform" }) })
local info = Tool.invoke("pdf-processor", { operation = "info", path = dir .. "/notes.pdf" })
print("pages:", info.result.pages)
print(Tool.invoke("pdf-processor", { operation = "extract_text", path = dir .. "/notes.pdf", pages = "2" }).text)
local split = Tool.invoke("pdf-processor", { operation = "extract_pages", path = dir .. "/notes.pdf", pages = "1", target_path = dir .. "/first.pdf", overwrite = true })
print(split.message)
local merged = Tool.invoke("pdf-processor", { operation = "merge", files = { dir .. "/first.pdf", dir .. "/notes.pdf" }, target_path = dir .. "/all.pdf", overwrite = true })
print(merged.message)
