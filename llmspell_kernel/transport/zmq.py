"""The ZeroMQ transport: the five Jupyter sockets, signed messages, a heartbeat device.

Threading (pyzmq sockets are not thread-safe): the executor thread alone uses the shell and
stdin sockets, the control thread alone the control socket; IOPub publishing comes from both and
is serialized by a lock; the heartbeat socket lives in its own thread, inside `zmq.proxy`, which
echoes in C without the GIL (as ipykernel's Heartbeat does), so a busy interpreter never makes
a client declare the kernel dead.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq
import zmq.backend

from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.logs import get_logger
from llmspell_kernel.protocol.connection import ConnectionInfo
from llmspell_kernel.protocol.message import Message, MessageFactory
from llmspell_kernel.protocol.wire import RefusedMessage, ReplayGuard, Wire, WireError
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

log = get_logger("llmspell.kernel")

# pyzmq's send_multipart combines enum flags for every frame, which costs more than the send.
_SNDMORE = int(zmq.SNDMORE)


# The compiled Socket.send under pyzmq's Python-level one (which checks keyword options a copied
# frame never has): a third of the cost of sending a message's frames.
_BACKEND_SEND: Callable[..., Any] = zmq.backend.Socket.send
_BACKEND_GET: Callable[..., Any] = zmq.backend.Socket.get
_BACKEND_RECV: Callable[..., Any] = zmq.backend.Socket.recv
_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)


def _send_frames(sock: zmq.Socket[Any], frames: list[bytes]) -> None:
    """send_multipart without the per-frame enum arithmetic (small frames, copied)."""
    send = _BACKEND_SEND
    for frame in frames[:-1]:
        send(sock, frame, _SNDMORE, True)
    send(sock, frames[-1], 0, True)


def _readable(sock: zmq.Socket[Any]) -> bool:
    """A message is waiting: one getsockopt(ZMQ_EVENTS), where Socket.poll(0) builds a Poller
    and a poll costs a syscall and Poller's Python wrapper."""
    return bool(_BACKEND_GET(sock, _EVENTS) & _POLLIN)


def _recv_frames(sock: zmq.Socket[Any]) -> list[bytes]:
    """recv_multipart(copy=True) through the compiled recv. Each part comes as a Frame whose
    `more` is read in C: pyzmq's getsockopt(RCVMORE) looks the option up in an Enum first,
    which made a 7-part request cost ~7 µs to receive against ~4.6 µs this way."""
    recv = _BACKEND_RECV
    frame = recv(sock, 0, False, False)
    frames = [frame.bytes]
    while frame.more:
        frame = recv(sock, 0, False, False)
        frames.append(frame.bytes)
    return frames


# Requests larger than this get an error reply (kernel.max_message_bytes).
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# ZeroMQ itself drops (and disconnects) a peer sending a frame larger than this many times the
# limit, before any of it is buffered: memory stays bounded whatever a client sends.
_HARD_LIMIT_FACTOR = 2

# IOPub is an XPUB socket (JEP 65): every new subscription gets an `iopub_welcome`, and until
# the first subscriber is there messages are held rather than dropped, so a client that runs
# code right after starting (or restarting) a kernel sees its output. The hold ends with the
# first subscription, or after HOLD_SECONDS / HOLD_BYTES without one.
HOLD_SECONDS = 30.0
HOLD_BYTES = 16 * 1024 * 1024
SUBSCRIPTION_POLL_SECONDS = 0.05

_SOCKET_PORTS = {
    SHELL: "shell_port",
    CONTROL: "control_port",
    STDIN: "stdin_port",
    IOPUB: "iopub_port",
}


