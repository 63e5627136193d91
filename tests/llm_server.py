"""A local HTTP server speaking the real OpenAI Chat Completions and Anthropic Messages wire
formats (JSON, SSE, tool calls, usage) with scripted replies and failures; the only stand-in for
a remote LLM service in the tests."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply: a status with a JSON body or SSE events, or a failure mode.

    `events`: SSE events (dicts; `(name, dict)` pairs for Anthropic's named events).
    `drop_after`: close the connection after that many events. `hang`: never answer (until the
    server stops). `raw`: a body sent verbatim (malformed JSON). `gate`: wait for this event
    after the first token (lets a test see it arrive before the next is produced). `delay`:
    seconds to wait before answering (a slow provider; concurrent requests wait side by side).
    `together`: a barrier the request waits at before answering (at most 30 s; then it is broken
    and the request answers anyway): replies sharing it answer only once all are in flight.
    """

    status: int = 200
    body: Any = None
    events: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop_after: int | None = None
    hang: bool = False
    raw: str | None = None
    gate: threading.Event | None = None
    delay: float = 0.0
    together: threading.Barrier | None = None


@dataclass
class Seen:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


def openai_text(text: str, *, model: str = "gpt-4o-mini", prompt: int = 9, completion: int = 3):
    """A Chat Completions reply with text and usage."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def openai_tool_call(name: str, arguments: dict[str, Any], call_id: str = "call_1"):
    """A Chat Completions reply asking for one tool call."""
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": json.dumps(arguments)},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }


def openai_stream(pieces: list[str], *, model: str = "gpt-4o-mini") -> list[Any]:
    """SSE chunks of a streamed Chat Completions reply, usage last (include_usage)."""
    events: list[Any] = [
        {
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        }
    ]
    events += [
        {
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
        }
        for p in pieces
    ]
    events.append(
        {
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    events.append(
        {
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": len(pieces),
                "total_tokens": 7 + len(pieces),
            },
        }
    )
    return events


def anthropic_text(text: str, *, model: str = "claude-3-haiku-20240307"):
    """A Messages reply with one text block and usage."""
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 11, "output_tokens": 4},
    }


def anthropic_tool_use(name: str, arguments: dict[str, Any], call_id: str = "toolu_1"):
    """A Messages reply asking for one tool."""
    return {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-haiku-20240307",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": call_id, "name": name, "input": arguments},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 30, "output_tokens": 8},
    }


def anthropic_stream(pieces: list[str]) -> list[Any]:
    """Named SSE events of a streamed Messages reply."""
    events: list[Any] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_3",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-3-haiku-20240307",
                    "content": [],
                    "usage": {"input_tokens": 12, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in pieces
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": len(pieces)},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def error_body(kind: str, message: str) -> dict[str, Any]:
    """The error object both APIs send (OpenAI's shape; Anthropic adds `type: error`)."""
    return {"type": "error", "error": {"type": kind, "message": message}}


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of concurrent connections (a parallel
    # workflow's agents) overflows it and the kernel retries the SYNs a second later.
    request_queue_size = 128


class ScriptedLLMServer:
    """Serves scripted replies in order on 127.0.0.1 (OpenAI under /v1, Anthropic /v1/messages)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """`tls`: serve HTTPS with this server-side context (tests/tls.py makes one)."""
        self.replies: deque[Reply] = deque()
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every reply.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                owner.seen.append(
                    Seen(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                reply = (
                    owner.replies.popleft()
                    if owner.replies
                    else Reply(500, error_body("server_error", "no scripted reply left"))
                )
                owner._answer(self, reply)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.tls = tls
        if tls is not None:  # the handshake runs in each connection's thread, on first read
            self.httpd.socket = tls.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _answer(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.hang:
            self._stop.wait()
            return
        if reply.delay:
            self._stop.wait(reply.delay)
        if reply.together is not None:
            try:
                reply.together.wait(30)
            except threading.BrokenBarrierError:
                pass  # the test sees barrier.broken
        if reply.events is not None:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Cache-Control", "no-cache")
            handler.send_header("Transfer-Encoding", "chunked")
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            for index, event in enumerate(self._frames(reply.events)):
                if reply.drop_after is not None and index >= reply.drop_after:
                    handler.wfile.flush()
                    handler.close_connection = True
                    handler.connection.shutdown(2)  # no final chunk: the reply is cut off
                    return
                if reply.gate is not None and index == 2:  # after the first token
                    reply.gate.wait(30)
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            return
        data = (reply.raw if reply.raw is not None else json.dumps(reply.body)).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _frames(events: list[Any]) -> Iterator[bytes]:
        for event in events:
            if isinstance(event, tuple):
                name, data = event
                yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            else:
                yield f"data: {json.dumps(event)}\n\n".encode()
        if events and not isinstance(events[0], tuple):
            yield b"data: [DONE]\n\n"

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
