"""A kernel service on ZeroMQ: the same Kernel and handlers as the embedded mode, reachable by
any Jupyter client, plus the helpers a process that serves it needs (signals, connection file)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from llmspell_kernel.client import InputHandler, KernelClient
from llmspell_kernel.kernel.server import Kernel, KernelSettings
from llmspell_kernel.protocol.connection import ConnectionInfo
from llmspell_kernel.protocol.message import MessageFactory
from llmspell_kernel.transport.zmq import ZmqClientTransport, ZmqKernelTransport, wait_until_ready


class KernelService:
    """A running kernel behind the ZeroMQ transport."""

    def __init__(
        self,
        kernel: Kernel,
        transport: ZmqKernelTransport,
        connection_file: Path,
        *,
        remove_connection_file: bool,
    ) -> None:
        self.kernel = kernel
        self.transport = transport
        self.connection_info = transport.info
        self.connection_file = connection_file
        self._remove_file = remove_connection_file
        kernel.on_stop.append(self._cleanup)

    def _cleanup(self) -> None:
        if self._remove_file:
            try:
                self.connection_file.unlink()
            except FileNotFoundError:
                pass

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the kernel stops (shutdown_request); False on timeout."""
        return self.kernel.wait(timeout)

    def stop(self) -> None:
        """Stop the kernel and release its sockets and connection file."""
        self.kernel.stop()

    def handle_sigint(self) -> None:
        """SIGINT interrupts a running execution and is ignored while idle, because
        jupyter_client sends SIGINT before shutdown_request."""

        def _on_sigint(_signum: int, _frame: Any) -> None:
            self.kernel.interrupt()

        signal.signal(signal.SIGINT, _on_sigint)


def start_kernel_service(
    connection_file: str | os.PathLike[str] | None = None,
    *,
    ip: str = "127.0.0.1",
    port: int | None = None,
    kernel_id: str | None = None,
    settings: KernelSettings | None = None,
    reuse_connection_file: bool = False,
) -> KernelService:
    """Bind the five sockets, write the connection file (0600) and start serving.

    With `reuse_connection_file`, an existing file (written by Jupyter) supplies ports and key.
    """
    from llmspell_kernel.registry import jupyter_runtime_dir

    settings = settings or KernelSettings()
    kernel_id = kernel_id or settings.kernel_id or os.urandom(4).hex()
    settings.kernel_id = kernel_id
    path = (
        Path(connection_file)
        if connection_file
        else jupyter_runtime_dir() / f"kernel-{kernel_id}.json"
    )
    if reuse_connection_file and path.is_file():
        info = ConnectionInfo.read(path)
        remove = False
    else:
        info = ConnectionInfo.allocate(ip, port)
        remove = True
    transport = ZmqKernelTransport(
        info, kernel_id, max_message_bytes=int(settings.max_message_bytes or 0)
    )
    try:
        info.write(path)
        kernel = Kernel(transport, settings).start()
    except BaseException:
        transport.close()
        raise
    return KernelService(kernel, transport, path, remove_connection_file=remove)


# How long a client waits for a kernel to answer before giving up (exit code 4). A kernel on
# loopback answers in milliseconds; this leaves room for a slow network.
CONNECT_TIMEOUT = 3.0


def connection_info(connection: str | os.PathLike[str] | ConnectionInfo) -> ConnectionInfo:
    """The connection of a kernel named any way a user may name it: a connection string
    (`HOST:PORT`, `tcp://HOST:PORT`, a kernel id, a connection file's path), a path, or the
    ConnectionInfo itself."""
    if isinstance(connection, ConnectionInfo):
        return connection
    if isinstance(connection, str):
        from llmspell_kernel.registry import resolve_connection

        return ConnectionInfo.read(resolve_connection(connection))
    return ConnectionInfo.read(connection)


def connect_to_kernel(
    connection: str | os.PathLike[str] | ConnectionInfo,
    *,
    timeout: float = CONNECT_TIMEOUT,
    input_handler: InputHandler | None = None,
    wait_until_subscribed: bool = True,
) -> KernelClient:
    """A KernelClient on a running kernel named any way `connection_info` accepts;
    KernelConnectionError within `timeout` if none answers. `wait_until_subscribed=False` skips
    the wait for IOPub (tens of milliseconds) for a client that only needs replies, such as one
    sending a shutdown request: its first request's reply is then the proof of life.
    A `gateway://HOST:PORT` string starts a kernel through Jupyter Enterprise Gateway instead."""
    if isinstance(connection, str) and connection.strip().lower().startswith("gateway"):
        from llmspell_kernel.gateway.address import is_gateway_address

        if is_gateway_address(connection):
            from llmspell_kernel.gateway.connect import connect_to_gateway

            return connect_to_gateway(
                connection,
                timeout=timeout,
                input_handler=input_handler,
                wait_until_subscribed=wait_until_subscribed,
            )
    info = connection_info(connection)
    messages = MessageFactory()
    transport = ZmqClientTransport(info, messages.session_id)
    client = KernelClient(transport, input_handler=input_handler, messages=messages)
    if not wait_until_subscribed:
        return client
    try:
        wait_until_ready(client, timeout)
    except BaseException:
        transport.close()
        raise
    return client


def serve_forever(service: KernelService, stop_event: threading.Event | None = None) -> None:
    """Serve until shutdown_request (or `stop_event`)."""
    while not service.wait(0.2):
        if stop_event is not None and stop_event.is_set():
            service.stop()
            return
