"""Code intelligence for Lua: is_complete, complete and inspect (run on the executor thread)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from llmspell_kernel.lua.docs import describe_builtin
from llmspell_kernel.lua.literal import LUA_KEYWORDS

if TYPE_CHECKING:
    from llmspell_kernel.lua.engine import LuaEngine

_OPENERS = {"function", "do", "then", "repeat"}
_CLOSERS = {"end", "until", "elseif"}
_TOKEN = re.compile(
    r"--\[(=*)\[.*?\]\1\]|--[^\n]*|\[(=*)\[.*?\]\2\]|\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?"
    r"|[A-Za-z_]\w*|[{}()]",
    re.S,
)
_PATH_BEFORE_CURSOR = re.compile(
    r"([A-Za-z_]\w*(?:\s*[.:]\s*[A-Za-z_]\w*)*)?(\s*[.:]\s*)?([A-Za-z_]\w*)?$"
)
_NAME_CHARS = re.compile(r"[A-Za-z_0-9.:]")
_STRING_END = re.compile(r"""(["']|\]\])\)?$""")  # a string literal, maybe in parentheses


def _block_depth(code: str) -> int:
    depth = 0
    for match in _TOKEN.finditer(code):
        token = match.group(0)
        if token in _OPENERS or token in ("{", "("):
            depth += 1
        elif token in _CLOSERS or token in ("}", ")"):
            depth -= 1
    return max(depth, 0)


def is_complete(engine: LuaEngine, code: str) -> dict[str, Any]:
    """`complete`, `incomplete` (with an indent hint) or `invalid`, decided by Lua's parser."""
    if not code.strip():
        return {"status": "complete"}
    body = code[1:] if code.startswith("=") else code
    fn, as_expression = engine.compile_only("return " + body)
    if fn:
        return {"status": "complete"}
    fn, message = engine.compile_only(code)
    if fn:
        return {"status": "complete"}
    # Lua stopped at the end of the input as a statement (`x = 1 +`, `function f()`) or as an
    # expression (`1 +`, `f(`): more input can finish it.
    for text in (str(message or ""), str(as_expression or "")):
        if text.endswith("<eof>") or text.endswith("'<eof>'"):
            return {"status": "incomplete", "indent": "  " * max(_block_depth(code), 1)}
    return {"status": "invalid"}


def _split_path(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[.:]", text) if part.strip()]


def complete(engine: LuaEngine, code: str, cursor_pos: int) -> dict[str, Any]:
    """Globals, keywords, and fields after `.` / methods after `:`; matches are full paths."""
    before = code[:cursor_pos]
    match = _PATH_BEFORE_CURSOR.search(before)
    matches: list[str] = []
    types: dict[str, str] = {}
    start = cursor_pos
    if not (match and match.group(0)) and (
        not before or not (before[-1].isalnum() or before[-1] in "_.:")
    ):
        names = engine.fields([], methods_only=False)
        for keyword in LUA_KEYWORDS:
            names.setdefault(keyword, "keyword")
        for name, kind in sorted(names.items()):
            matches.append(name)
            types[name] = kind
    elif match and match.group(0):
        start = match.start()
        base, sep, prefix = (
            match.group(1) or "",
            (match.group(2) or "").strip(),
            match.group(3) or "",
        )
        if not sep and base and not prefix:
            # "string" alone: the last path element is the prefix being typed
            parts = _split_path(base)
            prefix, base_parts = parts[-1], parts[:-1]
            joiner = re.search(r"([.:])\s*[A-Za-z_]\w*$", base)
            sep = joiner.group(1) if joiner and base_parts else ""
        else:
            base_parts = _split_path(base)
        lead = before[start:cursor_pos]
        lead = lead[: len(lead) - len(prefix)] if prefix else lead
        if base_parts:
            names = engine.fields(base_parts, methods_only=(sep == ":"))
        elif sep:
            # `.`/`:` after something that is not a name: a string literal has the string
            # library's methods (`("a"):re` → rep, reverse); anything else is unknown here.
            left = before[:start].rstrip()
            is_string = _STRING_END.search(left) is not None
            names = engine.fields(["string"], methods_only=False) if is_string else {}
        else:
            names = engine.fields([], methods_only=False)
            for keyword in LUA_KEYWORDS:
                names.setdefault(keyword, "keyword")
        for name, kind in sorted(names.items()):
            if name.startswith(prefix):
                full = lead + name
                matches.append(full)
                types[full] = kind
    metadata: dict[str, Any] = {
        "_jupyter_types_experimental": [
            {"text": m, "type": types[m], "start": start, "end": cursor_pos} for m in matches
        ]
    }
    if not code:  # what the REPL asks at start: which globals are not the user's (`.vars`)
        metadata["llmspell_builtin_globals"] = sorted(engine.builtin_globals())
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": cursor_pos,
        "metadata": metadata,
    }


def _name_at(code: str, cursor_pos: int) -> str:
    cursor_pos = max(0, min(cursor_pos, len(code)))
    start = cursor_pos
    while start > 0 and _NAME_CHARS.match(code[start - 1]):
        start -= 1
    end = cursor_pos
    while end < len(code) and re.match(r"\w", code[end]):
        end += 1
    return code[start:end].strip(".:")


def inspect(engine: LuaEngine, code: str, cursor_pos: int, detail_level: int = 0) -> dict[str, Any]:
    """What the name under the cursor is: signature and doc for functions, value for data."""
    name = _name_at(code, cursor_pos)
    parts = _split_path(name)
    if not parts:
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    info = engine.describe(parts)
    if info is None:
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    dotted = ".".join(parts)
    lines: list[str]
    if info["type"] == "function":
        doc = describe_builtin(dotted)
        if doc is not None:
            lines = [f"{dotted}{doc[0]}", "", doc[1]]
        elif info.get("what") == "Lua":
            params = info.get("params") or ""
            if info.get("vararg"):
                params = f"{params}, ..." if params else "..."
            lines = [f"{dotted}({params})", f"defined at {info.get('source')}:{info.get('line')}"]
        else:
            lines = [f"{dotted}(...)", "built-in function"]
    else:
        doc = describe_builtin(dotted)
        lines = [f"{dotted}: {info['type']}"]
        if doc is not None:
            lines += ["", doc[1]]
        if info.get("rendering"):
            lines += ["", info["rendering"]]
    text = "\n".join(lines)
    return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}
