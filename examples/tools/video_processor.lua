-- video_processor (pip install 'llmspell[media]'): a video's format, metadata (duration,
-- resolution, fps, codecs), thumbnails, frames and its audio track, through PyAV (FFmpeg's
-- libraries). This example writes a one-second 32x24 YUV4MPEG2 video (raw frames, no audio)
-- first. Run: llmspell run examples/tools/video_processor.lua
if not Tool.exists("video_processor") then
  print("skipped: video_processor needs PyAV (pip install 'llmspell[media]')")
  return
end
local dir = (ARGS.dir or "/tmp") .. "/llmspell-video-example"
local w, h, frames = 32, 24, 10
local parts = { "YUV4MPEG2 W" .. w .. " H" .. h .. " F10:1 Ip A1:1 C420jpeg\n" }
for i = 0, frames - 1 do
  -- a bright bar moving left to right over a dark background; grey chroma
  local rows = {}
  for _ = 1, h do
    local row = {}
    for x = 0, w - 1 do row[#row + 1] = (x // 3 == i) and "\120" or "\020" end
    rows[#rows + 1] = table.concat(row)
  end
  parts[#parts + 1] = "FRAME\n" .. table.concat(rows) .. string.rep("\127", w * h // 2)
end
local video = dir .. "/bar.y4m"
Tool.invoke("file_operations", { operation = "write", path = video, input = table.concat(parts) })

local function V(params) params.file_path = video return Tool.invoke("video_processor", params) end
print(V({ operation = "detect" }).message)
local meta = V({ operation = "metadata" })
print(meta.message)
print("codec:", meta.result.metadata.video_codec, "frames:", meta.result.metadata.frames)
local thumb = V({ operation = "thumbnail", target_path = dir .. "/thumb.png", width = 16, overwrite = true })
print(thumb.message)
local frame = V({ operation = "extract_frame", target_path = dir .. "/half.jpg", timestamp_seconds = 0.5,
                  overwrite = true })
print(frame.message)
-- No audio track: an operational failure comes back as success = false, not an error.
local audio = V({ operation = "extract_audio", target_path = dir .. "/sound.wav", overwrite = true })
print("extract_audio:", audio.success, audio.error)
