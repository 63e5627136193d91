"""One event (lua-api.md 2.5's event table) and glob patterns over event types."""

from __future__ import annotations

import itertools
import os
import re
import time

TYPE_CHECKING = False  # annotations only: typing stays off the first tool call (records.py)
if TYPE_CHECKING:
    from typing import Any


def _new_prefix() -> str:
    bits = os.urandom(10).hex()  # 80 random bits (the random module is not loaded for this)
    variant = "89ab"[int(bits[16], 16) & 3]
    return f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-{variant}{bits[17:20]}-"


# new_id's serial numbers start at 2**48: hex() of one is "0x1" (or "0x2"... after 2**48 of
# them) and then the 12 digits an id keeps, a cheaper formatting than "{:012x}".
_SERIAL_START = 1 << 48
_prefix = _new_prefix()
_serial = itertools.count(_SERIAL_START)
BLOCK = 4096  # ids in a block of new_id_block
_block_prefix = _new_prefix()
_blocks = itertools.count(0, BLOCK)


def _reseed() -> None:
    global _prefix, _serial, _block_prefix, _blocks
    _prefix, _serial = _new_prefix(), itertools.count(_SERIAL_START)
    _block_prefix, _blocks = _new_prefix(), itertools.count(0, BLOCK)


os.register_at_fork(after_in_child=_reseed)  # a forked process must not repeat our ids


def new_id() -> str:
    """A UUID (version 4 layout) in its usual text form: 74 random bits drawn once per process
    and a 48-bit serial number, so ids are unique without drawing randomness per event."""
    return _prefix + hex(next(_serial))[3:]


def new_id_block() -> str:
    """The first of BLOCK ids (new_id's layout, a prefix of their own) that `id_in_block`
    derives from it: a row of folded hook runs stores one id, not one per run."""
    return f"{_block_prefix}{next(_blocks) & 0xFFFFFFFFFFFF:012x}"


def id_in_block(first: str, index: int) -> str:
    """The id number `index` (0 <= index < BLOCK) of the block that begins with `first`."""
    return f"{first[:24]}{int(first[24:], 16) + index:012x}"


_second: tuple[int, str] = (-1, "")  # the last second rfc3339 formatted, and its text


def rfc3339(at: float) -> str:
    """Unix time as RFC 3339 UTC with microseconds (`2026-12-02T17:28:46.123456Z`). The text
    of the whole second is kept for the next call (events come many a second: gmtime and
    strftime were two thirds of the cost)."""
    global _second
    whole = int(at)
    micros = int(round((at - whole) * 1_000_000))
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    second, text = _second
    if second != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)  # one assignment: another thread sees the old pair or this
    return f"{text}.{micros:06d}Z"


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


class Event:
    """An event as published; `as_table()` is what `Event.receive` returns. (A plain class:
    a dataclass with default factories cost a third of a publish.)"""

    __slots__ = (
        "event_type",
        "_data",
        "_data_json",
        "correlation_id",
        "sequence",
        "at",
        "id",
        "language",
        "ttl_seconds",
        "source",
        "target",
        "tags",
        "priority",
        "folded",
    )

    def __init__(
        self,
        event_type: str,
        data: Any,
        correlation_id: str,
        *,
        sequence: int = 0,
        at: float | None = None,
        id: str | None = None,
        language: str = "lua",
        ttl_seconds: float | None = None,
        source: str = "script",
        target: str | None = None,
        tags: list[str] | None = None,
        priority: str = "normal",
    ) -> None:
        self.event_type = event_type
        self._data = data
        self._data_json: str | None = None
        self.correlation_id = correlation_id
        self.sequence = sequence
        self.at = time.time() if at is None else at
        self.id = new_id() if id is None else id
        self.language = language
        self.ttl_seconds = ttl_seconds
        self.source = source
        self.target = target
        self.tags = tags if tags is not None else []
        self.priority = priority
        # Hook runs published with this event, before it: [(sequence, at, data JSON text)]
        # (EventHub.dispatch folds them when only the store would see them; events/store.py)
        self.folded: list[tuple[Any, ...]] | None = None

    @classmethod
    def from_json(cls, event_type: str, data_json: str, correlation_id: str, **kw: Any) -> Event:
        """An event whose data arrives as JSON text (the Lua side encoded it): decoded only
        when something reads `data`; the store keeps the text as it is."""
        event = cls(event_type, None, correlation_id, **kw)
        event._data_json = data_json
        return event

    @property
    def data(self) -> Any:
        if self._data_json is not None and self._data is None:
            import json

            self._data = json.loads(self._data_json)
        return self._data

    def data_json(self, encode: Any) -> str:
        """The data as JSON text (`encode` makes it when it did not arrive as text)."""
        return self._data_json if self._data_json is not None else encode(self._data)

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


_new_event = object.__new__


def system_event(event_type: str, data: Any, correlation_id: str, at: float) -> Event:
    """A system event as `Event(..., source="system")` makes it, its slots set directly (the
    dispatch of queued system events makes thousands a second); `data` as JSON text (a `str`)
    is kept as the text and decoded on first read, as `Event.from_json` does."""
    event: Event = _new_event(Event)
    if type(data) is str:
        event._data, event._data_json = None, data
    else:
        event._data, event._data_json = data, None
    event.event_type = event_type
    event.correlation_id = correlation_id
    event.sequence = 0
    event.at = at
    event.id = new_id()
    event.language = "lua"
    event.ttl_seconds = None
    event.source = "system"
    event.target = None
    event.tags = []
    event.priority = "normal"
    event.folded = None
    return event
