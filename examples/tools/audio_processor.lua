-- audio_processor (pip install 'llmspell[media]'): an audio file's metadata (format, duration,
-- rate, channels, tags) through mutagen; nothing is decoded. This example writes half a second
-- of a quiet 8-bit WAV first. Run: llmspell run examples/tools/audio_processor.lua
if not Tool.exists("audio_processor") then
  print("skipped: audio_processor needs mutagen (pip install 'llmspell[media]')")
  return
end
local dir = (ARGS.dir or "/tmp") .. "/llmspell-audio-example"
local function u32(n) return string.char(n % 256, (n // 256) % 256, (n // 65536) % 256, n // 16777216) end
local function u16(n) return string.char(n % 256, n // 256) end
local samples = 4096 -- 8000 Hz, mono, 8 bits: about half a second
local wav = "RIFF" .. u32(36 + samples) .. "WAVE" .. "fmt " .. u32(16) .. u16(1) .. u16(1)
  .. u32(8000) .. u32(8000) .. u16(1) .. u16(8) .. "data" .. u32(samples) .. string.rep("\127", samples)
Tool.invoke("file_operations", { operation = "write", path = dir .. "/quiet.wav", input = wav })
local r = Tool.invoke("audio_processor", { path = dir .. "/quiet.wav" })
print(r.message)
print("bitrate:", r.result.bitrate, "bits:", r.result.bits_per_sample)
