"""image_processor on images Pillow makes in the test: info, resize, convert, thumbnail, the
FILE gate on both paths, a decompression bomb refused from its header, and absence from the
catalogue where Pillow is not installed."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from llmspell_kernel.tools import catalogue
from llmspell_kernel.tools.registry import ToolRegistry
from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

Image = pytest.importorskip("PIL.Image")


def _img(params: str) -> str:
    return f'return Tool.invoke("image_processor", {{{params}}})'


@pytest.fixture
def photo(allowed: Path) -> Path:
    path = allowed / "photo.png"
    image = Image.new("RGBA", (400, 200), (200, 30, 30, 128))
    image.save(path)
    return path


def test_info_resize_convert_and_thumbnail(allowed: Path, photo: Path):
    engine, _ = make_engine(allowed)
    info = run(engine, _img(f'path = "{photo}"'))["result"]
    assert (info["format"], info["width"], info["height"], info["mode"]) == (
        "PNG",
        400,
        200,
        "RGBA",
    )
    assert info["has_alpha"] is True and info["size_bytes"] == photo.stat().st_size
    half = allowed / "half.png"
    r = run(
        engine, _img(f'operation = "resize", path = "{photo}", target_path = "{half}", width = 100')
    )
    assert (r["result"]["width"], r["result"]["height"]) == (100, 50)
    assert Image.open(half).size == (100, 50)
    jpeg = allowed / "out" / "photo.jpg"
    r = run(
        engine,
        _img(f'operation = "convert", path = "{photo}", target_path = "{jpeg}", quality = 80'),
    )
    with Image.open(jpeg) as opened:
        assert opened.format == "JPEG" and opened.mode == "RGB" and opened.size == (400, 200)
    thumb = allowed / "thumb.webp"
    run(
        engine,
        _img(f'operation = "thumbnail", path = "{photo}", target_path = "{thumb}", max_size = 64'),
    )
    with Image.open(thumb) as opened:
        assert opened.format == "WEBP" and opened.size == (64, 32)
    again = failure(
        engine, _img(f'operation = "resize", path = "{photo}", target_path = "{half}", scale = 2')
    )
    assert "exists (overwrite = true replaces it)" in again


def test_gates_bad_files_and_bombs(allowed: Path, photo: Path, tmp_path: Path):
    engine, _ = make_engine(allowed)
    outside = tmp_path / "stolen.png"
    message = failure(
        engine, _img(f'operation = "convert", path = "{photo}", target_path = "{outside}"')
    )
    assert "tools.file_operations.allowed_paths" in message and not outside.exists()
    assert "unknown image format 'txt'" in failure(engine, _img(f'operation = "convert", path = "{photo}", target_path = "{allowed}/x.txt"'))  # fmt: skip
    text = allowed / "notes.png"
    text.write_text("not an image")
    bad = run(engine, _img(f'path = "{text}"'))
    assert bad["success"] is False and "not an image Pillow can read" in bad["error"]
    # A PNG whose header claims 60000 x 60000 pixels: refused before any pixel is decoded.
    data = bytearray(photo.read_bytes())
    ihdr = struct.pack(">II", 60000, 60000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    bomb = allowed / "bomb.png"
    bomb.write_bytes(bytes(data))
    assert "decompression bomb" in failure(engine, _img(f'path = "{bomb}"'))


def test_absent_without_pillow(monkeypatch: pytest.MonkeyPatch):
    assert ToolRegistry().entry("image_processor") is not None
    monkeypatch.setitem(catalogue._AVAILABLE, "PIL", False)
    assert ToolRegistry().entry("image_processor") is None
