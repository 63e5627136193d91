"""diff_calculator: its text diffs are difflib's (unified, context and ndiff's changed lines,
with ndiff's counts), and a JSON diff, which needs no difflib, leaves difflib and heapq
unloaded in a fresh process."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from tests.test_tools import allowed, make_engine, run

__all__ = ["allowed"]

OLD = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n"
NEW = "one\n2\nthree\nfour\nfive and a half\nsix\nseven\neight\n"


def test_text_diffs_are_difflibs_in_every_form(allowed: Path) -> None:
    engine, _ = make_engine(allowed)
    a, b = OLD.splitlines(keepends=True), NEW.splitlines(keepends=True)
    ndiff = list(difflib.ndiff(a, b))
    want = {
        "unified": "".join(difflib.unified_diff(a, b, "old", "new", n=1)),
        "context": "".join(difflib.context_diff(a, b, "old", "new", n=1)),
        "simple": "".join(line for line in ndiff if line[:1] in "+-"),
    }
    for form, diff in want.items():
        result = run(
            engine,
            f"""local r = Tool.invoke("diff_calculator", {{format = "{form}", context_lines = 1,
                   old_text = {OLD!r}, new_text = {NEW!r}}}).result
               return {{r.diff, r.lines_added, r.lines_removed, r.identical, r.similarity}}""",
        )
        assert result == [
            diff,
            sum(1 for line in ndiff if line.startswith("+ ")),
            sum(1 for line in ndiff if line.startswith("- ")),
            False,
            round(difflib.SequenceMatcher(None, OLD, NEW).ratio(), 4),
        ], form
    assert want["simple"] == "- two\n+ 2\n- five\n+ five and a half\n+ eight\n"
    same = run(
        engine, 'return Tool.invoke("diff_calculator", {old_text = "x", new_text = "x"}).result'
    )
    assert same["identical"] is True and same["diff"] == "" and same["similarity"] == 1.0


def test_a_json_diff_loads_no_difflib() -> None:
    code = (
        "import sys\n"
        "from llmspell_kernel.lua.engine import EngineSettings, LuaEngine\n"
        "e = LuaEngine(EngineSettings())\n"
        "r = e.execute(\"return Tool.invoke('diff_calculator', {format = 'json', "
        'old_json = {a = 1, b = {2, 3}}, new_json = {a = 1, b = {2, 4}, c = true}}).text")\n'
        "print(repr(r.value))\n"
        "print(sorted(m for m in ('difflib', 'heapq') if m in sys.modules))\n"
        "e.execute(\"Tool.invoke('diff_calculator', {old_text = 'a', new_text = 'b'})\")\n"
        "print(sorted(m for m in ('difflib', 'heapq') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["'changed /b/2\\nadded /c'", "[]", "['difflib', 'heapq']"]
