"""What interruptibility costs: a 10M-iteration pure-Lua loop run by `llmspell exec`, by bare lupa
and by the `lua5.4` binary (Debian package lua5.4). Goal: within 2.2x of bare lupa."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time

from _common import llmspell_argv, median, print_table

LOOP = "local s = 0 for i = 1, 1e7 do s = s + i end return s"
STARTUP = "return 1"


def time_process(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    import lupa.lua54 as lua54

    runtime = lua54.LuaRuntime()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        runtime.execute(LOOP)
        samples.append(time.perf_counter() - started)
    bare = median(samples)
    cli = llmspell_argv()
    # Subtract the CLI's own startup so the table shows the loop itself.
    startup = time_process([*cli, "exec", STARTUP], runs)
    ours = time_process([*cli, "exec", LOOP], runs) - startup
    rows = [["bare lupa (in process)", f"{bare * 1000:.0f}", "1.00x"]]
    rows.append(["llmspell exec (minus its startup)", f"{ours * 1000:.0f}", f"{ours / bare:.2f}x"])
    lua_bin = shutil.which("lua5.4")
    if lua_bin:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(LOOP.replace("return s", "io.write(s)"))
        empty = time_process([lua_bin, "-e", ""], runs)
        binary = time_process([lua_bin, handle.name], runs) - empty
        rows.append(
            ["lua5.4 binary (minus its startup)", f"{binary * 1000:.0f}", f"{binary / bare:.2f}x"]
        )
    else:
        rows.append(["lua5.4 binary", "not installed (apt-get install lua5.4)", ""])
    ratio = ours / bare
    rows.append(
        ["goal: llmspell <= 2.2x bare lupa", "ok" if ratio <= 2.2 else "MISSED", f"{ratio:.2f}x"]
    )
    print_table(
        f"10M-iteration Lua loop (median of {runs})", ["runner", "ms", "vs bare lupa"], rows
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
