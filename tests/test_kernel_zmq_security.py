"""The ZeroMQ wire: signed messages only, no replays, garbage survived — tested with raw pyzmq
sockets against a kernel service running in this process, next to a well-behaved client."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.session import Session

from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.kernel.server import KernelSettings
from llmspell_kernel.service import KernelService, start_kernel_service
from llmspell_kernel.transport import zmtp
from tests.processes import llmspell, wait_until_ready


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


@contextlib.contextmanager
def _raw_socket(service: KernelService, port_name: str) -> Iterator[zmq.Socket[Any]]:
    """A bare DEALER on one of the kernel's ROUTER ports (what an attacker would use)."""
    context: zmq.Context[Any] = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(service.connection_info.url(port_name))
    try:
        yield sock
    finally:
        sock.close()
        context.term()


@pytest.fixture()
def raw_shell(service: KernelService) -> Iterator[zmq.Socket[Any]]:
    with _raw_socket(service, "shell_port") as sock:
        yield sock


def _good_client(service: KernelService) -> BlockingKernelClient:
    client = BlockingKernelClient(connection_file=str(service.connection_file))
    client.load_connection_file()
    client.start_channels()
    wait_until_ready(client)
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
    with _raw_socket(service, "control_port") as sock:
        before = service.transport.rejected
        sock.send_multipart([b"<IDS|MSG>", b"x", b"y"])
        _assert_no_reply_then_still_serving(service, sock, before)


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


def test_a_remote_clients_records_and_history_are_written_once_the_kernel_idles(
    tmp_path: Path,
) -> None:
    # The kernel keeps execution records and history lines while requests keep coming and
    # writes them when none came for a moment: a reader of the files themselves (not through
    # the kernel) finds every execution soon after the last reply, while the kernel still runs.
    import sqlite3

    from llmspell_kernel.lua.engine import EngineSettings
    from llmspell_kernel.state.settings import DataSettings

    history = tmp_path / "h.jsonl"
    data = DataSettings(path=str(tmp_path / "state.db"))  # type: ignore[arg-type]
    settings = KernelSettings(
        kernel_id="r",
        history_file=str(history),
        kernel_session=True,
        engine=EngineSettings(data=data),
    )
    running = start_kernel_service(tmp_path / "kernel-r.json", settings=settings)
    try:
        client = _good_client(running)
        for n in range(5):
            assert (
                client.execute_interactive(f"return {n}", timeout=10)["content"]["status"] == "ok"
            )
        client.stop_channels()
        deadline = time.monotonic() + 10
        codes: list[str] = []
        lines: list[str] = []
        while time.monotonic() < deadline and (len(codes) < 5 or len(lines) < 5):
            with contextlib.closing(sqlite3.connect(tmp_path / "state.db")) as db:
                codes = [row[0] for row in db.execute("SELECT code FROM executions ORDER BY step")]
            lines = history.read_text().splitlines() if history.exists() else []
            time.sleep(0.01)
        assert codes == [f"return {n}" for n in range(5)]
        assert [json.loads(line)["input"] for line in lines] == codes
    finally:
        running.stop()


def test_service_binds_loopback_by_default(service: KernelService) -> None:
    assert service.connection_info.ip == "127.0.0.1"


# -- one replay history per kernel, bounded in time as well as in count ---------------------------


def _signed(
    service: KernelService,
    msg_type: str,
    content: dict[str, Any] | None = None,
    session: Session | None = None,
    **header: Any,
) -> list[bytes]:
    session = session or Session(key=service.connection_info.key.encode())
    msg = session.msg(msg_type, content or {})
    msg["header"].update(header)
    for name, value in header.items():
        if value is None:
            del msg["header"][name]
    return session.serialize(msg)


def _reply_content(sock: zmq.Socket[Any], timeout_ms: int = 10_000) -> dict[str, Any]:
    assert sock.poll(timeout_ms), "no reply"
    frames = sock.recv_multipart()
    return Session(key=b"").unpack(frames[frames.index(b"<IDS|MSG>") + 5])


