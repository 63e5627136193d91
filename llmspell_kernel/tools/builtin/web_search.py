"""web_search: one query to a search provider, results as {title, url, snippet, provider, rank}.

DuckDuckGo needs no key (its HTML results page, parsed with selectolax); Brave, Google Custom
Search, SerpAPI and Serper speak their JSON APIs with a key from the environment (lua-api.md 4).
The provider's host passes the NET gate like any request; results on a domain outside
tools.web_search.allowed_domains or inside blocked_domains are dropped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from llmspell_kernel.config import WebSearchConfig
from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse
from llmspell_kernel.tools.http import HttpReply, send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

PROVIDERS = ("duckduckgo", "brave", "google", "serpapi", "serperdev")
_ALIASES = {"ddg": "duckduckgo", "serper": "serperdev", "google_cse": "google"}
SEARCH_TYPES = ("web", "news", "images")
# Each provider's key variables, first found wins.
KEYS: dict[str, tuple[str, ...]] = {
    "brave": ("WEBSEARCH_BRAVE_API_KEY", "BRAVE_API_KEY"),
    "google": ("WEBSEARCH_GOOGLE_API_KEY",),
    "serpapi": ("WEBSEARCH_SERPAPI_API_KEY", "SERPAPI_API_KEY"),
    "serperdev": ("WEBSEARCH_SERPERDEV_API_KEY", "SERPERDEV_API_KEY"),
}
GOOGLE_ENGINE = "WEBSEARCH_GOOGLE_SEARCH_ENGINE_ID"
MAX_RESULTS = 50
_USER_AGENT = "Mozilla/5.0 (compatible; llmspell web_search)"


class _Query:
    """What every provider is asked: the query, how many, which kind, safety and language."""

    __slots__ = ("text", "count", "kind", "safe", "language")

    def __init__(self, text: str, count: int, kind: str, safe: str, language: str | None):
        self.text, self.count, self.kind, self.safe, self.language = (
            text,
            count,
            kind,
            safe,
            language,
        )


def run(params: Params, context: Any) -> ToolResponse:
    text = params.text("input", required=True, aliases=("query",))
    if not text.strip():
        raise ToolError("parameter 'input' (the query) must not be empty")
    provider = params.text("provider", "duckduckgo").lower()
    provider = _ALIASES.get(provider, provider)
    if provider not in PROVIDERS:
        raise ToolError(f"parameter 'provider' must be one of {', '.join(PROVIDERS)}")
    count = params.integer("max_results", 10, aliases=("limit",))
    if not 1 <= count <= MAX_RESULTS:
        raise ToolError(f"parameter 'max_results' must be between 1 and {MAX_RESULTS}")
    query = _Query(
        text.strip(),
        count,
        params.choice("search_type", SEARCH_TYPES, "web"),
        _safety(params.value("safe_search")),
        params.text("language"),
    )
    settings = context.settings
    base = settings.search_endpoints.get(provider) or getattr(WebSearchConfig, provider + "_url")
    timeout = params.number("timeout", None)
    found = _SEARCHES[provider](context, base, query, timeout)
    results: list[dict[str, Any]] = []
    for item in found:
        if not item.get("url") or not _domain_allowed(item["url"], settings):
            continue
        item["provider"] = provider
        item["rank"] = len(results) + 1
        results.append(item)
        if len(results) >= count:
            break
    lines = [f"{r['rank']}. {r['title']}\n   {r['url']}\n   {r['snippet']}" for r in results]
    return ToolResponse(
        result={
            "query": query.text,
            "provider": provider,
            "search_type": query.kind,
            "count": len(results),
            "results": results,
        },
        text="\n".join(lines) if lines else f"no results for '{query.text}'",
    )


def _safety(value: Any) -> str:
    """safe_search as off, moderate or strict (true: strict, false: off)."""
    if value is None:
        return "moderate"
    if isinstance(value, bool):
        return "strict" if value else "off"
    lowered = str(value).lower()
    if lowered not in ("off", "moderate", "strict"):
        raise ToolError("parameter 'safe_search' must be true, false, off, moderate or strict")
    return lowered


def _domain_allowed(url: str, settings: Any) -> bool:
    host = (urlsplit(url).hostname or "").lower()

    def on(domain: str) -> bool:
        domain = domain.lstrip("*.")
        return host == domain or host.endswith("." + domain)

    if any(on(d) for d in settings.search_blocked_domains):
        return False
    return not settings.search_allowed_domains or any(
        on(d) for d in settings.search_allowed_domains
    )


def _key(provider: str) -> str:
    for name in KEYS[provider]:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    raise ToolError(
        f"provider '{provider}' needs an API key: set {' or '.join(KEYS[provider])} "
        "(duckduckgo needs none)"
    )


def _json(reply: HttpReply, provider: str) -> Any:
    """The provider's JSON answer; an HTTP error or a provider error is a ToolFailure."""
    try:
        document = json.loads(reply.body) if reply.body else {}
    except ValueError:
        document = None
    if reply.status_code >= 400 or not isinstance(document, dict):
        detail = ""
        if isinstance(document, dict):
            error = document.get("error")
            if isinstance(error, dict):
                error = error.get("message") or error.get("detail")
            detail = f": {error or document.get('message') or ''}".rstrip(": ")
        raise ToolFailure(f"{provider} answered HTTP {reply.status_code} {reply.reason}{detail}")
    if provider == "serpapi" and document.get("error"):
        if "hasn't returned any results" in str(document["error"]):
            return {}
        raise ToolFailure(f"serpapi: {document['error']}")
    return document


