"""http_request: any HTTP method with headers, JSON bodies, auth and retries (NET gate)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.http import send

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def run(params: Params, context: Any) -> ToolResponse:
    url = params.text("input", required=True, aliases=("url",))
    context.url(url)
    method = params.choice("method", METHODS, "get").upper()
    headers = {str(k): str(v) for k, v in params.table("headers").items()}
    _authorise(headers, params.table("auth"))
    body = params.value("body")
    content = None
    if isinstance(body, dict | list):
        content = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    elif body is not None:
        content = str(body).encode("utf-8")
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
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if "json" in reply.headers.get("content-type", ""):
        try:
            result["json"] = json.loads(reply.body)
        except ValueError:
            pass
    ok = reply.status_code < 400
    return ToolResponse(
        result=result,
        text=reply.body,
        success=ok,
        error=None if ok else f"HTTP {reply.status_code} {reply.reason}",
    )


def _authorise(headers: dict[str, str], auth: dict[str, Any]) -> None:
    if not auth:
        return
    a = Params(auth)
    kind = a.choice("type", ("bearer", "basic", "api_key"), required=True)
    if kind == "bearer":
        headers["Authorization"] = "Bearer " + a.text("token", required=True)
    elif kind == "basic":
        pair = f"{a.text('username', required=True)}:{a.text('password', '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        header = a.text("header", "X-API-Key")
        if not header.strip():
            raise ToolError("auth.header must not be empty")
        headers[header] = a.text("key", required=True)