def test_message_replayed_on_another_channel_is_rejected(
    service: KernelService, warnings_log: _Records
) -> None:
    with (
        _raw_socket(service, "shell_port") as shell,
        _raw_socket(service, "control_port") as control,
    ):
        frames = _signed(service, "kernel_info_request")
        shell.send_multipart(frames)
        assert _reply_content(shell)["status"] == "ok"
        before = service.transport.rejected
        control.send_multipart(frames)  # captured on shell, replayed on control
        _assert_no_reply_then_still_serving(service, control, before)
        assert any("replayed" in m for m in warnings_log.messages)


def test_execute_request_replayed_beyond_the_signature_window_is_rejected(
    service: KernelService, raw_shell: zmq.Socket[Any], warnings_log: _Records
) -> None:
    from llmspell_kernel.protocol.wire import REPLAY_WINDOW

    captured = _signed(service, "execute_request", {"code": "ran = (ran or 0) + 1", "silent": True})
    raw_shell.send_multipart(captured)
    assert _reply_content(raw_shell)["status"] == "ok"
    with _raw_socket(service, "control_port") as control:
        session = Session(key=service.connection_info.key.encode())
        # In batches: a ROUTER drops replies to a peer whose queue is full (high-water mark).
        for _ in range((REPLAY_WINDOW + 50 + 249) // 250):  # 10,250 newer messages
            for _ in range(250):
                control.send_multipart(_signed(service, "kernel_info_request", session=session))
            for _ in range(250):
                _reply_content(control)
    before = service.transport.rejected
    raw_shell.send_multipart(captured)
    _assert_no_reply_then_still_serving(service, raw_shell, before)
    assert any("replayed message (dated before" in m for m in warnings_log.messages)
    client = _good_client(service)
    try:
        reply = client.execute_interactive("return ran", timeout=10)
        assert reply["content"]["status"] == "ok"
        counted = client.execute("assert(ran == 1)", reply=True, timeout=10)
        assert counted["content"]["status"] == "ok", "the replayed execute_request ran again"
    finally:
        client.stop_channels()


@pytest.mark.parametrize(
    ("date", "logged"),
    [
        ("2999-01-01T00:00:00.000000Z", "in the future"),
        ("2001-01-01T00:00:00Z", "dated before the replay window"),
        (None, "header date missing"),
        ("yesterday", "header date missing"),
    ],
    ids=["future", "older-than-the-kernel", "missing", "not-a-date"],
)
def test_signed_message_with_a_stale_or_missing_date_is_rejected(
    service: KernelService,
    raw_shell: zmq.Socket[Any],
    warnings_log: _Records,
    date: str | None,
    logged: str,
) -> None:
    before = service.transport.rejected
    raw_shell.send_multipart(_signed(service, "kernel_info_request", date=date))
    _assert_no_reply_then_still_serving(service, raw_shell, before)
    assert any(logged in m for m in warnings_log.messages), warnings_log.messages


@pytest.mark.parametrize(
    "date",
    ["now-z", "now-millis-z", "now-offset", "now-naive"],
)
def test_dates_as_jupyter_clients_write_them_are_accepted(
    service: KernelService, raw_shell: zmq.Socket[Any], date: str
) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    text = {
        "now-z": now.isoformat().replace("+00:00", "Z"),  # jupyter_client
        "now-millis-z": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),  # JupyterLab
        "now-offset": now.isoformat(),  # llmspell
        "now-naive": now.replace(tzinfo=None).isoformat(),  # old clients: UTC without a zone
    }[date]
    raw_shell.send_multipart(_signed(service, "kernel_info_request", date=text))
    assert _reply_content(raw_shell)["status"] == "ok"


# -- one message never kills the executor -----------------------------------------------------------


def _assert_executes(service: KernelService) -> None:
    client = _good_client(service)
    try:
        reply = client.execute("return 2", reply=True, timeout=10)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()


def _status(service: KernelService) -> dict[str, Any]:
    client = _good_client(service)
    try:
        msg = client.session.msg("llmspell_status_request", {})
        client.control_channel.send(msg)
        reply = client.get_control_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        return reply["content"]
    finally:
        client.stop_channels()


