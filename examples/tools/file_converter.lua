-- file_converter: detect and convert a text file's encoding, line endings and indentation.
-- Run: llmspell run examples/tools/file_converter.lua
local dir = (ARGS.dir or "/tmp") .. "/llmspell-file-converter-example"
local file = dir .. "/notes.txt"
local function C(params)
  return Tool.invoke("file_converter", params)
end
Tool.invoke("file_operations", { operation = "write", path = file, input = "caf\u{e9}\r\n\tindented\r\n" })
local info = C({ operation = "detect", path = file }).result
print("encoding:", info.encoding, "line endings:", info.line_endings, "lines:", info.lines)
print(C({ operation = "line_endings", path = file, line_ending = "lf" }).message)
print(C({ operation = "indentation", path = file, to = "spaces", tab_width = 2 }).message)
print(C({ operation = "encoding", path = file, to_encoding = "utf-16", target_path = dir .. "/notes-utf16.txt" }).message)
info = C({ operation = "detect", path = dir .. "/notes-utf16.txt" }).result
print("encoding:", info.encoding, "bom:", info.bom, "line endings:", info.line_endings)
local latin = C({ operation = "encoding", path = file, to_encoding = "ascii" })
print("to ascii:", latin.success, latin.error)
Tool.invoke("file_operations", { operation = "delete", path = dir, recursive = true })
