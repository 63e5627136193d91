"""Helpers shared by the benchmark scripts: timing, statistics and table printing."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of the samples fall."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def time_command(argv: Sequence[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall time in seconds of `runs` executions of a command (one warm-up first)."""
    full_env = {**os.environ, **(env or {})}
    subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env, check=False
    )
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env, check=False
        )
        samples.append(time.perf_counter() - started)
    return samples


def time_call(fn: Callable[[], object], runs: int, warmup: int = 50) -> list[float]:
    """Wall time in seconds of `runs` calls of `fn`."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, so the output can be pasted into benchmarks/README.md."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    sys.stdout.flush()


def llmspell_argv() -> list[str]:
    """How to start the installed CLI (the console script beside this Python)."""
    candidate = os.path.join(os.path.dirname(sys.executable), "llmspell")
    if os.path.exists(candidate):
        return [candidate]
    return [sys.executable, "-m", "llmspell_cli"]
