"""Work in flight for the branches of a workflow run (lua-api.md 2.10, issue 15).

A branch is a Lua coroutine. When it reaches a provider call (or a retry's back-off), the call
is submitted to the I/O loop as a future (a built-in network tool's call: to a thread of its
own) and the coroutine yields the future's handle; the
scheduler in workflow.lua resumes it once `wait_any` reports the handle done. Lua itself stays
on the executor thread, so only the network waits overlap. An interrupt of the engine wakes
`wait_any` at once and cancels every future it was waiting for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from llmspell_kernel.errors import LlmspellError
from llmspell_kernel.io import Interruptible, IOInterrupted, io_runtime


class Pending:
    """Futures by handle (small integers that Lua can hold)."""

    def __init__(self) -> None:
        self._futures: dict[int, concurrent.futures.Future[Any]] = {}
        self._next = 0

    def add(self, future: concurrent.futures.Future[Any]) -> int:
        self._next += 1
        self._futures[self._next] = future
        return self._next

    def submit(self, coro: Coroutine[Any, Any, Any]) -> int:
        """Run `coro` on the I/O loop; its handle."""
        return self.add(asyncio.run_coroutine_threadsafe(coro, io_runtime().loop()))

    def in_thread(self, fn: Callable[..., Any], *args: Any) -> int:
        """Run a blocking call (a network tool) in a daemon thread of its own; its handle. A
        cancelled call is abandoned, not stopped: it ends by its own timeout, and never holds
        up the process's exit (a pool's worker threads are joined at exit)."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                value = fn(*args)
            except BaseException as exc:  # handed to whoever reads the result
                future.set_exception(exc)
            else:
                future.set_result(value)

        threading.Thread(target=work, name="llmspell-tool", daemon=True).start()
        return self.add(future)

    def sleep(self, seconds: float) -> int:
        """A handle that is done after `seconds` (a retry's back-off, without blocking)."""
        return self.submit(asyncio.sleep(max(0.0, seconds)))

    def take(self, handle: int) -> concurrent.futures.Future[Any]:
        """The future of a handle, forgotten here (its owner reads the result)."""
        future = self._futures.pop(int(handle), None)
        if future is None:
            raise LlmspellError(f"no work in flight with handle {handle}")
        return future

    def cancel(self, handle: int) -> None:
        future = self._futures.pop(int(handle), None)
        if future is not None:
            future.cancel()

    def ready(self, handles: list[int]) -> list[int]:
        """The handles among `handles` whose work is done (unknown handles count as done)."""
        out = []
        for h in handles:
            future = self._futures.get(int(h))
            if future is None or future.done():
                out.append(int(h))
        return out

    def wait_any(
        self, handles: list[int], timeout: float | None, interrupter: Interruptible | None
    ) -> list[int]:
        """Block until one of `handles` is done or `timeout` seconds pass (then: []).
        An interrupt cancels every one of them and raises IOInterrupted."""
        done = self.ready(handles)
        if done or (timeout is not None and timeout <= 0):
            return done
        wake = threading.Event()
        reasons: list[str] = []
        futures = [self._futures[int(h)] for h in handles]
        for future in futures:
            future.add_done_callback(lambda _f: wake.set())

        def interrupted(reason: str) -> None:
            reasons.append(reason)
            wake.set()

        remove: Callable[[], None] | None = None
        if interrupter is not None:
            remove = interrupter.add_interrupt_listener(interrupted)
        try:
            wake.wait(timeout)
        finally:
            if remove is not None:
                remove()
        if reasons:
            for h in handles:
                self.cancel(h)
            raise IOInterrupted(reasons[0])
        return self.ready(handles)

    def __len__(self) -> int:
        return len(self._futures)


def pending_of(engine: Any) -> Pending:
    """The engine's work in flight (made on first use)."""
    found = getattr(engine, "workflow_pending", None)
    if found is None:
        found = engine.workflow_pending = Pending()
    return found


def outcome(future: concurrent.futures.Future[Any]) -> Any:
    """The result of a finished future; a cancelled one raises IOInterrupted."""
    try:
        return future.result(0)
    except concurrent.futures.CancelledError:
        raise IOInterrupted("interrupt") from None
