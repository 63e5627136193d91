"""diff_calculator: unified, context and simple diffs of texts or files, and structural diffs of
JSON values (added, removed and changed paths).

The text diffs are difflib's, computed here without importing difflib (whose import, with the
heapq it imports, was ~1 ms of the tool's first call): the same Ratcliff/Obershelp matching
(longest matching block first, then both sides of it; with difflib's default rules for "junk"
and for elements more frequent than 1% of a sequence of 200 or more), the same grouping of
changes with context lines, and ndiff's pairing of similar lines inside a changed block (a pair
whose characters match with a ratio above 0.75, spaces and tabs being junk). What a diff shows,
its line counts and its similarity equal difflib's (Python 3.11-3.13); tests/test_tool_diff.py
compares them with difflib over random texts."""

from __future__ import annotations

from collections.abc import Sequence

from llmspell_kernel.tools.base import Params, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

Op = tuple[str, int, int, int, int]  # (tag, a from, a to, b from, b to), as difflib's opcodes


class _Matcher:
    """Compares sequences `a` with one fixed sequence `b`: its matching blocks, opcodes and
    ratios (what difflib.SequenceMatcher(junk, a, b) gives)."""

    __slots__ = ("b", "junk", "where", "counts")

    def __init__(self, b: Sequence[str], junk: frozenset[str] | None = None) -> None:
        self.b = b
        where: dict[str, list[int]] = {}
        for j, item in enumerate(b):
            where.setdefault(item, []).append(j)
        self.junk = {item for item in where if item in junk} if junk else set()
        for item in self.junk:
            del where[item]
        if len(b) >= 200:  # "popular" elements are not used to start a match
            limit = len(b) // 100 + 1
            for item in [item for item, places in where.items() if len(places) > limit]:
                del where[item]
        self.where = where
        self.counts: dict[str, int] | None = None

    def _longest(
        self, a: Sequence[str], alo: int, ahi: int, blo: int, bhi: int
    ) -> tuple[int, int, int]:
        b, where, junk = self.b, self.where, self.junk
        best_i, best_j, size = alo, blo, 0
        runs: dict[int, int] = {}  # j -> length of the match ending at (i - 1, j)
        for i in range(alo, ahi):
            ending: dict[int, int] = {}
            previous = runs.get
            for j in where.get(a[i], ()):
                if j < blo:
                    continue
                if j >= bhi:
                    break
                k = ending[j] = previous(j - 1, 0) + 1
                if k > size:
                    best_i, best_j, size = i - k + 1, j - k + 1, k
            runs = ending
        # Grow it over equal non-junk elements, then over equal junk on either side.
        for in_junk in (False, True):
            if in_junk and not junk:
                break
            while (
                best_i > alo
                and best_j > blo
                and (b[best_j - 1] in junk) is in_junk
                and a[best_i - 1] == b[best_j - 1]
            ):
                best_i, best_j, size = best_i - 1, best_j - 1, size + 1
            while (
                best_i + size < ahi
                and best_j + size < bhi
                and (b[best_j + size] in junk) is in_junk
                and a[best_i + size] == b[best_j + size]
            ):
                size += 1
        return best_i, best_j, size

    def blocks(self, a: Sequence[str]) -> list[tuple[int, int, int]]:
        """Matching blocks (i, j, size), ascending, adjacent ones joined, then (len a, len b, 0)."""
        found: list[tuple[int, int, int]] = []
        pending = [(0, len(a), 0, len(self.b))]
        while pending:
            alo, ahi, blo, bhi = pending.pop()
            i, j, k = match = self._longest(a, alo, ahi, blo, bhi)
            if k:
                found.append(match)
                if alo < i and blo < j:
                    pending.append((alo, i, blo, j))
                if i + k < ahi and j + k < bhi:
                    pending.append((i + k, ahi, j + k, bhi))
        found.sort()
        joined: list[tuple[int, int, int]] = []
        for i, j, k in found:
            if joined and joined[-1][0] + joined[-1][2] == i and joined[-1][1] + joined[-1][2] == j:
                joined[-1] = (joined[-1][0], joined[-1][1], joined[-1][2] + k)
            else:
                joined.append((i, j, k))
        joined.append((len(a), len(self.b), 0))
        return joined

    def ratio(self, a: Sequence[str]) -> float:
        total = len(a) + len(self.b)
        return 2.0 * sum(k for _, _, k in self.blocks(a)) / total if total else 1.0

    def quick_ratio(self, a: Sequence[str]) -> float:
        """An upper bound of ratio(): the elements a and b have in common, in any order."""
        if self.counts is None:
            self.counts = {}
            for item in self.b:
                self.counts[item] = self.counts.get(item, 0) + 1
        counts, common = self.counts, 0
        used: dict[str, int] = {}
        for item in a:
            taken = used.get(item, 0)
            if taken < counts.get(item, 0):
                common += 1
                used[item] = taken + 1
        total = len(a) + len(self.b)
        return 2.0 * common / total if total else 1.0


