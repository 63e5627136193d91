"""The Jupyter wire format: multipart frames, HMAC-SHA256 signatures, replay protection.

`[identities..., b"<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]`
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from llmspell_kernel.protocol.message import Message

DELIMITER = b"<IDS|MSG>"
REPLAY_WINDOW = 10_000
# How far a client's clock may be ahead of (or behind) the kernel's: Kerberos' default.
MAX_CLOCK_SKEW = 300.0
# JSON nesting of one frame. Jupyter's own messages stay below 10; Lua values convert to at most
# 64 levels (convert.MAX_DEPTH), so a state value that deep gets the engine's clearer error.
MAX_DEPTH = 100
# A header or parent_header larger than this is not a Jupyter header: no reply is attempted.
_MAX_HEADER_BYTES = 64 * 1024


class WireError(ValueError):
    """A frame sequence that is not a valid, correctly signed, fresh Jupyter message."""


class RefusedMessage(WireError):
    """A correctly signed, fresh message the kernel will not process (too large, too deeply
    nested): `msg` holds its header and parent_header, so the sender can be answered."""

    def __init__(self, reason: str, identities: list[bytes], msg: Message) -> None:
        super().__init__(reason)
        self.identities = identities
        self.msg = msg


class _TooDeep(WireError):
    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


# One encoder for every message: json.dumps() with options builds a new one per call, and
# JSONEncoder.encode builds a new C encoder per call too (half the time of a header's encoding);
# this is that C encoder, made once (without the cycle check: messages are trees).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_make_c_encoder: Callable[..., Any] | None = getattr(json.encoder, "c_make_encoder", None)
_c_basestring: Callable[[str], str] | None = getattr(json.encoder, "c_encode_basestring", None)
_C_ENCODER = (
    _make_c_encoder(None, str, _c_basestring, None, ":", ",", False, False, True)
    if _make_c_encoder is not None and _c_basestring is not None
    else None
)


_DECODER = json.JSONDecoder()
_DECODE: Callable[[str], Any] = _DECODER.decode
# The decoder's (C) scanner without decode()'s two whitespace regex matches: a frame that
# starts or ends with whitespace, or holds anything after its value, goes through decode().
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> Any:
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return _DECODE(text)  # not a value at offset 0: decode() skips whitespace or says why
    return value if end == len(text) else _DECODE(text)


def _dumps(obj: Any) -> bytes:
    if _C_ENCODER is not None:
        return "".join(_C_ENCODER(obj, 0)).encode("utf-8")
    return _ENCODER.encode(obj).encode("utf-8")


def _nested_deeper(value: Any, limit: int) -> bool:
    """True when `value` nests lists/objects more than `limit` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _loads(part: bytes) -> Any:
    """json.loads with a nesting limit: deep input raises _TooDeep, never RecursionError."""
    try:
        # str first: json.loads(bytes) detects UTF-16/32 first, and Jupyter frames are UTF-8
        value = _decode(part.decode("utf-8"))
    except RecursionError as exc:
        raise _TooDeep from exc
    # Fewer brackets than the limit cannot nest deeper than it: the usual case costs two counts.
    if (
        isinstance(value, dict | list)
        and part.count(b"[") + part.count(b"{") > MAX_DEPTH
        and _nested_deeper(value, MAX_DEPTH)
    ):
        raise _TooDeep
    return value


