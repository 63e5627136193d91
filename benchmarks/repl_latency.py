"""REPL responsiveness.

1. Keypress → completion menu: `string.` is typed, then Tab; the clock stops when the REPL has
   rendered a completion menu (complete_request round trip plus prompt_toolkit rendering into a
   real VT100 output). Embedded and connected (a kernel service on loopback). Median over 200.
   Goals: ≤ 20 ms embedded, ≤ 30 ms connected.
2. `llmspell repl` start → first prompt on a pseudo-terminal, median of 10, against
   `python -c pass`. Goal: ≤ 400 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import pty
import select
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from _common import llmspell_argv, median, percentile, print_table
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from llmspell_cli.repl.prompt import build_prompt_session
from llmspell_cli.repl.session import ReplSession
from llmspell_kernel.api import connect_to_kernel, start_embedded_kernel
from llmspell_kernel.service import start_kernel_service


def _menu_latency(client: Any, runs: int) -> list[float]:
    session = ReplSession(client, label="bench")
    rendered = threading.Event()
    samples: list[float] = []
    with create_pipe_input() as pipe:
        output = Vt100_Output(io.StringIO(), lambda: Size(rows=40, columns=120), term="xterm")
        prompt = build_prompt_session(session, prompt="lua> ", input=pipe, output=output)

        def after_render(app: Any) -> None:
            state = app.current_buffer.complete_state
            if state is not None and state.completions:
                rendered.set()

        prompt.app.after_render += after_render

        def run_prompt() -> None:
            try:
                prompt.prompt()
            except EOFError:  # the Ctrl-D that ends the measurement
                pass

        worker = threading.Thread(target=run_prompt, daemon=True)
        worker.start()
        time.sleep(0.5)
        for index in range(runs + 20):
            pipe.send_text("string.")
            time.sleep(0.005)
            rendered.clear()
            started = time.perf_counter()
            pipe.send_text("\t")
            if not rendered.wait(5):
                raise RuntimeError("no completion menu was rendered")
            elapsed = time.perf_counter() - started
            if index >= 20:  # warm-up
                samples.append(elapsed)
            pipe.send_text("\x1b")  # close the menu
            pipe.send_text("\x15")  # Ctrl-U clears the line
            time.sleep(0.005)
        pipe.send_text("\x04")
        worker.join(timeout=5)
    return samples


def _first_prompt(argv: list[str], needle: bytes | None, env: dict[str, str]) -> float:
    """Seconds from spawn until `needle` appears on the pty (or the process ends)."""
    master, slave = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 10)
            if not ready:
                raise RuntimeError(f"no prompt from {argv}: {seen[-200:]!r}")
            try:
                chunk = os.read(master, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            seen += chunk
            if needle is not None and needle in seen:
                break
        return time.perf_counter() - started
    finally:
        process.kill()
        process.wait()
        os.close(master)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--starts", type=int, default=10)
    opts = parser.parse_args()

    with start_embedded_kernel() as kernel:
        embedded = _menu_latency(kernel.client(), opts.runs)
    home = tempfile.mkdtemp(prefix="llmspell-bench-")
    service = start_kernel_service(os.path.join(home, "kernel-bench.json"), kernel_id="bench")
    try:
        client = connect_to_kernel(service.connection_file)
        connected = _menu_latency(client, opts.runs)
        client.close()
    finally:
        service.stop()
    rows = []
    for name, samples, goal in (
        ("embedded", embedded, 0.020),
        ("connected (ZeroMQ, loopback)", connected, 0.030),
    ):
        rows.append(
            [
                name,
                f"{median(samples) * 1000:.2f}",
                f"{percentile(samples, 0.95) * 1000:.2f}",
                f"≤ {goal * 1000:.0f} ms: {'ok' if median(samples) <= goal else 'MISSED'}",
            ]
        )
    print_table(
        f"Tab → completion menu rendered (`string.`, {opts.runs} runs)",
        ["mode", "median ms", "p95 ms", "goal"],
        rows,
    )

    env = {
        **os.environ,
        "HOME": home,
        "XDG_DATA_HOME": os.path.join(home, "data"),
        "XDG_CONFIG_HOME": os.path.join(home, "config"),
        "TERM": "xterm",
    }
    repl = [*llmspell_argv(), "repl", "--history", os.path.join(home, "history")]
    python = [sys.executable, "-c", "pass"]
    _first_prompt(repl, b"lua>", env)  # warm the bytecode caches
    repl_starts = [_first_prompt(repl, b"lua>", env) for _ in range(opts.starts)]
    python_starts = [_first_prompt(python, None, env) for _ in range(opts.starts)]
    ok = median(repl_starts) <= 0.4
    print_table(
        f"start → first prompt on a terminal (median of {opts.starts})",
        ["command", "median ms", "ratio", "goal ≤ 400 ms"],
        [
            ["python -c pass", f"{median(python_starts) * 1000:.0f}", "1.0", ""],
            [
                "llmspell repl",
                f"{median(repl_starts) * 1000:.0f}",
                f"{median(repl_starts) / median(python_starts):.1f}",
                "ok" if ok else "MISSED",
            ],
        ],
    )


if __name__ == "__main__":
    main()
