"""One request and its reply on a kernel's ROUTER socket, over a plain TCP socket.

`llmspell kernel stop` sends one `shutdown_request` and has to finish within 100 ms (issue 19);
importing pyzmq (its Cython backend, constants, `platform`, `pickle`, `enum`) and the full
client costs 20-50 ms of that, more than the request and the kernel's exit together. This speaks
the part of ZMTP 3.0 (https://rfc.zeromq.org/spec/23/) a DEALER needs for that: the NULL
security mechanism (what Jupyter kernels use: the messages carry their own HMAC signature), the
READY handshake, and message frames. Anything the peer sends that this does not expect (another
mechanism, an ERROR command, a malformed frame) is a KernelConnectionError, as no reply is.
"""

from __future__ import annotations

# The C halves of `socket` and `hmac`: socket.py converts its constants to enums and imports
# selectors (~4 ms), hashlib/hmac load OpenSSL (~4 ms); the builtin SHA-256 signs as well.
import _socket as socket
import json
import time

try:
    from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]  # Python 3.11
except ImportError:  # 3.12 and later, or a build without it
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,no-redef,unused-ignore]
from _operator import _compare_digest as compare_digest

from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.protocol.message import MessageFactory

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DELIMITER = b"<IDS|MSG>"
# signature (0xFF, 8 bytes of padding, 0x7F), version 3.0, mechanism NULL, as-server 0, filler
GREETING = (
    b"\xff" + b"\x00" * 7 + b"\x01\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
)
_MORE, _LONG, _COMMAND = 0x01, 0x02, 0x04
_MAX_FRAME = 64 * 1024 * 1024  # a reply to a control request is small; refuse anything absurd


def _command(name: bytes, properties: dict[bytes, bytes]) -> bytes:
    body = bytes([len(name)]) + name
    for key, value in properties.items():
        body += bytes([len(key)]) + key + len(value).to_bytes(4, "big") + value
    return _frame(body, _COMMAND)


def _frame(body: bytes, flags: int) -> bytes:
    if len(body) > 255:
        return bytes([flags | _LONG]) + len(body).to_bytes(8, "big") + body
    return bytes([flags, len(body)]) + body


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise KernelConnectionError("the kernel closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def frame(self) -> tuple[int, bytes]:
        flags = self.take(1)[0]
        size = int.from_bytes(self.take(8 if flags & _LONG else 1), "big")
        if size > _MAX_FRAME:
            raise KernelConnectionError(f"a frame of {size} bytes from the kernel")
        return flags, self.take(size)

    def message(self) -> list[bytes]:
        """The next message's frames (commands between messages, such as PING, are skipped)."""
        frames: list[bytes] = []
        while True:
            flags, body = self.frame()
            if flags & _COMMAND:
                if frames:
                    raise KernelConnectionError("a ZMTP command inside a message")
                continue
            frames.append(body)
            if not flags & _MORE:
                return frames


def _handshake(reader: _Reader) -> None:
    reader.sock.sendall(GREETING + _command(b"READY", {b"Socket-Type": b"DEALER"}))
    greeting = reader.take(64)
    if greeting[0] != 0xFF or greeting[9] != 0x7F or greeting[10] < 3:
        raise KernelConnectionError("the kernel's port does not speak ZMTP 3")
    if greeting[12:32].rstrip(b"\x00") != b"NULL":
        mechanism = greeting[12:32].rstrip(b"\x00").decode("ascii", "replace")
        raise KernelConnectionError(f"the kernel asks for ZMTP security mechanism {mechanism}")
    flags, body = reader.frame()
    name = body[1 : 1 + body[0]] if body else b""
    if not flags & _COMMAND or name != b"READY":
        detail = body[1 + len(name) :].decode("utf-8", "replace") if name == b"ERROR" else ""
        raise KernelConnectionError(f"the kernel refused the connection {detail}".rstrip())


def request(
    connection: dict[str, Any],
    port_name: str,
    msg_type: str,
    content: dict[str, Any],
    timeout: float,
) -> dict[str, Any]:
    """Send `msg_type` to the socket at `connection[port_name]` (a Jupyter connection file's
    contents, tcp transport) and return its reply's content; KernelConnectionError when the
    kernel cannot be reached or does not answer (correctly signed) within `timeout` seconds."""
    key = str(connection.get("key", "")).encode("ascii")
    scheme = connection.get("signature_scheme", "hmac-sha256")
    if key and scheme != "hmac-sha256":
        raise KernelConnectionError(f"unsupported signature scheme {scheme!r}")
    header = MessageFactory().header(msg_type)
    msg_id = header["msg_id"]
    parts = [_dumps(header), b"{}", b"{}", _dumps(content)]
    frames = [DELIMITER, sign(key, parts), *parts]
    deadline = time.monotonic() + timeout
    address = (str(connection["ip"]), int(connection[port_name]))
    try:
        # not create_connection: its getaddrinfo imports the idna codec (~5 ms) for any host
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = _Reader(sock, deadline)
            _handshake(reader)
            last = len(frames) - 1
            sock.sendall(
                b"".join(_frame(f, 0 if i == last else _MORE) for i, f in enumerate(frames))
            )
            while True:
                reply = _verified(key, reader.message())
                if reply is not None and reply[0].get("msg_id") == msg_id:
                    return reply[1]
        finally:
            sock.close()
    except TimeoutError:  # socket.timeout is TimeoutError
        raise KernelConnectionError(f"no reply to {msg_type} within {timeout:g} s") from None
    except OSError as exc:
        raise KernelConnectionError(f"cannot reach the kernel at {address}: {exc}") from exc


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(key: bytes, parts: list[bytes]) -> bytes:
    """The hex HMAC-SHA256 (RFC 2104) of `parts` a Jupyter message carries; empty without key."""
    if not key:
        return b""
    if len(key) > 64:  # SHA-256's block size
        key = sha256(key).digest()
    key = key.ljust(64, b"\x00")
    inner = sha256(bytes(byte ^ 0x36 for byte in key))
    for part in parts:
        inner.update(part)
    outer = sha256(bytes(byte ^ 0x5C for byte in key))
    outer.update(inner.digest())
    return outer.hexdigest().encode("ascii")


def _verified(key: bytes, frames: list[bytes]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(parent_header, content) of a correctly signed reply; None for anything else."""
    if DELIMITER not in frames:
        return None
    body = frames[frames.index(DELIMITER) + 1 :]
    if len(body) < 5 or not compare_digest(body[0], sign(key, body[1:5])):
        return None
    try:
        parent, content = json.loads(body[2]), json.loads(body[4])
    except ValueError:
        return None
    if not isinstance(parent, dict) or not isinstance(content, dict):
        return None
    return parent, content
