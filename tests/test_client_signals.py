"""A client waiting on a silent kernel still honours Ctrl-C (both client transports' recv).

A SIGINT whose C-level handler runs while the main thread is not inside poll() (it lands just
before the system call starts, or on another thread) does not interrupt that poll(); the
KeyboardInterrupt is raised only when the main thread next runs Python code. Without a bound on
each wait that was never, for a script silent in a loop or waiting on a slow provider: `llmspell
run --connect` and an embedded `llmspell exec` then ignored the Ctrl-C (both seen in CI).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest

from llmspell_kernel.protocol.connection import PORT_NAMES, ConnectionInfo
from llmspell_kernel.transport.base import ClientTransport
from llmspell_kernel.transport.inprocess import InProcessKernelTransport
from llmspell_kernel.transport.zmq import ZmqClientTransport
from tests.processes import free_port_block


def zmq_client() -> ClientTransport:
    base = free_port_block()  # nothing listens there: the wait can only end by the signal
    ports = {name: base + index for index, name in enumerate(PORT_NAMES)}
    return ZmqClientTransport(ConnectionInfo(ports=ports, key="k"), "signals")


def in_process_client() -> ClientTransport:
    return InProcessKernelTransport().connect()  # a kernel side that never sends


@pytest.mark.parametrize("make", [zmq_client, in_process_client], ids=["zmq", "in-process"])
def test_a_sigint_handled_outside_the_wait_still_ends_a_wait_without_timeout(
    make: Callable[[], ClientTransport],
) -> None:
    # Python's own SIGINT handler (KeyboardInterrupt), whatever an earlier test left installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    transport = make()
    waiting = threading.Event()

    def signal_from_elsewhere() -> None:
        waiting.wait(10)
        # Delivered to this thread: Python's handler flags it, the main thread's poll() goes on.
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    sender = threading.Thread(target=signal_from_elsewhere, daemon=True)
    sender.start()
    try:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            waiting.set()
            transport.recv(None)
        assert time.monotonic() - started < 5.0
    finally:
        sender.join(10)
        transport.close()
        signal.signal(signal.SIGINT, previous)
