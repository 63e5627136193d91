"""A local HTTP server speaking the real OpenAI `/v1/embeddings` wire format (JSON request
`{model, input: [...], encoding_format, dimensions?}`, reply `{object: "list", data: [{object:
"embedding", index, embedding}], model, usage: {prompt_tokens, total_tokens}}`), with scripted
failures; the stand-in for a remote embedding service in the RAG tests.

The vectors are whatever the test's `vectorize(text)` gives (the tests use the real offline
model, so that search results are meaningful)."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EmbeddingServer:
    """Serves /v1/embeddings; `failures` holds statuses to answer before the next success."""

    def __init__(self, vectorize: Callable[[str], list[float]]) -> None:
        self.vectorize = vectorize
        self.failures: deque[int] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if not self.path.endswith("/embeddings"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if server.failures:
                    status = server.failures.popleft()
                    return self._send(status, {"error": {"message": "scripted failure"}})
                inputs = body.get("input")
                texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
                data = [
                    {"object": "embedding", "index": i, "embedding": server.vectorize(text)}
                    for i, text in enumerate(texts)
                ]
                data.reverse()  # the format gives `index`; clients must not rely on order
                tokens = sum(len(text.split()) for text in texts)
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model"),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _send(self, status: int, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@contextmanager
def embedding_server(vectorize: Callable[[str], list[float]]) -> Iterator[EmbeddingServer]:
    """A running server for the duration of the block."""
    server = EmbeddingServer(vectorize)
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
