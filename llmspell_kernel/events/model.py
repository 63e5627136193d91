"""One event (lua-api.md 2.5's event table) and glob patterns over event types."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any


def new_id() -> str:
    """A random UUID (version 4) in its usual text form."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def rfc3339(at: float) -> str:
    """Unix time as RFC 3339 UTC with microseconds (`2026-12-02T17:28:46.123456Z`)."""
    whole = int(at)
    micros = int(round((at - whole) * 1_000_000))
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def glob_matcher(pattern: str) -> re.Pattern[str]:
    """`*` any run of characters (dots included), `?` one character, the rest literal."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@dataclass(slots=True)
class Event:
    """An event as published; `as_table()` is what `Event.receive` returns."""

    event_type: str
    data: Any
    correlation_id: str
    sequence: int = 0
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)
    language: str = "lua"
    ttl_seconds: float | None = None
    source: str = "script"
    target: str | None = None
    tags: list[str] = field(default_factory=list)
    priority: str = "normal"

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "tags": list(self.tags),
            "priority": self.priority,
        }
        if self.target is not None:
            out["target"] = self.target
        return out

    def as_table(self) -> dict[str, Any]:
        """`{id, event_type, data, timestamp, sequence, correlation_id, language, ttl, metadata}`."""
        table: dict[str, Any] = {
            "id": self.id,
            "event_type": self.event_type,
            "data": self.data,
            "timestamp": rfc3339(self.at),
            "sequence": self.sequence,
            "correlation_id": self.correlation_id,
            "language": self.language,
            "metadata": self.metadata(),
        }
        if self.ttl_seconds is not None:
            table["ttl"] = self.ttl_seconds
        return table

    def expired(self, now: float) -> bool:
        return self.ttl_seconds is not None and now - self.at > self.ttl_seconds
