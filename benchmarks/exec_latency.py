"""Round trip of `KernelClient.execute("return 1")` over the in-process transport against a bare
lupa `execute("return 1")` in the same process. Goal: under 0.3 ms median."""

from __future__ import annotations

import argparse

import lupa.lua54 as lua54
from _common import median, percentile, print_table, time_call

from llmspell_kernel.api import start_embedded_kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    bare = lua54.LuaRuntime()
    bare_samples = time_call(lambda: bare.execute("return 1"), runs)
    with start_embedded_kernel() as kernel:
        client = kernel.client()
        kernel_samples = time_call(lambda: list(client.execute("return 1")), runs)
    rows = []
    for name, samples in (
        ("bare lupa execute", bare_samples),
        ("KernelClient.execute (in-process)", kernel_samples),
    ):
        rows.append(
            [name, f"{median(samples) * 1000:.3f}", f"{percentile(samples, 0.95) * 1000:.3f}"]
        )
    ok = median(kernel_samples) * 1000 < 0.3
    rows.append(["goal: kernel round trip < 0.3 ms median", "ok" if ok else "MISSED", ""])
    print_table(f"execute('return 1') latency ({runs} runs)", ["path", "median ms", "p95 ms"], rows)


if __name__ == "__main__":
    main()
