"""Splitting documents into overlapping chunks of about `chunk_size` tokens.

Markdown is split at its headings first (outside code fences), so that a chunk never mixes two
sections and starts with the heading path it belongs to ("Debugging > VS Code"): the heading is
what a question about the section is most likely to share with it. Tokens are counted as words
and punctuation marks (`\\w+|[^\\w\\s]`), the unit chunk_size and total_tokens use whatever the
embedding model's own tokenizer is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+|[^\w\s]")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Chunk:
    """One piece of a document: its text (heading path first) and token count."""

    text: str
    tokens: int
    section: str  # the heading path ("" outside any heading)


def count_tokens(text: str) -> int:
    """Words and punctuation marks in `text`."""
    return len(_TOKEN.findall(text))


def sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) of each markdown section; one ("", text) when there is no heading."""
    path: list[tuple[int, str]] = []
    out: list[tuple[str, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined or path:
            out.append((" > ".join(title for _, title in path), joined))
        body.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, match.group(2).strip()))
        else:
            body.append(line)
    flush()
    return [(title, body) for title, body in out if body or title]


def chunk_text(text: str, chunk_size: int, overlap: int, *, markdown: bool = True) -> list[Chunk]:
    """Chunks of at most `chunk_size` tokens, neighbours sharing `overlap` tokens."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    overlap = max(0, min(overlap, chunk_size - 1))
    parts = sections(text) if markdown else [("", text.strip())]
    chunks: list[Chunk] = []
    for title, body in parts:
        prefix = f"{title}\n\n" if title else ""
        room = max(1, chunk_size - count_tokens(title)) if title else chunk_size
        spans = [m.span() for m in _TOKEN.finditer(body)]
        if not spans:
            if title:
                chunks.append(Chunk(title, count_tokens(title), title))
            continue
        start = 0
        step = max(1, room - min(overlap, room - 1))
        while start < len(spans):
            end = min(len(spans), start + room)
            piece = body[spans[start][0] : spans[end - 1][1]]
            chunks.append(Chunk(prefix + piece, end - start + count_tokens(title), title))
            if end == len(spans):
                break
            start += step
    return chunks
