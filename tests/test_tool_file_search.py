"""file_search on a real tree in tmp_path: globs, text and regex content, its bounds, links."""

from __future__ import annotations

from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


def _search(params: str) -> str:
    return f'return Tool.invoke("file_search", {{{params}}})'


def _tree(root: Path) -> None:
    (root / "src" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "src" / "a.py").write_text("import os\n# TODO: one\nprint('x')\n")
    (root / "src" / "deep" / "b.py").write_text("def f():\n    return 1  # todo two\n")
    (root / "notes.md").write_text("TODO: write notes\n")
    (root / ".hidden" / "c.py").write_text("# TODO hidden\n")
    (root / "blob.bin").write_bytes(b"TODO\0\1\2")


def test_glob_and_content_search(allowed: Path):
    _tree(allowed)
    engine, _ = make_engine(allowed)
    found = run(engine, _search(f'path="{allowed}", pattern="*.py"'))
    assert [m["path"] for m in found["result"]["matches"]] == [
        f"{allowed}/src/a.py",
        f"{allowed}/src/deep/b.py",
    ]
    assert found["operation"] == "find" and found["text"].splitlines()[0] == f"{allowed}/src/a.py"
    hits = run(engine, _search(f'path="{allowed}", content="TODO"'))["result"]
    assert [(m["path"].removeprefix(f"{allowed}/"), m["line"]) for m in hits["matches"]] == [
        ("notes.md", 1),
        ("src/a.py", 2),
    ]
    assert hits["files_skipped"] == 1  # the binary file
    loose = run(
        engine,
        _search(f'path="{allowed}", content="todo", case_sensitive=false, include_hidden=true'),
    )
    assert len(loose["result"]["matches"]) == 4
    regex = run(
        engine,
        _search(f'path="{allowed}", pattern="src/*", content="^def \\\\w+\\\\(", regex=true'),
    )
    assert regex["text"] == f"{allowed}/src/deep/b.py:1: def f():"
    shallow = run(engine, _search(f'path="{allowed}", pattern="*.py", max_depth=2'))
    assert [m["path"] for m in shallow["result"]["matches"]] == [f"{allowed}/src/a.py"]


def test_search_is_bounded_and_never_follows_links(allowed: Path, tmp_path: Path):
    for i in range(30):
        (allowed / f"f{i:02}.txt").write_text("needle\n" * 3)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("needle secret\n")
    (allowed / "link-dir").symlink_to(outside)
    (allowed / "link-file.txt").symlink_to(outside / "secret.txt")
    engine, _ = make_engine(allowed)
    capped = run(engine, _search(f'path="{allowed}", content="needle", max_results=10'))["result"]
    assert capped["count"] == 10 and capped["truncated"] is True
    every = run(engine, _search(f'path="{allowed}", content="needle", max_results=1000'))["result"]
    assert every["count"] == 90 and not any("secret" in m["text"] for m in every["matches"])
    assert "is outside tools.file_operations.allowed_paths" in failure(
        engine, _search(f'path="{outside}"')
    )
    assert "must be between 1 and 1000" in failure(
        engine, _search(f'path="{allowed}", max_results=0')
    )
    assert "not a valid regular expression" in failure(
        engine, _search(f'path="{allowed}", content="(", regex=true')
    )
    missing = run(engine, _search(f'path="{allowed}/nope"'))
    assert missing["success"] is False and "not a directory" in missing["error"]
