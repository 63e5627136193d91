"""file_search: find files by glob under a directory and, optionally, the lines that hold a text
or a regular expression, bounded: max_results matches, MAX_FILES files looked at, depth
tools.file_operations.max_depth, files over max_file_size and binary files skipped. Links are
never followed (one could lead outside the allowed paths)."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator
from pathlib import Path

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_FILES = 20_000
MAX_RESULTS = 1000
_SHOWN = 500  # characters of a matching line in the result


def run(params: Params, context: Any) -> ToolResponse:
    raw = params.text("path", required=True, aliases=("directory",))
    root = context.path(raw)
    if not root.is_dir():
        raise ToolFailure(f"not a directory: '{raw}'")
    pattern = params.text("pattern", "*", aliases=("glob",))
    query = params.text("content", aliases=("query", "search"))
    case = params.boolean("case_sensitive", True)
    limit = params.integer("max_results", 100)
    if not 1 <= limit <= MAX_RESULTS:
        raise ToolError(f"parameter 'max_results' must be between 1 and {MAX_RESULTS}")
    deepest = context.settings.max_depth
    depth_limit = min(params.integer("max_depth", deepest), deepest)
    hidden = params.boolean("include_hidden")
    matcher = None
    if query is not None:
        flags = 0 if case else re.IGNORECASE
        source = query if params.boolean("regex") else re.escape(query)
        try:
            matcher = re.compile(source, flags)
        except re.error as exc:
            raise ToolError(
                f"parameter 'content' is not a valid regular expression: {exc}"
            ) from None
    glob = re.compile(fnmatch.translate(pattern), 0 if case else re.IGNORECASE)
    path_glob = "/" in pattern
    max_size = context.settings.max_file_size
    results: list[dict[str, Any]] = []
    scanned = skipped = 0
    truncated = False
    for path, relative in _walk(root, depth_limit, hidden):
        if not glob.match(relative if path_glob else path.name):
            continue
        scanned += 1
        if scanned > MAX_FILES:
            truncated = True
            break
        shown = os.path.join(raw, relative)
        if matcher is None:
            results.append({"path": shown, "size": path.stat().st_size})
        else:
            found = _grep(path, matcher, max_size)
            if found is None:
                skipped += 1
                continue
            for number, line in found:
                results.append({"path": shown, "line": number, "text": line[:_SHOWN]})
                if len(results) >= limit:
                    break
        if len(results) >= limit:
            truncated = True
            break
    if matcher is None:
        text = "\n".join(r["path"] for r in results)
    else:
        text = "\n".join(f"{r['path']}:{r['line']}: {r['text']}" for r in results)
    return ToolResponse(
        result={
            "path": raw,
            "matches": results,
            "count": len(results),
            "files_scanned": min(scanned, MAX_FILES),
            "files_skipped": skipped,
            "truncated": truncated,
        },
        text=text,
        operation="search" if matcher is not None else "find",
    )


def _walk(root: Path, depth_limit: int, hidden: bool) -> Iterator[tuple[Path, str]]:
    """(path, path relative to root) of every regular file, sorted, links not followed."""
    pending = [(root, 0)]
    while pending:
        directory, depth = pending.pop(0)
        try:
            with os.scandir(directory) as scan:
                items = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue  # unreadable: not an error of the search
        subdirectories = []
        for item in items:
            if not hidden and item.name.startswith("."):
                continue
            if item.is_symlink():
                continue
            if item.is_dir(follow_symlinks=False):
                if depth + 1 < depth_limit:
                    subdirectories.append((Path(item.path), depth + 1))
            elif item.is_file(follow_symlinks=False):
                path = Path(item.path)
                yield path, str(path.relative_to(root))
        pending[0:0] = subdirectories


def _grep(path: Path, matcher: re.Pattern[str], max_size: int) -> list[tuple[int, str]] | None:
    """The matching lines of a text file; None for a binary, unreadable or too large file."""
    try:
        if path.stat().st_size > max_size:
            return None
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    text = data.decode("utf-8", errors="replace")
    return [
        (number, line.rstrip("\r"))
        for number, line in enumerate(text.split("\n"), 1)
        if matcher.search(line)
    ]
