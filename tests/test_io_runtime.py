"""The I/O runtime: one loop thread, waits cancelled by engine interrupts, nothing leaked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

from llmspell_kernel.io import IOInterrupted, IORuntime, IOTimeout, io_runtime
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings


def _engine() -> LuaEngine:
    return LuaEngine(EngineSettings(data=DataSettings(backend="memory")))


def _install_wait(engine: LuaEngine, started: threading.Event) -> None:
    """`wait_io()` in Lua: a host function waiting on a coroutine that never finishes alone."""

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    def wait_io() -> str:
        io_runtime().run(forever(), interrupter=engine)
        return "finished"

    engine.api.set_global("wait_io", engine.bridge.function(wait_io, "wait_io"))


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_exec_return_1_never_imports_the_http_client_or_the_io_runtime() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "llmspell_cli", "exec", "return 1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "llmspell_kernel.lua.engine" in imported  # the probe sees the kernel's imports
    unwanted = {"httpx2", "httpcore2", "anyio", "llmspell_kernel.io", "llmspell_kernel.agents"}
    unwanted |= {"llmspell_kernel.providers.resolve", "llmspell_kernel.providers.http"}
    assert imported & unwanted == set()


def test_run_returns_the_result_on_one_long_lived_loop_thread() -> None:
    runtime = IORuntime()
    try:

        async def where() -> str:
            return threading.current_thread().name

        names = {runtime.run(where()) for _ in range(20)}
        assert names == {"llmspell-io"}
        assert runtime.running
    finally:
        runtime.shutdown()
    assert not runtime.running


def test_an_exception_of_the_coroutine_reaches_the_caller() -> None:
    async def fail() -> None:
        raise ValueError("bad reply")

    with pytest.raises(ValueError, match="bad reply"):
        io_runtime().run(fail())


def test_timeout_cancels_the_coroutine() -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(IOTimeout):
        io_runtime().run(slow(), timeout=0.05)
    assert cancelled.wait(5)


def test_interrupt_cancels_the_wait_and_lua_gets_the_usual_interrupt() -> None:
    engine = _engine()
    started = threading.Event()
    _install_wait(engine, started)
    outcome: list[object] = []
    runner = threading.Thread(
        target=lambda: outcome.append(
            engine.execute("local ok = pcall(wait_io) return 'swallowed'", chunk_name="=t")
        )
    )
    runner.start()
    assert started.wait(10)
    began = time.monotonic()
    assert engine.interrupt()
    runner.join(10)
    elapsed = time.monotonic() - began
    (result,) = outcome
    assert result.ename == "Interrupted"  # pcall could not swallow it
    assert elapsed < 1.0  # measured ~1 ms here; the bound only guards against a hang
    # The engine serves the next request.
    assert engine.execute("return 1 + 1").value == 2


def test_an_interrupt_before_the_wait_starts_is_not_lost() -> None:
    engine = _engine()
    seen: list[str] = []
    engine.begin_execution()
    engine.interrupt()
    remove = engine.add_interrupt_listener(seen.append)
    remove()
    assert seen == ["interrupt"]


def test_script_timeout_cancels_the_wait() -> None:
    engine = _engine()
    _install_wait(engine, threading.Event())
    result = engine.execute("wait_io()", timeout=0.2)
    assert result.ename == "Timeout"


def test_io_interrupted_names_the_reason() -> None:
    assert IOInterrupted("timeout").reason == "timeout"


def test_many_calls_leak_no_thread_and_no_file_descriptor() -> None:
    runtime = io_runtime()

    async def tick(i: int) -> int:
        await asyncio.sleep(0)
        return i

    runtime.run(tick(0))  # the loop thread and its self-pipe exist from here on
    threads, fds = threading.active_count(), _open_fds()
    assert sum(runtime.run(tick(i)) for i in range(1000)) == 499500
    assert threading.active_count() == threads
    assert _open_fds() == fds


def test_shutdown_awaits_the_registered_closers_and_joins_the_thread() -> None:
    runtime = IORuntime()
    closed: list[str] = []

    async def close() -> None:
        closed.append(threading.current_thread().name)

    async def noop() -> None:
        return None

    runtime.run(noop())
    runtime.on_shutdown(close)
    names_before = {t.name for t in threading.enumerate()}
    assert "llmspell-io" in names_before
    runtime.shutdown()
    assert closed == ["llmspell-io"]
    # A runtime used again after shutdown starts a fresh loop.
    assert runtime.run(asyncio.sleep(0, result=7)) == 7
    runtime.shutdown()