def _size(count: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale:
            return f"{round(count / scale, 1):g} {unit}"
    return f"{count} bytes"


def parse_date(value: Any) -> float | None:
    """POSIX time of a header `date`, or None. Clients send ISO 8601: jupyter_client
    `2024-05-01T12:00:00.123456Z`, JupyterLab `...00.123Z`, llmspell `...+00:00`; older
    clients a naive time, which is UTC."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class ReplayGuard:
    """The messages one kernel has accepted, on every channel (a message refused as a replay on
    control must not be accepted on shell): the last `window` signatures, and for what is older
    than they reach, the header dates.

    A signature forgotten from the window raises its session's horizon to that message's date,
    and a message dated at or before its session's horizon is refused: whatever was forgotten
    can never come back, and comparing dates from one session's own clock needs no tolerance.
    Messages dated before this guard existed (a previous kernel with the same key) or far in the
    future are refused too, with `skew` seconds of tolerance for clocks that disagree.
    """

    def __init__(
        self,
        window: int = REPLAY_WINDOW,
        *,
        check_dates: bool = True,
        skew: float = MAX_CLOCK_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self.check_dates = check_dates
        self.skew = skew
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: set[bytes] = set()
        self._order: collections.deque[tuple[bytes, str, float]] = collections.deque()
        self._horizon: dict[str, float] = {}
        self._floor = clock() - skew

    def admit(self, signature: bytes, header: dict[str, Any]) -> None:
        """Remember a verified message; WireError if it is a replay or outside the window."""
        date = 0.0
        session = str(header.get("session", ""))
        if self.check_dates:
            parsed = parse_date(header.get("date"))
            if parsed is None or not math.isfinite(parsed):
                raise WireError("header date missing or not an ISO 8601 time")
            date = parsed
            ahead = date - self._clock()
            if ahead > self.skew:
                raise WireError(
                    f"message dated {ahead:.0f} s in the future (more than the "
                    f"{self.skew:g} s of clock skew allowed)"
                )
        with self._lock:
            if signature in self._seen:
                raise WireError("replayed message (signature already seen)")
            if self.check_dates and (
                date < self._floor or date <= self._horizon.get(session, -math.inf)
            ):
                raise WireError("replayed message (dated before the replay window)")
            self._seen.add(signature)
            self._order.append((signature, session, date))
            if len(self._order) > self.window:
                self._forget()

    def _forget(self) -> None:
        signature, session, date = self._order.popleft()
        self._seen.discard(signature)
        if not self.check_dates:
            return
        # Re-inserted so the dict stays ordered by last update: the stalest session goes first.
        horizon = max(self._horizon.pop(session, -math.inf), date)
        self._horizon[session] = horizon
        if len(self._horizon) > self.window:
            stalest = next(iter(self._horizon))
            self._floor = max(self._floor, self._horizon.pop(stalest) - self.skew)


class Wire:
    """Serializes and verifies messages for one connection key (empty key: no signing).

    Wires of one kernel share its `replay` guard; `max_bytes` (0: none) refuses larger messages.
    """

    def __init__(
        self,
        key: bytes | str = b"",
        signature_scheme: str = "hmac-sha256",
        *,
        replay: ReplayGuard | None = None,
        max_bytes: int = 0,
    ) -> None:
        if isinstance(key, str):
            key = key.encode("ascii")
        if signature_scheme != "hmac-sha256":
            raise ValueError(f"unsupported signature scheme {signature_scheme!r}")
        self.key = key
        self._signing = bool(key)
        # HMAC-SHA256 as its definition (RFC 2104) computes it, from SHA-256 states that have
        # taken the padded key already: copying two hash states costs a third of copying
        # OpenSSL's HMAC context (and of the hmac module's Python wrapper around it).
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
        self.replay = replay if replay is not None else ReplayGuard(check_dates=False)
        self.max_bytes = max_bytes
        # The last parent_header sent and its JSON (one tuple: read and replaced whole).
        self._parent_cache: tuple[dict[str, Any], bytes] = ({}, b"{}")

    def sign(self, parts: list[bytes]) -> bytes:
        """Hex HMAC of the four JSON frames (empty when there is no key)."""
        if not self._signing:
            return b""
        inner = self._inner.copy()
        inner.update(b"".join(parts))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest().encode("ascii")

    def serialize(self, msg: Message, identities: list[bytes] | None = None) -> list[bytes]:
        """Frames for `msg`, routed to `identities` (ROUTER) or a topic (PUB)."""
        parent = msg.get("parent_header") or {}
        cached = self._parent_cache
        if parent != cached[0]:  # an execution's messages all carry its request's header
            cached = self._parent_cache = (parent, _dumps(parent))
        metadata = msg.get("metadata")
        parts = [
            _dumps(msg["header"]),
            cached[1],
            _dumps(metadata) if metadata else b"{}",
            _dumps(msg.get("content") or {}),
        ]
        frames = [*(identities or []), DELIMITER, self.sign(parts), *parts]
        frames.extend(msg.get("buffers") or [])
        return frames

    def deserialize(self, frames: list[bytes]) -> tuple[list[bytes], Message]:
        """(identities, message); raises WireError for garbage, bad signatures and replays, and
        RefusedMessage for signed messages that are too large or too deeply nested."""
        try:
            index = frames.index(DELIMITER)
        except ValueError as exc:
            raise WireError("no <IDS|MSG> delimiter") from exc
        identities = frames[:index]
        body = frames[index + 1 :]
        if len(body) < 5:
            raise WireError(f"expected at least 5 frames after the delimiter, got {len(body)}")
        signature, parts, buffers = body[0], body[1:5], body[5:]
        if self._signing:
            if not signature:
                raise WireError("unsigned message")
            if not hmac.compare_digest(signature, self.sign(parts)):
                raise WireError("invalid signature")
        if len(parts[0]) > _MAX_HEADER_BYTES or len(parts[1]) > _MAX_HEADER_BYTES:
            raise WireError("header or parent_header larger than 64 KB")
        header, parent = self._parse(parts[0]), self._parse(parts[1])
        if not isinstance(header.get("msg_type"), str) or "msg_id" not in header:
            raise WireError("header lacks msg_id or msg_type")
        if self._signing:
            self.replay.admit(signature, header)
        msg: Message = {
            "header": header,
            "parent_header": parent,
            "metadata": {},
            "content": {},
            "buffers": [],
            "msg_id": header["msg_id"],
            "msg_type": header["msg_type"],
        }
        size = sum(map(len, body)) - len(signature)
        if self.max_bytes and size > self.max_bytes:
            raise RefusedMessage(
                f"the message is {_size(size)}; this kernel accepts at most "
                f"{_size(self.max_bytes)} (kernel.max_message_bytes)",
                identities,
                msg,
            )
        try:
            msg["metadata"], msg["content"] = self._parse(parts[2]), self._parse(parts[3])
        except _TooDeep:
            raise RefusedMessage(
                f"the message nests JSON deeper than {MAX_DEPTH} levels", identities, msg
            ) from None
        msg["buffers"] = buffers
        return identities, msg

    @staticmethod
    def _parse(part: bytes) -> dict[str, Any]:
        try:
            value = _loads(part)
        except _TooDeep:
            raise
        except (ValueError, UnicodeDecodeError) as exc:  # UnicodeDecodeError is a ValueError
            raise WireError(f"malformed JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise WireError("header, parent_header, metadata and content must be objects")
        return value
