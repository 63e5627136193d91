"""The DAP server: Content-Length framing over stdio or TCP, one debug session per connection.

A `launch` runs the script in an embedded kernel of its own (llmspell_kernel/debug/launch.py),
an `attach` relays to a running kernel; either way the requests reach the kernel's debugger as
`debug_request`s (llmspell_kernel/debug/remote.py). The reader thread only parses requests.

Over TCP every connection is its own session (own thread, own engine), and a session starts
only with the server's token: the first `launch`/`attach` must carry it as `"token"`; any other
request before that is refused and the connection closed. Messages are bounded: header size,
`Content-Length` and JSON nesting; a message over a bound ends that connection, never the
server.
"""

from __future__ import annotations

import hmac
import io
import json
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from llmspell_kernel.debug.dap import capabilities
from llmspell_kernel.debug.remote import KernelRelay, response_for
from llmspell_kernel.errors import UsageError
from llmspell_kernel.logs import get_logger

if TYPE_CHECKING:
    from llmspell_kernel.debug.launch import LaunchSession
    from llmspell_kernel.kernel.server import KernelSettings

log = get_logger("llmspell.debug")

MAX_HEADER_BYTES = 8 * 1024  # all header lines of one message together
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024  # Content-Length bound (--dap-max-message)
MAX_DEPTH = 64  # JSON nesting of one message (DAP's own messages stay below 10)
AUTH_TIMEOUT = 30.0  # seconds a TCP client has to send its token
MAX_CLIENTS = 16  # simultaneous TCP connections
TOKEN_ENV = "LLMSPELL_DAP_TOKEN"  # a fixed token instead of a fresh one per server


class ProtocolError(Exception):
    """A message broke the framing or a bound: the connection cannot go on."""