@pytest.mark.parametrize("depth", [100_000, 150])
def test_deeply_nested_json_gets_an_error_reply_and_the_executor_lives(
    service: KernelService, raw_shell: zmq.Socket[Any], depth: int
) -> None:
    session = Session(key=service.connection_info.key.encode())
    msg = session.msg("execute_request", {"code": "return 1", "silent": False})
    header, parent, metadata = (
        session.pack(msg["header"]),
        session.pack({}),
        session.pack({}),
    )
    content = b'{"code": "return 1", "nested": ' + b"[" * depth + b"]" * depth + b"}"
    parts = [header, parent, metadata, content]
    raw_shell.send_multipart([b"<IDS|MSG>", session.sign(parts), *parts])
    reply = _reply_content(raw_shell)
    assert reply["status"] == "error"
    assert reply["ename"] == "RequestRefused"
    assert "deeper than 100 levels" in reply["evalue"]
    _assert_executes(service)
    assert _status(service)["busy"] is False


def test_json_nested_within_the_limit_is_served(
    service: KernelService, raw_shell: zmq.Socket[Any]
) -> None:
    nested: Any = []
    for _ in range(60):
        nested = [nested]
    raw_shell.send_multipart(
        _signed(service, "execute_request", {"code": "return 3", "extra": nested})
    )
    assert _reply_content(raw_shell)["status"] == "ok"


def test_request_that_breaks_a_handler_gets_an_error_reply_and_the_kernel_goes_on(
    service: KernelService, raw_shell: zmq.Socket[Any]
) -> None:
    raw_shell.send_multipart(_signed(service, "complete_request", {"code": "x", "cursor_pos": "?"}))
    reply = _reply_content(raw_shell)
    assert reply["status"] == "error" and reply["evalue"] == "internal error"
    raw_shell.send_multipart(_signed(service, "execute_request", {"code": "return 4"}))
    assert _reply_content(raw_shell)["status"] == "ok"


# -- request size -------------------------------------------------------------------------------------


@pytest.fixture()
def small_service(tmp_path: Path) -> Iterator[KernelService]:
    settings = KernelSettings(kernel_id="small", max_message_bytes=1024 * 1024)
    running = start_kernel_service(tmp_path / "kernel-small.json", settings=settings)
    try:
        yield running
    finally:
        running.stop()


def test_request_over_the_size_limit_gets_a_clear_error_reply(
    small_service: KernelService,
) -> None:
    with _raw_socket(small_service, "shell_port") as sock:
        code = "return 1 --" + "x" * (1536 * 1024)
        sock.send_multipart(_signed(small_service, "execute_request", {"code": code}))
        reply = _reply_content(sock)
        assert reply["status"] == "error"
        assert reply["ename"] == "RequestRefused"
        assert "accepts at most 1 MB (kernel.max_message_bytes)" in reply["evalue"]
        sock.send_multipart(_signed(small_service, "execute_request", {"code": "return 5"}))
        assert _reply_content(sock)["status"] == "ok"


def test_huge_request_is_dropped_by_zeromq_and_the_kernel_stays_up(
    small_service: KernelService,
) -> None:
    with _raw_socket(small_service, "shell_port") as sock:
        code = "return 1 --" + "x" * (8 * 1024 * 1024)
        sock.send_multipart(_signed(small_service, "execute_request", {"code": code}))
        assert not sock.poll(500)
    _assert_executes(small_service)


def test_default_request_limit_is_16_mb_and_configurable(tmp_path: Path) -> None:
    from llmspell_kernel.api import kernel_settings_from_config
    from llmspell_kernel.config import load_config

    assert KernelSettings().max_message_bytes == 16 * 1024 * 1024
    path = tmp_path / "limits.toml"
    path.write_text("[kernel]\nmax_message_bytes = 2097152\n")
    settings = kernel_settings_from_config(load_config(str(path)).config)
    assert settings.max_message_bytes == 2 * 1024 * 1024


# -- readable roots are the kernel's own ---------------------------------------------------------


def test_script_path_from_a_remote_client_names_the_chunk_but_opens_no_directory(
    tmp_path: Path,
) -> None:
    from llmspell_kernel.api import connect_to_kernel
    from llmspell_kernel.lua.engine import EngineSettings

    secrets = tmp_path / "elsewhere"
    secrets.mkdir()
    (secrets / "secret.txt").write_text("top secret")
    settings = KernelSettings(kernel_id="roots", engine=EngineSettings(allowed_paths=()))
    running = start_kernel_service(tmp_path / "kernel-roots.json", settings=settings)
    try:
        client = connect_to_kernel(str(running.connection_file))
        try:
            script = str(secrets / "s.lua")
            read = client.execute(
                f"return assert(io.open({str(secrets / 'secret.txt')!r})):read('a')",
                script_path=script,
            )
            list(read)
            assert read.reply["status"] == "error", "a remote script_path opened its directory"
            assert "outside the readable paths" in read.reply["evalue"]
            failed = client.execute('error("boom")', script_path=script)
            list(failed)
            assert failed.reply["evalue"].startswith(f"{script}:1: boom")
        finally:
            client.close()
    finally:
        running.stop()


