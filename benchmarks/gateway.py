"""What a kernel behind Jupyter Enterprise Gateway costs (issue 18): starting one through the
gateway's REST API, a `return 1` round trip over its websocket, shutting it down, and a whole
`llmspell run --connect gateway://` — against the same on a kernel service reached over ZeroMQ
(`kernel start --daemon`, `--connect HOST:PORT`) in the same run. The "no quick ACK" row shows
the websocket transport without its TCP_QUICKACK socket (Jupyter servers write frames without
TCP_NODELAY, so each frame after the first waits for a delayed ACK).

Enterprise Gateway needs its own environment (it pins an old jupyter_client):
    python -m venv /tmp/eg && /tmp/eg/bin/pip install jupyter_enterprise_gateway
    python benchmarks/gateway.py --gateway-python /tmp/eg/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from _common import llmspell_argv, median, percentile, print_table, time_command

from llmspell_kernel.api import connect_to_kernel
from llmspell_kernel.transport import websocket


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_gateway(python: str, workdir: str) -> tuple[subprocess.Popen[bytes], int]:
    """Enterprise Gateway on 127.0.0.1 with llmspell's local and distributed kernelspecs."""
    prefix = os.path.join(workdir, "prefix")
    for args in (["--gateway", "local"], ["--gateway", "distributed", "--kernel-ip", "127.0.0.1"]):
        name = "llmspell_" + args[1]
        command = [*llmspell_argv(), "kernel", "install", "--prefix", prefix, "--name", name, *args]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_PATH": os.path.join(prefix, "share", "jupyter"),
        "EG_KERNEL_LOG_DIR": workdir,
        "EG_RESPONSE_IP": "127.0.0.1",
        "EG_RESPONSE_PORT": str(_free_port()),
        "EG_REMOTE_HOSTS": "127.0.0.1",
        "EG_UNAUTHORIZED_USERS": "nobody",
    }
    log = open(os.path.join(workdir, "gateway.log"), "wb")  # noqa: SIM115 - the process's
    process = subprocess.Popen(
        [
            python,
            "-m",
            "enterprise_gateway",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port_retries=0",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=5):
                return process, port
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the gateway did not start; see {log.name}") from None
            time.sleep(0.1)


def client_row(name: str, address: str, sessions: int, calls: int) -> list[object]:
    """Connect (for a gateway: start a kernel), `return 1` round trips, close (shut down)."""
    connects, closes, trips = [], [], []
    for _ in range(sessions):
        started = time.perf_counter()
        client = connect_to_kernel(address, timeout=60)
        connects.append(time.perf_counter() - started)
        for _ in range(10):
            client.execute("return 1").wait()
        for _ in range(calls):
            started = time.perf_counter()
            client.execute("return 1").wait()
            trips.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.close()
        closes.append(time.perf_counter() - started)
    return [
        name,
        f"{median(connects) * 1000:.0f}",
        f"{median(trips) * 1000:.2f}",
        f"{percentile(trips, 0.95) * 1000:.2f}",
        f"{median(closes) * 1000:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gateway-python",
        default=os.environ.get("ENTERPRISE_GATEWAY_PYTHON"),
        help="python of an environment holding jupyter_enterprise_gateway",
    )
    parser.add_argument("--sessions", type=int, default=5, help="kernels started per row")
    parser.add_argument("--calls", type=int, default=100, help="round trips per kernel")
    parser.add_argument("--runs", type=int, default=5, help="`llmspell run` commands per row")
    args = parser.parse_args()
    if not args.gateway_python:
        parser.error("--gateway-python is required (see the module's docstring)")
    workdir = tempfile.mkdtemp(prefix="llmspell-gateway-bench-")
    gateway, port = start_gateway(args.gateway_python, workdir)
    daemon = [*llmspell_argv(), "kernel", "start", "--daemon", "--id", "gateway-bench"]
    subprocess.run(daemon, check=True, stdout=subprocess.DEVNULL)
    try:
        url = f"gateway://127.0.0.1:{port}"
        addresses = [
            ("ZeroMQ, kernel start --daemon (reference)", "gateway-bench"),
            ("gateway, local process proxy", f"{url}?kernel=llmspell_local"),
            ("gateway, distributed process proxy", f"{url}?kernel=llmspell_distributed"),
        ]
        rows = [client_row(name, address, args.sessions, args.calls) for name, address in addresses]
        quick_ack = websocket._TCP_QUICKACK
        websocket._TCP_QUICKACK = 0  # the library's own socket: TCP_NODELAY only
        try:
            rows.append(
                client_row(
                    "gateway, local, no quick ACK",
                    f"{url}?kernel=llmspell_local",
                    args.sessions,
                    args.calls,
                )
            )
        finally:
            websocket._TCP_QUICKACK = quick_ack
        print_table(
            f"Clients ({args.sessions} kernels x {args.calls} round trips per row; ms)",
            ["path", "connect / start", "return 1 median", "p95", "close / shutdown"],
            rows,
        )
        script = os.path.join(workdir, "hello.lua")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write('print("hello")\nreturn 1\n')
        runs = []
        for name, address in addresses:
            samples = time_command(
                [*llmspell_argv(), "run", "--connect", address, script], args.runs
            )
            runs.append([name, f"{median(samples) * 1000:.0f}", f"{max(samples) * 1000:.0f}"])
        print_table(
            f"`llmspell run --connect ADDRESS hello.lua` ({args.runs} runs; ms)",
            ["path", "median", "max"],
            runs,
        )
        print(json.dumps({"load_average": os.getloadavg()}))
    finally:
        subprocess.run([*llmspell_argv(), "kernel", "stop", "gateway-bench"], check=False)
        gateway.terminate()
        gateway.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
