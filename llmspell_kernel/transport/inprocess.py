"""The in-process transport: the embedded kernel and its clients exchange message dicts through
queues, so the default path needs no sockets, ports or files."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

try:  # the C queues themselves: queue.py adds heapq and Queue's machinery at start-up
    import _queue as queue
except ImportError:  # pragma: no cover - another Python implementation
    import queue  # type: ignore[no-redef]

from llmspell_kernel.protocol.message import Message
from llmspell_kernel.transport.base import (
    CONTROL,
    IOPUB,
    POLL_SLICE,
    SHELL,
    STDIN,
    ClientTransport,
    Incoming,
    KernelTransport,
)

_WAKE = object()

# Back-pressure: a script printing faster than its client reads waits once this much stream text
# is queued for a client, so output costs bounded memory (a print flood grew without bound).
MAX_PENDING_STREAM_BYTES = 8 * 1024 * 1024
# A client that stops reading altogether does not wedge the kernel: after this long it is
# treated as not reading and output is queued again.
STALLED_CLIENT_SECONDS = 30.0


def _wakes_reader(channel: str, msg: Message) -> bool:
    """False for messages a client can take together with the next one: `status: busy` and
    `execute_input` precede what an execution shows, and every reply is followed by
    `status: idle`. Each wake-up of a waiting reader is a thread switch (tens of microseconds,
    more than a short execution takes), so a `return 1` costs one instead of five."""
    if channel in (SHELL, CONTROL):
        return False
    if channel != IOPUB:
        return True
    msg_type = msg["header"]["msg_type"]
    if msg_type == "execute_input":
        return False
    return msg_type != "status" or msg["content"].get("execution_state") != "busy"


def _stream_size(msg: Message) -> int:
    """Bytes of text a `stream` message carries (0 for every other message)."""
    if msg.get("header", {}).get("msg_type") != "stream":
        return 0
    text = msg.get("content", {}).get("text", "")
    return len(text) if isinstance(text, str) else 0


class InProcessKernelTransport(KernelTransport):
    """Kernel side of the queue transport; `connect()` makes clients."""

    local_clients = True  # clients are this process: their script paths are this machine's

    def __init__(self) -> None:
        self._shell: queue.SimpleQueue[Incoming | object] = queue.SimpleQueue()
        self._control: queue.SimpleQueue[Incoming | object] = queue.SimpleQueue()
        self._clients: list[InProcessClientTransport] = []
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> InProcessClientTransport:
        """A new client connected to this kernel."""
        client = InProcessClientTransport(self)
        with self._lock:
            self._clients = [*self._clients, client]
        return client

    def _disconnect(self, client: InProcessClientTransport) -> None:
        with self._lock:
            self._clients = [c for c in self._clients if c is not client]

    def _submit(self, channel: str, msg: Message, client: InProcessClientTransport) -> None:
        if self._closed:
            raise ConnectionError("the kernel has shut down")
        target = self._control if channel == CONTROL else self._shell
        target.put(Incoming(channel, msg, client))

    @staticmethod
    def _get(source: queue.SimpleQueue[Incoming | object], timeout: float) -> Incoming | None:
        try:
            item = source.get(timeout=timeout)
        except queue.Empty:
            return None
        return item if isinstance(item, Incoming) else None

    def recv_shell(self, timeout: float) -> Incoming | None:
        return self._get(self._shell, timeout)

    def recv_control(self, timeout: float) -> Incoming | None:
        return self._get(self._control, timeout)

    def shell_waiting(self) -> bool:
        return not self._shell.empty()

    def others_listen(self, route: object) -> bool:
        # The clients are this process's: only one with an `on_foreign` (a second REPL, a
        # watcher) ever shows another's IOPub traffic; a client's own event messages go unread.
        return any(client.wants_foreign for client in self._clients if client is not route)

    def reply(self, incoming: Incoming, msg: Message) -> None:
        incoming.route.deliver(incoming.channel, msg)

    def publish(self, msg: Message) -> None:
        size = _stream_size(msg)
        for client in self._clients:
            if size:
                client.reserve(size)
            client.deliver(IOPUB, msg)

    def request_input(
        self, incoming: Incoming, msg: Message, should_stop: Callable[[], bool]
    ) -> Message | None:
        client: InProcessClientTransport = incoming.route
        # Only the answer to this request counts: a late answer to an earlier request that
        # was interrupted or timed out is dropped, never handed to this read.
        msg_id = msg["header"]["msg_id"]
        client.deliver(STDIN, msg)
        while not should_stop() and not client.closed:
            try:
                reply = client.stdin_replies.get(timeout=0.05)
            except queue.Empty:
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply
        return None

    def wake(self) -> None:
        self._shell.put(_WAKE)
        self._control.put(_WAKE)

    def close(self) -> None:
        self._closed = True
        self.wake()


class InProcessClientTransport(ClientTransport):
    """Client side of the queue transport."""

    describe = "embedded"

    def __init__(self, kernel: InProcessKernelTransport) -> None:
        self._kernel = kernel
        # (channel, message) items, or lists of them (see deliver)
        self.inbox: queue.SimpleQueue[tuple[str, Message] | list[tuple[str, Message]]] = (
            queue.SimpleQueue()
        )
        self.stdin_replies: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.closed = False
        self._pending = 0  # stream bytes queued in the inbox, see reserve()
        self._stalled = False  # stopped reading for STALLED_CLIENT_SECONDS: no more waiting
        self._drained = threading.Condition()
        self._held: list[tuple[str, Message]] = []  # queued with the next message that wakes
        self._held_lock = threading.Lock()
        self._taken: list[tuple[str, Message]] = []  # the rest of a batch recv() took

    def deliver(self, channel: str, msg: Message) -> None:
        """Queue a message from the kernel for this client, in order (see _wakes_reader); held
        messages travel with the next one in a single put (one wake-up of the reader)."""
        with self._held_lock:
            if not _wakes_reader(channel, msg):
                self._held.append((channel, msg))
                return
            if self._held:
                self._held.append((channel, msg))
                batch, self._held = self._held, []
                self.inbox.put(batch)
            else:
                self.inbox.put((channel, msg))

    def reserve(self, size: int) -> None:
        """Account for `size` bytes of stream text about to be queued; waits while too much is."""
        with self._drained:
            if self._pending > MAX_PENDING_STREAM_BYTES and not (self.closed or self._stalled):
                self._stalled = not self._drained.wait_for(
                    lambda: self._pending <= MAX_PENDING_STREAM_BYTES // 2 or self.closed,
                    timeout=STALLED_CLIENT_SECONDS,
                )
            self._pending += size

    def send(self, channel: str, msg: Message) -> None:
        if channel == STDIN:
            self.stdin_replies.put(msg)
        elif channel in (SHELL, CONTROL):
            self._kernel._submit(channel, msg, self)
        else:
            raise ValueError(f"cannot send on channel {channel!r}")

    def recv(self, timeout: float | None) -> tuple[str, Message] | None:
        if self._taken:
            item = self._taken.pop()
        else:
            got = self._wait(timeout)
            if got is None:
                return None
            if isinstance(got, list):  # a batch from deliver()
                got.reverse()
                item = got.pop()
                self._taken = got
            else:
                item = got
        size = _stream_size(item[1])
        if size:
            with self._drained:
                self._pending -= size
                self._stalled = False
                self._drained.notify_all()
        return item

    def _wait(
        self, timeout: float | None
    ) -> tuple[str, Message] | list[tuple[str, Message]] | None:
        """The next item of the inbox, or None after `timeout` seconds; in POLL_SLICE waits
        (Ctrl-C: a script waiting on a slow provider sends nothing to wake the client)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = POLL_SLICE if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return self.inbox.get(timeout=min(wait, POLL_SLICE))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    return None

    def close(self) -> None:
        self.closed = True
        self._kernel._disconnect(self)
        with self._drained:
            self._drained.notify_all()
