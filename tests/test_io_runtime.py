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
    assert "llmspell_kernel.config" in imported  # where the kernel's configuration is kept
    # No module of the provider layer (not even its package), the HTTP client, the I/O
    # runtime, the agents or the usage log: agents and providers load on their first use.
    unwanted = ("llmspell_kernel.providers", "llmspell_kernel.io", "llmspell_kernel.agents")
    unwanted += ("llmspell_kernel.usage", "httpx", "httpcore", "anyio", "h11", "h2")
    found = sorted(m for m in imported if m.startswith(unwanted))
    assert found == []


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


def test_loop_connections_apply_flow_control_both_ways() -> None:
    # llmspell_kernel/io/net.py, under httpcore2: a peer that reads nothing for a while makes
    # a big write wait for the transport to drain; unread bytes past the high-water mark stop
    # the reading until the buffer empties; a read times out; EOF reads as b"".
    import socket

    from httpcore2 import ReadTimeout

    from llmspell_kernel.io.net import READ_HIGH_WATER, LoopBackend

    size = 8 * 1024 * 1024
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    peer_ready = threading.Event()
    release = threading.Event()
    received = bytearray()

    def peer() -> None:
        conn, _ = listener.accept()
        with conn:
            peer_ready.set()
            release.wait(10)  # the client's write is stuck until this side reads
            while len(received) < size:
                received.extend(conn.recv(65536))
            conn.sendall(b"y" * size)  # more than the client buffers before pausing
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)  # until the client closes

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()

    async def client() -> dict[str, object]:
        stream = await LoopBackend().connect_tcp("127.0.0.1", port, timeout=5)
        reader = stream._reader  # type: ignore[attr-defined]
        await asyncio.to_thread(peer_ready.wait, 5)
        writing = asyncio.ensure_future(stream.write(b"x" * size, timeout=10))
        deadline = time.monotonic() + 10
        while reader.drained is None and not writing.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        stuck = not writing.done() and reader.drained is not None
        timed_out = False
        try:  # the peer sends nothing before it is released
            await stream.read(1, timeout=0.05)
        except ReadTimeout:
            timed_out = True
        release.set()
        await writing
        while not reader.paused and not reader.eof and time.monotonic() < deadline + 10:
            await asyncio.sleep(0.005)  # the peer's bytes pile up unread
        paused_at = len(reader.buffer)
        data = bytearray()
        while chunk := await stream.read(65536, timeout=10):
            data.extend(chunk)
        await stream.aclose()
        return {"stuck": stuck, "paused_at": paused_at, "read": len(data), "timeout": timed_out}

    try:
        seen = asyncio.run(client())
    finally:
        listener.close()
        thread.join(10)
    assert seen["stuck"] is True  # the write waited for the peer to read
    assert len(received) == size and received == b"x" * size
    assert seen["timeout"] is True
    assert READ_HIGH_WATER < seen["paused_at"] < size  # paused, then resumed to the end
    assert seen["read"] == size


def test_waits_from_many_threads_each_get_their_own_result() -> None:
    async def echo(value: int) -> int:
        await asyncio.sleep(0)
        return value

    results: dict[int, list[int]] = {}

    def worker(n: int) -> None:
        results[n] = [io_runtime().run(echo(n * 1000 + i)) for i in range(200)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {n: [n * 1000 + i for i in range(200)] for n in range(8)}


class _Interrupter:
    """An `Interruptible` whose interrupt a test fires from another thread."""

    def __init__(self) -> None:
        self.listeners: list = []
        self.lock = threading.Lock()

    def add_interrupt_listener(self, callback):  # noqa: ANN001, ANN201
        with self.lock:
            self.listeners.append(callback)

        def remove() -> None:
            with self.lock:
                self.listeners.remove(callback)

        return remove

    def fire(self) -> None:
        with self.lock:
            for callback in list(self.listeners):
                callback("interrupt")


def test_an_interrupt_racing_the_result_never_hangs_or_loses_both() -> None:
    # Interrupts land at every point of a short call: each wait ends with the result or with
    # IOInterrupted, never a hang, and the next call is unaffected.
    outcomes = {"result": 0, "interrupted": 0}

    async def quick() -> str:
        return "done"

    for i in range(300):
        interrupter = _Interrupter()
        timer = threading.Timer(0.0001 * (i % 7), interrupter.fire)
        timer.start()
        try:
            assert io_runtime().run(quick(), interrupter=interrupter, timeout=10) == "done"
            outcomes["result"] += 1
        except IOInterrupted:
            outcomes["interrupted"] += 1
        timer.join()
    assert sum(outcomes.values()) == 300
    assert io_runtime().run(quick()) == "done"
