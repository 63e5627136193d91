"""webhook-caller: POST (PUT, PATCH) a JSON payload to a webhook, retrying 5xx (NET gate)."""

from __future__ import annotations

import json

from llmspell_kernel.tools.base import Params, ToolResponse
from llmspell_kernel.tools.http import send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any


def run(params: Params, context: Any) -> ToolResponse:
    url = params.text("input", required=True, aliases=("url", "webhook_url"))
    context.url(url)
    method = params.choice("method", ("post", "put", "patch"), "post").upper()
    headers = {str(k): str(v) for k, v in params.table("headers").items()}
    headers.setdefault("Content-Type", "application/json")
    headers.setdefault("User-Agent", "llmspell-webhook-caller")
    payload = params.value("payload")
    content = json.dumps({} if payload is None else payload).encode("utf-8")
    reply = send(
        context,
        method,
        url,
        headers=headers,
        content=content,
        timeout=params.number("timeout", None),
        attempts=1 + max(0, params.integer("max_retries", 3)),
    )
    try:
        parsed = json.loads(reply.body) if reply.body else None
    except ValueError:
        parsed = None
    ok = 200 <= reply.status_code < 300
    result = {
        "success": ok,
        "webhook_url": url,
        "status_code": reply.status_code,
        "status_text": reply.reason,
        "attempts": reply.attempts,
        "response": {"body": reply.body, "json": parsed, "headers": reply.headers},
    }
    return ToolResponse(
        result=result,
        message=f"{method} {url}: {reply.status_code} {reply.reason}",
        success=ok,
        error=None if ok else f"webhook answered {reply.status_code} {reply.reason}",
    )
