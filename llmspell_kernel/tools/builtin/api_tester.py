"""api-tester: one request and checks on its answer (status, response time, headers, JSON
fields, body text); the result lists each check, success is whether all passed."""

from __future__ import annotations

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.builtin.http_request import request_parts
from llmspell_kernel.tools.http import parsed_json, send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any


def run(params: Params, context: Any) -> ToolResponse:
    url, method, headers, content = request_parts(params, context)
    reply = send(
        context,
        method,
        url,
        headers=headers,
        content=content,
        timeout=params.number("timeout", None),
    )
    document = parsed_json(reply)
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, expected: Any, actual: Any) -> None:
        checks.append({"name": name, "passed": passed, "expected": expected, "actual": actual})

    expected_status = params.value("expected_status")
    if expected_status is None:
        check("status", reply.status_code < 400, "< 400", reply.status_code)
    else:
        allowed = expected_status if isinstance(expected_status, list) else [expected_status]
        try:
            codes = [int(code) for code in allowed]
        except (TypeError, ValueError):
            raise ToolError("parameter 'expected_status' must be a status code or a list") from None
        check(
            "status",
            reply.status_code in codes,
            codes if len(codes) > 1 else codes[0],
            reply.status_code,
        )
    limit = params.number("max_response_time_ms", None)
    if limit is not None:
        check("response_time_ms", reply.elapsed_ms <= limit, limit, round(reply.elapsed_ms, 3))
    for name, value in params.table("expected_headers").items():
        actual = reply.headers.get(str(name).lower())
        check(f"header {name}", actual is not None and str(value) in actual, value, actual)
    for path, value in params.table("expected_json").items():
        actual = _at(document, str(path))
        check(f"json {path}", actual == value, value, actual)
    contains = params.text("expected_body_contains")
    if contains is not None:
        check("body contains", contains in reply.body, contains, None)
    failed = [c for c in checks if not c["passed"]]
    result = {
        "url": url,
        "method": method,
        "status_code": reply.status_code,
        "response_time_ms": round(reply.elapsed_ms, 3),
        "passed": not failed,
        "checks": checks,
        "headers": reply.headers,
        "body": reply.body,
        "json": document,
    }
    summary = f"{method} {url}: {reply.status_code}, {len(checks) - len(failed)}/{len(checks)} checks passed"
    return ToolResponse(
        result=result,
        message=summary,
        success=not failed,
        error="failed: "
        + ", ".join(f"{c['name']} (expected {c['expected']}, got {c['actual']})" for c in failed)
        if failed
        else None,
    )


def _at(document: Any, path: str) -> Any:
    """The value at a dotted path (`data.items.1.name`; numbers index arrays from 1, as Lua)."""
    value = document
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and 1 <= int(key) <= len(value):
            value = value[int(key) - 1]
        else:
            return None
    return value
