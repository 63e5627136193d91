"""`{{expr}}` substitution in step inputs (lua-api.md 2.10; upstream never substituted).

Resolution order: loop variables, then step names, then run input keys. Scalars are inserted
as Lua's tostring would show them, tables as JSON; an unresolved placeholder stays as written
(template_engine's own `{{var}}` placeholders survive).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

Resolver = Callable[[str], "tuple[bool, Any]"]


def text_of(value: Any) -> str:
    """A value as text: strings as they are, numbers and booleans as Lua prints them, tables
    (dicts, lists) as compact JSON with sorted keys."""
    if isinstance(value, str):
        return value
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"inf": "inf", "-inf": "-inf"}.get(str(value), "nan")
        shown = f"{value:.14g}"
        return shown + ".0" if re.fullmatch(r"-?\d+", shown) else shown
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def lookup(root: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a dotted path into nested tables; a list takes 1-based indexes."""
    value = root
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and 1 <= int(part) <= len(value):
            value = value[int(part) - 1]
        else:
            return False, None
    return True, value


def has_placeholder(value: Any) -> bool:
    """Whether a template holds any `{{...}}` (steps without one skip substitution)."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(has_placeholder(v) for v in value)
    return False


def substitute(value: Any, resolve: Resolver) -> Any:
    """A copy of `value` with every string's placeholders replaced (recursively in tables)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value

        def one(match: re.Match[str]) -> str:
            found, resolved = resolve(match.group(1))
            return text_of(resolved) if found else match.group(0)

        return PLACEHOLDER.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    return value
