"""url-analyzer: a URL's parts (scheme, host, port, path, query parameters, ...), and with
fetch_metadata the page behind it (status, redirects, type, size, title, description, links)."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs, urlsplit

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse
from llmspell_kernel.tools.http import send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

_PORTS = {"http": 80, "https": 443, "ftp": 21}


def run(params: Params, context: Any) -> ToolResponse:
    url = params.text("input", required=True, aliases=("url",)).strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [IPv6 address
        parts = None
    if parts is None or not parts.scheme or not parts.netloc:
        return ToolResponse(
            result={"url": url, "valid": False},
            text=f"'{url}' is not an absolute URL",
        )
    try:
        port = parts.port
    except ValueError:
        raise ToolError(f"'{url}' has an invalid port") from None
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    labels = host.split(".")
    result: dict[str, Any] = {
        "url": url,
        "valid": True,
        "scheme": parts.scheme,
        "host": host,
        "port": port or _PORTS.get(parts.scheme),
        "path": parts.path or "/",
        "query": parts.query,
        "query_params": {k: v if len(v) > 1 else v[0] for k, v in parse_qs(parts.query).items()},
        "fragment": parts.fragment,
        "username": parts.username,
        "is_secure": parts.scheme == "https",
        "is_ip": is_ip,
        "domain": host if is_ip or len(labels) < 2 else ".".join(labels[-2:]),
        "extension": _extension(parts.path),
    }
    if params.boolean("fetch_metadata", False, aliases=("fetch",)):
        result["metadata"] = _fetch(url, params, context)
    lines = [f"{k}: {v}" for k, v in result.items() if v not in (None, "", {}) and k != "metadata"]
    return ToolResponse(result=result, text="\n".join(lines))


def _extension(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else None


def _fetch(url: str, params: Params, context: Any) -> dict[str, Any]:
    context.url(url)
    reply = send(
        context,
        "GET",
        url,
        headers={"User-Agent": "llmspell url-analyzer"},
        timeout=params.number("timeout", None),
    )
    found: dict[str, Any] = {
        "status_code": reply.status_code,
        "final_url": reply.url,
        "redirected": reply.url != url,
        "content_type": reply.content_type,
        "content_length": len(reply.data),
        "response_time_ms": round(reply.elapsed_ms, 3),
        "server": reply.headers.get("server"),
    }
    if "html" in reply.content_type:
        from llmspell_kernel.tools import html

        tree = html.parse(reply.body)
        meta = html.meta(tree)
        page_links = html.links(tree, reply.url)
        own = urlsplit(reply.url).hostname
        internal = sum(1 for link in page_links if urlsplit(link["url"]).hostname == own)
        root = tree.css_first("html")
        found.update(
            title=html.title(tree),
            description=meta.get("description") or meta.get("og:description"),
            language=root.attributes.get("lang") if root is not None else None,
            meta=meta,
            links={
                "total": len(page_links),
                "internal": internal,
                "external": len(page_links) - internal,
            },
        )
    return found
