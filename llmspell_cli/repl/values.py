"""How the REPL shows values: Lua table syntax with depth and length limits, highlighted."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 4
MAX_ITEMS = 50
WIDTH = 88

_KEYWORDS = frozenset(
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


def lua_literal(value: Any, *, depth: int = 0, indent: int = 0) -> str:
    """Lua-syntax rendering of converted data, folded to lines when wide, limited in size."""
    flat = _flat(value, depth)
    if len(flat) + indent <= WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    pad = "  " * (indent // 2 + 1)
    lines = []
    items = _items(value)
    for key, item in items[:MAX_ITEMS]:
        rendered = lua_literal(item, depth=depth + 1, indent=indent + 2)
        lines.append(f"{pad}{rendered}," if key is None else f"{pad}{_key(key)} = {rendered},")
    if len(items) > MAX_ITEMS:
        lines.append(f"{pad}-- … {len(items) - MAX_ITEMS} more")
    return "{\n" + "\n".join(lines) + "\n" + "  " * (indent // 2) + "}"


def _items(value: dict[str, Any] | list[Any]) -> list[tuple[str | None, Any]]:
    if isinstance(value, list):
        return [(None, item) for item in value]
    return [(key, value[key]) for key in sorted(value)]


def _key(key: str) -> str:
    if key.isdigit() and not key.startswith("0"):
        return f"[{key}]"
    if key.isidentifier() and key.isascii() and key not in _KEYWORDS:
        return key
    return "[" + _string(key) + "]"


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _string(text: str) -> str:
    """A Lua string literal: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is None and (char < " " or char == "\x7f"):
            escaped = f"\\{ord(char):03d}"
        out.append(escaped or char)
    return '"' + "".join(out) + '"'


def _flat(value: Any, depth: int) -> str:
    if value is None:
        return "nil"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict | list):
        if not value:
            return "{}"
        if depth >= MAX_DEPTH:
            return "{…}"
        items = _items(value)
        parts = [
            _flat(item, depth + 1) if key is None else f"{_key(key)} = {_flat(item, depth + 1)}"
            for key, item in items[:MAX_ITEMS]
        ]
        if len(items) > MAX_ITEMS:
            parts.append(f"… {len(items) - MAX_ITEMS} more")
        return "{" + ", ".join(parts) + "}"
    return str(value)
