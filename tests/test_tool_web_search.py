"""web_search against a local server that answers as each provider does: DuckDuckGo's HTML
results page, and the JSON of Brave's Web Search API, Google's Custom Search JSON API, SerpAPI's
Google engine and Serper (shapes from each provider's public documentation); keys checked as
each provider checks them (header or query parameter)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tools import allowed, failure, make_engine, run
from tests.web_server import Reply, Request, WebServer, web_server

__all__ = ["allowed"]

DDG_PAGE = """<!DOCTYPE html><html><head><title>lua at DuckDuckGo</title></head><body>
<div class="serp__results"><div id="links" class="results">
<div class="result results_links results_links_deep result--ad ">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a class="result__a" href="https://duckduckgo.com/y.js?ad_domain=shop.example">Buy Lua</a></h2>
    <a class="result__snippet" href="https://duckduckgo.com/y.js?ad_domain=shop.example">An ad</a>
  </div></div>
<div class="result results_links results_links_deep web-result ">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a rel="nofollow" class="result__a" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.lua.org%2F&amp;rut=9f1">The Programming Language <b>Lua</b></a></h2>
    <div class="result__extras"><div class="result__extras__url"><a class="result__url" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.lua.org%2F">www.lua.org</a></div></div>
    <a class="result__snippet" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.lua.org%2F"><b>Lua</b> is a powerful, efficient, lightweight, embeddable scripting language.</a>
    <div class="clear"></div>
  </div></div>
<div class="result results_links results_links_deep web-result ">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a rel="nofollow" class="result__a" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fen.wikipedia.org%2Fwiki%2FLua_(programming_language)&amp;rut=77a">Lua (programming language) - Wikipedia</a></h2>
    <a class="result__snippet" href="//duckduckgo.com/l/?uddg=x">Lua is a lightweight, high-level, multi-paradigm programming language.</a>
  </div></div>
<div class="result results_links results_links_deep web-result ">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a rel="nofollow" class="result__a" href="https://luarocks.org/">LuaRocks</a></h2>
    <a class="result__snippet">The package manager for Lua modules.</a>
  </div></div>
