"""diff_calculator: unified, context and simple diffs of texts or files (difflib), and
structural diffs of JSON values (added, removed and changed paths).

difflib (and the heapq it imports) loads on the first text diff only: a JSON diff needs
neither."""

from __future__ import annotations

from typing import Any

from llmspell_kernel.tools.base import Params, ToolResponse


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
    import difflib

    # One line-by-line comparison gives the counts (and the simple form's lines).
    changed = [line for line in difflib.ndiff(a, b) if line[:1] in "+-"]
    added = sum(1 for line in changed if line[0] == "+")
    removed = len(changed) - added
    if form == "unified":
        lines = list(difflib.unified_diff(a, b, "old", "new", n=n))
    elif form == "context":
        lines = list(difflib.context_diff(a, b, "old", "new", n=n))
    else:
        lines = changed
    diff = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return ToolResponse(
        result={
            "format": form,
            "diff": diff,
            "identical": old == new,
            "lines_added": added,
            "lines_removed": removed,
            "similarity": round(difflib.SequenceMatcher(None, old, new).ratio(), 4),
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