class DapConnection:
    """Reads and writes Content-Length framed DAP messages; `send` is thread-safe."""

    def __init__(
        self, reader: BinaryIO, writer: BinaryIO, max_message: int = DEFAULT_MAX_MESSAGE
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.max_message = max_message
        self._lock = threading.Lock()
        self._seq = 0
        self.closed = False

    def read(self) -> dict[str, Any] | None:
        """The next message, or None at end of input.

        ProtocolError for a message over a bound or with a bad header (the stream cannot be
        trusted after it); ValueError for a well framed body that is not a JSON object.
        """
        length = self._read_header()
        if length is None:
            return None
        body = b""
        while len(body) < length:
            chunk = self._reader.read(length - len(body))
            if not chunk:
                return None
            body += chunk
        try:
            message = json.loads(body.decode("utf-8"))
        except RecursionError:
            raise ProtocolError(f"a DAP message nests deeper than {MAX_DEPTH} levels") from None
        if not isinstance(message, dict):
            raise ValueError("a DAP message must be a JSON object")
        if _depth(message) > MAX_DEPTH:
            raise ProtocolError(f"a DAP message nests deeper than {MAX_DEPTH} levels")
        return message

    def _read_header(self) -> int | None:
        length = None
        used = 0
        while True:
            line = self._reader.readline(MAX_HEADER_BYTES + 1 - used)
            if not line:
                return None
            used += len(line)
            if used > MAX_HEADER_BYTES or not line.endswith(b"\n"):
                raise ProtocolError(f"a DAP message header is longer than {MAX_HEADER_BYTES} bytes")
            text = line.decode("ascii", "replace").strip()
            if not text:
                if length is not None:
                    return length
                used = 0  # blank lines between messages
                continue
            name, _, value = text.partition(":")
            if name.strip().lower() == "content-length":
                value = value.strip()
                if not value.isdigit():
                    raise ProtocolError(f"bad Content-Length {value[:40]!r}")
                length = int(value)
                if length > self.max_message:
                    raise ProtocolError(
                        f"a DAP message of {length} bytes is over the limit of "
                        f"{self.max_message} bytes (llmspell debug --dap-max-message)"
                    )

    def send(self, message: dict[str, Any]) -> None:
        """Write one message with the next `seq`."""
        with self._lock:
            if self.closed:
                return
            self._seq += 1
            message = {"seq": self._seq, **message}
            data = json.dumps(message, ensure_ascii=False).encode("utf-8")
            try:
                self._writer.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
                self._writer.flush()
            except (OSError, ValueError):
                self.closed = True

    def event(self, name: str, body: dict[str, Any] | None = None) -> None:
        """Send an event."""
        message: dict[str, Any] = {"type": "event", "event": name}
        if body is not None:
            message["body"] = body
        self.send(message)

    def fail(self, text: str) -> None:
        """Tell the client why its session ends here (the debug console shows it)."""
        self.event("output", {"category": "stderr", "output": f"error: {text}\n"})
        self.event("terminated", {})


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a decoded JSON value (iterative)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


class _TokenGate:
    """Lets requests through once a `launch`/`attach` carried the server's token."""

    def __init__(self, token: str | None, on_open: Callable[[], None] | None) -> None:
        self.token = token
        self.on_open = on_open
        self.open = token is None

    def refusal(self, command: str, arguments: dict[str, Any]) -> str | None:
        """Why this request is refused (the connection then closes), or None."""
        if self.open or command == "initialize":
            return None
        assert self.token is not None
        how = (
            "pass the token printed by `llmspell debug --dap-port` (also in its token file) as "
            '"token" in the launch/attach arguments (launch.json)'
        )
        if command not in ("launch", "attach"):
            return f"'{command}' refused: this DAP server needs its token first: {how}"
        given = arguments.get("token")
        if not isinstance(given, str) or not given:
            return f"this DAP server needs a token: {how}"
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return f"wrong token for this DAP server: {how}"
        self.open = True
        if self.on_open is not None:
            self.on_open()
        return None


def serve_connection(
    connection: DapConnection,
    settings: KernelSettings | None = None,
    program: str | None = None,
    args: Sequence[str] = (),
    token: str | None = None,
    on_authenticated: Callable[[], None] | None = None,
) -> int:
    """Serve one debug session; returns the debuggee's exit code (0 if it never ran).

    `launch` runs the script in an embedded kernel of this session (LaunchSession),
    `attach {connect: ADDR}` relays to a running kernel; both debug through the kernel's
    debug_request. With a `token`, only `initialize` is served until a `launch`/`attach`
    carries it.
    """
    from llmspell_kernel.debug.launch import LaunchSession

    gate = _TokenGate(token, on_authenticated)
    launch: LaunchSession | None = None
    bridge: KernelRelay | None = None  # after `attach` to a kernel, everything is relayed to it
    disconnected = False
    adapter_id = "llmspell"
    try:
        while True:
            try:
                message = connection.read()
            except ProtocolError as exc:
                log.warning("closing a DAP connection: %s", exc)
                connection.fail(str(exc))
                break
            except ValueError as exc:  # the framing holds: skip the message
                log.warning("ignoring a malformed DAP message: %s", exc)
                continue
            if message is None:
                break
            if message.get("type") != "request":
                continue
            command = message.get("command")
            arguments = message.get("arguments") or {}
            if not isinstance(arguments, dict):
                arguments = {}
            refusal = gate.refusal(str(command), arguments)
            if refusal is not None:
                connection.send(response_for(message, refusal))
                break
            if bridge is not None:
                if command == "disconnect":
                    message = {**message, "arguments": {"terminateDebuggee": False}}
                connection.send(bridge.request(message))
                if command == "disconnect":
                    disconnected = True
                    break
                continue
            if command == "initialize":
                adapter_id = str(arguments.get("adapterID") or adapter_id)
                connection.send({**response_for(message), "body": capabilities()})
                connection.event("initialized", {})
                continue
            if command == "attach":
                if arguments.get("connect"):
                    bridge = _attach_to_kernel(connection, message, adapter_id)
                else:
                    connection.send(response_for(message, _ATTACH_NEEDS_CONNECT))
                continue
            if launch is None:
                launch = LaunchSession(connection.event, settings, program, args, adapter_id)
            connection.send(_handle(launch, message))
            if command == "disconnect":
                break
    finally:
        if bridge is not None:
            if not disconnected:
                # The editor went away without `disconnect`: never leave the kernel paused
                # with breakpoints that nobody will answer.
                try:
                    bridge.request({"command": "disconnect", "arguments": {}})
                except Exception as exc:
                    log.warning("could not end the debug session in the kernel: %s", exc)
            bridge.close()
        if launch is not None:
            launch.close()
    return (launch.exit_code if launch is not None else None) or 0


_ATTACH_NEEDS_CONNECT = (
    "attach needs 'connect': the address of a running kernel "
    "(HOST:PORT, tcp://HOST:PORT, a connection file or a kernel id)"
)


def _handle(launch: LaunchSession, message: dict[str, Any]) -> dict[str, Any]:
    """The launch session's response; a kernel that cannot start fails this request only."""
    from llmspell_kernel.errors import LlmspellError

    try:
        return launch.handle(message)
    except (LlmspellError, OSError, RuntimeError) as exc:
        log.warning("DAP request %s failed: %s", message.get("command"), exc)
        text = getattr(exc, "message", None) or str(exc)
        return response_for(message, f"'{message.get('command')}' failed: {text}")


def _attach_to_kernel(
    connection: DapConnection, message: dict[str, Any], adapter_id: str
) -> KernelRelay | None:
    """Answer `attach {connect: ADDR}`; the relay to that kernel, or None if it failed."""
    from llmspell_kernel.debug.remote import attach_relay
    from llmspell_kernel.errors import LlmspellError

    address = str(message["arguments"]["connect"])
    bridge = None
    error = None
    try:
        bridge = attach_relay(address, connection.event)
        bridge.attach(adapter_id)
    except (LlmspellError, RuntimeError, OSError) as exc:
        if bridge is not None:
            bridge.close()
            bridge = None
        error = f"cannot attach to {address}: {getattr(exc, 'message', None) or exc}"
    connection.send(response_for(message, error))
    return bridge


def serve_stdio(
    settings: KernelSettings | None = None,
    program: str | None = None,
    args: Sequence[str] = (),
    max_message: int = DEFAULT_MAX_MESSAGE,
) -> int:
    """DAP on this process's stdin/stdout (what editors spawn: no token, the pipes are theirs)."""
    import sys

    return serve_connection(
        DapConnection(sys.stdin.buffer, sys.stdout.buffer, max_message), settings, program, args
    )


def token_path(port: int) -> Path:
    """Where the server on `port` keeps its token (beside the kernels' connection files)."""
    from llmspell_kernel.registry import jupyter_runtime_dir

    return jupyter_runtime_dir() / f"llmspell-dap-{port}.token"


def _server_token() -> str:
    fixed = os.environ.get(TOKEN_ENV, "").strip()
    if not fixed:
        return secrets.token_urlsafe(32)
    if len(fixed) < 16:
        raise UsageError(f"{TOKEN_ENV} must be at least 16 characters long")
    return fixed


def _write_token(path: Path, token: str) -> None:
    """Write the token readable by this user only (0600, in a 0700 directory if new)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.unlink(missing_ok=True)  # a crashed server's file: never reuse its inode
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the DAP token file {path}: {exc.strerror}") from exc


def serve_tcp(
    port: int,
    settings: KernelSettings | None = None,
    program: str | None = None,
    args: Sequence[str] = (),
    on_listening: Callable[[int, str, Path], None] | None = None,
    sessions: int = 0,
    max_message: int = DEFAULT_MAX_MESSAGE,
) -> None:
    """DAP on 127.0.0.1:port, each connection its own session (`sessions` 0 = until
    interrupted); `on_listening(port, token, token_file)` once clients can connect."""
    token = _server_token()
    with socket.create_server(("127.0.0.1", port)) as server:
        bound = server.getsockname()[1]
        token_file = token_path(bound)
        _write_token(token_file, token)
        previous = _exit_on_sigterm()
        try:
            if on_listening is not None:
                on_listening(bound, token, token_file)
            slots = threading.BoundedSemaphore(MAX_CLIENTS)
            workers: list[threading.Thread] = []
            served = 0
            while sessions == 0 or served < sessions:
                client, _address = server.accept()
                served += 1
                if not slots.acquire(blocking=False):
                    _refuse(client, f"this DAP server already serves {MAX_CLIENTS} connections")
                    continue
                worker = threading.Thread(
                    target=_serve_client,
                    args=(client, slots, token, max_message, settings, program, args),
                    name="llmspell-dap-session",
                    daemon=True,
                )
                worker.start()
                workers = [w for w in workers if w.is_alive()] + [worker]
            for worker in workers:
                worker.join()
        finally:
            token_file.unlink(missing_ok=True)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm() -> Any:
    """`kill PID` ends the server as Ctrl-C does (its token file removed); the previous
    handler, or None off the main thread (where no handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def leave(_signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    return signal.signal(signal.SIGTERM, leave)


def _serve_client(
    client: socket.socket,
    slots: threading.BoundedSemaphore,
    token: str,
    max_message: int,
    settings: KernelSettings | None,
    program: str | None,
    args: Sequence[str],
) -> None:
    """One TCP connection's session (its own thread); nothing it does ends the server."""
    try:
        client.settimeout(AUTH_TIMEOUT)  # until the token arrived
        with client, client.makefile("rb") as reader, client.makefile("wb") as writer:
            serve_connection(
                DapConnection(reader, writer, max_message),
                settings,
                program,
                args,
                token=token,
                on_authenticated=lambda: client.settimeout(None),
            )
    except Exception as exc:  # an editor that drops the connection ends its session only
        log.info("DAP connection ended: %s", exc)
    finally:
        slots.release()


def _refuse(client: socket.socket, text: str) -> None:
    with client, client.makefile("wb") as writer:
        DapConnection(io.BytesIO(), writer).fail(text)
