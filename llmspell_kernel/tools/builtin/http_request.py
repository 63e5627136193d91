"""http_request: any HTTP method with headers, JSON bodies, auth and retries (NET gate)."""

from __future__ import annotations

import time

from llmspell_kernel.events.model import rfc3339  # (not datetime: ~0.8 ms to import)
from llmspell_kernel.tools.base import Params, ToolResponse
from llmspell_kernel.tools.http import authorise, body_content, parsed_json, send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def request_parts(params: Params, context: Any) -> tuple[str, str, dict[str, str], bytes | None]:
    """(URL past the NET gate, method, headers with auth, body) of http_request's parameters,
    which api-tester shares."""
    url = params.text("input", required=True, aliases=("url",))
    context.url(url)
    method = params.choice("method", METHODS, "get").upper()
    headers = {str(k): str(v) for k, v in params.table("headers").items()}
    authorise(headers, params.table("auth"))
    return url, method, headers, body_content(params.value("body"), headers)


def run(params: Params, context: Any) -> ToolResponse:
    url, method, headers, content = request_parts(params, context)
    retry = Params(params.table("retry"))
    reply = send(
        context,
        method,
        url,
        headers=headers,
        content=content,
        timeout=params.number("timeout", None),
        attempts=max(1, retry.integer("max_attempts", 1)),
        backoff_ms=retry.number("backoff_ms", 200.0),
    )
    result: dict[str, Any] = {
        "status_code": reply.status_code,
        "headers": reply.headers,
        "body": reply.body,
        "url": reply.url,
        "timestamp": rfc3339(time.time()),
    }
    document = parsed_json(reply)
    if document is not None:
        result["json"] = document
    ok = reply.status_code < 400
    return ToolResponse(
        result=result,
        text=reply.body,
        success=ok,
        error=None if ok else f"HTTP {reply.status_code} {reply.reason}",
    )
