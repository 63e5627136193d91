"""The network backend of the provider clients: httpcore2's connections over plain asyncio
transports of the I/O loop, instead of its default anyio streams.

Measured on one keep-alive request to a local server (benchmarks/llm_overhead.py), anyio's
stream stops and restarts reading around every receive (two `epoll_ctl` calls and a wake-up
per read) and wraps each read and write in a cancel scope; a protocol that keeps reading into a
buffer and wakes one waiter costs a fraction of that. Writes of one request (its head, then its
body) go out in one `send` when the body follows at once. TLS is asyncio's own
(`loop.create_connection(ssl=...)` semantics through `loop.start_tls`), with the SSL context,
SNI and ALPN (HTTP/2) httpcore2 asks for.

Errors and timeouts are httpcore2's (ConnectError, ReadTimeout, ...), which httpx2 maps to its
own as it does for the default backend.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Coroutine, Iterable
from typing import Any

import httpcore2
import httpx2
from httpcore2 import (
    AsyncNetworkBackend,
    AsyncNetworkStream,
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

READ_HIGH_WATER = 256 * 1024  # buffered unread bytes past which the transport stops reading
HAPPY_EYEBALLS_DELAY = 0.25  # seconds before trying the next address (RFC 8305, as anyio)


class _Reader(asyncio.Protocol):
    """Buffers what the transport receives and wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused = False
        self.drained: asyncio.Future[None] | None = None  # set while writing is paused

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > READ_HIGH_WATER and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        if self.drained is None and self.transport is not None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class LoopStream(AsyncNetworkStream):
    """One connection: an asyncio transport and its `_Reader`."""

    def __init__(self, transport: asyncio.Transport, reader: _Reader) -> None:
        self._transport = transport
        self._reader = reader
        self._loop = asyncio.get_running_loop()
        self._pending = bytearray()  # written, not yet handed to the transport
        self._flush_scheduled = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._flush()
        reader = self._reader
        if not reader.buffer and not reader.eof:
            waiter = reader.waiter = self._loop.create_future()
            timer = None if timeout is None else self._loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            except TimeoutError:
                raise ReadTimeout("timed out") from None
            finally:
                if timer is not None:
                    timer.cancel()
                if reader.waiter is waiter:
                    reader.waiter = None
        buffer = reader.buffer
        if buffer:
            if len(buffer) <= max_bytes:
                data = bytes(buffer)
                buffer.clear()
            else:
                data = bytes(buffer[:max_bytes])
                del buffer[:max_bytes]
            if reader.paused and len(buffer) <= READ_HIGH_WATER // 4:
                reader.paused = False
                self._transport.resume_reading()
            return data
        if reader.error is not None:
            raise ReadError(str(reader.error) or type(reader.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        reader = self._reader
        if reader.eof or self._transport.is_closing():
            raise WriteError(str(reader.error) if reader.error else "connection closed")
        # Held until the next read (or the loop's next turn): a request's head and its body,
        # written one after the other, leave in one segment.
        self._pending += buffer
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        if len(self._pending) >= 64 * 1024:
            self._flush()
        drained = reader.drained
        if drained is not None:  # the transport's buffer is full: wait until it drains
            self._flush()
            try:
                await asyncio.wait_for(asyncio.shield(drained), timeout)
            except TimeoutError:
                raise WriteTimeout("timed out") from None

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    async def aclose(self) -> None:
        self._pending.clear()
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        self._flush()
        try:
            transport = await self._loop.start_tls(
                self._transport,
                self._reader,
                ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout,
            )
        except TimeoutError as exc:
            self._transport.close()
            raise ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise ConnectError(str(exc)) from exc
        if transport is None:
            raise ConnectError("connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        self._reader.transport = transport
        return LoopStream(transport, self._reader)

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":  # an idle connection the server has closed or written to
            reader = self._reader
            return bool(reader.buffer) or reader.eof or transport.is_closing()
        return None


class LoopBackend(AsyncNetworkBackend):
    """httpcore2's `network_backend` for connections on the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        opening = loop.create_connection(
            _Reader,
            host,
            port,
            local_addr=(local_address, 0) if local_address else None,
            happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
        )
        return await _connected(opening, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        opening = asyncio.get_running_loop().create_unix_connection(_Reader, path)
        return await _connected(opening, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    opening: Coroutine[Any, Any, tuple[asyncio.Transport, _Reader]],
    timeout: float | None,
    options: Iterable[SocketOption] | None,
) -> LoopStream:
    """The stream of a connection being opened, with httpcore2's errors and socket options."""
    try:
        async with asyncio.timeout(timeout):
            transport, reader = await opening
    except TimeoutError as exc:
        raise ConnectTimeout(str(exc) or "timed out") from exc
    except OSError as exc:
        raise ConnectError(str(exc) or type(exc).__name__) from exc
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is not None:
        for option in options or ():
            sock.setsockopt(*option)
    return LoopStream(transport, reader)


class LoopTransport(httpx2.AsyncHTTPTransport):
    """httpx2's AsyncHTTPTransport (its request and response mapping, its errors) with its
    connection pool on `LoopBackend`: the same pool settings, SSL context and HTTP/2 switch."""

    def __init__(self, *, http2: bool = False, limits: httpx2.Limits | None = None) -> None:
        limits = limits or httpx2.Limits(max_connections=100, max_keepalive_connections=20)
        context = httpx2.create_ssl_context()  # certifi's roots, SSL_CERT_FILE / SSL_CERT_DIR
        super().__init__(verify=context, http2=http2, limits=limits)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=LoopBackend(),
        )
