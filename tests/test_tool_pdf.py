"""pdf-processor on PDFs made in the test with pypdf (pages with real text content streams and
a standard font; one encrypted): info, text of chosen pages, extract_pages and merge, and the
FILE gate on every path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]

pypdf = pytest.importorskip("pypdf")


def make_pdf(path: Path, texts: list[str], password: str | None = None) -> Path:
    """A PDF whose page n shows texts[n] in Helvetica."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for text in texts:
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 18 Tf 72 700 Td ({text}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
    writer.add_metadata({"/Title": "Tool report", "/Author": "llmspell tests"})
    if password:
        writer.encrypt(password)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def _pdf(params: str) -> str:
    return f'return Tool.invoke("pdf-processor", {{{params}}})'


def test_info_and_text_of_chosen_pages(allowed: Path):
    report = make_pdf(allowed / "report.pdf", ["Introduction to tools", "Web tools", "Summary"])
    engine, _ = make_engine(allowed)
    info = run(engine, _pdf(f'operation = "info", path = "{report}"'))["result"]
    assert info["pages"] == 3 and info["encrypted"] is False and info["page_size"] == [612.0, 792.0]
    assert (
        info["metadata"]["title"] == "Tool report"
        and info["metadata"]["author"] == "llmspell tests"
    )
    every = run(engine, _pdf(f'path = "{report}"'))
    assert every["text"] == "Introduction to tools\n\nWeb tools\n\nSummary"
    some = run(engine, _pdf(f'operation = "extract_text", path = "{report}", pages = "2-3"'))
    assert [p["page"] for p in some["result"]["pages"]] == [2, 3] and some[
        "text"
    ] == "Web tools\n\nSummary"
    last = run(engine, _pdf(f'operation = "text", path = "{report}", pages = {{1, "-1"}}'))
    assert last["text"] == "Introduction to tools\n\nSummary"
    assert "page 4 is outside 1-3" in failure(engine, _pdf(f'path = "{report}", pages = "4"'))


def test_extract_pages_and_merge_write_new_pdfs(allowed: Path):
    a = make_pdf(allowed / "a.pdf", ["A one", "A two"])
    b = make_pdf(allowed / "b.pdf", ["B one"])
    engine, _ = make_engine(allowed)
    out = allowed / "out" / "second.pdf"
    r = run(
        engine,
        _pdf(f'operation = "extract_pages", path = "{a}", pages = "2", target_path = "{out}"'),
    )
    assert r["result"]["pages"] == [2] and pypdf.PdfReader(out).pages[0].extract_text() == "A two"
    again = failure(
        engine, _pdf(f'operation = "split", path = "{a}", pages = "1", target_path = "{out}"')
    )
    assert "exists (overwrite = true replaces it)" in again
    merged = allowed / "merged.pdf"
    r = run(
        engine, _pdf(f'operation = "merge", files = {{"{a}", "{b}"}}, target_path = "{merged}"')
    )
    assert r["result"]["pages"] == 3
    assert [p.extract_text() for p in pypdf.PdfReader(merged).pages] == ["A one", "A two", "B one"]


def test_encrypted_broken_and_outside_files(allowed: Path, tmp_path: Path):
    secret = make_pdf(allowed / "secret.pdf", ["Hidden"], password="s3cret")
    engine, _ = make_engine(allowed)
    assert "is encrypted: give its 'password'" in failure(engine, _pdf(f'path = "{secret}"'))
    assert "wrong password" in failure(engine, _pdf(f'path = "{secret}", password = "nope"'))
    assert run(engine, _pdf(f'path = "{secret}", password = "s3cret"'))["text"] == "Hidden"
    broken = allowed / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not a pdf")
    bad = run(engine, _pdf(f'path = "{broken}"'))
    assert bad["success"] is False and "is not a readable PDF" in bad["error"]
    outside = make_pdf(tmp_path / "outside.pdf", ["Out"])
    assert "tools.file_operations.allowed_paths" in failure(engine, _pdf(f'path = "{outside}"'))
    target = tmp_path / "elsewhere.pdf"
    message = failure(
        engine,
        _pdf(
            f'operation = "merge", files = {{"{secret}"}}, password = "s3cret", target_path = "{target}"'
        ),
    )
    assert "tools.file_operations.allowed_paths" in message and not target.exists()


def test_a_fresh_process_reads_and_writes_pdfs_without_loading_pillow(allowed: Path):
    # pypdf imports Pillow for image extraction only; the tool keeps it out (and decrypts with
    # the cryptography provider as before). Pillow stays importable afterwards.
    secret = make_pdf(allowed / "secret.pdf", ["Hidden", "Second"], password="s3cret")
    out = allowed / "second.pdf"
    code = (
        "import sys\n"
        "from llmspell_kernel.lua.engine import EngineSettings, LuaEngine\n"
        f"e = LuaEngine(EngineSettings(allowed_paths=({str(allowed)!r},)))\n"
        "def call(params):\n"
        "    r = e.execute('return Tool.invoke(\"pdf-processor\", {' + params + '})')\n"
        "    return r.value['text'] if r.status == 'ok' else r.evalue\n"
        f'print(call(\'path = "{secret}", password = "s3cret", pages = "1"\'))\n'
        f'print(call(\'operation = "split", path = "{secret}", password = "s3cret", '
        f'pages = "2", target_path = "{out}"\'))\n'
        "print('PIL' in sys.modules, sys.modules['pypdf'].pil_version)\n"
        "import PIL.Image\n"
        "print(PIL.Image.__name__)\n"
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert lines[0] == "Hidden" and lines[2:] == ["False none", "PIL.Image"], lines
    assert pypdf.PdfReader(out).pages[0].extract_text() == "Second"
