"""web-scraper: a page's title, readable text, metadata, links, images and the text (or an
attribute) of CSS selections; the page fetched through the NET gate, or given as `html`."""

from __future__ import annotations

from llmspell_kernel.tools import html
from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse
from llmspell_kernel.tools.http import send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

MAX_TEXT = 1_000_000


def run(params: Params, context: Any) -> ToolResponse:
    page, url, status = page_source(params, context)
    tree = html.parse(page)
    selectors = params.table("selectors")
    one = params.text("selector")
    if one is not None:
        selectors = {**selectors, "selector": one}
    attribute = params.text("attribute")
    result: dict[str, Any] = {"url": url, "status_code": status, "title": html.title(tree)}
    if params.boolean("extract_text", True, aliases=("text",)):
        result["text"] = html.visible_text(page)[: params.integer("max_text_length", MAX_TEXT)]
    if params.boolean("extract_meta", True):
        result["meta"] = html.meta(tree)
    if params.boolean("extract_links", False):
        result["links"] = html.links(tree, url)
    if params.boolean("extract_images", False):
        result["images"] = html.images(tree, url)
    if selectors:
        selected: dict[str, list[str]] = {}
        for name, selector in selectors.items():
            if not isinstance(selector, str) or not selector.strip():
                raise ToolError(f"selectors.{name} must be a CSS selector")
            nodes = html.select(tree, selector)
            if attribute:
                selected[str(name)] = [n.attributes.get(attribute) or "" for n in nodes]
            else:
                selected[str(name)] = [html.node_text(n) for n in nodes]
        result["selected"] = selected
    if selectors:
        text = "\n".join(line for values in result["selected"].values() for line in values)
    else:
        text = result.get("text") or result["title"] or ""
    return ToolResponse(result=result, text=text)


def page_source(params: Params, context: Any) -> tuple[str, str, int | None]:
    """(HTML, the page's URL, HTTP status): `html` given (status None), else `input` fetched.
    An HTTP error status is an operational failure."""
    given = params.text("html")
    url = params.text("input", aliases=("url",))
    if given is not None:
        return given, url or "", None
    if url is None:
        raise ToolError("missing required parameter 'input' (the page's URL), or give 'html'")
    context.url(url)
    reply = send(
        context,
        "GET",
        url,
        headers={"User-Agent": "llmspell web tools", "Accept": "text/html,*/*"},
        timeout=params.number("timeout", None),
    )
    if reply.status_code >= 400:
        raise ToolFailure(f"{url} answered HTTP {reply.status_code} {reply.reason}")
    return reply.body, reply.url, reply.status_code
