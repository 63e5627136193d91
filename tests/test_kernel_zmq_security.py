"""The ZeroMQ wire: signed messages only, no replays, garbage survived — tested with raw pyzmq
sockets against a kernel service running in this process, next to a well-behaved client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.session import Session

from llmspell_kernel.kernel.server import KernelSettings
from llmspell_kernel.service import KernelService, start_kernel_service


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[KernelService]:
    running = start_kernel_service(tmp_path / "kernel-sec.json", kernel_id="sec")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture()
def warnings_log() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger("llmspell")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture()
def raw_shell(service: KernelService) -> Iterator[zmq.Socket[Any]]:
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(service.connection_info.url("shell_port"))
    try:
        yield sock
    finally:
        sock.close()
        context.term()


def _good_client(service: KernelService) -> BlockingKernelClient:
    client = BlockingKernelClient(connection_file=str(service.connection_file))
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=10)
    return client


def _frames(key: bytes, msg_type: str = "kernel_info_request") -> list[bytes]:
    session = Session(key=key)
    msg = session.msg(msg_type, {})
    return session.serialize(msg)


def _assert_no_reply_then_still_serving(
    service: KernelService, sock: zmq.Socket[Any], before: int
) -> None:
    assert not sock.poll(300), "the kernel answered a message it should have rejected"
    assert service.transport.rejected > before
    client = _good_client(service)
    try:
        reply = client.kernel_info(reply=True, timeout=10)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()


def test_message_signed_with_the_wrong_key_is_rejected_and_logged(
    service: KernelService, raw_shell: zmq.Socket[Any], warnings_log: _Records
) -> None:
    before = service.transport.rejected
    raw_shell.send_multipart(_frames(b"not-the-key"))
    _assert_no_reply_then_still_serving(service, raw_shell, before)
    assert any("invalid signature" in m for m in warnings_log.messages)


def test_unsigned_message_is_rejected_and_logged(
    service: KernelService, raw_shell: zmq.Socket[Any], warnings_log: _Records
) -> None:
    before = service.transport.rejected
    raw_shell.send_multipart(_frames(b""))  # an empty key means an empty signature
    _assert_no_reply_then_still_serving(service, raw_shell, before)
    assert any("unsigned" in m for m in warnings_log.messages)


def test_replayed_message_is_rejected_and_logged(
    service: KernelService, raw_shell: zmq.Socket[Any], warnings_log: _Records
) -> None:
    frames = _frames(service.connection_info.key.encode())
    raw_shell.send_multipart(frames)
    assert raw_shell.poll(5000), "a correctly signed message got no reply"
    raw_shell.recv_multipart()
    before = service.transport.rejected
    raw_shell.send_multipart(frames)  # the very same bytes again
    _assert_no_reply_then_still_serving(service, raw_shell, before)
    assert any("replayed" in m for m in warnings_log.messages)


@pytest.mark.parametrize(
    "frames",
    [
        [b"garbage"],
        [b"<IDS|MSG>", b"sig"],
        [b"<IDS|MSG>", b"", b"{not json", b"{}", b"{}", b"{}"],
        [b"\xff" * 100_000],
    ],
    ids=["no-delimiter", "too-few-frames", "bad-json", "binary-blob"],
)
def test_garbage_multipart_frames_are_rejected_and_logged(
    service: KernelService,
    raw_shell: zmq.Socket[Any],
    warnings_log: _Records,
    frames: list[bytes],
) -> None:
    before = service.transport.rejected
    raw_shell.send_multipart(frames)
    _assert_no_reply_then_still_serving(service, raw_shell, before)
    assert any("rejected a message on shell" in m for m in warnings_log.messages)


def test_garbage_on_the_control_channel_is_survived(service: KernelService) -> None:
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(service.connection_info.url("control_port"))
    try:
        before = service.transport.rejected
        sock.send_multipart([b"<IDS|MSG>", b"x", b"y"])
        _assert_no_reply_then_still_serving(service, sock, before)
    finally:
        sock.close()
        context.term()


def test_connection_file_is_owner_only_and_removed_on_shutdown(tmp_path: Path) -> None:
    path = tmp_path / "kernel-owner.json"
    running = start_kernel_service(path, kernel_id="owner")
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        client = _good_client(running)
        client.shutdown()
        client.get_control_msg(timeout=10)
        client.stop_channels()
        assert running.wait(10)
    finally:
        running.stop()
    assert not path.exists()


def test_history_survives_a_service_restart_under_the_same_id(tmp_path: Path) -> None:
    history = tmp_path / "history" / "h.jsonl"
    settings = KernelSettings(kernel_id="h", history_file=str(history))
    first = start_kernel_service(tmp_path / "kernel-h.json", settings=settings)
    try:
        client = _good_client(first)
        client.execute_interactive("answer = 42", timeout=10)
        client.stop_channels()
    finally:
        first.stop()
    settings = KernelSettings(kernel_id="h", history_file=str(history))
    second = start_kernel_service(tmp_path / "kernel-h.json", settings=settings)
    try:
        client = _good_client(second)
        reply = client.history(
            hist_access_type="search", pattern="answer*", output=False, raw=True, reply=True
        )
        client.stop_channels()
        entries = reply["content"]["history"]
        assert [e[2] for e in entries] == ["answer = 42"]
        assert entries[0][0] == 1  # the first service's session
    finally:
        second.stop()


def test_service_binds_loopback_by_default(service: KernelService) -> None:
    assert service.connection_info.ip == "127.0.0.1"
