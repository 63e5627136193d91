"""Client side over a Jupyter server's websocket (`/api/kernels/ID/channels`): every channel on one
connection, each message a JSON text frame carrying its `channel`. The server (a gateway, a
Jupyter server) signs and routes the messages to the kernel's ZeroMQ sockets.

The `websockets` library (its threaded sync client) is imported only when a websocket client is
opened; its reader thread keeps a frame whole whatever the timeout of `recv`."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import TYPE_CHECKING, Any

from llmspell_kernel import logs
from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.protocol.message import Message, finish
from llmspell_kernel.transport.base import CONTROL, IOPUB, SHELL, STDIN, ClientTransport

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

CHANNELS = (SHELL, CONTROL, STDIN, IOPUB)
# execution_state values a server publishes when the kernel behind the socket is gone (died,
# being restarted by the server's restarter): a request in flight will never be answered.
LOST_STATES = ("dead", "restarting")
log = logs.get_logger("llmspell.transport.websocket")


def _import_connect() -> Any:
    try:
        from websockets.sync.client import connect
    except ImportError as exc:
        raise KernelConnectionError(
            "talking to a gateway needs the websockets package",
            hint="pip install 'llmspell[gateway]'",
        ) from exc
    return connect


class _QuickAckSocket(socket.socket):
    """A TCP socket that acknowledges every read at once (Linux's TCP_QUICKACK, which the
    kernel clears again after a while, so it is set after each read).

    Jupyter servers write each message as its own websocket frame without TCP_NODELAY: with
    Nagle's algorithm a frame that follows another (busy, then the reply, ...) waits for the
    client's ACK of the first, which Linux delays by 40 ms. Acknowledging at once makes a
    `return 1` round trip through a gateway take milliseconds instead of ~60 ms."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        try:
            self.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            pass
        return data


_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 0)


def _quick_ack_socket(url: str, timeout: float) -> socket.socket | None:
    """A connected socket for a `ws://` URL, or None (TLS, or no TCP_QUICKACK here) to let the
    library connect itself."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "ws" or not _TCP_QUICKACK or parts.hostname is None:
        return None
    plain = socket.create_connection((parts.hostname, parts.port or 80), timeout)
    sock = _QuickAckSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
    return sock


class WebSocketClientTransport(ClientTransport):
    """Messages to and from one kernel through a Jupyter server's channels websocket."""

    def __init__(
        self, url: str, *, headers: dict[str, str], describe: str, open_timeout: float
    ) -> None:
        connect = _import_connect()
        from websockets.exceptions import InvalidHandshake, InvalidURI

        self.describe = describe
        self.lost: str | None = None  # why the kernel behind the socket is gone, once it is
        # The library's documented form is `with connect(...) as connection`: the stack holds
        # that context open for the transport's lifetime and `close` leaves it.
        self._context = contextlib.ExitStack()
        try:
            self.connection: ClientConnection = self._context.enter_context(
                connect(
                    url,
                    sock=_quick_ack_socket(url, open_timeout),
                    additional_headers=headers,
                    open_timeout=open_timeout,
                    max_size=None,  # the kernel bounds its messages; outputs may be large
                    compression=None,  # loopback and LAN: deflate costs more than it saves
                )
            )
        except (InvalidHandshake, InvalidURI, OSError, TimeoutError) as exc:
            raise KernelConnectionError(
                f"cannot open the kernel's channels at {describe}: {exc}"
            ) from exc
        # A frame goes out as header and payload writes: with Nagle's algorithm the second
        # waits for the server's delayed ACK (40 ms a request on Linux).
        self.connection.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, channel: str, msg: Message) -> None:
        from websockets.exceptions import ConnectionClosed

        frame = {
            "header": msg["header"],
            "parent_header": msg.get("parent_header") or {},
            "metadata": msg.get("metadata") or {},
            "content": msg.get("content") or {},
            "buffers": [],
            "channel": channel,
        }
        try:
            self.connection.send(json.dumps(frame))
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc

    def recv(self, timeout: float | None) -> tuple[str, Message] | None:
        from websockets.exceptions import ConnectionClosed

        try:
            data = self.connection.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc
        if not isinstance(data, str):
            # Binary frames carry messages with buffers, which llmspell's kernel never sends.
            log.debug("ignored a binary websocket frame of %d bytes", len(data))
            return None
        try:
            msg = json.loads(data)
            channel = msg.pop("channel")
            msg["header"]["msg_type"]
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignored a websocket frame that is not a Jupyter message")
            return None
        if channel not in CHANNELS:
            return None
        msg.setdefault("parent_header", {})
        msg.setdefault("metadata", {})
        msg.setdefault("content", {})
        msg.setdefault("buffers", [])
        if channel == IOPUB and msg["header"]["msg_type"] == "status":
            state = msg["content"].get("execution_state")
            if state in LOST_STATES:
                self.lost = f"the kernel is {state}"
        return channel, finish(msg)

    def _closed(self, exc: Exception) -> KernelConnectionError:
        self.lost = self.lost or "the websocket closed"
        return KernelConnectionError(
            f"the connection to the kernel at {self.describe} closed ({exc})",
            hint="the gateway may have culled or shut the kernel down; its log tells",
        )

    def close(self) -> None:
        self._context.close()
