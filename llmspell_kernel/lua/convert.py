"""Lua ↔ Python value conversion (lua-api.md 1.3)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lupa import lua54

lua_type = lua54.lua_type

MAX_DEPTH = 64


class ConversionError(ValueError):
    """A Lua value has no JSON form (function, userdata, thread, or too deep)."""


def to_python(
    value: Any, *, strict: bool = True, is_null: Callable[[Any], bool] | None = None, depth: int = 0
) -> Any:
    """Convert a Lua value to plain Python data.

    `strict=False` replaces values that have no JSON form with their `tostring` text instead of
    raising. `is_null` recognises the JSON.null sentinel (an empty table), converted to None.
    """
    kind = lua_type(value)
    if kind is None:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value
    if kind != "table":
        if strict:
            raise ConversionError(f"cannot convert {kind}")
        return str(value)
    if depth >= MAX_DEPTH:
        if strict:
            raise ConversionError("cannot convert: tables nested too deeply (a cycle?)")
        return "<table nested too deeply>"
    items = list(value.items())
    if not items and is_null is not None and is_null(value):
        return None
    if items and all(type(k) is int for k, _ in items):
        keys = sorted(k for k, _ in items)
        if keys[0] == 1 and keys[-1] == len(keys):
            ordered = dict(items)
            return [
                to_python(ordered[i], strict=strict, is_null=is_null, depth=depth + 1)
                for i in range(1, len(keys) + 1)
            ]
    result: dict[str, Any] = {}
    for key, item in items:
        if isinstance(key, bool):
            continue
        if isinstance(key, int):
            key = str(key)
        elif isinstance(key, float):
            key = str(int(key)) if key.is_integer() else repr(key)
        elif isinstance(key, bytes):
            key = key.decode("utf-8", "replace")
        elif not isinstance(key, str):
            continue
        result[key] = to_python(item, strict=strict, is_null=is_null, depth=depth + 1)
    return result


def to_lua(runtime: Any, value: Any) -> Any:
    """Convert plain Python data (JSON-like) to Lua values; lists become 1..n tables."""
    if isinstance(value, dict):
        table = runtime.table()
        for key, item in value.items():
            if item is None:
                continue
            table[key] = to_lua(runtime, item)
        return table
    if isinstance(value, list | tuple):
        table = runtime.table()
        for index, item in enumerate(value, start=1):
            if item is not None:
                table[index] = to_lua(runtime, item)
        return table
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return float(value)
    if value is None or isinstance(value, str | bytes | bool | int | float):
        return value
    if lua_type(value) is not None:  # already a Lua value
        return value
    return str(value)  # never a Python object in script space (a datetime, a Path, ...)


def json_to_lua(runtime: Any, value: Any) -> Any:
    """`to_lua` for data fresh from `json.loads`: a tree of dicts, lists and scalars.

    lupa's recursive `table_from` builds the same tables several times faster; it must only see
    trees (it maps a container seen twice to one table), which JSON output always is. Integers
    beyond 64 bits make it raise OverflowError; the general converter then turns them to floats.
    """
    if type(value) is dict or type(value) is list:
        try:
            return runtime.table_from(value, recursive=True)
        except OverflowError:
            pass
    return to_lua(runtime, value)


def lua_repr(value: Any, *, indent: int = 0, width: int = 80) -> str:
    """Render converted data in Lua table-constructor syntax, compact when it fits on a line."""
    compact = _compact(value)
    if len(compact) + indent <= width or not isinstance(value, dict | list) or not value:
        return compact
    pad = "  " * (indent // 2 + 1)
    end_pad = "  " * (indent // 2)
    lines: list[str] = []
    if isinstance(value, list):
        for item in value:
            lines.append(pad + lua_repr(item, indent=indent + 2, width=width) + ",")
    else:
        for key in sorted(value):
            lines.append(
                f"{pad}{_key(key)} = {lua_repr(value[key], indent=indent + 2, width=width)},"
            )
    return "{\n" + "\n".join(lines) + "\n" + end_pad + "}"


def _key(key: str) -> str:
    if key.isdigit() and not key.startswith("0"):
        return f"[{key}]"
    if key.isidentifier() and key.isascii() and key not in _LUA_KEYWORDS:
        return key
    return f"[{_string(key)}]"


def _string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _compact(value: Any) -> str:
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return f"{value:.1f}"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "{" + ", ".join(_compact(v) for v in value) + "}"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{_key(k)} = {_compact(value[k])}" for k in sorted(value)) + "}"
    return str(value)


_LUA_KEYWORDS = frozenset(
    [
        "and",
        "break",
        "do",
        "else",
        "elseif",
        "end",
        "false",
        "for",
        "function",
        "goto",
        "if",
        "in",
        "local",
        "nil",
        "not",
        "or",
        "repeat",
        "return",
        "then",
        "true",
        "until",
        "while",
    ]
)
LUA_KEYWORDS = tuple(sorted(_LUA_KEYWORDS))
