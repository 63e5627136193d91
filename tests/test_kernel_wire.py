"""The wire and its replay guard, imported directly (no kernel, no sockets)."""

from __future__ import annotations

import json

import pytest

from llmspell_kernel.protocol.message import MessageFactory
from llmspell_kernel.protocol.wire import (
    MAX_DEPTH,
    RefusedMessage,
    ReplayGuard,
    Wire,
    WireError,
    parse_date,
)

KEY = b"k" * 32


def _frames(wire: Wire, factory: MessageFactory, **content: object) -> list[bytes]:
    return wire.serialize(factory.message("execute_request", dict(content)))


def test_wires_sharing_a_guard_accept_a_message_once() -> None:
    guard = ReplayGuard()
    shell, control = Wire(KEY, replay=guard), Wire(KEY, replay=guard)
    frames = _frames(shell, MessageFactory(), code="1")
    shell.deserialize(frames)
    with pytest.raises(WireError, match="replayed"):
        control.deserialize(frames)


def test_a_message_forgotten_by_the_window_stays_refused_by_its_date() -> None:
    wire = Wire(KEY, replay=ReplayGuard(window=3))
    factory, other = MessageFactory(), MessageFactory()
    captured = _frames(wire, factory, code="1")
    wire.deserialize(captured)
    for _ in range(5):
        wire.deserialize(_frames(wire, other, code="2"))
        wire.deserialize(_frames(wire, factory, code="3"))
    with pytest.raises(WireError, match="dated before the replay window"):
        wire.deserialize(captured)
    wire.deserialize(_frames(wire, factory, code="4"))  # that session's new messages still pass


def test_dates_far_ahead_or_from_before_the_guard_are_refused() -> None:
    now = 1_000_000.0
    guard = ReplayGuard(clock=lambda: now, skew=300)
    guard.admit(b"a", {"date": "1970-01-12T13:46:40+00:00", "session": "s"})  # == now
    guard.admit(b"b", {"date": "1970-01-12T13:51:00Z", "session": "s"})  # 260 s ahead
    with pytest.raises(WireError, match="in the future"):
        guard.admit(b"c", {"date": "1970-01-12T14:00:00Z", "session": "s"})
    with pytest.raises(WireError, match="dated before"):
        guard.admit(b"d", {"date": "1970-01-12T13:30:00Z", "session": "s"})
    with pytest.raises(WireError, match="date missing"):
        guard.admit(b"e", {"session": "s"})


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00.123456Z",
        "2024-05-01T12:00:00.123Z",
        "2024-05-01T12:00:00.123456+00:00",
        "2024-05-01T14:00:00.123456+02:00",
        "2024-05-01T12:00:00.123456",
    ],
)
def test_header_dates_of_every_jupyter_client_parse_to_the_same_time(text: str) -> None:
    assert parse_date(text) == pytest.approx(1714564800.123, abs=0.001)


def test_depth_and_size_limits_refuse_with_the_header_kept() -> None:
    wire = Wire(KEY, replay=ReplayGuard(), max_bytes=4096)
    factory = MessageFactory()
    deep: object = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(RefusedMessage, match="deeper than") as refused:
        wire.deserialize(_frames(wire, factory, nested=deep))
    assert refused.value.msg["msg_type"] == "execute_request"
    with pytest.raises(
        RefusedMessage, match=r"is 5.1 KB; .* at most 4 KB \(kernel.max_message_bytes"
    ):
        wire.deserialize(_frames(wire, factory, code="x" * 5000))
    wire = Wire(KEY, replay=ReplayGuard())
    parts = _frames(wire, factory, code="1")
    parts[1 + 4] = b'{"code": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    parts[1] = wire.sign(parts[2:6])
    with pytest.raises(RefusedMessage, match="deeper than"):
        wire.deserialize(parts)
    json.dumps(deep)  # the limit is the wire's, not json's


@pytest.mark.parametrize("key", [b"k", b"k" * 64, b"k" * 65, bytes(range(256))])
def test_signatures_are_the_hmac_module_s_for_every_key_length(key: bytes) -> None:
    # Wire.sign computes HMAC-SHA256 from two prepared SHA-256 states; a key longer than the
    # 64-byte block is hashed first, as RFC 2104 says.
    import hashlib
    import hmac

    parts = [b'{"msg_id":"1"}', b"{}", b'{"a":1}', '{"text":"é"}'.encode()]
    expected = hmac.new(key, b"".join(parts), hashlib.sha256).hexdigest().encode()
    assert Wire(key).sign(parts) == expected
    frames = Wire(key).serialize(MessageFactory().message("status", {"execution_state": "idle"}))
    assert frames[1] == hmac.new(key, b"".join(frames[2:6]), hashlib.sha256).hexdigest().encode()
    Wire(key).deserialize(frames)


@pytest.mark.parametrize(
    ("content", "accepted"),
    [
        (b' {"code": "1"}\n', True),  # whitespace around the value, as json.loads allows
        (b'{"code": "1"} {}', False),  # anything after it is not
        (b'  "text"', False),  # a value but not an object
        (b"", False),
        (b'{"code": ', False),
    ],
)
def test_frames_decode_as_json_loads_does(content: bytes, accepted: bool) -> None:
    wire = Wire(KEY)
    frames = _frames(wire, MessageFactory(), code="1")
    frames[5] = content
    frames[1] = wire.sign(frames[2:6])
    if accepted:
        assert wire.deserialize(frames)[1]["content"] == {"code": "1"}
    else:
        with pytest.raises(WireError):
            wire.deserialize(frames)
