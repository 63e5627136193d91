"""How the REPL shows values: the kernel's Lua-literal renderer, with depth and length limits."""

from __future__ import annotations

import re
from typing import Any

from llmspell_kernel.api import lua_literal as _lua_literal

MAX_DEPTH = 4
MAX_ITEMS = 50
WIDTH = 88

# The object keys a number key becomes in a result's JSON data (`[0]`, `[-1]`, `[1.5]`, `[1e+20]`).
_NUMBER_KEY = re.compile(r"-?(\d+(\.\d*)?(e[+-]?\d+)?|inf)")


def lua_literal(value: Any) -> str:
    """Lua-syntax rendering of converted data, folded to lines when wide, limited in size."""
    return _lua_literal(value, width=WIDTH, max_depth=MAX_DEPTH, max_items=MAX_ITEMS)


def shown_value(data: dict[str, Any], text: str) -> str:
    """A result as the REPL shows it: rendered from its JSON data (with the limits) unless that
    data cannot tell `[1]` from `["1"]`; then the kernel's own text, which can."""
    if "application/json" in data and not _has_number_keys(data["application/json"]):
        return lua_literal(data["application/json"])
    return text


def _has_number_keys(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_number_keys(item) for item in value)
    if isinstance(value, dict):
        return any(
            _NUMBER_KEY.fullmatch(key) or _has_number_keys(item) for key, item in value.items()
        )
    return False