def _item(title: Any, url: Any, snippet: Any, **extra: Any) -> dict[str, Any]:
    item = {
        "title": _plain(title),
        "url": str(url or ""),
        "snippet": _plain(snippet),
    }
    item.update({k: v for k, v in extra.items() if v is not None})
    return item


def _plain(value: Any) -> str:
    """Text without the <strong>/<b> marks some providers put around query words."""
    text = str(value or "")
    if "<" in text:
        from llmspell_kernel.tools.html import parse

        text = parse(text).text() or ""
    return " ".join(text.split())


# -- providers ----------------------------------------------------------------------------------
def _duckduckgo(context: Any, base: str, q: _Query, timeout: float | None) -> list[dict]:
    if q.kind != "web":
        raise ToolError(
            "duckduckgo's key-less results page has web results only; news and images need "
            "provider brave, serpapi or serperdev"
        )
    form = {"q": q.text, "kp": {"off": "-2", "moderate": "-1", "strict": "1"}[q.safe]}
    if q.language:
        form["kl"] = q.language
    reply = send(
        context,
        "POST",
        base,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": _USER_AGENT,
            "Accept": "text/html",
        },
        content=urlencode(form).encode("ascii"),
        timeout=timeout,
    )
    if reply.status_code != 200:
        raise ToolFailure(
            f"duckduckgo answered HTTP {reply.status_code} {reply.reason} (a 202 is its "
            "rate limit; try again later or use a provider with a key)"
        )
    from llmspell_kernel.tools.html import node_text, parse

    tree = parse(reply.body)
    found = []
    for block in tree.css("div.result"):
        classes = (block.attributes.get("class") or "").split()
        if "result--ad" in classes:
            continue
        link = block.css_first("a.result__a")
        if link is None:
            continue
        snippet = block.css_first(".result__snippet")
        found.append(
            _item(
                node_text(link),
                _ddg_target(link.attributes.get("href") or ""),
                node_text(snippet) if snippet is not None else "",
            )
        )
    return found


def _ddg_target(href: str) -> str:
    """DuckDuckGo's redirect link (//duckduckgo.com/l/?uddg=<url>) as the page it leads to."""
    if href.startswith("//"):
        href = "https:" + href
    parts = urlsplit(href)
    if parts.path.startswith("/l/"):
        target = parse_qs(parts.query).get("uddg")
        if target:
            return target[0]
    return href


def _brave(context: Any, base: str, q: _Query, timeout: float | None) -> list[dict]:
    query: dict[str, Any] = {"q": q.text, "count": min(q.count, 20), "safesearch": q.safe}
    if q.language:
        query["search_lang"] = q.language
    path = {"web": "/web/search", "news": "/news/search", "images": "/images/search"}[q.kind]
    reply = send(
        context,
        "GET",
        base.rstrip("/") + path + "?" + urlencode(query),
        headers={"Accept": "application/json", "X-Subscription-Token": _key("brave")},
        timeout=timeout,
    )
    document = _json(reply, "brave")
    if q.kind == "web":
        rows = (document.get("web") or {}).get("results") or []
        return [_item(r.get("title"), r.get("url"), r.get("description")) for r in rows]
    rows = document.get("results") or []
    if q.kind == "news":
        return [
            _item(r.get("title"), r.get("url"), r.get("description"), date=r.get("age"))
            for r in rows
        ]
    return [
        _item(
            r.get("title"),
            r.get("url"),
            r.get("source") or "",
            image_url=(r.get("properties") or {}).get("url"),
            thumbnail=(r.get("thumbnail") or {}).get("src"),
        )
        for r in rows
    ]


