"""The network kernel against ipykernel, measured in the same run with the same client.

1. execute round trip (execute_request → IOPub idle) with a jupyter_client BlockingKernelClient:
   llmspell `return 1` over ZeroMQ vs ipykernel `pass`; plus llmspell's own KernelClient over
   ZeroMQ and over the in-process transport. Goal: ≤ 1 ms median over ZeroMQ, ≥ 4× faster
   than ipykernel.
2. launch → first kernel_info_reply (KernelManager.start_kernel, then kernel_info), median of
   10. Goal: ≤ 0.5× ipykernel.
3. interrupt of `while true do end` → execute_reply (goal ≤ 100 ms).
4. throughput: 4 clients each sending 500 executes at once; executions/s and lost replies.
5. 1, 4 and 16 concurrent clients (each its own session) doing round trips one after another:
   executions/s and p95, llmspell against benchmarks/thin_kernel.py (raw pyzmq + lupa, ~75
   lines: the floor of the wire and Lua) in the same run. Goal: llmspell at least as fast.

ipykernel must be installed (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import tempfile
import threading
import time
from typing import Any

import zmq
from _common import median, percentile, print_table, time_call
from jupyter_client import BlockingKernelClient, KernelManager

from llmspell_kernel.api import connect_to_kernel, start_embedded_kernel
from llmspell_kernel.protocol.kernelspec import write_kernelspec

LLMSPELL = "llmspell-bench"
THIN = "thin-lua-bench"  # benchmarks/thin_kernel.py: raw pyzmq + lupa, the floor


def _isolated_jupyter_path() -> str:
    """Kernelspecs for both kernels in a temporary JUPYTER_PATH (nothing installed for real)."""
    root = tempfile.mkdtemp(prefix="llmspell-bench-")
    write_kernelspec(os.path.join(root, "kernels", LLMSPELL))
    from ipykernel.kernelspec import write_kernel_spec

    write_kernel_spec(os.path.join(root, "kernels", "python3-bench"))
    thin = os.path.join(root, "kernels", THIN)
    os.makedirs(thin)
    with open(os.path.join(thin, "kernel.json"), "w", encoding="utf-8") as handle:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "thin_kernel.py")
        argv = [sys.executable, script, "-f", "{connection_file}"]
        json.dump({"argv": argv, "display_name": "thin", "language": "lua"}, handle)
    os.environ["JUPYTER_PATH"] = root
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(root, "runtime")
    os.environ["XDG_DATA_HOME"] = os.path.join(root, "data")  # kernel history files
    return root


def _client(manager: KernelManager) -> BlockingKernelClient:
    client = BlockingKernelClient(connection_file=manager.connection_file)
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=30)
    return client


def _round_trip(client: BlockingKernelClient, code: str) -> None:
    msg_id = client.execute(code)
    while True:
        msg = client.get_iopub_msg(timeout=10)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        ):
            break
    client.get_shell_msg(timeout=10)


def _launch_time(kernel_name: str, reconnect_ms: int | None) -> float:
    """Seconds from start_kernel() to the first kernel_info_reply. ZeroMQ clients retry a refused
    connection every 100 ms by default, which rounds every launch up to that grid; with
    `reconnect_ms` the client retries faster and the figure shows the kernel's own start-up."""
    context = zmq.Context()
    if reconnect_ms is not None:
        context.setsockopt(zmq.RECONNECT_IVL, reconnect_ms)
    manager = KernelManager(kernel_name=kernel_name, context=context)
    started = time.perf_counter()
    manager.start_kernel()
    if reconnect_ms is None:
        client = manager.client()
    else:  # manager.client() would ignore the context and its reconnect interval
        client = BlockingKernelClient(connection_file=manager.connection_file, context=context)
        client.load_connection_file()
    client.start_channels()
    client.kernel_info(reply=True, timeout=30)
    elapsed = time.perf_counter() - started
    client.stop_channels()
    manager.shutdown_kernel(now=True)
    context.term()
    return elapsed


