"""Helpers for tests that start the real CLI in subprocesses and kernels on loopback ports."""

from __future__ import annotations

import contextlib
import queue
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any


def llmspell(
    *args: str, timeout: float = 30, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `llmspell ARGS` with this interpreter (and `env`, else ours); capture text output."""
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env=env,
    )


def python_json(code: str, *args: str, timeout: float = 120) -> Any:
    """Run `python -c CODE ARGS` in a fresh interpreter (a first import is what it measures)
    and return the JSON it prints."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    ).stdout
    return json.loads(out)


# Below Linux's ephemeral range (32768-60999 by default): a port there is a source port of
# the next outgoing connection on the machine, so a block probed free can be taken before the
# kernel binds it (seen in CI: "port 43909 (hb) on 127.0.0.1 is already in use"). Here only
# another listener can take it.
PORT_RANGE = (20000, 32000)


def free_port_block(count: int = 5) -> int:
    """A base port whose next `count` ports are free on 127.0.0.1 (outside the ephemeral range)."""
    low, high = PORT_RANGE
    for _ in range(200):
        base = random.randrange(low, high - count)
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return base
    raise RuntimeError("no free block of ports on 127.0.0.1")


class Spawned(subprocess.Popen[str]):
    """A Popen whose `with` block, left by a failed assertion or a timeout, kills the process
    (Popen's own __exit__ would wait for it: a test of a hung process would hang the run)."""

    def __exit__(self, exc_type: Any, value: Any, traceback: Any) -> None:
        if exc_type is not None and self.poll() is None:
            self.kill()
        super().__exit__(exc_type, value, traceback)


def spawn_llmspell(*args: str) -> subprocess.Popen[str]:
    """Start `llmspell ARGS` with piped text stdout/stderr; use it as a context manager."""
    return Spawned(
        [sys.executable, "-m", "llmspell_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def daemon_kernel(kernel_id: str) -> Iterator[int]:
    """`llmspell kernel start --daemon --id KERNEL_ID` on free loopback ports; yields its base
    port and stops every kernel afterwards."""
    port = free_port_block()
    started = llmspell("kernel", "start", "--daemon", "--port", str(port), "--id", kernel_id)
    assert started.returncode == 0, started.stderr
    try:
        yield port
    finally:
        llmspell("kernel", "stop", "--all", "--force")


def wait_until_ready(client: Any, timeout: float = 30) -> None:
    """jupyter_client's `wait_for_ready` without its heartbeat verdict, and leaving no late
    kernel_info reply on the shell channel.

    A client without a KernelManager judges the kernel by its heartbeat channel, which counts
    as beating from the start and as dead once one ping has gone unanswered for a second: a
    kernel that a loaded machine takes over a second to start, its heartbeat not bound yet, was
    reported as "Kernel died before replying to kernel_info". Here the kernel is ready when it
    answers kernel_info and IOPub delivers (as there), within `timeout`.

    The kernel_info requests sent every second without an answer are answered later, so a test
    could read one of those replies as the reply to its own request. The kernel answers shell
    requests in order: reading up to the reply of one more request leaves none behind.
    """
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel did not answer kernel_info within {timeout} s")
        client.kernel_info()
        try:
            reply = client.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        if reply["msg_type"] != "kernel_info_reply":
            continue
        try:
            client.get_iopub_msg(timeout=0.2)  # IOPub connected? Else start over.
        except queue.Empty:
            continue
        break
    with contextlib.suppress(queue.Empty):
        while True:
            client.get_iopub_msg(timeout=0.2)
    last = client.kernel_info()
    while client.get_shell_msg(timeout=timeout)["parent_header"].get("msg_id") != last:
        pass