def _google(context: Any, base: str, q: _Query, timeout: float | None) -> list[dict]:
    if q.kind == "news":
        raise ToolError("google Custom Search has no news search; use brave, serpapi or serperdev")
    engine = os.environ.get(GOOGLE_ENGINE, "").strip()
    key = _key("google")
    if not engine:
        raise ToolError(f"provider 'google' needs a search engine id: set {GOOGLE_ENGINE}")
    found: list[dict] = []
    start = 1
    while len(found) < q.count and start <= 91:  # the API pages by 10, up to result 100
        query: dict[str, Any] = {
            "key": key,
            "cx": engine,
            "q": q.text,
            "num": min(10, q.count - len(found)),
            "start": start,
            "safe": "off" if q.safe == "off" else "active",
        }
        if q.kind == "images":
            query["searchType"] = "image"
        if q.language:
            query["lr"] = "lang_" + q.language.split("-")[0]
        reply = send(context, "GET", base + "?" + urlencode(query), timeout=timeout)
        items = _json(reply, "google").get("items") or []
        for r in items:
            if q.kind == "images":
                page = (r.get("image") or {}).get("contextLink") or r.get("link")
                found.append(_item(r.get("title"), page, r.get("snippet"), image_url=r.get("link")))
            else:
                found.append(_item(r.get("title"), r.get("link"), r.get("snippet")))
        if len(items) < query["num"]:
            break
        start += len(items)
    return found


def _serpapi(context: Any, base: str, q: _Query, timeout: float | None) -> list[dict]:
    query: dict[str, Any] = {
        "engine": "google",
        "q": q.text,
        "api_key": _key("serpapi"),
        "num": q.count,
        "safe": "off" if q.safe == "off" else "active",
    }
    if q.kind != "web":
        query["tbm"] = {"news": "nws", "images": "isch"}[q.kind]
    if q.language:
        query["hl"] = q.language
    reply = send(context, "GET", base + "?" + urlencode(query), timeout=timeout)
    document = _json(reply, "serpapi")
    if q.kind != "images":
        return _google_rows(document.get(q.kind == "web" and "organic_results" or "news_results"))
    rows = document.get("images_results") or []
    return [
        _item(
            r.get("title"),
            r.get("link"),
            r.get("source") or "",
            image_url=r.get("original"),
            thumbnail=r.get("thumbnail"),
        )
        for r in rows
    ]


def _google_rows(rows: Any) -> list[dict[str, Any]]:
    """SerpAPI's and Serper's organic and news rows (Google's fields: title, link, snippet;
    news adds date and source)."""
    found = []
    for r in rows or ():
        source = r.get("source")
        found.append(
            _item(
                r.get("title"),
                r.get("link"),
                r.get("snippet"),
                date=r.get("date"),
                source=source.get("name") if isinstance(source, dict) else source,
            )
        )
    return found


def _serperdev(context: Any, base: str, q: _Query, timeout: float | None) -> list[dict]:
    body: dict[str, Any] = {"q": q.text, "num": q.count}
    if q.language:
        body["hl"] = q.language
    if q.safe == "off":
        body["safe"] = "off"
    path = {"web": "/search", "news": "/news", "images": "/images"}[q.kind]
    reply = send(
        context,
        "POST",
        base.rstrip("/") + path,
        headers={"X-API-KEY": _key("serperdev"), "Content-Type": "application/json"},
        content=json.dumps(body).encode("utf-8"),
        timeout=timeout,
    )
    document = _json(reply, "serperdev")
    if q.kind != "images":
        return _google_rows(document.get(q.kind == "web" and "organic" or "news"))
    rows = document.get("images") or []
    return [
        _item(r.get("title"), r.get("link"), r.get("source") or "", image_url=r.get("imageUrl"))
        for r in rows
    ]


_SEARCHES: dict[str, Callable[[Any, str, _Query, float | None], list[dict]]] = {
    "duckduckgo": _duckduckgo,
    "brave": _brave,
    "google": _google,
    "serpapi": _serpapi,
    "serperdev": _serperdev,
}
