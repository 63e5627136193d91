"""video_processor on a real MP4 (MPEG-4 video, AAC audio) PyAV encodes in the test: detect,
metadata, thumbnail and frame (checked pixel by pixel against the frame drawn at that time),
audio extracted to WAV (read back by the wave module), the FILE gate on both paths including a
symlink, a concat list naming a video outside the allowed paths refused, bad input, absence
without PyAV, and the schema through the real CLI."""

from __future__ import annotations

import json
import math
import wave
from pathlib import Path

import pytest

from llmspell_kernel.tools import catalogue
from llmspell_kernel.tools.registry import ToolRegistry
from tests.processes import llmspell
from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

av = pytest.importorskip("av")
Image = pytest.importorskip("PIL.Image")

FPS, SECONDS, WIDTH, HEIGHT, RATE = 10, 2, 64, 48, 8000


def _colour(index: int) -> tuple[int, int, int]:
    """Frame `index`'s colour: red rises and blue falls, one step a frame."""
    return (index * 12, 40, 255 - index * 12)


def _make_video(path: Path) -> None:
    out = av.open(str(path), "w")
    out.metadata["title"] = "llmspell test"
    video = out.add_stream("mpeg4", rate=FPS)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.bit_rate = 400_000
    audio = out.add_stream("aac", rate=RATE)
    audio.layout = "mono"
    for index in range(FPS * SECONDS):
        frame = av.VideoFrame(WIDTH, HEIGHT, "rgb24")
        frame.planes[0].update(bytes(_colour(index)) * (WIDTH * HEIGHT))
        frame.pts = index
        for packet in video.encode(frame):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    chunk = 1024
    for start in range(0, RATE * SECONDS, chunk):
        sound = av.AudioFrame(format="s16", layout="mono", samples=chunk)
        sound.planes[0].update(
            b"".join(
                int(8000 * math.sin(2 * math.pi * 440 * (start + i) / RATE)).to_bytes(
                    2, "little", signed=True
                )
                for i in range(chunk)
            )
        )
        sound.sample_rate, sound.pts = RATE, start
        for packet in audio.encode(sound):
            out.mux(packet)
    for packet in audio.encode():
        out.mux(packet)
    out.close()


@pytest.fixture
def clip(allowed: Path) -> Path:
    path = allowed / "clip.mp4"
    _make_video(path)
    return path


def _v(params: str) -> str:
    return f'return Tool.invoke("video_processor", {{{params}}})'


def _close(pixel: tuple[int, ...], want: tuple[int, int, int], slack: int = 12) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel, want, strict=True))


def test_detect_and_metadata(allowed: Path, clip: Path):
    engine, _ = make_engine(allowed)
    detected = run(engine, _v(f'operation = "detect", file_path = "{clip}"'))["result"]
    assert detected == {"file_path": str(clip), "format": "mp4", "supported": True,
                        "container": "mov,mp4,m4a,3gp,3g2,mj2"}  # fmt: skip
    r = run(engine, _v(f'file_path = "{clip}"'))
    meta = r["result"]["metadata"]
    assert r["operation"] == "metadata" and abs(meta["duration_seconds"] - SECONDS) < 0.2
    assert meta["resolution"] == {"width": WIDTH, "height": HEIGHT, "name": "SD",
                                  "aspect_ratio": "4:3"}  # fmt: skip
    assert meta["fps"] == FPS and meta["frames"] == FPS * SECONDS
    assert (meta["video_codec"], meta["audio_codec"]) == ("mpeg4", "aac")
    assert (meta["audio_channels"], meta["audio_sample_rate"]) == (1, RATE)
    assert meta["file_size"] == clip.stat().st_size and meta["tags"]["title"] == "llmspell test"
    assert "Resolution: 64x48 (SD), Duration: 2.0s, 10 fps" in r["message"]


def test_thumbnail_and_frames_are_the_frames_at_their_time(allowed: Path, clip: Path):
    engine, _ = make_engine(allowed)
    thumb = allowed / "out" / "thumb.png"
    r = run(engine, _v(f'operation = "thumbnail", file_path = "{clip}", target_path = "{thumb}", width = 32'))  # fmt: skip
    assert (r["result"]["width"], r["result"]["height"], r["result"]["format"]) == (32, 24, "png")
    with Image.open(thumb) as image:
        assert image.format == "PNG" and image.size == (32, 24)
        # 10% into two seconds: frame 2.
        assert _close(image.convert("RGB").getpixel((16, 12)), _colour(2))
    frame = allowed / "one-second.jpg"
    r = run(engine, _v(f'operation = "extract_frame", file_path = "{clip}", target_path = "{frame}", timestamp_seconds = 1.5'))  # fmt: skip
    assert r["result"]["frame_time"] == 1.5 and r["result"]["bytes_written"] == frame.stat().st_size  # fmt: skip
    with Image.open(frame) as image:
        assert image.format == "JPEG" and image.size == (WIDTH, HEIGHT)
        assert _close(image.convert("RGB").getpixel((30, 20)), _colour(15))
    first = allowed / "first.png"
    run(engine, _v(f'operation = "extract_frame", file_path = "{clip}", target_path = "{first}"'))
    with Image.open(first) as image:
        assert _close(image.convert("RGB").getpixel((1, 1)), _colour(0))
    again = failure(engine, _v(f'operation = "extract_frame", file_path = "{clip}", target_path = "{first}"'))  # fmt: skip
    assert "exists (overwrite = true replaces it)" in again