def _opcodes(blocks: list[tuple[int, int, int]]) -> list[Op]:
    codes: list[Op] = []
    i = j = 0
    for ai, bj, size in blocks:
        if i < ai or j < bj:
            tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert"
            codes.append((tag, i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            codes.append(("equal", ai, i, bj, j))
    return codes


def _groups(codes: list[Op], n: int) -> list[list[Op]]:
    """The changes in hunks with up to n lines of context (difflib's get_grouped_opcodes)."""
    codes = list(codes) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - n), i2, max(j1, j2 - n), j2)
    if codes[-1][0] == "equal":
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + n), j1, min(j2, j1 + n))
    groups: list[list[Op]] = []
    group: list[Op] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > n + n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _span(start: int, stop: int, unified: bool) -> str:
    length = stop - start
    first = start + 1 if length else start  # an empty range names the line before it
    if unified:
        return str(first) if length == 1 else f"{first},{length}"
    return str(first) if length <= 1 else f"{first},{first + length - 1}"


def unified_diff(
    a: list[str], b: list[str], old: str, new: str, n: int = 3, end: str = "\n"
) -> list[str]:
    """difflib.unified_diff(a, b, old, new, n=n, lineterm=end), as a list."""
    return _unified(a, b, _groups(_opcodes(_Matcher(b).blocks(a)), n), old, new, end)


def _unified(
    a: list[str], b: list[str], groups: list[list[Op]], old: str, new: str, end: str
) -> list[str]:
    out = [f"--- {old}{end}", f"+++ {new}{end}"] if groups else []
    for group in groups:
        out.append(
            f"@@ -{_span(group[0][1], group[-1][2], True)} "
            f"+{_span(group[0][3], group[-1][4], True)} @@{end}"
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in a[i1:i2])
                continue
            out.extend("-" + line for line in a[i1:i2])  # empty for an insert
            out.extend("+" + line for line in b[j1:j2])  # empty for a delete
    return out


_MARKS = {"insert": "+ ", "delete": "- ", "replace": "! ", "equal": "  "}


def _context(a: list[str], b: list[str], groups: list[list[Op]]) -> list[str]:
    out = ["*** old\n", "--- new\n"] if groups else []
    for group in groups:
        out.append("***************\n")
        out.append(f"*** {_span(group[0][1], group[-1][2], False)} ****\n")
        if any(tag in ("replace", "delete") for tag, *_ in group):
            for tag, i1, i2, _, _ in group:
                if tag != "insert":
                    out.extend(_MARKS[tag] + line for line in a[i1:i2])
        out.append(f"--- {_span(group[0][3], group[-1][4], False)} ----\n")
        if any(tag in ("replace", "insert") for tag, *_ in group):
            for tag, _, _, j1, j2 in group:
                if tag != "delete":
                    out.extend(_MARKS[tag] + line for line in b[j1:j2])
    return out


_BLANKS = frozenset(" \t")  # ndiff's character junk


def _changed(a: list[str], b: list[str], codes: list[Op]) -> list[str]:
    """ndiff's "- " and "+ " lines, in its order (its "  " and "? " lines left out)."""
    out: list[str] = []
    for tag, alo, ahi, blo, bhi in codes:
        if tag == "delete":
            out.extend("- " + line for line in a[alo:ahi])
        elif tag == "insert":
            out.extend("+ " + line for line in b[blo:bhi])
        elif tag == "replace":
            _replace(a, b, alo, ahi, blo, bhi, out)
    return out


