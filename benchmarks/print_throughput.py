"""`print` throughput: N lines (200k by default) through `llmspell run` to a pipe, against the
`lua5.4` binary running the same script in the same run. Goal: within 3x of lua5.4 (CPU time).

CPU time is the child's user + system time (wait4); wall time includes the pipe's reader. The
reader (this process) only counts bytes, as `| wc -c` would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median, print_table

GOAL = 3.0


def run_to_pipe(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, child CPU seconds, bytes read) of one run with stdout to a pipe."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    size = 0
    while chunk := process.stdout.read(1 << 16):
        size += len(chunk)
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} exited with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lua = shutil.which("lua5.4")
    llmspell = shutil.which("llmspell") or str(Path(sys.executable).with_name("llmspell"))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "print.lua"
        script.write_text(f'for i = 1, {args.lines} do print("line " .. i) end\n')
        runners = [("llmspell run", [llmspell, "run", str(script)])]
        if lua:
            runners.insert(0, ("lua5.4", [lua, str(script)]))
        results: dict[str, tuple[float, float]] = {}
        expected = sum(len(f"line {i}\n") for i in range(1, args.lines + 1))
        for name, argv in runners:
            walls, cpus = [], []
            for _ in range(args.runs):
                wall, cpu, size = run_to_pipe(argv)
                if size != expected:
                    raise SystemExit(f"{name} wrote {size} bytes, expected {expected}")
                walls.append(wall)
                cpus.append(cpu)
            results[name] = (median(walls), median(cpus))
    rows = []
    reference = results.get("lua5.4")
    for name, (wall, cpu) in results.items():
        ratio = f"{cpu / reference[1]:.2f}x" if reference and name != "lua5.4" else ""
        rows.append([name, f"{wall:.3f}", f"{cpu:.3f}", ratio])
    if reference:
        ratio = results["llmspell run"][1] / reference[1]
        verdict = "ok" if ratio <= GOAL else "MISSED"
        rows.append([f"goal: llmspell <= {GOAL:g}x lua5.4 (CPU)", "", "", f"{verdict}"])
    else:
        rows.append(["lua5.4 not installed (apt-get install lua5.4): no reference", "", "", ""])
    print_table(
        f"print throughput: {args.lines} lines to a pipe (median of {args.runs})",
        ["runner", "wall s", "CPU s", "CPU vs lua5.4"],
        rows,
    )


if __name__ == "__main__":
    main()
