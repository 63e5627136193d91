"""Lua ↔ Python value conversion (lua-api.md 1.3)."""

from __future__ import annotations

import math
from collections.abc import Callable

from lupa import lua54

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

lua_type = lua54.lua_type

MAX_DEPTH = 64


class ConversionError(ValueError):
    """A Lua value has no JSON form (function, userdata, thread, or too deep)."""


def to_python(
    value: Any, *, strict: bool = True, is_null: Callable[[Any], bool] | None = None, depth: int = 0
) -> Any:
    """Convert a Lua value to plain Python data (JSON-shaped: table keys become strings).

    `strict=False` replaces values that have no JSON form with their `tostring` text instead of
    raising. `is_null` recognises the JSON.null sentinel (an empty table), converted to None.
    """
    return _convert(value, strict, is_null, depth, None)


def to_shown(value: Any, *, is_null: Callable[[Any], bool] | None = None) -> tuple[Any, Any]:
    """(JSON data, what a result shows) of a Lua value, in one conversion (`strict=False`).

    What is shown keeps table keys as Lua has them (numbers, booleans, strings; `[1]` and
    `["1"]` both) and infinite or NaN numbers; the JSON data is `to_python`'s. They are one
    object unless the value holds such keys or numbers.
    """
    if type(value) is int or type(value) is str or type(value) is bool:  # `return 1`
        return value, value
    differs: list[bool] = []
    shown = _convert(value, False, is_null, 0, differs)
    return (_json_data(shown) if differs else shown), shown


def _convert(
    value: Any,
    strict: bool,
    is_null: Callable[[Any], bool] | None,
    depth: int,
    differs: list[bool] | None,
) -> Any:
    """`to_python`, or with `differs` given: keys and numbers kept, noted in `differs`."""
    kind = lua_type(value)
    if kind is None:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            if differs is None:
                return None
            differs.append(True)
            return value
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
                _convert(ordered[i], strict, is_null, depth + 1, differs)
                for i in range(1, len(keys) + 1)
            ]
    result: dict[Any, Any] = {}
    for key, item in items:
        if isinstance(key, bytes):
            key = key.decode("utf-8", "replace")
        elif not isinstance(key, str):
            if not isinstance(key, int | float):  # a table or function key: no literal form
                continue
            if differs is None:
                key = _json_key(key)
                if key is None:
                    continue
            else:
                differs.append(True)
        result[key] = _convert(item, strict, is_null, depth + 1, differs)
    return result


def _json_key(key: int | float) -> str | None:
    """The JSON object key of a number key; None for a boolean (JSON has no such key)."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return str(key)
    return str(int(key)) if key.is_integer() else repr(key)


def _json_data(shown: Any) -> Any:
    """`to_python`'s data from what `to_shown` keeps: string keys, no infinities or NaN."""
    if isinstance(shown, list):
        return [_json_data(item) for item in shown]
    if isinstance(shown, dict):
        result: dict[str, Any] = {}
        for key, item in shown.items():
            if not isinstance(key, str):
                key = _json_key(key)
                if key is None:
                    continue
            result[key] = _json_data(item)
        return result
    if isinstance(shown, float) and (math.isnan(shown) or math.isinf(shown)):
        return None
    return shown


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
    kind = type(value)
    if kind is dict or kind is list:
        try:
            return runtime.table_from(value, recursive=True)
        except OverflowError:
            pass
    elif kind is str or kind is float or kind is bool or value is None:
        return value  # as lupa pushes them (an int may be out of range: to_lua decides)
    return to_lua(runtime, value)
