"""What the agent layer calls from the executor thread: a chat call or a stream on the I/O loop,
through one client per endpoint (created on the loop, reused across calls and agents)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator
from typing import Protocol

from llmspell_kernel.io import Interruptible, io_runtime
from llmspell_kernel.providers.resolve import Endpoint
from llmspell_kernel.providers.types import ChatRequest, ChatResult, StreamDelta


class WireFormat(Protocol):
    """One provider type's request and reply format."""

    async def complete(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamDelta]: ...


_wires: dict[Endpoint, WireFormat] = {}  # touched only on the I/O loop


async def _wire(endpoint: Endpoint) -> WireFormat:
    if endpoint.provider_type == "local":
        from llmspell_kernel.providers.local import local_endpoint

        endpoint = await asyncio.to_thread(local_endpoint, endpoint)
    wire = _wires.get(endpoint)
    if wire is None:
        from llmspell_kernel.providers.http import HttpEndpoint

        http = HttpEndpoint(endpoint)
        if endpoint.provider_type == "anthropic":
            from llmspell_kernel.providers.anthropic import AnthropicMessages

            wire = AnthropicMessages(http)
        else:
            from llmspell_kernel.providers.openai import OpenAIChat

            wire = OpenAIChat(http)
        _wires[endpoint] = wire
    return wire


def complete(
    endpoint: Endpoint, request: ChatRequest, interrupter: Interruptible | None = None
) -> ChatResult:
    """One chat call; waits on the I/O loop (an interrupt cancels it)."""
    endpoint.require_key()

    async def call() -> ChatResult:
        return await (await _wire(endpoint)).complete(request)

    return io_runtime().run(call(), interrupter=interrupter)


def submit(endpoint: Endpoint, request: ChatRequest) -> concurrent.futures.Future[ChatResult]:
    """Start one chat call on the I/O loop without waiting for it (workflow branches wait for
    several at once; see llmspell_kernel/workflows/concurrency.py). Read it with `finished`."""
    endpoint.require_key()

    async def call() -> ChatResult:
        return await (await _wire(endpoint)).complete(request)

    return asyncio.run_coroutine_threadsafe(call(), io_runtime().loop())


def finished(future: concurrent.futures.Future[ChatResult]) -> ChatResult:
    """The result of a submitted call that is done; a cancelled one raises IOInterrupted."""
    from llmspell_kernel.io import IOInterrupted

    try:
        return future.result(0)
    except concurrent.futures.CancelledError:
        raise IOInterrupted("interrupt") from None


class ChatStream:
    """A streamed reply read from the executor thread, one delta per `next()`."""

    def __init__(
        self, endpoint: Endpoint, request: ChatRequest, interrupter: Interruptible | None
    ) -> None:
        endpoint.require_key()
        self._endpoint = endpoint
        self._request = request
        self._interrupter = interrupter
        self._deltas: AsyncIterator[StreamDelta] | None = None
        self.closed = False

    def next(self) -> StreamDelta | None:
        """The next delta (the last one carries the result), or None once it has ended."""
        if self.closed:
            return None

        async def step() -> StreamDelta | None:
            if self._deltas is None:
                self._deltas = (await _wire(self._endpoint)).stream(self._request)
            try:
                return await anext(self._deltas)
            except StopAsyncIteration:
                return None

        try:
            delta = io_runtime().run(step(), interrupter=self._interrupter)
        except BaseException:
            self.close()
            raise
        if delta is None or delta.result is not None:
            self.close()
        return delta

    def close(self) -> None:
        """Stop reading; the connection is released on the loop."""
        if self.closed:
            return
        self.closed = True
        deltas = self._deltas
        if deltas is not None and hasattr(deltas, "aclose"):
            asyncio.run_coroutine_threadsafe(deltas.aclose(), io_runtime().loop())
