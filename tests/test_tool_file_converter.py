"""file_converter on real files in tmp_path: encodings, line endings, indentation."""

from __future__ import annotations

from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


def _convert(params: str) -> str:
    return f'return Tool.invoke("file_converter", {{{params}}})'


def test_encodings_are_detected_and_converted(allowed: Path):
    (allowed / "latin.txt").write_bytes("café\r\nnaïve\r\n".encode("latin-1"))
    (allowed / "bom.txt").write_bytes("\ufeffhé\n".encode())
    engine, _ = make_engine(allowed)
    bom = run(engine, _convert(f'operation="detect", path="{allowed}/bom.txt"'))["result"]
    assert bom["encoding"] == "utf-8-sig" and bom["bom"] is True and bom["line_endings"] == "lf"
    undecided = run(engine, _convert(f'operation="detect", path="{allowed}/latin.txt"'))
    assert undecided["success"] is False and "give from_encoding" in undecided["error"]
    done = run(
        engine,
        _convert(
            f'operation="encoding", path="{allowed}/latin.txt", from_encoding="latin-1", '
            f'to_encoding="UTF-16", target_path="{allowed}/out/utf16.txt"'
        ),
    )
    assert (
        done["result"]["from_encoding"] == "iso8859-1" and done["result"]["to_encoding"] == "utf-16"
    )
    assert (allowed / "out" / "utf16.txt").read_bytes().decode("utf-16") == "café\r\nnaïve\r\n"
    back = run(engine, _convert(f'operation="detect", path="{allowed}/out/utf16.txt"'))["result"]
    assert back["encoding"] == "utf-16" and back["line_endings"] == "crlf" and back["lines"] == 2
    (allowed / "greek.txt").write_text("αβγ\n", encoding="utf-8")
    refused = run(
        engine, _convert(f'operation="encoding", path="{allowed}/greek.txt", to_encoding="latin-1"')
    )
    assert refused["success"] is False and "iso8859-1 cannot hold 'α'" in refused["error"]
    assert (allowed / "greek.txt").read_text(encoding="utf-8") == "αβγ\n"  # untouched
    replaced = run(
        engine,
        _convert(
            f'operation="encoding", path="{allowed}/greek.txt", to_encoding="ascii", errors="replace"'
        ),
    )
    assert replaced["success"] and (allowed / "greek.txt").read_bytes() == b"???\n"
    assert "unknown encoding 'nope'" in failure(
        engine, _convert(f'operation="encoding", path="{allowed}/greek.txt", to_encoding="nope"')
    )


def test_line_endings_and_indentation_in_place(allowed: Path, tmp_path: Path):
    (allowed / "mixed.txt").write_bytes(b"a\r\nb\rc\nd")
    (allowed / "code.py").write_bytes(b"def f():\n\tif x:\n\t\treturn 1\n  \tpass\n")
    engine, _ = make_engine(allowed)
    mixed = run(engine, _convert(f'operation="detect", path="{allowed}/mixed.txt"'))["result"]
    assert mixed["line_endings"] == "mixed" and mixed["line_ending_counts"] == {
        "crlf": 1,
        "lf": 1,
        "cr": 1,
    }
    run(
        engine,
        _convert(f'operation="line_endings", path="{allowed}/mixed.txt", line_ending="crlf"'),
    )
    assert (allowed / "mixed.txt").read_bytes() == b"a\r\nb\r\nc\r\nd"
    run(engine, _convert(f'operation="line_endings", path="{allowed}/mixed.txt"'))
    assert (allowed / "mixed.txt").read_bytes() == b"a\nb\nc\nd"
    run(engine, _convert(f'operation="indentation", path="{allowed}/code.py", to="spaces"'))
    assert (
        allowed / "code.py"
    ).read_bytes() == b"def f():\n    if x:\n        return 1\n    pass\n"
    run(engine, _convert(f'operation="indentation", path="{allowed}/code.py", to="tabs"'))
    assert (allowed / "code.py").read_bytes() == b"def f():\n\tif x:\n\t\treturn 1\n\tpass\n"
    outside = tmp_path / "outside.txt"
    message = failure(
        engine,
        _convert(f'operation="line_endings", path="{allowed}/mixed.txt", target_path="{outside}"'),
    )
    assert "is outside tools.file_operations.allowed_paths" in message and not outside.exists()
    assert "unknown operation 'zip'" in failure(
        engine, _convert(f'operation="zip", path="{allowed}/code.py"')
    )
