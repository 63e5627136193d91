"""audio_processor on WAV files made in the test (the wave module), one with ID3 tags added by
mutagen: metadata only, the FILE gate, and non-audio files."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

mutagen_wave = pytest.importorskip("mutagen.wave")


def _wav(path: Path, seconds: float, rate: int = 8000, channels: int = 2) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * channels * int(rate * seconds))
    return path


def test_metadata_of_wav_files_with_and_without_tags(allowed: Path):
    plain = _wav(allowed / "tone.wav", 1.5)
    tagged = _wav(allowed / "tagged.wav", 0.5, rate=16000, channels=1)
    from mutagen.id3 import TIT2, TPE1

    audio = mutagen_wave.WAVE(tagged)
    audio.add_tags()
    audio.tags.add(TIT2(encoding=3, text="Lua Theme"))
    audio.tags.add(TPE1(encoding=3, text=["Ana", "Bo"]))
    audio.save()
    engine, _ = make_engine(allowed)
    info = run(engine, f'return Tool.invoke("audio_processor", {{path = "{plain}"}})')
    result = info["result"]
    assert (result["format"], result["duration_seconds"], result["channels"]) == ("WAVE", 1.5, 2)
    assert (result["sample_rate"], result["bits_per_sample"], result["bitrate"]) == (
        8000,
        16,
        256000,
    )
    assert info["message"] == f"{plain}: WAVE, 1.5 s, 2 channels, 8000 Hz"
    tags = run(engine, f'return Tool.invoke("audio_processor", {{path = "{tagged}"}})')["result"]
    assert tags["tags"] == {"TIT2": "Lua Theme", "TPE1": ["Ana", "Bo"]}
    assert tags["sample_rate"] == 16000 and tags["duration_seconds"] == 0.5


def test_gate_and_files_that_are_not_audio(allowed: Path, tmp_path: Path):
    engine, _ = make_engine(allowed)
    outside = _wav(tmp_path / "outside.wav", 0.1)
    assert "tools.file_operations.allowed_paths" in failure(engine, f'Tool.invoke("audio_processor", {{path = "{outside}"}})')  # fmt: skip
    notes = allowed / "notes.txt"
    notes.write_text("not audio")
    bad = run(engine, f'return Tool.invoke("audio_processor", {{path = "{notes}"}})')
    assert bad["success"] is False and "is not an audio format mutagen knows" in bad["error"]
