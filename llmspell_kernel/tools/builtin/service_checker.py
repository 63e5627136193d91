"""service_checker: is a TCP port open, does an HTTP(S) URL answer? (a timeout, the NET host
rules; checking this machine's own services is its purpose, so the localhost block is off)."""

from __future__ import annotations

import socket
import time

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any


def run(params: Params, context: Any) -> ToolResponse:
    target = params.text("target", required=True, aliases=("input", "url", "host"))
    kind = params.choice("check_type", ("tcp", "http", "https"), None)
    if kind is None:
        kind = "http" if target.startswith(("http://", "https://")) else "tcp"
    timeout = params.integer("timeout_ms", 5000) / 1000.0
    if timeout <= 0:
        raise ToolError("parameter 'timeout_ms' must be positive")
    if kind == "tcp":
        return _tcp(target, timeout, context)
    return _http(target, timeout, params.integer("expected_status"), context)


def _tcp(target: str, timeout: float, context: Any) -> ToolResponse:
    host, _, port_text = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ToolError(f"parameter 'target' must be host:port for a tcp check, got '{target}'")
    context.host(host, local_rule=False)
    started = time.perf_counter()
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout):
            pass
        up, error = True, None
    except OSError as exc:
        up, error = (
            False,
            (str(exc.strerror or exc) if not isinstance(exc, TimeoutError) else "timed out"),
        )
    elapsed = round((time.perf_counter() - started) * 1000.0, 3)
    result = {"target": target, "check_type": "tcp", "healthy": up, "response_time_ms": elapsed}
    if error:
        result["error"] = error
    message = f"{target} is {'reachable' if up else 'unreachable'}" + (
        f" ({error})" if error else ""
    )
    return ToolResponse(result=result, message=message)


def _http(target: str, timeout: float, expected: int | None, context: Any) -> ToolResponse:
    from llmspell_kernel.tools.base import ToolFailure
    from llmspell_kernel.tools.http import send

    context.url(target, local_rule=False)
    started = time.perf_counter()
    try:
        reply = send(_Unblocked(context), "GET", target, timeout=timeout)
        status, error = reply.status_code, None
    except ToolFailure as exc:
        status, error = None, str(exc)
    elapsed = round((time.perf_counter() - started) * 1000.0, 3)
    if status is None:
        up = False
    elif expected is not None:
        up = status == expected
    else:
        up = status < 400
    result = {
        "target": target,
        "check_type": "http",
        "healthy": up,
        "status_code": status,
        "response_time_ms": elapsed,
    }
    if error:
        result["error"] = error
    message = f"{target} is {'up' if up else 'down'}" + (
        f" ({status})" if status else f" ({error})"
    )
    return ToolResponse(result=result, message=message)


class _Unblocked:
    """The NET gate without the localhost block, for redirects of a health check."""

    def __init__(self, context: Any) -> None:
        self.settings = context.settings
        self._context = context

    def url(self, url: str) -> str:
        return self._context.url(url, local_rule=False)