def test_extract_audio_writes_the_track_as_wav(allowed: Path, clip: Path):
    engine, _ = make_engine(allowed)
    target = allowed / "sound.wav"
    r = run(engine, _v(f'operation = "extract_audio", file_path = "{clip}", target_path = "{target}"'))  # fmt: skip
    assert r["result"]["codec"] == "aac" and r["result"]["channels"] == 1
    with wave.open(str(target)) as sound:
        assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (RATE, 1, 2)
        assert abs(sound.getnframes() / RATE - SECONDS) < 0.2
        samples = sound.readframes(RATE // 2)
    loudest = max(abs(int.from_bytes(samples[i : i + 2], "little", signed=True)) for i in range(0, len(samples), 2))  # fmt: skip
    assert 6000 < loudest < 10000  # the 440 Hz tone at 8000 of amplitude, through AAC
    not_wav = failure(engine, _v(f'operation = "extract_audio", file_path = "{clip}", target_path = "{allowed}/a.mp3"'))  # fmt: skip
    assert "extract_audio writes WAV" in not_wav


def test_gates_symlinks_concat_lists_and_bad_input(allowed: Path, clip: Path, tmp_path: Path):
    engine, _ = make_engine(allowed)
    outside = tmp_path / "stolen.png"
    message = failure(engine, _v(f'operation = "thumbnail", file_path = "{clip}", target_path = "{outside}"'))  # fmt: skip
    assert "tools.file_operations.allowed_paths" in message and not outside.exists()
    elsewhere = tmp_path / "private"
    elsewhere.mkdir()
    private = elsewhere / "private.mp4"
    _make_video(private)
    (allowed / "link.mp4").symlink_to(private)
    assert "is outside tools.file_operations.allowed_paths" in failure(engine, _v(f'file_path = "{allowed}/link.mp4"'))  # fmt: skip
    # Playlists and concat lists inside the allowed dir naming a video outside it: FFmpeg is
    # never let open them (only plain container demuxers are allowed; HLS would read it).
    segment = elsewhere / "private.ts"
    _make_video(segment)
    playlist = allowed / "list.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{segment}\n#EXT-X-ENDLIST\n"
    )
    concat = allowed / "list.mp4"
    concat.write_text(f"ffconcat version 1.0\nfile '{private}'\n")
    for listing in (playlist, concat):
        refused = run(engine, _v(f'file_path = "{listing}"'))
        assert refused["success"] is False and "is not a video this tool reads" in refused["error"]
    text = allowed / "notes.mp4"
    text.write_text("not a video at all")
    bad = run(engine, _v(f'file_path = "{text}"'))
    assert bad["success"] is False and "is not a video this tool reads" in bad["error"]
    missing = run(engine, _v(f'file_path = "{allowed}/absent.mp4"'))
    assert missing["success"] is False and "file not found" in missing["error"]
    late = failure(engine, _v(f'operation = "extract_frame", file_path = "{clip}", target_path = "{allowed}/x.png", timestamp_seconds = 9'))  # fmt: skip
    assert "'timestamp_seconds' must be between 0 and the video's 2.048 s" in late
    assert "unknown image format 'gif'" in failure(engine, _v(f'operation = "thumbnail", file_path = "{clip}", target_path = "{allowed}/x.gif"'))  # fmt: skip
    assert "must be one of detect, metadata" in failure(engine, _v(f'operation = "transcode", file_path = "{clip}"'))  # fmt: skip


def test_absent_without_pyav_and_schema_in_the_cli(monkeypatch: pytest.MonkeyPatch):
    assert ToolRegistry().entry("video_processor") is not None
    info = llmspell("tools", "info", "video_processor", "--output", "json")
    assert info.returncode == 0, info.stderr
    schema = json.loads(info.stdout)
    assert schema["category"] == "media" and schema["parameters"]["required"] == ["file_path"]
    assert {"operation", "file_path", "target_path", "timestamp_seconds"} <= set(
        schema["parameters"]["properties"]
    )
    monkeypatch.setitem(catalogue._AVAILABLE, "av", False)
    assert ToolRegistry().entry("video_processor") is None
