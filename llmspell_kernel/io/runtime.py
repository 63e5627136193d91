"""One long-lived asyncio loop thread per process; the Lua executor thread hands it work.

Every network client (provider HTTP clients, later the HTTP tools) is created on this loop and
only ever used on it, so no client is bound to a loop that has gone away (the Python form of
upstream's "dispatch task is gone" bug). The loop starts on first use, never on the CLI's
start-up path, and stops at interpreter exit after closing the clients registered with it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from llmspell_kernel.errors import LlmspellError

T = TypeVar("T")


class Interruptible(Protocol):
    """What can interrupt a wait: the Lua engine (`LuaEngine.add_interrupt_listener`)."""

    def add_interrupt_listener(self, callback: Callable[[str], None]) -> Callable[[], None]: ...


class IOInterrupted(LlmspellError):
    """The wait was cancelled by an interrupt (Ctrl-C, interrupt_request, --timeout)."""

    def __init__(self, reason: str = "interrupt") -> None:
        super().__init__("interrupted" if reason != "timeout" else "timed out")
        self.reason = reason


class IOTimeout(LlmspellError):
    """The operation did not finish within the time it was given."""


class IORuntime:
    """The loop thread; `run()` submits a coroutine and waits for it from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closers: list[Callable[[], Awaitable[None]]] = []

    @property
    def running(self) -> bool:
        """True once the loop thread has started (and until shutdown)."""
        return self._loop is not None and self._pid == os.getpid()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # a forked child starts afresh
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=serve, name="llmspell-io", daemon=True)
        thread.start()
        ready.wait()
        if self._pid == 0:
            atexit.register(self.shutdown)
        self._loop, self._thread, self._pid = loop, thread, os.getpid()
        self._closers = []

    def on_shutdown(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Await `closer()` on the loop when the runtime shuts down (e.g. a client's aclose)."""
        with self._lock:
            self._closers.append(closer)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        timeout: float | None = None,
        interrupter: Interruptible | None = None,
    ) -> T:
        """Run `coro` on the loop and wait for its result from the calling thread.

        An interrupt of `interrupter` cancels the coroutine and raises IOInterrupted at once;
        `timeout` seconds without a result cancel it and raise IOTimeout.
        """
        loop = self.loop()
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("IORuntime.run() called from the I/O loop itself")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        reasons: list[str] = []

        def interrupted(reason: str) -> None:
            reasons.append(reason)
            future.cancel()

        remove = interrupter.add_interrupt_listener(interrupted) if interrupter else None
        try:
            return future.result(timeout)
        except concurrent.futures.CancelledError:
            raise IOInterrupted(reasons[0] if reasons else "interrupt") from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise IOTimeout(f"no result within {timeout:g} s") from None
        finally:
            if remove is not None:
                remove()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Close the registered clients, cancel what is left, stop and join the loop thread."""
        with self._lock:
            loop, thread, closers = self._loop, self._thread, self._closers
            if loop is None or thread is None or self._pid != os.getpid():
                return
            self._loop, self._thread, self._closers = None, None, []

        async def finish() -> None:
            for closer in reversed(closers):
                try:
                    await closer()
                except Exception:  # a client that fails to close must not stop the others
                    pass
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await loop.shutdown_asyncgens()

        if thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(finish(), loop).result(timeout)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        if not thread.is_alive():
            loop.close()


_RUNTIME = IORuntime()


def io_runtime() -> IORuntime:
    """The process's I/O runtime (its loop thread starts on first `run()`)."""
    return _RUNTIME
