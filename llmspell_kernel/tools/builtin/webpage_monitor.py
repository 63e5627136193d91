"""webpage-monitor: a page (or a CSS selection of it) now, its SHA-256, and whether and how it
changed since `previous_content` or `previous_hash`; with wait_seconds it polls until it does."""

from __future__ import annotations

import time

from llmspell_kernel.tools import html
from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.builtin.web_scraper import page_source

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_WAIT = 300.0


def run(params: Params, context: Any) -> ToolResponse:
    selector = params.text("selector")
    previous = params.text("previous_content")
    previous_hash = params.text("previous_hash")
    wait = params.number("wait_seconds", 0.0)
    if not 0 <= wait <= MAX_WAIT:
        raise ToolError(f"parameter 'wait_seconds' must be between 0 and {MAX_WAIT:g}")
    if wait and previous is None and previous_hash is None:
        raise ToolError("wait_seconds needs previous_content or previous_hash to compare with")
    interval = max(0.05, params.number("interval_seconds", 5.0))
    deadline = time.monotonic() + wait
    checks = 0
    while True:
        checks += 1
        page, url, status = page_source(params, context)
        content = _content(page, selector, params.boolean("ignore_whitespace", True))
        digest = _sha256(content.encode("utf-8"))
        changed = None
        if previous is not None:
            changed = content != previous
        elif previous_hash is not None:
            changed = digest != previous_hash.lower()
        if changed is not False or time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    result: dict[str, Any] = {
        "url": url,
        "status_code": status,
        "content": content,
        "hash": digest,
        "changed": changed,
        "checks": checks,
    }
    if changed and previous is not None:
        from llmspell_kernel.tools.builtin.diff_calculator import unified_diff

        result["diff"] = unified_diff(
            previous.splitlines(), content.splitlines(), "before", "now", end=""
        )
    if changed is None:
        message = f"{url or 'the page'}: first look ({len(content)} characters)"
    else:
        message = f"{url or 'the page'}: {'changed' if changed else 'unchanged'}"
    return ToolResponse(result=result, message=message)


def _sha256(data: bytes) -> str:
    """The hex SHA-256 of `data`, by the interpreter's own module where it has one (as
    hash_calculator does: importing hashlib loads OpenSSL's libcrypto, ~3-4 ms)."""
    from llmspell_kernel.tools.builtin.hash_calculator import _builtin

    constructor = _builtin("sha256")
    if constructor is None:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    hasher = constructor()
    hasher.update(data)
    return hasher.digest().hex()


def _content(page: str, selector: str | None, squeeze: bool) -> str:
    if selector:
        tree = html.parse(page)
        text = "\n".join(html.visible_text(node.html or "") for node in html.select(tree, selector))
    else:
        text = html.visible_text(page)
    if squeeze:
        text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    return text
