"""diff_calculator: its text diffs are difflib's (unified, context and ndiff's changed lines,
with ndiff's counts, and SequenceMatcher's ratio), compared over written and seeded random
texts, although the tool computes them without difflib: no diff loads difflib or heapq."""

from __future__ import annotations

import difflib
import random
import subprocess
import sys
from pathlib import Path

from llmspell_kernel.tools.base import Params
from llmspell_kernel.tools.builtin import diff_calculator
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


def reference(old: str, new: str, form: str, n: int) -> dict[str, object]:
    """The tool's result as difflib gives it."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    changed = [line for line in difflib.ndiff(a, b) if line[:1] in "+-"]
    if form == "unified":
        lines = list(difflib.unified_diff(a, b, "old", "new", n=n))
    elif form == "context":
        lines = list(difflib.context_diff(a, b, "old", "new", n=n))
    else:
        lines = changed
    return {
        "format": form,
        "diff": "".join(line if line.endswith("\n") else line + "\n" for line in lines),
        "identical": old == new,
        "lines_added": sum(1 for line in changed if line[0] == "+"),
        "lines_removed": sum(1 for line in changed if line[0] == "-"),
        "similarity": round(difflib.SequenceMatcher(None, old, new).ratio(), 4),
    }


WORDS = ["a", "b", "x y", "\t", " ", "", "foo", "bar baz", "the quick brown fox", "    return x"]


def random_text(rng: random.Random) -> str:
    # Short texts, and ones of 200+ lines or characters, where difflib leaves elements found
    # in more than 1% of the positions out of its match search; repeated and similar lines;
    # spaces and tabs (ndiff's junk characters); with and without a final newline.
    lines = []
    for _ in range(rng.choice([0, 1, 2, 4, 8, 20, 40, 230])):
        draw = rng.random()
        if draw < 0.5:
            line = rng.choice(WORDS)
        elif draw < 0.8:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        elif draw < 0.96:
            line = "".join(rng.choice("ab \tc") for _ in range(rng.randint(0, 30)))
        else:
            line = "".join(rng.choice("abcde ") for _ in range(rng.randint(150, 300)))
        lines.append(line)
    text = "\n".join(lines)
    return text + "\n" if text and rng.random() < 0.7 else text


def edited(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(0, 8)):
        draw = rng.random()
        if lines and draw < 0.3:
            del lines[rng.randrange(len(lines))]
        elif draw < 0.6:
            lines.insert(
                rng.randint(0, len(lines)), rng.choice(["new\n", "a\n", "foo bar\n", " \n"])
            )
        elif lines:
            index = rng.randrange(len(lines))
            chars = list(lines[index])
            chars[rng.randrange(len(chars))] = rng.choice("xyz \t")
            lines[index] = "".join(chars)
    return "".join(lines)


def test_text_diffs_equal_difflibs_over_random_texts() -> None:
    rng = random.Random(14)
    cases = [(OLD, NEW), ("", ""), ("", "a"), ("a", ""), ("a\n", "a"), ("x", "x")]
    for _ in range(700):
        old = random_text(rng)
        cases.append((old, edited(rng, old) if rng.random() < 0.7 else random_text(rng)))
    for index, (old, new) in enumerate(cases):
        form = ("unified", "context", "simple")[index % 3]
        n = rng.choice([-1, 0, 1, 2, 3, 5])
        params = Params({"format": form, "old_text": old, "new_text": new, "context_lines": n})
        got = diff_calculator.run(params, None).result
        assert got == reference(old, new, form, n), (index, old, new, form, n)
        a, b = old.splitlines(), new.splitlines()  # as webpage-monitor compares its texts
        want = list(difflib.unified_diff(a, b, "before", "now", n=n, lineterm=""))
        assert diff_calculator.unified_diff(a, b, "before", "now", n, end="") == want, index


def test_a_diff_loads_no_difflib() -> None:
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
    assert out.splitlines() == ["'changed /b/2\\nadded /c'", "[]", "[]"]