class ZmqKernelTransport(KernelTransport):
    """Kernel side: binds the sockets named by `info` (port 0 = pick a free one, recorded back)."""

    def __init__(
        self,
        info: ConnectionInfo,
        kernel_id: str = "llmspell",
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.info = info
        self.kernel_id = kernel_id
        self.max_message_bytes = max(0, int(max_message_bytes))
        self.context = zmq.Context()
        # One replay history for the whole kernel: a message is fresh once, on any channel.
        self.replay = ReplayGuard()
        self.wire_in = {
            channel: Wire(info.key, replay=self.replay, max_bytes=self.max_message_bytes)
            for channel in (SHELL, CONTROL, STDIN)
        }
        self.wire_out = Wire(info.key)
        self._iopub_lock = threading.Lock()
        self._closed = threading.Event()
        self.rejected = 0
        self.sockets: dict[str, zmq.Socket[Any]] = {}
        self._welcomes = MessageFactory()
        self._topics: dict[str, bytes] = {}  # IOPub topic of each message type
        self.subscribed = False  # a subscriber has been there (see HOLD_SECONDS)
        self._held: list[list[bytes]] = []
        self._held_bytes = 0
        self._hold_until = time.monotonic() + HOLD_SECONDS
        kinds = {SHELL: zmq.ROUTER, CONTROL: zmq.ROUTER, STDIN: zmq.ROUTER, IOPUB: zmq.XPUB}
        try:
            for channel, kind in kinds.items():
                sock = self.context.socket(kind)
                sock.linger = 0
                if kind == zmq.ROUTER:
                    sock.router_handover = 1
                    if self.max_message_bytes:
                        sock.maxmsgsize = self.max_message_bytes * _HARD_LIMIT_FACTOR
                if kind == zmq.XPUB:
                    sock.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscriber is welcomed
                self._bind(sock, _SOCKET_PORTS[channel])
                self.sockets[channel] = sock
            # ROUTER rather than REP, as ipykernel: no send/receive state to wedge.
            self._hb = self.context.socket(zmq.ROUTER)
            self._hb.linger = 0
            self._hb.maxmsgsize = 64 * 1024
            self._bind(self._hb, "hb_port")
        except zmq.ZMQError as exc:
            self.context.destroy(linger=0)
            raise OSError(f"cannot bind {info.ip}: {exc}") from exc
        # wake() makes this pipe readable: the shell and control threads poll it beside their
        # socket, so a shutdown ends their waits at once instead of after a poll period.
        self._wake_read, self._wake_write = os.pipe()
        self._pollers: dict[str, zmq.Poller] = {}
        for channel in (SHELL, CONTROL):
            poller = zmq.Poller()
            poller.register(self.sockets[channel], zmq.POLLIN)
            poller.register(self._wake_read, zmq.POLLIN)
            self._pollers[channel] = poller
        self._hb_thread = threading.Thread(
            target=self._heartbeat, name="llmspell-heartbeat", daemon=True
        )
        self._hb_thread.start()
        self._sub_thread = threading.Thread(
            target=self._watch_subscriptions, name="llmspell-iopub", daemon=True
        )
        self._sub_thread.start()

    def _watch_subscriptions(self) -> None:
        """Welcome subscribers while nothing is being published (publish() does it too)."""
        while not self._closed.wait(SUBSCRIPTION_POLL_SECONDS):
            with self._iopub_lock:
                if self._closed.is_set():
                    return
                try:
                    self._take_subscriptions()
                except zmq.ZMQError as exc:
                    log.debug("iopub subscriptions: %s", exc)

    def _take_subscriptions(self) -> None:
        """Read subscription frames (under _iopub_lock): welcome each, release held messages."""
        sock = self.sockets[IOPUB]
        while _readable(sock):
            frame = sock.recv(zmq.NOBLOCK)
            if not frame or frame[0] != 1:  # 0: an unsubscription
                continue
            topic = frame[1:]
            log.debug("iopub subscription %r", topic)
            welcome = self._welcomes.message(
                "iopub_welcome", {"subscription": topic.decode("utf-8", "replace")}
            )
            ident = topic or f"kernel.{self.kernel_id}.iopub_welcome".encode()
            _send_frames(sock, self.wire_out.serialize(welcome, [ident]))
            if not self.subscribed:
                self.subscribed = True
                held, self._held, self._held_bytes = self._held, [], 0
                for frames in held:
                    _send_frames(sock, frames)
        if not self.subscribed and self._held and time.monotonic() > self._hold_until:
            log.debug("no iopub subscriber; dropping %d held messages", len(self._held))
            self._held, self._held_bytes = [], 0

    def _bind(self, sock: zmq.Socket[Any], port_name: str) -> None:
        host = f"[{self.info.ip}]" if ":" in self.info.ip else self.info.ip
        if ":" in self.info.ip:
            sock.ipv6 = True
        port = self.info.ports[port_name]
        if port:
            sock.bind(f"tcp://{host}:{port}")
        else:
            self.info.ports[port_name] = sock.bind_to_random_port(f"tcp://{host}")

    def _heartbeat(self) -> None:
        """Echo pings in C until the context is terminated (close())."""
        try:
            zmq.proxy(self._hb, self._hb)
        except zmq.ZMQError as exc:
            if exc.errno != zmq.ETERM:
                log.warning("the heartbeat stopped: %s", exc)
        finally:
            self._hb.close(linger=0)

    def _recv(self, channel: str, timeout: float) -> Incoming | None:
        sock = self.sockets[channel]
        poller = self._pollers[channel]
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            try:
                if not _readable(sock):  # a request already queued is read at once
                    remaining = max(0.0, deadline - time.monotonic())
                    if sock not in dict(poller.poll(int(remaining * 1000))):
                        return None  # the time is up, or wake()
                frames = _recv_frames(sock)
            except zmq.ZMQError:
                return None
            try:
                identities, msg = self.wire_in[channel].deserialize(frames)
            except RefusedMessage as exc:
                self.rejected += 1
                log.warning("refused a %s message on %s: %s", exc.msg["msg_type"], channel, exc)
                return Incoming(channel, exc.msg, exc.identities, refused=str(exc))
            except WireError as exc:
                self.rejected += 1
                log.warning("rejected a message on %s: %s", channel, exc)
                if time.monotonic() >= deadline:
                    return None
                continue
            return Incoming(channel, msg, identities)
        return None

    def recv_shell(self, timeout: float) -> Incoming | None:
        return self._recv(SHELL, timeout)

    def recv_control(self, timeout: float) -> Incoming | None:
        return self._recv(CONTROL, timeout)

    def shell_waiting(self) -> bool:
        try:
            return _readable(self.sockets[SHELL])
        except zmq.ZMQError:
            return False

    def reply(self, incoming: Incoming, msg: Message) -> None:
        if self._closed.is_set():
            return
        try:
            _send_frames(self.sockets[incoming.channel], self.wire_out_for(msg, incoming.route))
        except zmq.ZMQError as exc:
            log.warning("could not send %s: %s", msg["header"]["msg_type"], exc)

    def wire_out_for(self, msg: Message, identities: list[bytes]) -> list[bytes]:
        with self._iopub_lock:
            return self.wire_out.serialize(msg, identities)

    def publish(self, msg: Message) -> None:
        if self._closed.is_set():
            return
        msg_type = msg["header"]["msg_type"]
        topic = self._topics.get(msg_type)
        if topic is None:
            topic = self._topics[msg_type] = f"kernel.{self.kernel_id}.{msg_type}".encode()
        with self._iopub_lock:
            frames = self.wire_out.serialize(msg, [topic])
            try:
                self._take_subscriptions()
                if (
                    not self.subscribed
                    and time.monotonic() < self._hold_until
                    and self._held_bytes < HOLD_BYTES
                ):
                    self._held.append(frames)  # nobody could receive it yet
                    self._held_bytes += sum(len(frame) for frame in frames)
                    return
                _send_frames(self.sockets[IOPUB], frames)
            except zmq.ZMQError as exc:
                log.warning("could not publish %s: %s", msg["header"]["msg_type"], exc)

    def request_input(
        self, incoming: Incoming, msg: Message, should_stop: Callable[[], bool]
    ) -> Message | None:
        sock = self.sockets[STDIN]
        # Drop stale replies (an earlier request that was interrupted).
        while sock.poll(0):
            sock.recv_multipart()
        sock.send_multipart(self.wire_out_for(msg, incoming.route))
        while not should_stop() and not self._closed.is_set():
            if not sock.poll(50):
                continue
            try:
                _identities, reply = self.wire_in[STDIN].deserialize(sock.recv_multipart())
            except WireError as exc:
                log.warning("rejected a message on stdin: %s", exc)
                continue
            if reply["header"]["msg_type"] == "input_reply":
                return reply
        return None

    def wake(self) -> None:
        """End the waits of recv_shell / recv_control now (shutdown); every later one too."""
        try:
            os.write(self._wake_write, b"x")
        except OSError:  # closed already
            pass

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self.wake()
        with self._iopub_lock:  # the subscription watcher is not inside the socket
            for sock in self.sockets.values():
                sock.close(linger=0)
        self.context.term()  # ends the heartbeat's proxy, which closes its socket
        self._hb_thread.join(timeout=1)
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)


