-- image_processor (pip install 'llmspell[media]'): info, resize, convert and thumbnail through
-- Pillow. This example writes a small plain-PPM image first. Run: llmspell run examples/tools/image_processor.lua
if not Tool.exists("image_processor") then
  print("skipped: image_processor needs Pillow (pip install 'llmspell[media]')")
  return
end
local dir = (ARGS.dir or "/tmp") .. "/llmspell-image-example"
local rows = {}
for y = 1, 40 do
  local row = {}
  for x = 1, 80 do row[#row + 1] = string.format("%d %d %d", x * 3, y * 6, 128) end
  rows[#rows + 1] = table.concat(row, " ")
end
Tool.invoke("file_operations", { operation = "write", path = dir .. "/gradient.ppm", input = "P3\n80 40\n255\n" .. table.concat(rows, "\n") .. "\n" })
local function I(params) return Tool.invoke("image_processor", params) end
print(I({ path = dir .. "/gradient.ppm" }).message)
print(I({ operation = "convert", path = dir .. "/gradient.ppm", target_path = dir .. "/gradient.png", overwrite = true }).message)
print(I({ operation = "resize", path = dir .. "/gradient.png", target_path = dir .. "/small.png", width = 20, overwrite = true }).message)
print(I({ operation = "thumbnail", path = dir .. "/gradient.png", target_path = dir .. "/thumb.jpg", max_size = 32, overwrite = true }).message)
