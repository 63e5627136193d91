"""Round trip of `KernelClient.execute("return 1")` over the in-process transport against a bare
lupa `execute("return 1")` in the same process, and the engine's own share (`LuaEngine.execute`
as the kernel calls it). Goals (issue 19): round trip <= 100 us median, engine <= 20 us.

The round trip crosses two threads (client -> executor -> client), so a busy machine adds its
scheduling delay to every call; the CPU column (all threads' CPU time per call) and the floor row
(a bare two-thread ping-pong through the same queues) show how much of the time is that.
"""

from __future__ import annotations

import argparse
import threading
import time

import lupa.lua54 as lua54
from _common import median, percentile, print_table, time_call

from llmspell_kernel.api import start_embedded_kernel
from llmspell_kernel.lua.engine import LuaEngine

try:
    from _queue import SimpleQueue
except ImportError:  # pragma: no cover
    from queue import SimpleQueue  # type: ignore[assignment]


def cpu_per_call(fn: object, runs: int) -> float:
    """Process CPU time (every thread) per call of `fn`, in seconds."""
    started = time.process_time()
    for _ in range(runs):
        fn()  # type: ignore[operator]
    return (time.process_time() - started) / runs


def ping_pong() -> tuple[object, object]:
    """A thread echoing through SimpleQueues; (call, stop)."""
    inbox: SimpleQueue[object] = SimpleQueue()
    outbox: SimpleQueue[object] = SimpleQueue()

    def echo() -> None:
        while (item := inbox.get()) is not None:
            outbox.put(item)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()

    def call() -> None:
        inbox.put(1)
        outbox.get()

    return call, lambda: inbox.put(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5000)
    runs = parser.parse_args().runs
    measured: list[tuple[str, list[float], float, float | None]] = []
    bare = lua54.LuaRuntime()

    def bare_call() -> None:
        bare.execute("return 1")

    measured.append(
        ("bare lupa execute", time_call(bare_call, runs), cpu_per_call(bare_call, runs), None)
    )
    engine = LuaEngine()

    def engine_call() -> None:
        engine.execute("return 1", chunk_name="=cell[1]", expression_first=True)

    measured.append(
        (
            "LuaEngine.execute (the engine's share)",
            time_call(engine_call, runs),
            cpu_per_call(engine_call, runs),
            20e-6,
        )
    )
    call, stop = ping_pong()
    measured.append(
        ("floor: two-thread ping-pong", time_call(call, runs), cpu_per_call(call, runs), None)
    )
    stop()
    with start_embedded_kernel() as kernel:
        client = kernel.client()

        def kernel_call() -> None:
            list(client.execute("return 1"))

        measured.append(
            (
                "KernelClient.execute (in-process)",
                time_call(kernel_call, runs),
                cpu_per_call(kernel_call, runs),
                100e-6,
            )
        )
    rows = []
    for name, samples, cpu, goal in measured:
        seconds = median(samples)
        ok = "ok" if goal is not None and seconds <= goal else "MISSED"
        verdict = "" if goal is None else f"<= {goal * 1e6:.0f} us {ok}"
        p95 = percentile(samples, 0.95)
        rows.append([name, f"{seconds * 1e6:.1f}", f"{p95 * 1e6:.1f}", f"{cpu * 1e6:.1f}", verdict])
    print_table(
        f"execute('return 1') latency ({runs} runs)",
        ["path", "median us", "p95 us", "CPU us per call", "goal (median)"],
        rows,
    )


if __name__ == "__main__":
    main()
