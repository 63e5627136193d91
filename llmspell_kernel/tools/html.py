"""HTML for the web tools (web-scraper, url-analyzer, webpage-monitor, web_search's DuckDuckGo
pages): selectolax's lexbor parser, imported on the first page a tool parses (~3 ms), with CSS
selectors; what the tools read off a page is here once."""

from __future__ import annotations

from urllib.parse import urljoin

from llmspell_kernel.tools.base import ToolError

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

# Text of these never counts as the page's text.
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "head")
_BLOCKS = (
    "p, div, br, li, dt, dd, tr, h1, h2, h3, h4, h5, h6, section, article, header, footer, "
    "nav, aside, main, blockquote, pre, table, ul, ol, dl, form, hr, figure, figcaption"
)


def parse(text: str) -> Any:
    """The page as a selectolax LexborHTMLParser."""
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(text)


def select(tree: Any, selector: str) -> list[Any]:
    """The nodes a CSS selector matches; a selector lexbor cannot parse is the caller's error."""
    try:
        return list(tree.css(selector))
    except Exception as exc:  # selectolax raises its own error types for bad selectors
        raise ToolError(f"invalid CSS selector '{selector}': {exc}") from None


def visible_text(html: str) -> str:
    """The text a reader sees of a page or fragment: scripts, styles and the head left out,
    whitespace collapsed within lines, empty lines dropped."""
    clone = parse(html)
    clone.strip_tags(list(_INVISIBLE))
    body = clone.body if clone.body is not None else clone.root
    if body is None:
        return ""
    for block in body.css(_BLOCKS):  # a line break after each block, none inside inline text
        block.insert_after("\n")
    raw = body.text(separator="", strip=False)
    lines = (" ".join(line.split()) for line in raw.splitlines())
    return "\n".join(line for line in lines if line)


def node_text(node: Any) -> str:
    return " ".join((node.text(separator=" ", strip=True) or "").split())


def title(tree: Any) -> str | None:
    node = tree.css_first("title")
    return node_text(node) if node is not None else None


def meta(tree: Any) -> dict[str, str]:
    """<meta name|property=... content=...> as a table (description, og:title, ...)."""
    found: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = attrs.get("name") or attrs.get("property") or attrs.get("http-equiv")
        content = attrs.get("content")
        if key and content is not None:
            found.setdefault(key.lower(), content)
    return found


def links(tree: Any, base: str) -> list[dict[str, str]]:
    """Every <a href> as {url (absolute), text}, in page order, each URL once."""
    seen: set[str] = set()
    out = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
            continue
        url = urljoin(base, href).split("#", 1)[0]
        if url in seen:
            continue
        seen.add(url)
        out.append({"url": url, "text": node_text(node)})
    return out


def images(tree: Any, base: str) -> list[dict[str, str]]:
    out = []
    for node in tree.css("img[src]"):
        src = (node.attributes.get("src") or "").strip()
        if src:
            out.append({"src": urljoin(base, src), "alt": node.attributes.get("alt") or ""})
    return out


def headings(tree: Any) -> list[dict[str, Any]]:
    return [
        {"level": int(node.tag[1]), "text": node_text(node)}
        for node in tree.css("h1, h2, h3, h4, h5, h6")
    ]
