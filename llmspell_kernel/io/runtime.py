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
from typing import Any, Generic, Protocol, TypeVar

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

        One hand-over each way: `call_soon_threadsafe` starts the task, and its done callback
        releases a plain lock the caller waits on (no concurrent.futures.Future, whose
        condition variable and chained callbacks cost another wake-up and lock round per call).
        """
        loop = self.loop()
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("IORuntime.run() called from the I/O loop itself")
        call = _Call(loop, coro)
        loop.call_soon_threadsafe(call.start)
        remove = interrupter.add_interrupt_listener(call.interrupt) if interrupter else None
        try:
            if not call.done.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
                call.cancel()
                raise IOTimeout(f"no result within {timeout:g} s")
        finally:
            if remove is not None:
                remove()
        return call.outcome()

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


class _Call(Generic[T]):
    """One `IORuntime.run`: the task on the loop and the lock its caller waits on."""

    __slots__ = ("loop", "coro", "task", "done", "finished", "result", "error", "reason")

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> None:
        self.loop = loop
        self.coro: Coroutine[Any, Any, T] | None = coro
        self.task: asyncio.Task[T] | None = None
        self.done = threading.Lock()
        self.done.acquire()  # released once: result, error, interrupt or cancellation
        self.finished = False
        self.result: T | None = None
        self.error: BaseException | None = None
        self.reason: str | None = None  # the interrupt that ended the wait

    def start(self) -> None:
        """On the loop: start the task (unless the wait already ended)."""
        coro, self.coro = self.coro, None
        if coro is None:
            return
        if self.reason is not None:
            coro.close()
            return
        task = self.task = self.loop.create_task(coro)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[T]) -> None:
        if not task.cancelled():
            error = task.exception()
            if error is None:
                self.result = task.result()
            else:
                self.error = error
        self.finished = True
        self._release()

    def interrupt(self, reason: str) -> None:
        """From the interrupting thread (or a signal handler): end the wait now."""
        if self.finished or self.reason is not None:
            return
        self.reason = reason
        self._release()
        self.cancel()

    def cancel(self) -> None:
        """From any thread: cancel the task on the loop (or never start it)."""
        try:
            self.loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:  # the loop has closed: nothing runs any more
            pass

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
        elif self.coro is not None:
            self.coro.close()
            self.coro = None

    def _release(self) -> None:
        try:
            self.done.release()
        except RuntimeError:  # already released (a result and an interrupt at once)
            pass

    def outcome(self) -> T:
        """The result in the waiting thread, or the error, or IOInterrupted."""
        if self.finished:
            if self.error is not None:
                raise self.error
            if self.task is not None and self.task.cancelled():
                raise IOInterrupted(self.reason or "interrupt")
            return self.result  # type: ignore[return-value]
        raise IOInterrupted(self.reason or "interrupt")


_RUNTIME = IORuntime()


def io_runtime() -> IORuntime:
    """The process's I/O runtime (its loop thread starts on first `run()`)."""
    return _RUNTIME
