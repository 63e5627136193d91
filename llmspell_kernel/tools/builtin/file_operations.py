"""file_operations: read, write, append, list, copy, move, delete and inspect files, every path
through the FILE gate (resolved, inside tools.file_operations.allowed_paths) before any I/O."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from llmspell_kernel.files import make_temporary
from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

ALIASES = {
    "mkdir": "create_dir",
    "ls": "list_dir",
    "dir": "list_dir",
    "list": "list_dir",
    "cp": "copy",
    "mv": "move",
    "rename": "move",
    "stat": "metadata",
    "info": "metadata",
    "remove": "delete",
    "rm": "delete",
}
OPERATIONS = (
    "read", "write", "append", "delete", "create_dir", "list_dir", "copy", "move", "metadata",
    "exists",
)  # fmt: skip


def run(params: Params, context: Any) -> ToolResponse:
    raw = params.text("operation", required=True).lower()
    operation = ALIASES.get(raw, raw)
    if operation not in OPERATIONS:
        raise ToolError(
            f"unknown operation '{raw}' (one of {', '.join(OPERATIONS)} and their aliases)"
        )
    if operation in ("copy", "move"):
        source_raw = params.text("source_path", required=True, aliases=("source", "from"))
        target_raw = params.text("target_path", required=True, aliases=("target", "to"))
        source, target = context.path(source_raw), context.path(target_raw)
        return _copy_or_move(operation, source_raw, source, target_raw, target, context)
    raw_path = params.text("path", required=True, aliases=("file_path",))
    path = context.path(raw_path)
    response = _OPERATIONS[operation](params, context, raw_path, path)
    response.operation = operation
    return response


def _read(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ToolFailure(f"file not found: '{raw}'") from None
    if path.is_dir():
        raise ToolFailure(f"'{raw}' is a directory")
    context.check_size(raw, size)
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    return ToolResponse(result={"input": raw, "size": len(data), "text": text}, text=text)


def _write(
    params: Params, context: Any, raw: str, path: Path, append: bool = False
) -> ToolResponse:
    content = params.text("input", aliases=("content",))
    if content is None:
        raise ToolError("missing required parameter 'input' (the content)")
    data = content.encode("utf-8")
    existing = path.stat().st_size if append and path.exists() else 0
    context.check_size(raw, existing + len(data))
    if path.is_dir():
        raise ToolFailure(f"'{raw}' is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with open(path, "ab") as handle:
            handle.write(data)
        message = f"appended {len(data)} bytes to {raw}"
    else:
        _atomic_write(path, data)
        message = f"wrote {len(data)} bytes to {raw}"
    return ToolResponse(result={"path": raw, "bytes_written": len(data)}, message=message)


def _append(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    return _write(params, context, raw, path, append=True)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, then rename over it: readers never see half a file."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    fd, temporary = make_temporary(path.parent, f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _delete(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    if not os.path.lexists(path):
        raise ToolFailure(f"file not found: '{raw}'")
    if path.is_dir():
        if params.boolean("recursive"):
            import shutil

            shutil.rmtree(path)
        else:
            path.rmdir()  # OSError (not empty) is an operational failure
    else:
        path.unlink()
    return ToolResponse(result={"path": raw, "deleted": True}, message=f"deleted {raw}")


def _create_dir(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    existed = path.is_dir()
    path.mkdir(parents=params.boolean("recursive", True), exist_ok=True)
    message = f"directory {raw} exists" if existed else f"created directory {raw}"
    return ToolResponse(result={"path": raw, "created": not existed}, message=message)


def _list_dir(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    if not path.is_dir():
        raise ToolFailure(f"not a directory: '{raw}'")
    recursive = params.boolean("recursive")
    max_depth = context.settings.max_depth
    entries: list[dict[str, Any]] = []
    pending = [(path, 0)]
    while pending:
        directory, depth = pending.pop()
        with os.scandir(directory) as scan:
            for item in sorted(scan, key=lambda e: e.name):
                info = item.stat(follow_symlinks=False)
                kind = "directory" if item.is_dir(follow_symlinks=False) else "file"
                if item.is_symlink():
                    kind = "symlink"
                entries.append(
                    {
                        "name": item.name,
                        "path": os.path.join(raw, os.path.relpath(item.path, path)),
                        "type": kind,
                        "size": info.st_size,
                        "modified": _iso(info.st_mtime),
                    }
                )
                if recursive and kind == "directory" and depth + 1 < max_depth:
                    pending.append((Path(item.path), depth + 1))
    names = "\n".join(entry["path"] if recursive else entry["name"] for entry in entries)
    return ToolResponse(result=entries, text=names)


def _metadata(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ToolFailure(f"file not found: '{raw}'") from None
    result = {
        "path": raw,
        "size": info.st_size,
        "type": "directory" if stat.S_ISDIR(info.st_mode) else "file",
        "modified": _iso(info.st_mtime),
        "created": _iso(getattr(info, "st_birthtime", info.st_ctime)),
        "permissions": oct(stat.S_IMODE(info.st_mode)),
    }
    return ToolResponse(result=result)


def _exists(params: Params, context: Any, raw: str, path: Path) -> ToolResponse:
    found = path.exists()
    return ToolResponse(result={"path": raw, "exists": found}, text="true" if found else "false")


def _copy_or_move(
    operation: str, source_raw: str, source: Path, target_raw: str, target: Path, context: Any
) -> ToolResponse:
    if not source.exists():
        raise ToolFailure(f"file not found: '{source_raw}'")
    if target.is_dir():
        target = target / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    import shutil  # here: ~1 ms that the other operations do not need

    if operation == "copy":
        if source.is_dir():
            # Symlinks are copied as links: nothing outside the allowed paths is read.
            shutil.copytree(source, target, symlinks=True)
        else:
            context.check_size(source_raw, source.stat().st_size)
            shutil.copy2(source, target)
        verb = "copied"
    else:
        shutil.move(str(source), str(target))
        verb = "moved"
    return ToolResponse(
        result={"source_path": source_raw, "target_path": target_raw},
        message=f"{verb} {source_raw} to {target_raw}",
        operation=operation,
    )


def _iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


_OPERATIONS = {
    "read": _read,
    "write": _write,
    "append": _append,
    "delete": _delete,
    "create_dir": _create_dir,
    "list_dir": _list_dir,
    "metadata": _metadata,
    "exists": _exists,
}
