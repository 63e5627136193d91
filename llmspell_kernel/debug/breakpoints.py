"""Breakpoint records: verification against the code lines, hit conditions, log messages."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from llmspell_kernel.debug.lines import ChunkError, code_lines, next_code_line

_HIT = re.compile(r"^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$")


class BreakpointError(ValueError):
    """A breakpoint specification that cannot be used (the message says why)."""


@dataclass
class Breakpoint:
    """One line breakpoint as the client asked for it and as the engine will use it."""

    id: int
    source: str  # chunk name: "@/abs/path.lua" or "=cell[3]"
    line: int  # requested line
    actual_line: int | None = None
    verified: bool = False
    message: str | None = None
    condition: str | None = None
    hit_op: str | None = None
    hit_n: int = 0
    log_parts: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def dap(self, source: dict[str, Any]) -> dict[str, Any]:
        """The DAP `Breakpoint` body."""
        body: dict[str, Any] = {
            "id": self.id,
            "verified": self.verified,
            "line": self.actual_line or self.line,
            "source": source,
        }
        if self.message:
            body["message"] = self.message
        return body


def parse_hit_condition(text: str | None) -> tuple[str | None, int]:
    """'5', '>= 5', '%3' → (operator, number); plain numbers mean 'on the Nth hit'."""
    if text is None or not str(text).strip():
        return None, 0
    match = _HIT.match(str(text))
    if match is None:
        raise BreakpointError(
            f"hit condition {text!r} is not understood (use N, ==N, >N, >=N, <N, <=N or %N)"
        )
    return match.group(1) or "==", int(match.group(2))


def split_log_message(text: str) -> list[str]:
    """'x is {x}' → ['x is ', 'x', ''] (odd positions are expressions); '{{' escapes a brace."""
    parts: list[str] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "{" and text.startswith("{{", index):
            literal.append("{")
            index += 2
        elif char == "}" and text.startswith("}}", index):
            literal.append("}")
            index += 2
        elif char == "{":
            end = text.find("}", index)
            if end < 0:
                literal.append(text[index:])
                break
            parts.append("".join(literal))
            literal = []
            parts.append(text[index + 1 : end].strip())
            index = end + 1
        else:
            literal.append(char)
            index += 1
    parts.append("".join(literal))
    return parts


class SourceLines:
    """Caches the code lines of sources by content."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, set[int] | str] = {}

    def lines(self, text: str) -> set[int]:
        """Code lines of `text`; raises ChunkError when it does not compile."""
        key = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            try:
                cached = code_lines(text)
            except ChunkError as exc:
                cached = str(exc).replace('[string "chunk"]', "chunk")
            with self._lock:
                self._cache[key] = cached
        if isinstance(cached, str):
            raise ChunkError(cached)
        return cached


NOT_LOADED = "the source is not loaded yet; the breakpoint is kept for when it is"


def verify(bp: Breakpoint, text: str | None, lines_cache: SourceLines) -> None:
    """Place `bp` on a line with code (or explain why it cannot be)."""
    if text is None:
        bp.verified = False
        bp.actual_line = bp.line
        bp.message = NOT_LOADED
        return
    try:
        lines = lines_cache.lines(text)
    except ChunkError as exc:
        bp.verified = False
        bp.actual_line = None
        bp.message = f"the source does not compile: {exc}"
        return
    if bp.line in lines:
        bp.verified, bp.actual_line, bp.message = True, bp.line, None
        return
    target = next_code_line(lines, bp.line)
    bp.verified = False
    if target is None:
        bp.actual_line = None
        bp.message = f"line {bp.line} holds no code and no code follows it"
    else:
        bp.actual_line = target
        bp.message = f"line {bp.line} holds no code; Lua will stop at line {target}"


def chunk_for_path(path: str) -> str:
    """The chunk name of a file: '@' plus its absolute, resolved path."""
    return "@" + os.path.realpath(os.path.abspath(os.path.expanduser(path)))