def _interrupt_latency(manager: KernelManager, client: BlockingKernelClient) -> float:
    msg_id = client.execute("while true do end")
    while True:
        msg = client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    time.sleep(0.02)
    started = time.perf_counter()
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=10)
    elapsed = time.perf_counter() - started
    assert reply["content"]["ename"] == "Interrupted", reply["content"]
    while True:  # drain to idle
        msg = client.get_iopub_msg(timeout=10)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        ):
            return elapsed


def _throughput(
    manager: KernelManager, code: str, clients: int, per_client: int
) -> tuple[float, int]:
    results: list[int] = []
    lock = threading.Lock()
    connected = [_client(manager) for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def work(client: BlockingKernelClient) -> None:
        barrier.wait()
        ids = {client.execute(code) for _ in range(per_client)}
        got = 0
        deadline = time.monotonic() + 120
        while ids and time.monotonic() < deadline:
            try:
                reply = client.get_shell_msg(timeout=30)
            except queue.Empty:
                break
            if reply["parent_header"].get("msg_id") in ids and reply["content"]["status"] == "ok":
                ids.discard(reply["parent_header"]["msg_id"])
                got += 1
        with lock:
            results.append(got)

    threads = [threading.Thread(target=work, args=(c,)) for c in connected]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for client in connected:
        client.stop_channels()
    total = sum(results)
    return total / elapsed, clients * per_client - total


def _kernel_cpu(manager: KernelManager) -> float:
    """CPU seconds (user + system) the kernel's process has used so far (Linux /proc)."""
    pid = manager.provisioner.process.pid  # type: ignore[union-attr]
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _concurrent(
    manager: KernelManager, clients: int, per_client: int
) -> tuple[float, float, float]:
    """`clients` jupyter_client clients (each its own session) doing round trips of `return 1`
    one after another, all at once: executions/s over all, the p95 round trip and the kernel
    process's CPU seconds per execution."""
    connected = [_client(manager) for _ in range(clients)]
    samples: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def work(client: BlockingKernelClient) -> None:
        own = []
        barrier.wait()
        for _ in range(per_client):
            started = time.perf_counter()
            _round_trip(client, "return 1")
            own.append(time.perf_counter() - started)
        with lock:
            samples.extend(own)

    threads = [threading.Thread(target=work, args=(c,)) for c in connected]
    for thread in threads:
        thread.start()
    cpu = _kernel_cpu(manager)
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = _kernel_cpu(manager) - cpu
    for client in connected:
        client.stop_channels()
    return len(samples) / elapsed, percentile(samples, 0.95), cpu / max(1, len(samples))


def _ms(samples: list[float]) -> tuple[str, str]:
    return f"{median(samples) * 1000:.3f}", f"{percentile(samples, 0.95) * 1000:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--launches", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--per-client", type=int, default=500)
    parser.add_argument(
        "--sweep-executes", type=int, default=1600, help="executes per sweep row (all clients)"
    )
    opts = parser.parse_args()
    try:
        import ipykernel  # noqa: F401
    except ImportError:
        sys.exit("ipykernel is needed for the comparison: pip install -e '.[bench]'")
    _isolated_jupyter_path()

    ours = KernelManager(kernel_name=LLMSPELL)
    ours.start_kernel()
    theirs = KernelManager(kernel_name="python3-bench")
    theirs.start_kernel()
    try:
        ours_client, theirs_client = _client(ours), _client(theirs)
        ours_jc = time_call(lambda: _round_trip(ours_client, "return 1"), opts.runs)
        theirs_jc = time_call(lambda: _round_trip(theirs_client, "pass"), opts.runs)
        own = connect_to_kernel(ours.connection_file)
        ours_own = time_call(lambda: list(own.execute("return 1")), opts.runs)
        own.close()
        with start_embedded_kernel() as embedded:
            inproc = embedded.client()
            ours_inproc = time_call(lambda: list(inproc.execute("return 1")), opts.runs)
        interrupts = [_interrupt_latency(ours, ours_client) for _ in range(20)]
        ours_client.stop_channels()
        theirs_client.stop_channels()
        rate, lost = _throughput(ours, "return 1", opts.clients, opts.per_client)
        their_rate, their_lost = _throughput(theirs, "pass", opts.clients, opts.per_client)
        thin = KernelManager(kernel_name=THIN)
        thin.start_kernel()
        sweep: list[list[Any]] = []
        try:
            for clients in (1, 4, 16):
                each = max(1, opts.sweep_executes // clients)
                ours_rate, ours_p95, ours_cpu = _concurrent(ours, clients, each)
                thin_rate, thin_p95, thin_cpu = _concurrent(thin, clients, each)
                sweep.append(
                    [
                        clients,
                        f"{ours_rate:.0f}",
                        f"{ours_p95 * 1000:.2f}",
                        f"{ours_cpu * 1e6:.0f}",
                        f"{thin_rate:.0f}",
                        f"{thin_p95 * 1000:.2f}",
                        f"{thin_cpu * 1e6:.0f}",
                        "ok" if ours_rate >= thin_rate else "MISSED",
                    ]
                )
        finally:
            thin.shutdown_kernel(now=True)
    finally:
        ours.shutdown_kernel(now=True)
        theirs.shutdown_kernel(now=True)

    ratio = median(theirs_jc) / median(ours_jc)
    rows: list[list[Any]] = [
        ["ipykernel `pass` (jupyter_client)", *_ms(theirs_jc), "1.0×"],
        ["llmspell `return 1` over ZeroMQ (jupyter_client)", *_ms(ours_jc), f"{ratio:.1f}× faster"],
        [
            "llmspell over ZeroMQ (llmspell KernelClient)",
            *_ms(ours_own),
            f"{median(theirs_jc) / median(ours_own):.1f}× faster",
        ],
        [
            "llmspell in-process transport (KernelClient)",
            *_ms(ours_inproc),
            f"{median(theirs_jc) / median(ours_inproc):.1f}× faster",
        ],
    ]
    goal = median(ours_jc) * 1000 <= 1.0 and ratio >= 4
    rows.append(
        ["goal: ≤ 1 ms median over ZeroMQ and ≥ 4× ipykernel", "", "", "ok" if goal else "MISSED"]
    )
    print_table(
        f"execute round trip, execute_request → idle ({opts.runs} runs each)",
        ["kernel / client", "median ms", "p95 ms", "vs ipykernel"],
        rows,
    )

    launch_rows: list[list[Any]] = []
    for label, reconnect in (
        ("default client (100 ms retry)", None),
        ("client retrying every 5 ms", 5),
    ):
        launch_ours = [_launch_time(LLMSPELL, reconnect) for _ in range(opts.launches)]
        launch_theirs = [_launch_time("python3-bench", reconnect) for _ in range(opts.launches)]
        launch_ratio = median(launch_ours) / median(launch_theirs)
        launch_rows.append(
            [
                label,
                f"{median(launch_theirs) * 1000:.0f}",
                f"{median(launch_ours) * 1000:.0f}",
                f"{launch_ratio:.2f}",
                "ok" if launch_ratio <= 0.5 else "MISSED",
            ]
        )
    print_table(
        f"launch → first kernel_info_reply (median of {opts.launches})",
        ["client", "ipykernel ms", "llmspell ms", "ratio", "goal ≤ 0.5×"],
        launch_rows,
    )
    print_table(
        "interrupt of `while true do end` → execute_reply (20 runs)",
        ["median ms", "p95 ms", "max ms", "goal ≤ 100 ms"],
        [
            [
                *_ms(interrupts),
                f"{max(interrupts) * 1000:.3f}",
                "ok" if max(interrupts) < 0.1 else "MISSED",
            ]
        ],
    )
    print_table(
        f"throughput: {opts.clients} clients × {opts.per_client} executes at once",
        ["kernel", "executions/s", "lost replies"],
        [["llmspell", f"{rate:.0f}", lost], ["ipykernel", f"{their_rate:.0f}", their_lost]],
    )
    print_table(
        f"concurrent clients, each its own session, round trips of `return 1` "
        f"({opts.sweep_executes} per row) vs the thin raw-pyzmq lupa kernel",
        [
            "clients",
            "llmspell exec/s",
            "llmspell p95 ms",
            "llmspell kernel CPU µs/exec",
            "thin exec/s",
            "thin p95 ms",
            "thin kernel CPU µs/exec",
            "goal ≥ thin",
        ],
        sweep,
    )


if __name__ == "__main__":
    main()