</div></div></body></html>"""


def _json(document: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(document), "application/json")


def _brave(request: Request) -> Reply:
    if request.headers.get("x-subscription-token") != "brave-key":
        return _json({"type": "ErrorResponse", "error": {"status": 401, "detail": "The provided subscription token is invalid.", "code": "SUBSCRIPTION_TOKEN_INVALID"}}, 401)  # fmt: skip
    if request.path.endswith("/news/search"):
        return _json({"type": "news", "query": {"original": request.query["q"][0]}, "results": [
            {"type": "news_result", "title": "Lua 5.5 released", "url": "https://news.example/lua55",
             "description": "The <strong>Lua</strong> team announced 5.5.", "age": "2 days ago"}]})  # fmt: skip
    if request.path.endswith("/images/search"):
        return _json({"type": "images", "results": [
            {"type": "image_result", "title": "Lua logo", "url": "https://www.lua.org/images/",
             "source": "lua.org", "thumbnail": {"src": "https://imgs.search.brave.com/t.png"},
             "properties": {"url": "https://www.lua.org/images/logo.gif"}}]})  # fmt: skip
    return _json({"type": "search", "query": {"original": request.query["q"][0]}, "web": {
        "type": "search", "results": [
            {"title": "The Programming Language Lua", "url": "https://www.lua.org/",
             "description": "<strong>Lua</strong> is a powerful scripting language.", "language": "en"},
            {"title": "Programming in Lua", "url": "https://www.lua.org/pil/",
             "description": "The book by Roberto Ierusalimschy."}]}})  # fmt: skip


def _google(request: Request) -> Reply:
    if request.query.get("key") != ["google-key"]:
        return _json({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}, 400)  # fmt: skip
    assert request.query["cx"] == ["engine-1"]
    if request.query.get("searchType") == ["image"]:
        return _json({"kind": "customsearch#search", "items": [
            {"kind": "customsearch#result", "title": "Lua logo", "link": "https://www.lua.org/images/logo.gif",
             "displayLink": "www.lua.org", "snippet": "logo", "mime": "image/gif",
             "image": {"contextLink": "https://www.lua.org/images/", "height": 128, "width": 128}}]})  # fmt: skip
    start = int(request.query["start"][0])
    num = int(request.query["num"][0])
    items = [
        {"kind": "customsearch#result", "title": f"Lua result {i}", "link": f"https://r{i}.example/",
         "displayLink": f"r{i}.example", "snippet": f"Snippet {i}"}
        for i in range(start, min(start + num, 13))
    ]  # fmt: skip
    document: dict[str, object] = {"kind": "customsearch#search", "searchInformation": {"totalResults": "12"}}  # fmt: skip
    if items:
        document["items"] = items
    return _json(document)


def _serpapi(request: Request) -> Reply:
    if request.query.get("api_key") != ["serp-key"]:
        return _json({"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}, 401)  # fmt: skip
    assert request.query["engine"] == ["google"]
    if request.query.get("tbm") == ["nws"]:
        return _json({"search_metadata": {"status": "Success"}, "news_results": [
            {"position": 1, "title": "Lua conference", "link": "https://news.example/lua-ws",
             "source": "Lua News", "date": "3 days ago", "snippet": "The Lua Workshop."}]})  # fmt: skip
    return _json({"search_metadata": {"status": "Success"}, "organic_results": [
        {"position": 1, "title": "The Programming Language Lua", "link": "https://www.lua.org/",
         "displayed_link": "https://www.lua.org", "snippet": "Lua is a powerful scripting language."},
        {"position": 2, "title": "Lua - Wikipedia", "link": "https://en.wikipedia.org/wiki/Lua",
         "snippet": "Lua is a lightweight language."}]})  # fmt: skip


def _serper(request: Request) -> Reply:
    if request.headers.get("x-api-key") != "serper-key":
        return _json({"message": "Unauthorized.", "statusCode": 403}, 403)
    body = json.loads(request.body)
    if request.path == "/serper/images":
        return _json({"searchParameters": {"q": body["q"], "type": "images"}, "images": [
            {"title": "Lua logo", "imageUrl": "https://www.lua.org/images/logo.gif",
             "source": "lua.org", "link": "https://www.lua.org/images/", "position": 1}]})  # fmt: skip
    return _json({"searchParameters": {"q": body["q"], "type": "search"}, "organic": [
        {"title": "The Programming Language Lua", "link": "https://www.lua.org/",
         "snippet": "Lua is a powerful scripting language.", "position": 1},
        {"title": "Lua Users Wiki", "link": "http://lua-users.org/wiki/", "snippet": "A wiki.",
         "position": 2}]})  # fmt: skip


@pytest.fixture
def providers() -> Iterator[WebServer]:
    with web_server() as server:
        server.route("/ddg/html/", Reply(200, DDG_PAGE))
        for kind in ("web", "news", "images"):
            server.route(f"/brave/res/v1/{kind}/search", _brave)
        server.route("/google/customsearch/v1", _google)
        server.route("/serpapi/search.json", _serpapi)
        for kind in ("search", "images"):
            server.route(f"/serper/{kind}", _serper)
        yield server


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", "brave-key")
    monkeypatch.setenv("WEBSEARCH_GOOGLE_API_KEY", "google-key")
    monkeypatch.setenv("WEBSEARCH_GOOGLE_SEARCH_ENGINE_ID", "engine-1")
    monkeypatch.setenv("SERPAPI_API_KEY", "serp-key")
    monkeypatch.setenv("WEBSEARCH_SERPERDEV_API_KEY", "serper-key")


def _engine(allowed: Path, server: WebServer, **settings: object):
    endpoints = {
        "duckduckgo": server.base + "/ddg/html/",
        "brave": server.base + "/brave/res/v1",
        "google": server.base + "/google/customsearch/v1",
        "serpapi": server.base + "/serpapi/search.json",
        "serperdev": server.base + "/serper",
    }
    return make_engine(allowed, allow_localhost=True, search_endpoints=endpoints, **settings)[0]


def _search(params: str) -> str:
    return f'return Tool.invoke("web_search", {{{params}}})'


def test_duckduckgo_needs_no_key_and_reads_its_results_page(allowed: Path, providers):
    engine = _engine(allowed, providers)
    r = run(engine, _search('input = "lua language", safe_search = true'))
    assert r["success"] is True
    result = r["result"]
    assert result["provider"] == "duckduckgo" and result["count"] == 3
    first = result["results"][0]
    assert first == {
        "title": "The Programming Language Lua",
        "url": "https://www.lua.org/",
        "snippet": "Lua is a powerful, efficient, lightweight, embeddable scripting language.",
        "provider": "duckduckgo",
        "rank": 1,
    }
    assert result["results"][1]["url"] == "https://en.wikipedia.org/wiki/Lua_(programming_language)"
    assert "shop.example" not in r["text"]  # the ad is not a result
    sent = providers.requests[-1]
    assert sent.method == "POST"
    form = dict(pair.split("=") for pair in sent.body.decode().split("&"))
    assert form == {"q": "lua+language", "kp": "1"}
    assert r["text"].startswith("1. The Programming Language Lua\n   https://www.lua.org/")


def test_result_domains_filtered_and_bounded(allowed: Path, providers):
    engine = _engine(allowed, providers, search_blocked_domains=("wikipedia.org",))
    r = run(engine, _search('input = "lua", max_results = 1'))["result"]
    assert [x["url"] for x in r["results"]] == ["https://www.lua.org/"]
    only = _engine(allowed, providers, search_allowed_domains=("luarocks.org",))
    r = run(only, _search('input = "lua"'))["result"]
    assert [(x["url"], x["rank"]) for x in r["results"]] == [("https://luarocks.org/", 1)]


def test_brave_web_news_and_images(allowed: Path, providers, keys):
    engine = _engine(allowed, providers)
    web = run(engine, _search('input = "lua", provider = "brave", max_results = 5'))["result"]
    assert [x["title"] for x in web["results"]] == [
        "The Programming Language Lua",
        "Programming in Lua",
    ]
    assert web["results"][0]["snippet"] == "Lua is a powerful scripting language."
    sent = providers.requests[-1]
    assert sent.query["count"] == ["5"] and sent.query["safesearch"] == ["moderate"]
    news = run(engine, _search('input = "lua", provider = "brave", search_type = "news"'))
    assert news["result"]["results"][0]["date"] == "2 days ago"
    images = run(engine, _search('input = "lua", provider = "brave", search_type = "images"'))
    image = images["result"]["results"][0]
    assert image["image_url"] == "https://www.lua.org/images/logo.gif"
    assert image["url"] == "https://www.lua.org/images/"


def test_google_pages_by_ten_and_finds_images(allowed: Path, providers, keys):
    engine = _engine(allowed, providers)
    r = run(engine, _search('input = "lua", provider = "google", max_results = 15'))["result"]
    assert r["count"] == 12  # the engine holds 12: two pages, the second short
    assert r["results"][11] == {"title": "Lua result 12", "url": "https://r12.example/",
                                "snippet": "Snippet 12", "provider": "google", "rank": 12}  # fmt: skip
    starts = [q.query["start"][0] for q in providers.requests if q.path.startswith("/google")]
    assert starts == ["1", "11"]
    images = run(engine, _search('input = "lua", provider = "google", search_type = "images"'))
    assert images["result"]["results"][0]["image_url"].endswith("logo.gif")


def test_serpapi_and_serper(allowed: Path, providers, keys):
    engine = _engine(allowed, providers)
    serp = run(engine, _search('input = "lua", provider = "serpapi", language = "en"'))["result"]
    assert [x["url"] for x in serp["results"]] == [
        "https://www.lua.org/",
        "https://en.wikipedia.org/wiki/Lua",
    ]
    assert providers.requests[-1].query["hl"] == ["en"]
    news = run(engine, _search('input = "lua", provider = "serpapi", search_type = "news"'))
    assert news["result"]["results"][0]["source"] == "Lua News"
    serper = run(engine, _search('input = "lua", provider = "serper", max_results = 2'))["result"]
    assert (
        serper["provider"] == "serperdev"
        and serper["results"][1]["url"] == "http://lua-users.org/wiki/"
    )
    assert json.loads(providers.requests[-1].body) == {"q": "lua", "num": 2}
    images = run(engine, _search('input = "lua", provider = "serperdev", search_type = "images"'))
    assert images["result"]["results"][0]["image_url"].endswith("logo.gif")


def test_wrong_keys_fail_missing_keys_raise_and_the_gate_holds(
    allowed: Path, providers, keys, monkeypatch: pytest.MonkeyPatch
):
    engine = _engine(allowed, providers)
    monkeypatch.setenv("BRAVE_API_KEY", "wrong")
    bad = run(engine, _search('input = "lua", provider = "brave"'))
    assert bad["success"] is False
    assert (
        bad["error"]
        == "brave answered HTTP 401 Unauthorized: The provided subscription token is invalid."
    )
    monkeypatch.setenv("SERPAPI_API_KEY", "wrong")
    bad = run(engine, _search('input = "lua", provider = "serpapi"'))
    assert bad["success"] is False and "Invalid API key" in bad["error"]
    monkeypatch.delenv("WEBSEARCH_SERPERDEV_API_KEY")
    monkeypatch.delenv("SERPERDEV_API_KEY", raising=False)
    message = failure(engine, _search('input = "lua", provider = "serperdev"'))
    assert "needs an API key: set WEBSEARCH_SERPERDEV_API_KEY or SERPERDEV_API_KEY" in message
    message = failure(engine, _search('input = "lua", search_type = "news"'))
    assert "web results only" in message
    blocked = make_engine(allowed, search_endpoints={"duckduckgo": providers.base + "/ddg/html/"})[
        0
    ]
    assert "tools.http_request.allow_localhost = true" in failure(blocked, _search('input = "lua"'))