def _replace(
    a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int, out: list[str]
) -> None:
    """A changed block as ndiff shows it: the most similar pair of lines (ratio > 0.75; else the
    first identical pair) as a change of one line, and the lines before and after it the same
    way; with no such pair, all its old lines and all its new ones (the shorter side first)."""
    todo: list[tuple[int, int, int, int] | str] = [(alo, ahi, blo, bhi)]
    while todo:
        task = todo.pop()
        if isinstance(task, str):
            out.append(task)
            continue
        alo, ahi, blo, bhi = task
        if alo >= ahi or blo >= bhi:
            out.extend("- " + line for line in a[alo:ahi])
            out.extend("+ " + line for line in b[blo:bhi])
            continue
        best, best_i, best_j = 0.74, -1, -1
        equal: tuple[int, int] | None = None
        for j in range(blo, bhi):
            line = b[j]
            matcher: _Matcher | None = None
            for i in range(alo, ahi):
                old = a[i]
                if old == line:
                    equal = equal or (i, j)
                    continue
                total = len(old) + len(line)
                if 2.0 * min(len(old), len(line)) / total <= best:
                    continue
                matcher = matcher or _Matcher(line, _BLANKS)
                if matcher.quick_ratio(old) > best:
                    ratio = matcher.ratio(old)
                    if ratio > best:
                        best, best_i, best_j = ratio, i, j
        if best < 0.75:
            if equal is None:
                old_lines = ["- " + line for line in a[alo:ahi]]
                new_lines = ["+ " + line for line in b[blo:bhi]]
                shorter_new = bhi - blo < ahi - alo
                out.extend(new_lines if shorter_new else old_lines)
                out.extend(old_lines if shorter_new else new_lines)
                continue
            best_i, best_j = equal
            pair: list[str] = []  # identical: an unchanged line
        else:
            pair = ["- " + a[best_i], "+ " + b[best_j]]
        todo.append((best_i + 1, ahi, best_j + 1, bhi))
        todo.extend(reversed(pair))
        todo.append((alo, best_i, blo, best_j))


def _text(params: Params, context: Any, name: str, file_name: str) -> str:
    path = params.text(file_name)
    if path is not None:
        resolved = context.path(path)
        context.check_size(path, resolved.stat().st_size)
        return resolved.read_text("utf-8", errors="replace")
    return params.text(name, "")


def run(params: Params, context: Any) -> ToolResponse:
    form = params.choice("format", ("unified", "context", "simple", "json"), "unified")
    if form == "json":
        changes: list[dict[str, Any]] = []
        _json_diff(params.value("old_json"), params.value("new_json"), "", changes)
        lines = [f"{c['op']} {c['path'] or '/'}" for c in changes]
        return ToolResponse(
            result={"format": "json", "changes": changes, "identical": not changes},
            text="\n".join(lines),
        )
    old = _text(params, context, "old_text", "old_file")
    new = _text(params, context, "new_text", "new_file")
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    n = params.integer("context_lines", 3)
    codes = _opcodes(_Matcher(b).blocks(a))  # one line-by-line comparison for every form
    changed = _changed(a, b, codes)
    added = sum(1 for line in changed if line[0] == "+")
    if form == "unified":
        lines = _unified(a, b, _groups(codes, n), "old", "new", "\n")
    elif form == "context":
        lines = _context(a, b, _groups(codes, n))
    else:
        lines = changed
    diff = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return ToolResponse(
        result={
            "format": form,
            "diff": diff,
            "identical": old == new,
            "lines_added": added,
            "lines_removed": len(changed) - added,
            "similarity": round(_Matcher(new).ratio(old), 4),
        },
        text=diff,
    )


def _json_diff(old: Any, new: Any, path: str, out: list[dict[str, Any]]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}/{key}"
            if key not in new:
                out.append({"op": "removed", "path": where, "old": old[key]})
            elif key not in old:
                out.append({"op": "added", "path": where, "new": new[key]})
            else:
                _json_diff(old[key], new[key], where, out)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            where = f"{path}/{index + 1}"
            if index >= len(new):
                out.append({"op": "removed", "path": where, "old": old[index]})
            elif index >= len(old):
                out.append({"op": "added", "path": where, "new": new[index]})
            else:
                _json_diff(old[index], new[index], where, out)
    elif old != new:
        out.append({"op": "changed", "path": path, "old": old, "new": new})
