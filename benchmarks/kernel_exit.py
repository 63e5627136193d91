"""How promptly a kernel goes away (issue 19). Goals: the kernel process exits <= 30 ms after its
shutdown reply; `llmspell kernel stop` of an idle kernel takes <= 100 ms.

(jupyter_client, from `.[test]`, writes the connection file.) The first row launches `python -m llmspell_kernel` on a connection file as Jupyter does, sends
`shutdown_request` over ZeroMQ and times from the reply to the process's exit. The second starts
a kernel service with `llmspell kernel start --daemon` and times `llmspell kernel stop ID`,
with `python -c pass` in the same rounds for the interpreter's own start-up (and their difference
per round: what the command adds to the interpreter on a machine whose load moves both).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import llmspell_argv, median, percentile, print_table
from jupyter_client.connect import write_connection_file

from llmspell_kernel.api import connect_to_kernel


def exit_after_reply(workdir: str, env: dict[str, str]) -> tuple[float, float]:
    """(shutdown request -> reply, reply -> process exit) in seconds."""
    path = os.path.join(workdir, f"kernel-{os.getpid()}-{time.monotonic_ns()}.json")
    write_connection_file(path, key=os.urandom(16).hex().encode())  # free ports, as Jupyter picks
    process = subprocess.Popen(
        [sys.executable, "-m", "llmspell_kernel", "-f", path],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = connect_to_kernel(path)
    try:
        client.kernel_info(timeout=30)
        asked = time.perf_counter()
        client.shutdown(timeout=10)
        replied = time.perf_counter()
        process.wait(timeout=10)
        exited = time.perf_counter()
    finally:
        client.close()
        if process.poll() is None:
            process.kill()
    return replied - asked, exited - replied


def stop_idle_kernel(cli: list[str], env: dict[str, str]) -> float:
    """Wall seconds of `llmspell kernel stop ID` for an idle kernel service."""
    started = subprocess.run(
        [*cli, "--output", "json", "kernel", "start", "--daemon"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    kernel_id = json.loads(started.stdout)["id"]
    began = time.perf_counter()
    subprocess.run([*cli, "kernel", "stop", kernel_id], env=env, capture_output=True, check=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    home = tempfile.mkdtemp(prefix="llmspell-bench-")
    env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home}
    env["XDG_RUNTIME_DIR"] = home
    env["JUPYTER_RUNTIME_DIR"] = os.path.join(home, "runtime")
    cli = llmspell_argv()
    replies, exits, stops, passes = [], [], [], []
    for _ in range(runs):
        reply, gone = exit_after_reply(home, env)
        replies.append(reply)
        exits.append(gone)
        stops.append(stop_idle_kernel(cli, env))
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        passes.append(time.perf_counter() - began)

    def row(name: str, samples: list[float], goal: float | None) -> list[str]:
        ms = median(samples) * 1000
        verdict = "" if goal is None else f"<= {goal:.0f} ms {'ok' if ms <= goal else 'MISSED'}"
        return [name, f"{ms:.1f}", f"{percentile(samples, 0.95) * 1000:.1f}", verdict]

    print_table(
        f"Kernel exit (median of {runs})",
        ["measure", "median ms", "p95 ms", "goal"],
        [
            row("shutdown_request -> shutdown_reply", replies, None),
            row("shutdown_reply -> kernel process exit", exits, 30),
            row("llmspell kernel stop ID (idle kernel)", stops, 100),
            row("python -c pass (reference)", passes, None),
            row(
                "kernel stop - python -c pass (same round)",
                [stop - bare for stop, bare in zip(stops, passes, strict=True)],
                None,
            ),
        ],
    )


if __name__ == "__main__":
    main()
