"""The one Lua-literal renderer of converted values (results, `Debug.dump`, the REPL, inspect).

Table keys may be strings, numbers or booleans (what `convert.to_shown` keeps); they are shown in
that order, numbers in numeric order. Folded to one entry per line when a value is wider than
`width`; `max_depth`/`max_items` (the REPL's limits) elide what lies beyond them.
"""

from __future__ import annotations

import math

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

LUA_KEYWORDS = (
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
)
_KEYWORDS = frozenset(LUA_KEYWORDS)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_NEEDS_ESCAPE: list[re.Pattern[str]] = []  # compiled on first use: re is not on the start-up path


def lua_literal(
    value: Any,
    *,
    width: int = 80,
    max_depth: int | None = None,
    max_items: int | None = None,
    indent: int = 0,
    depth: int = 0,
) -> str:
    """Lua table-constructor syntax for `value`, on one line when it fits in `width`."""
    if not isinstance(value, dict | list):
        return _scalar(value)
    flat = _flat(value, depth, max_depth, max_items)
    if len(flat) + indent <= width or not value:
        return flat
    if max_depth is not None and depth >= max_depth:
        return flat
    pad = "  " * (indent // 2 + 1)
    items = _items(value)
    shown = items if max_items is None else items[:max_items]
    lines = []
    for key, item in shown:
        rendered = lua_literal(
            item,
            width=width,
            max_depth=max_depth,
            max_items=max_items,
            indent=indent + 2,
            depth=depth + 1,
        )
        lines.append(f"{pad}{rendered}," if key is None else f"{pad}{_key(key)} = {rendered},")
    if len(items) > len(shown):
        lines.append(f"{pad}-- … {len(items) - len(shown)} more")
    return "{\n" + "\n".join(lines) + "\n" + "  " * (indent // 2) + "}"


def _order(key: Any) -> tuple[int, Any]:
    """Numbers first (numeric order), then booleans, then strings."""
    if isinstance(key, bool):
        return (1, key)
    if isinstance(key, int | float):
        return (0, key)
    return (2, key)


def _items(value: dict[Any, Any] | list[Any]) -> list[tuple[Any, Any]]:
    if isinstance(value, list):
        return [(None, item) for item in value]
    keys = list(value)
    if all(type(key) is str for key in keys):
        keys.sort()
    else:
        keys.sort(key=_order)
    return [(key, value[key]) for key in keys]


def _key(key: Any) -> str:
    if isinstance(key, str):
        if key.isidentifier() and key.isascii() and key not in _KEYWORDS:
            return key
        return "[" + _string(key) + "]"
    return "[" + _scalar(key) + "]"


def _string(text: str) -> str:
    """A Lua string literal: quotes, backslashes and control characters escaped."""
    if not _NEEDS_ESCAPE:
        import re

        _NEEDS_ESCAPE.append(re.compile(r'[\\"\x00-\x1f\x7f]'))
    needs_escape = _NEEDS_ESCAPE[0]
    if needs_escape.search(text) is None:
        return f'"{text}"'
    return '"' + needs_escape.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\{ord(char):03d}"


def _scalar(value: Any) -> str:
    if value is None:
        return "nil"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "math.huge" if value > 0 else "-math.huge"
        if math.isnan(value):
            return "0/0"
        if value.is_integer() and abs(value) < 1e16:
            return f"{value:.1f}"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value)


def _flat(value: Any, depth: int, max_depth: int | None, max_items: int | None) -> str:
    if not isinstance(value, dict | list):
        return _scalar(value)
    if not value:
        return "{}"
    if max_depth is not None and depth >= max_depth:
        return "{…}"
    items = _items(value)
    shown = items if max_items is None else items[:max_items]
    parts = [
        _flat(item, depth + 1, max_depth, max_items)
        if key is None
        else f"{_key(key)} = {_flat(item, depth + 1, max_depth, max_items)}"
        for key, item in shown
    ]
    if len(items) > len(shown):
        parts.append(f"… {len(items) - len(shown)} more")
    return "{" + ", ".join(parts) + "}"
