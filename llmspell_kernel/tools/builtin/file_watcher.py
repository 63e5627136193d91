"""file_watcher: wait, bounded, until a file or a directory's files change (created, modified,
deleted), by polling their modification times and sizes (no platform notifier: the same on
every system and in containers). The path passes the FILE gate; links are never followed."""

from __future__ import annotations

import fnmatch
import os
import time

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_WAIT = 300.0
MAX_FILES = 20_000
KINDS = ("created", "modified", "deleted")

Snapshot = dict[str, tuple[int, int]]


def run(params: Params, context: Any) -> ToolResponse:
    raw = params.text("path", required=True, aliases=("input",))
    path = context.path(raw)
    wait = params.number("timeout_seconds", 10.0, aliases=("timeout",))
    if not 0 <= wait <= MAX_WAIT:
        raise ToolError(f"parameter 'timeout_seconds' must be between 0 and {MAX_WAIT:g}")
    interval = params.number("interval_ms", 100.0) / 1000.0
    if not 0.01 <= interval <= 10:
        raise ToolError("parameter 'interval_ms' must be between 10 and 10000")
    wanted = set(params.array("events")) or set(KINDS)
    if not wanted <= set(KINDS):
        raise ToolError(f"parameter 'events' may hold {', '.join(KINDS)}")
    pattern = params.text("pattern")
    depth = params.integer(
        "max_depth", context.settings.max_depth if params.boolean("recursive") else 0
    )
    if not 0 <= depth <= context.settings.max_depth:
        raise ToolError(
            f"parameter 'max_depth' must be between 0 and {context.settings.max_depth} "
            "(tools.file_operations.max_depth)"
        )
    if not path.exists() and not path.parent.is_dir():
        raise ToolFailure(f"neither '{raw}' nor its directory exists")

    def look() -> Snapshot:
        return _snapshot(str(path), depth, pattern)

    before = look()
    started = time.monotonic()
    deadline = started + wait
    events: list[dict[str, str]] = []
    while True:
        now = look()
        events = [e for e in _changes(before, now, raw, str(path)) if e["kind"] in wanted]
        if events or time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    waited = (time.monotonic() - started) * 1000.0
    result = {
        "path": raw,
        "changed": bool(events),
        "events": events,
        "watched": len(before),
        "waited_ms": round(waited, 1),
    }
    if events:
        message = "; ".join(f"{e['kind']} {e['path']}" for e in events)
    else:
        message = f"no change in {raw} for {wait:g} s"
    return ToolResponse(result=result, message=message)


def _snapshot(root: str, depth: int, pattern: str | None) -> Snapshot:
    """relative path -> (mtime_ns, size) of every regular file watched."""
    found: Snapshot = {}
    try:
        info = os.stat(root, follow_symlinks=False)
    except FileNotFoundError:
        return found
    import stat

    if not stat.S_ISDIR(info.st_mode):
        return {"": (info.st_mtime_ns, info.st_size)}
    stack = [(root, 0)]
    while stack:
        directory, level = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # gone or unreadable since the listing above
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if level < depth:
                        stack.append((entry.path, level + 1))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if pattern and not fnmatch.fnmatch(entry.name, pattern):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[os.path.relpath(entry.path, root)] = (st.st_mtime_ns, st.st_size)
            if len(found) > MAX_FILES:
                raise ToolError(f"more than {MAX_FILES} files to watch under '{root}'")
    return found


def _changes(before: Snapshot, now: Snapshot, raw: str, root: str) -> list[dict[str, str]]:
    def shown(relative: str) -> str:
        return raw if not relative else os.path.join(raw, relative)

    events = [{"kind": "created", "path": shown(p)} for p in now.keys() - before.keys()]
    events += [{"kind": "deleted", "path": shown(p)} for p in before.keys() - now.keys()]
    events += [
        {"kind": "modified", "path": shown(p)}
        for p in now.keys() & before.keys()
        if now[p] != before[p]
    ]
    return sorted(events, key=lambda e: (e["path"], e["kind"]))