class ZmqClientTransport(ClientTransport):
    """Client side: DEALER shell/control/stdin (one identity) and SUB iopub."""

    def __init__(self, info: ConnectionInfo, session_id: str) -> None:
        self.info = info
        self.describe = f"{info.ip}:{info.shell_port}"
        self.context = zmq.Context()
        self.wire_out = Wire(info.key)
        self.wire_in = Wire(info.key)
        identity = session_id.encode()
        self.sockets: dict[str, zmq.Socket[Any]] = {}
        for channel, kind in (
            (SHELL, zmq.DEALER),
            (CONTROL, zmq.DEALER),
            (STDIN, zmq.DEALER),
            (IOPUB, zmq.SUB),
        ):
            sock = self.context.socket(kind)
            sock.linger = 0
            if kind == zmq.DEALER:
                sock.identity = identity
            else:
                sock.setsockopt(zmq.SUBSCRIBE, b"")
            if ":" in info.ip:
                sock.ipv6 = True
            sock.connect(info.url(_SOCKET_PORTS[channel]))
            self.sockets[channel] = sock
        self._poller = zmq.Poller()
        self._channel_of: dict[Any, str] = {}
        for channel, sock in self.sockets.items():
            self._poller.register(sock, zmq.POLLIN)
            self._channel_of[sock] = channel
        self._ready: list[tuple[str, Message]] = []
        self.welcomed = False

    def send(self, channel: str, msg: Message) -> None:
        _send_frames(self.sockets[channel], self.wire_out.serialize(msg))

    def recv(self, timeout: float | None) -> tuple[str, Message] | None:
        if self._ready:
            return self._ready.pop(0)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # In POLL_SLICE waits, for Ctrl-C (see transport/base.py).
            wait = POLL_SLICE if deadline is None else max(0.0, deadline - time.monotonic())
            events = dict(self._poller.poll(int(min(wait, POLL_SLICE) * 1000)))
            for sock, channel in self._channel_of.items():
                if sock in events:
                    try:
                        _ids, msg = self.wire_in.deserialize(_recv_frames(sock))
                    except WireError:
                        continue
                    if channel == IOPUB and msg["header"].get("msg_type") == "iopub_welcome":
                        self.welcomed = True  # our subscription (or another's) is live
                        continue
                    self._ready.append((channel, msg))
            if self._ready:
                return self._ready.pop(0)
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def heartbeat(self, timeout: float = 1.0) -> bool:
        """True when the kernel's heartbeat answers within `timeout`."""
        sock = self.context.socket(zmq.REQ)
        sock.linger = 0
        try:
            sock.connect(self.info.url("hb_port"))
            sock.send(b"ping")
            return bool(sock.poll(int(timeout * 1000)))
        finally:
            sock.close(linger=0)

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close(linger=0)
        self.context.term()


def wait_until_ready(client: Any, timeout: float) -> None:
    """Send kernel_info on the control channel (answered even while the kernel is busy) until
    both its reply and an IOPub message for it arrive: then the SUB socket is surely subscribed.
    Raises KernelConnectionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    transport: ZmqClientTransport = client.transport
    while time.monotonic() < deadline:
        msg = client.send(CONTROL, "kernel_info_request", {}, track=False)
        msg_id = msg["header"]["msg_id"]
        got_reply = got_iopub = False
        attempt_end = min(deadline, time.monotonic() + 0.5)
        while time.monotonic() < attempt_end and not (got_reply and got_iopub):
            item = transport.recv(max(0.0, attempt_end - time.monotonic()))
            if item is None:
                break
            channel, reply = item
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                got_reply = got_reply or channel == CONTROL
                got_iopub = got_iopub or channel == IOPUB
        if got_reply and got_iopub:
            return
    raise KernelConnectionError(
        f"no kernel answered at {transport.describe} within {timeout:g} s",
        hint="is it running? `llmspell kernel status` lists kernels",
    )
