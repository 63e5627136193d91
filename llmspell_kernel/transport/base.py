"""The transport interfaces: what the kernel and the client need from a way of moving messages.

The kernel's handlers never see which transport carries a message; `protocol` defines the
messages, the transport moves them (the httpx split: one client API, interchangeable transports).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from llmspell_kernel.protocol.message import Message

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SHELL, CONTROL, STDIN, IOPUB = "shell", "control", "stdin", "iopub"

# The longest a client blocks in one wait for the kernel. A SIGINT whose handler runs just
# before a blocking call starts (or on another thread) does not end that call: Python raises
# KeyboardInterrupt only when it next runs bytecode, so a client waiting on a silent kernel
# wakes this often to honour Ctrl-C.
POLL_SLICE = 0.1


class Incoming:
    """A request that reached the kernel: the message, its channel and how to answer its sender.

    `refused` says why a signed message is not processed (too large, nested too deeply): then
    `msg` holds only its header and parent_header, enough to answer with an error reply.
    """

    __slots__ = ("channel", "msg", "refused", "route")

    def __init__(self, channel: str, msg: Message, route: Any, refused: str | None = None) -> None:
        self.channel = channel
        self.msg = msg
        self.route = route
        self.refused = refused


class KernelTransport(ABC):
    """Kernel side: receive requests, send replies, publish on IOPub, ask for input."""

    # Largest request accepted (0: no limit).
    max_message_bytes: int = 0
    # True when clients run in this process, as this user: then a `script_path` they send names
    # a file of this machine, and its directory may become a readable root. A remote client's
    # paths are only names (for tracebacks and arg[0]).
    local_clients: bool = False

    @abstractmethod
    def recv_shell(self, timeout: float) -> Incoming | None:
        """Next shell request (called by the executor thread only)."""

    @abstractmethod
    def recv_control(self, timeout: float) -> Incoming | None:
        """Next control request (called by the control thread only)."""

    @abstractmethod
    def reply(self, incoming: Incoming, msg: Message) -> None:
        """Send `msg` to the sender of `incoming`, on the channel it came from."""

    @abstractmethod
    def publish(self, msg: Message) -> None:
        """Broadcast on IOPub to every client (thread-safe)."""

    @abstractmethod
    def request_input(
        self, incoming: Incoming, msg: Message, should_stop: Callable[[], bool]
    ) -> Message | None:
        """Send an input_request to the sender of `incoming` and wait for its input_reply.

        Returns None when `should_stop()` becomes true (interrupt) or the client is gone.
        """

    def shell_waiting(self) -> bool:
        """Whether a shell request is already waiting (executor thread only; False when the
        transport cannot tell)."""
        return False

    def others_listen(self, route: object) -> bool:
        """Whether a client other than `route` (the sender of the request being run; None:
        any client) may show IOPub traffic that is not its own, such as the kernel's event
        messages. True when the transport cannot tell (a network kernel's subscribers)."""
        return True

    def wake(self) -> None:  # noqa: B027 - optional hook
        """Unblock `recv_shell` / `recv_control` waiters (used on shutdown)."""

    @abstractmethod
    def close(self) -> None:
        """Release everything the transport holds."""


class ClientTransport(ABC):
    """Client side: send on a channel, receive whatever arrives next from any channel."""

    @abstractmethod
    def send(self, channel: str, msg: Message) -> None:
        """Send a request (shell, control) or an input_reply (stdin)."""

    @abstractmethod
    def recv(self, timeout: float | None) -> tuple[str, Message] | None:
        """Next (channel, message) from the kernel, or None after `timeout` seconds."""

    @abstractmethod
    def close(self) -> None:
        """Disconnect."""

    describe: str = "embedded"
    # Whether this client shows IOPub traffic of other clients' requests (KernelClient sets it
    # with its `on_foreign`); an in-process kernel publishes its events only when one does.
    wants_foreign: bool = False
