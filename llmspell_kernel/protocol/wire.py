"""The Jupyter wire format: multipart frames, HMAC-SHA256 signatures, replay protection.

`[identities..., b"<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]`
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
from typing import Any

from llmspell_kernel.protocol.message import Message

DELIMITER = b"<IDS|MSG>"
REPLAY_WINDOW = 10_000


class WireError(ValueError):
    """A frame sequence that is not a valid, correctly signed, fresh Jupyter message."""


# One encoder for every message: json.dumps() with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _dumps(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8")


class Wire:
    """Serializes and verifies messages for one connection key (empty key: no signing)."""

    def __init__(self, key: bytes | str = b"", signature_scheme: str = "hmac-sha256") -> None:
        if isinstance(key, str):
            key = key.encode("ascii")
        if signature_scheme != "hmac-sha256":
            raise ValueError(f"unsupported signature scheme {signature_scheme!r}")
        self.key = key
        self._hmac = hmac.new(key, digestmod=hashlib.sha256) if key else None
        self._seen: set[bytes] = set()
        self._order: collections.deque[bytes] = collections.deque()

    def sign(self, parts: list[bytes]) -> bytes:
        """Hex HMAC of the four JSON frames (empty when there is no key)."""
        if self._hmac is None:
            return b""
        mac = self._hmac.copy()
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode("ascii")

    def serialize(self, msg: Message, identities: list[bytes] | None = None) -> list[bytes]:
        """Frames for `msg`, routed to `identities` (ROUTER) or a topic (PUB)."""
        parts = [
            _dumps(msg["header"]),
            _dumps(msg.get("parent_header") or {}),
            _dumps(msg.get("metadata") or {}),
            _dumps(msg.get("content") or {}),
        ]
        frames = [*(identities or []), DELIMITER, self.sign(parts), *parts]
        frames.extend(msg.get("buffers") or [])
        return frames

    def deserialize(self, frames: list[bytes]) -> tuple[list[bytes], Message]:
        """(identities, message); raises WireError for garbage, bad signatures and replays."""
        try:
            index = frames.index(DELIMITER)
        except ValueError as exc:
            raise WireError("no <IDS|MSG> delimiter") from exc
        identities = list(frames[:index])
        body = frames[index + 1 :]
        if len(body) < 5:
            raise WireError(f"expected at least 5 frames after the delimiter, got {len(body)}")
        signature, parts, buffers = body[0], body[1:5], body[5:]
        if self._hmac is not None:
            if not signature:
                raise WireError("unsigned message")
            if not hmac.compare_digest(signature, self.sign(parts)):
                raise WireError("invalid signature")
            if signature in self._seen:
                raise WireError("replayed message (signature already seen)")
            self._remember(signature)
        try:
            header, parent, metadata, content = (json.loads(part) for part in parts)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WireError(f"malformed JSON: {exc}") from exc
        if not all(isinstance(x, dict) for x in (header, parent, metadata, content)):
            raise WireError("header, parent_header, metadata and content must be objects")
        if not isinstance(header.get("msg_type"), str) or "msg_id" not in header:
            raise WireError("header lacks msg_id or msg_type")
        msg: Message = {
            "header": header,
            "parent_header": parent,
            "metadata": metadata,
            "content": content,
            "buffers": buffers,
            "msg_id": header["msg_id"],
            "msg_type": header["msg_type"],
        }
        return identities, msg

    def _remember(self, signature: bytes) -> None:
        self._seen.add(signature)
        self._order.append(signature)
        if len(self._order) > REPLAY_WINDOW:
            self._seen.discard(self._order.popleft())
