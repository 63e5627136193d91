"""sitemap-crawler: the URLs a site's sitemaps list (sitemaps.org protocol: <urlset> and
<sitemapindex>, gzip-compressed or plain), found from a sitemap URL or a site's robots.txt and
/sitemap.xml; bounded by max_urls and max_sitemaps, every fetch through the NET gate."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse
from llmspell_kernel.tools.http import send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_URLS = 50_000  # the protocol's own limit per sitemap
MAX_SITEMAPS = 100
_UNZIPPED_MAX = 50 * 1024 * 1024  # the protocol's uncompressed size limit


def run(params: Params, context: Any) -> ToolResponse:
    url = params.text("input", required=True, aliases=("url",)).strip()
    context.url(url)
    max_urls = params.integer("max_urls", 1000)
    max_sitemaps = params.integer("max_sitemaps", 10)
    if not 1 <= max_urls <= MAX_URLS:
        raise ToolError(f"parameter 'max_urls' must be between 1 and {MAX_URLS}")
    if not 1 <= max_sitemaps <= MAX_SITEMAPS:
        raise ToolError(f"parameter 'max_sitemaps' must be between 1 and {MAX_SITEMAPS}")
    follow = params.boolean("follow_index", True)
    timeout = params.number("timeout", None)
    parts = urlsplit(url)
    if parts.path in ("", "/"):  # a site: its robots.txt names its sitemaps, else /sitemap.xml
        queue = _from_robots(context, url, timeout) or [urljoin(url, "/sitemap.xml")]
    else:
        queue = [url]
    seen: set[str] = set()
    urls: list[dict[str, Any]] = []
    sitemaps: list[dict[str, Any]] = []
    truncated = False
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        if len(sitemaps) >= max_sitemaps:
            truncated = True
            break
        seen.add(current)
        kind, entries, error = _read(context, current, timeout)
        sitemaps.append({"url": current, "type": kind, "entries": len(entries), "error": error})
        if kind == "sitemapindex":
            if follow:
                queue.extend(e["loc"] for e in entries if e.get("loc"))
            continue
        for entry in entries:
            if len(urls) >= max_urls:
                truncated = True
                break
            urls.append(entry)
        if truncated:
            break
    if not any(s["error"] is None for s in sitemaps):
        raise ToolFailure("; ".join(f"{s['url']}: {s['error']}" for s in sitemaps))
    return ToolResponse(
        result={
            "url": url,
            "sitemaps": sitemaps,
            "urls": urls,
            "count": len(urls),
            "truncated": truncated,
        },
        text="\n".join(u["loc"] for u in urls),
    )


def _from_robots(context: Any, site: str, timeout: float | None) -> list[str]:
    reply = send(context, "GET", urljoin(site, "/robots.txt"), timeout=timeout)
    if reply.status_code != 200:
        return []
    found = []
    for line in reply.body.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            found.append(urljoin(site, value.strip()))
    return found


def _read(context: Any, url: str, timeout: float | None) -> tuple[str, list[dict[str, Any]], Any]:
    """(urlset | sitemapindex | error, entries, the error or None) of one sitemap."""
    try:
        context.url(url)  # an index may point anywhere: each sitemap passes the gate
        reply = send(context, "GET", url, headers={"Accept": "application/xml"}, timeout=timeout)
    except ToolFailure as exc:
        return "error", [], str(exc)
    if reply.status_code != 200:
        return "error", [], f"HTTP {reply.status_code} {reply.reason}"
    data = reply.data
    if data[:2] == b"\x1f\x8b":
        import zlib

        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = inflater.decompress(data, _UNZIPPED_MAX)
        if inflater.unconsumed_tail:
            return "error", [], f"more than {_UNZIPPED_MAX} bytes uncompressed"
    return _parse(data)


def _parse(data: bytes) -> tuple[str, list[dict[str, Any]], Any]:
    import xml.etree.ElementTree as ElementTree

    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:  # entity expansion: never in a sitemap
        return "error", [], "a DOCTYPE or entity declaration (refused)"
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        return "error", [], f"not XML: {exc}"
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        return "error", [], f"<{kind}> is not a sitemap"
    entries = []
    for item in root:
        entry: dict[str, Any] = {}
        for field in item:
            name = _local(field.tag)
            if name in ("loc", "lastmod", "changefreq", "priority") and field.text:
                value: Any = field.text.strip()
                if name == "priority":
                    try:
                        value = float(value)
                    except ValueError:
                        continue
                entry[name] = value
        if entry.get("loc"):
            entries.append(entry)
    return kind, entries, None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
