"""A small Debug Adapter Protocol client for tests: Content-Length framing over pipes or TCP."""

from __future__ import annotations

import json
import queue
import socket
import threading
from typing import Any, BinaryIO


class DapClient:
    """Sends requests, collects responses and events (a reader thread sorts them)."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer
        self._seq = 0
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.sock: socket.socket | None = None
        threading.Thread(target=self._read_loop, daemon=True).start()

    @classmethod
    def tcp(cls, port: int) -> DapClient:
        """A client on 127.0.0.1:port (its socket is `client.sock`)."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.settimeout(None)
        client = cls(sock.makefile("rb"), sock.makefile("wb"))
        client.sock = sock
        return client

    def _read_loop(self) -> None:
        try:
            self._read_messages()
        except (OSError, ValueError):  # reset by the server, or closed by the test
            pass
        self.events.put({"event": "<eof>"})

    def _read_messages(self) -> None:
        while True:
            headers: dict[str, str] = {}
            while True:
                line = self._reader.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            message = json.loads(self._reader.read(int(headers["content-length"])))
            if message["type"] == "response":
                self._box(message["request_seq"]).put(message)
            else:
                self.seen.append(message)
                self.events.put(message)

    def _box(self, seq: int) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            return self._responses.setdefault(seq, queue.Queue())

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (framing of the test's own making)."""
        self._writer.write(data)
        self._writer.flush()

    def send(self, command: str, **arguments: Any) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
        data = json.dumps(
            {"seq": seq, "type": "request", "command": command, "arguments": arguments}
        ).encode()
        self._writer.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self._writer.flush()
        return seq

    def response(self, seq: int, timeout: float = 10.0) -> dict[str, Any]:
        return self._box(seq).get(timeout=timeout)

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send and wait; fails the test unless the response is successful."""
        response = self.response(self.send(command, **arguments))
        assert response["success"], f"{command} failed: {response.get('message')}"
        return response.get("body") or {}

    def wait_event(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next event called `name` (other events are kept in `seen`)."""
        while True:
            event = self.events.get(timeout=timeout)
            if event["event"] in (name, "<eof>"):
                assert event["event"] == name, f"connection closed while waiting for {name}"
                return event.get("body") or {}

    def output(self) -> str:
        return "".join(e["body"]["output"] for e in self.seen if e["event"] == "output")

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Wait until the server closed the connection (events before it are kept in `seen`)."""
        while self.events.get(timeout=timeout)["event"] != "<eof>":
            pass

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