# -- the heartbeat runs without the GIL ----------------------------------------------------------


_PINGER = """
import sys, time, zmq
sock = zmq.Context().socket(zmq.REQ)
sock.linger = 0
sock.connect(sys.argv[1])
sock.send(b"ping")
assert sock.poll(10000), "no heartbeat at all"
sock.recv()
print("ready", flush=True)
sys.stdin.readline()
worst = 0.0
for _ in range(10):
    started = time.monotonic()
    sock.send(b"ping")
    if not sock.poll(3000):
        print("no answer within 3 s", flush=True)
        sys.exit(1)
    sock.recv()
    worst = max(worst, time.monotonic() - started)
    time.sleep(0.1)
print(f"worst {worst:.3f}", flush=True)
"""


def _hold_the_gil(seconds: float) -> threading.Thread:
    """A thread inside one C call (sum over a range) for about `seconds`: it never releases the
    GIL, as a busy extension or a long regex would not."""
    started = time.perf_counter()
    sum(range(2_000_000))
    per_item = (time.perf_counter() - started) / 2_000_000
    thread = threading.Thread(target=sum, args=(range(int(seconds / per_item)),), daemon=True)
    thread.start()
    return thread


def test_heartbeat_answers_while_the_interpreter_is_held(service: KernelService) -> None:
    pinger = subprocess.Popen(
        [sys.executable, "-c", _PINGER, service.connection_info.url("hb_port")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert pinger.stdout is not None and pinger.stdin is not None
        assert pinger.stdout.readline().strip() == "ready"
        pinger.stdin.write("go\n")
        pinger.stdin.flush()
        _hold_the_gil(4.0).join()
        out, _ = pinger.communicate(timeout=30)
    finally:
        pinger.kill()
        pinger.wait()
    assert pinger.returncode == 0, out
    assert out.startswith("worst ")
    assert float(out.split()[1]) < 1.0, out


# -- listening beyond this machine is said ---------------------------------------------------------


def test_kernel_bound_to_every_interface_warns_on_stderr() -> None:
    result = llmspell(
        "kernel", "start", "--ip", "0.0.0.0", "--idle-timeout", "0.5", "--id", "open", timeout=60
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: the kernel binds 0.0.0.0 and is reachable from other hosts (messages are "
        "signed, not encrypted; prefer 127.0.0.1 with an SSH tunnel)"
    ]


def test_kernel_on_loopback_does_not_warn() -> None:
    result = llmspell("kernel", "start", "--idle-timeout", "0.5", "--id", "local", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "warning:" not in result.stderr


# -- the plain-socket request of `kernel stop` (llmspell_kernel/transport/zmtp.py) -------------
def _connection(service: KernelService) -> dict[str, object]:
    data: dict[str, object] = json.loads(Path(service.connection_file).read_text("utf-8"))
    return data


def test_request_gets_the_kernels_reply_on_shell_and_control(service: KernelService) -> None:
    info = zmtp.request(_connection(service), "shell_port", "kernel_info_request", {}, 10.0)
    assert info["implementation"] == "llmspell"
    assert info["status"] == "ok"
    reply = zmtp.request(
        _connection(service), "control_port", "shutdown_request", {"restart": False}, 10.0
    )
    assert reply == {"status": "ok", "restart": False}
    assert service.wait(10.0), "the kernel did not shut down after the shutdown_reply"


def test_request_signed_with_the_wrong_key_gets_no_reply(service: KernelService) -> None:
    connection = {**_connection(service), "key": "00" * 32}
    with pytest.raises(KernelConnectionError, match="no reply to kernel_info_request within"):
        zmtp.request(connection, "shell_port", "kernel_info_request", {}, 1.0)
    # the kernel refused it and still serves
    info = zmtp.request(_connection(service), "shell_port", "kernel_info_request", {}, 10.0)
    assert info["status"] == "ok"
