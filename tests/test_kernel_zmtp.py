"""The plain-socket ZMTP request `kernel stop` sends (llmspell_kernel/transport/zmtp.py; against a
kernel service in tests/test_kernel_zmq_security.py), and `kernel stop` through the fast path
against the same command through typer."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.transport import zmtp
from tests.processes import free_port_block, llmspell


@pytest.mark.parametrize("size", [1, 32, 64, 65, 200])
def test_signature_is_hmac_sha256(size: int) -> None:
    key = os.urandom(size)
    parts = [b'{"msg_id":"1"}', b"{}", b"", os.urandom(300)]
    expected = hmac.new(key, b"".join(parts), hashlib.sha256).hexdigest().encode("ascii")
    assert zmtp.sign(key, parts) == expected
    assert zmtp.sign(b"", parts) == b""


def test_nothing_listening_is_a_connection_error() -> None:
    port = free_port_block(1)
    connection = {"ip": "127.0.0.1", "control_port": port, "key": "ab"}
    with pytest.raises(KernelConnectionError, match="cannot reach the kernel"):
        zmtp.request(connection, "control_port", "shutdown_request", {}, 5.0)


def test_a_port_that_does_not_speak_zmtp_is_a_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer() -> None:
            peer, _ = server.accept()
            with peer:
                peer.recv(1024)
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\n" + b"x" * 64)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        connection = {"ip": "127.0.0.1", "control_port": server.getsockname()[1], "key": "ab"}
        with pytest.raises(KernelConnectionError, match="does not speak ZMTP 3"):
            zmtp.request(connection, "control_port", "shutdown_request", {}, 10.0)
        thread.join(10)


def _through_typer(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from llmspell_cli.main import app; app(args=sys.argv[1:], prog_name='llmspell')"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def _outcome(done: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_kernel_stop_answers_as_typer_does() -> None:
    for args in (
        ["kernel", "stop", "nope"],
        ["--output", "json", "kernel", "stop", "nope"],
        ["kernel", "stop"],
        ["kernel", "stop", "--all", "--output", "yaml"],
        ["kernel", "stop", "--force"],
    ):
        fast = llmspell(*args)
        assert _outcome(fast) == _outcome(_through_typer(*args)), args
    assert _outcome(llmspell("kernel", "stop", "nope"))[0] == 2
    try:
        for way in ("fast", "typer"):
            kernel_id = f"stop-{way}"
            port = free_port_block()
            started = llmspell(
                "kernel", "start", "--daemon", "--port", str(port), "--id", kernel_id
            )
            assert started.returncode == 0, started.stderr
            args = ("kernel", "stop", kernel_id)
            done = llmspell(*args) if way == "fast" else _through_typer(*args)
            assert _outcome(done) == (0, f"stopped kernel {kernel_id}\n", ""), way
            status = json.loads(llmspell("kernel", "status", "--output", "json").stdout)
            assert status == [], way
    finally:
        llmspell("kernel", "stop", "--all", "--force")
