"""HTTP for the NET tools: one request through httpx2 with every hop (redirects included) past
the NET gate, a timeout, retries on 5xx and connection errors, and a capped body."""

from __future__ import annotations

import time

from llmspell_kernel.records import Record  # (not dataclasses: see records.py)
from llmspell_kernel.tools.base import Params, ToolError, ToolFailure

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_BODY = 10 * 1024 * 1024
RETRIED = (429, 500, 502, 503, 504)


class HttpReply(Record):
    __slots__ = (
        "status_code",
        "reason",
        "headers",
        "body",
        "url",
        "attempts",
        "data",
        "elapsed_ms",
    )

    def __init__(
        self,
        status_code: int,
        reason: str,
        headers: dict[str, str],
        body: str,
        url: str,
        attempts: int,
        data: bytes = b"",  # the body's bytes (decoded as `body`)
        elapsed_ms: float = 0.0,  # the last attempt, redirects included
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.body = body
        self.url = url
        self.attempts = attempts
        self.data = data
        self.elapsed_ms = elapsed_ms

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case ("" when not sent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def send(
    context: Any,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float | None = None,
    attempts: int = 1,
    backoff_ms: float = 200.0,
) -> HttpReply:
    """Send a request; operational failures (no connection, timeout) raise ToolFailure."""
    import httpx2

    settings = context.settings
    limit = timeout if timeout is not None else settings.http_timeout_seconds
    attempt = 0
    with httpx2.Client(timeout=limit, follow_redirects=False, trust_env=False) as client:
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                reply = _follow(client, context, method, url, headers, content)
                reply.elapsed_ms = (time.perf_counter() - started) * 1000.0
            except httpx2.TimeoutException:
                failure = f"timed out after {limit:g} s: {url}"
            except httpx2.HTTPError as exc:
                failure = f"request to {url} failed: {exc}"
            else:
                if reply.status_code not in RETRIED or attempt >= attempts:
                    reply.attempts = attempt
                    return reply
                failure = ""
            if attempt >= attempts:
                raise ToolFailure(failure)
            time.sleep(backoff_ms * (2 ** (attempt - 1)) / 1000.0)


def _follow(
    client: Any,
    context: Any,
    method: str,
    url: str,
    headers: dict[str, str] | None,
    content: bytes | None,
) -> HttpReply:
    hops = context.settings.max_redirects
    for _ in range(hops + 1):
        context.url(url)
        with client.stream(method, url, headers=headers, content=content) as response:
            if response.is_redirect and "location" in response.headers:
                url = str(response.url.join(response.headers["location"]))
                if response.status_code in (301, 302, 303) and method != "HEAD":
                    method, content = "GET", None
                continue
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise ToolFailure(f"the response of {url} is larger than {MAX_BODY} bytes")
            return HttpReply(
                response.status_code,
                response.reason_phrase,
                {k.lower(): v for k, v in response.headers.items()},
                bytes(body).decode(response.encoding or "utf-8", errors="replace"),
                url,
                1,
                bytes(body),
            )
    raise ToolFailure(f"more than {hops} redirects (tools.http_request.max_redirects)")


def authorise(headers: dict[str, str], auth: dict[str, Any]) -> None:
    """Add the Authorization (or API key) header `auth` describes: {type=bearer, token},
    {type=basic, username, password} or {type=api_key, header, key}."""
    if not auth:
        return
    a = Params(auth)
    kind = a.choice("type", ("bearer", "basic", "api_key"), required=True)
    if kind == "bearer":
        headers["Authorization"] = "Bearer " + a.text("token", required=True)
    elif kind == "basic":
        pair = f"{a.text('username', required=True)}:{a.text('password', '')}"
        import base64

        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        header = a.text("header", "X-API-Key")
        if not header.strip():
            raise ToolError("auth.header must not be empty")
        headers[header] = a.text("key", required=True)


def body_content(body: Any, headers: dict[str, str]) -> bytes | None:
    """A request body: a table is sent as JSON (Content-Type set unless given), text as UTF-8."""
    if isinstance(body, dict | list):
        import json

        headers.setdefault("Content-Type", "application/json")
        return json.dumps(body).encode("utf-8")
    return None if body is None else str(body).encode("utf-8")


def parsed_json(reply: HttpReply) -> Any:
    """The body as JSON when the reply says it is JSON (None otherwise or when it is not)."""
    if "json" not in reply.content_type:
        return None
    import json

    try:
        return json.loads(reply.body)
    except ValueError:
        return None
