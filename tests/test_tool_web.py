"""web-scraper, url-analyzer, webpage-monitor, sitemap-crawler, api-tester and graphql_query
against a local server (pages, redirects, robots.txt, gzip sitemaps, a GraphQL endpoint)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tools import allowed, failure, make_engine, run
from tests.web_server import Reply, Request, WebServer, web_server

__all__ = ["allowed"]

PAGE = """<!DOCTYPE html><html lang="en"><head><title>Lua Tools</title>
<meta name="description" content="Tools for Lua scripts"><meta property="og:title" content="OG Lua">
<style>body { color: red }</style><script>var hidden = 1;</script></head>
<body><h1>Tools</h1><p class="intro">Scripts call <b>tools</b> through one function.</p>
<ul id="items"><li class="item" data-id="1">hash</li><li class="item" data-id="2">uuid</li></ul>
<a href="/docs">Docs</a> <a href="https://lua.org/">Lua</a> <a href="/docs#top">again</a>
<img src="/logo.png" alt="logo"></body></html>"""

URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{base}/</loc><lastmod>2026-11-01</lastmod><changefreq>daily</changefreq><priority>1.0</priority></url>
  <url><loc>{base}/docs</loc><lastmod>2026-10-15</lastmod></url>
</urlset>"""


def _graphql(request: Request) -> Reply:
    body = json.loads(request.body)
    if "__schema" in body["query"]:
        data = {"__schema": {"queryType": {"name": "Query"}, "mutationType": None,
                             "types": [{"name": "Book", "kind": "OBJECT", "description": None, "fields": []}]}}  # fmt: skip
        return Reply(200, json.dumps({"data": data}), "application/json")
    if request.headers.get("authorization") != "Bearer gql":
        return Reply(401, json.dumps({"errors": [{"message": "not authenticated"}]}), "application/json")  # fmt: skip
    book_id = body.get("variables", {}).get("id")
    if book_id != 1:
        errors = [{"message": f"no book {book_id}", "path": ["book"], "locations": [{"line": 1, "column": 28}]}]  # fmt: skip
        return Reply(200, json.dumps({"data": {"book": None}, "errors": errors}), "application/json")  # fmt: skip
    return Reply(200, json.dumps({"data": {"book": {"title": "Programming in Lua", "year": 2016}}}), "application/json")  # fmt: skip


@pytest.fixture
def site() -> Iterator[WebServer]:
    with web_server() as server:
        base = server.base
        server.route("/page", Reply(200, PAGE, headers={"Server": "test"}))
        server.route("/moved", Reply(302, "", headers={"Location": "/page"}))
        server.route("/broken", Reply(500, "oops", "text/plain"))
        server.route("/robots.txt", Reply(200, f"User-agent: *\nSitemap: {base}/sitemap_index.xml\n", "text/plain"))  # fmt: skip
        server.route("/sitemap_index.xml", Reply(200, f"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemap-a.xml</loc></sitemap><sitemap><loc>{base}/sitemap-b.xml.gz</loc></sitemap>
<sitemap><loc>{base}/missing.xml</loc></sitemap></sitemapindex>""", "application/xml"))  # fmt: skip
        server.route("/sitemap-a.xml", Reply(200, URLSET.format(base=base), "application/xml"))
        blog = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/blog</loc></url></urlset>'  # fmt: skip
        server.route("/sitemap-b.xml.gz", Reply(200, gzip.compress(blog.encode()), "application/gzip"))  # fmt: skip
        server.route("/bomb.xml", Reply(200, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset>&a;</urlset>', "application/xml"))  # fmt: skip
        server.route("/graphql", _graphql)
        server.route("/api/items", Reply(200, json.dumps({"items": [{"id": 7, "name": "hash"}]}), "application/json", {"X-Version": "2.1"}))  # fmt: skip
        yield server


def _engine(allowed: Path):
    return make_engine(allowed, allow_localhost=True)[0]


def test_web_scraper_reads_text_meta_links_and_selections(allowed: Path, site: WebServer):
    engine = _engine(allowed)
    r = run(
        engine,
        f"""return Tool.invoke("web-scraper", {{input = "{site.base}/moved", extract_links = true,
            extract_images = true, selectors = {{items = "li.item", intro = "p.intro"}}}})""",
    )
    result = r["result"]
    assert result["url"] == f"{site.base}/page" and result["status_code"] == 200
    assert result["title"] == "Lua Tools"
    assert (
        result["text"]
        == "Tools\nScripts call tools through one function.\nhash\nuuid\nDocs Lua again"
    )
    assert result["meta"] == {"description": "Tools for Lua scripts", "og:title": "OG Lua"}
    assert result["links"] == [
        {"url": f"{site.base}/docs", "text": "Docs"},
        {"url": "https://lua.org/", "text": "Lua"},
    ]
    assert result["images"] == [{"src": f"{site.base}/logo.png", "alt": "logo"}]
    assert result["selected"] == {
        "items": ["hash", "uuid"],
        "intro": ["Scripts call tools through one function."],
    }
    ids = run(engine, f'return Tool.invoke("web-scraper", {{html = [[{PAGE}]], selector = "li", attribute = "data-id"}})')  # fmt: skip
    assert ids["result"]["selected"]["selector"] == ["1", "2"] and ids["text"] == "1\n2"
    broken = run(engine, f'return Tool.invoke("web-scraper", {{input = "{site.base}/broken"}})')
    assert broken["success"] is False and "HTTP 500" in broken["error"]
    assert "invalid CSS selector" in failure(engine, 'Tool.invoke("web-scraper", {html = "<p>", selector = "p[["})')  # fmt: skip
    denied = failure(make_engine(allowed)[0], f'Tool.invoke("web-scraper", {{input = "{site.base}/page"}})')  # fmt: skip
    assert "tools.http_request.allow_localhost" in denied


def test_url_analyzer_parts_offline_and_the_page_with_fetch(allowed: Path, site: WebServer):
    engine = _engine(allowed)
    parts = run(
        engine,
        'return Tool.invoke("url-analyzer", {input = "https://user@docs.example.co.uk:8443/a/b.html?x=1&y=2&y=3#frag"})',
    )["result"]
    assert (
        parts["scheme"] == "https"
        and parts["host"] == "docs.example.co.uk"
        and parts["port"] == 8443
    )
    assert parts["query_params"] == {"x": "1", "y": ["2", "3"]} and parts["fragment"] == "frag"
    assert parts["extension"] == "html" and parts["username"] == "user" and parts["is_secure"]
    for text in ("not a url", "http://[::1"):
        bad = run(engine, f'return Tool.invoke("url-analyzer", {{input = "{text}"}})')
        assert bad["result"] == {"url": text, "valid": False}
    port = failure(engine, 'Tool.invoke("api-tester", {input = "http://example.org:99999/"})')
    assert "is not a valid URL: Port out of range" in port
    meta = run(engine, f'return Tool.invoke("url-analyzer", {{input = "{site.base}/moved", fetch_metadata = true}})')  # fmt: skip
    found = meta["result"]["metadata"]
    assert found["status_code"] == 200 and found["redirected"] is True
    assert found["final_url"] == f"{site.base}/page" and found["server"].endswith("test")
    assert found["title"] == "Lua Tools" and found["description"] == "Tools for Lua scripts"
    assert found["language"] == "en" and found["links"] == {
        "total": 2,
        "internal": 1,
        "external": 1,
    }


def test_webpage_monitor_compares_and_waits_for_a_change(allowed: Path, site: WebServer):
    looks = {"n": 0}

    def counter(_request: Request) -> Reply:
        looks["n"] += 1
        return Reply(200, f"<html><body><div id='n'>{'new' if looks['n'] >= 3 else 'old'}</div><p>{looks['n']}</p></body></html>")  # fmt: skip

    site.route("/counter", counter)
    engine = _engine(allowed)
    first = run(engine, f'return Tool.invoke("webpage-monitor", {{input = "{site.base}/counter", selector = "#n"}})')  # fmt: skip
    assert "changed" not in first["result"] and first["result"]["content"] == "old"
    value = run(
        engine,
        f"""local r = Tool.invoke("webpage-monitor", {{input = "{site.base}/counter", selector = "#n",
              previous_hash = "{first["result"]["hash"]}", wait_seconds = 30, interval_seconds = 0.05}})
            return r.result""",
    )
    assert value["changed"] is True and value["content"] == "new" and value["checks"] == 2
    diff = run(engine, f'return Tool.invoke("webpage-monitor", {{input = "{site.base}/counter", selector = "#n", previous_content = "old"}})')  # fmt: skip
    assert diff["result"]["diff"][-2:] == ["-old", "+new"] and diff["message"].endswith("changed")
    same = run(engine, 'return Tool.invoke("webpage-monitor", {html = "<p>a  b</p>", previous_content = "a b"})')  # fmt: skip
    assert same["result"]["changed"] is False


def test_sitemap_crawler_follows_robots_indexes_and_gzip(allowed: Path, site: WebServer):
    engine = _engine(allowed)
    result = run(engine, f'return Tool.invoke("sitemap-crawler", {{input = "{site.base}/"}})')[
        "result"
    ]
    assert [u["loc"] for u in result["urls"]] == [f"{site.base}/", f"{site.base}/docs", f"{site.base}/blog"]  # fmt: skip
    assert result["urls"][0] == {"loc": f"{site.base}/", "lastmod": "2026-11-01", "changefreq": "daily", "priority": 1.0}  # fmt: skip
    kinds = [(s["type"], s["entries"]) for s in result["sitemaps"]]
    assert kinds == [("sitemapindex", 3), ("urlset", 2), ("urlset", 1), ("error", 0)]
    assert result["sitemaps"][3]["error"] == "HTTP 404 Not Found"
    capped = run(engine, f'return Tool.invoke("sitemap-crawler", {{input = "{site.base}/sitemap-a.xml", max_urls = 1}})')  # fmt: skip
    assert capped["result"]["count"] == 1 and capped["result"]["truncated"] is True
    bomb = run(engine, f'return Tool.invoke("sitemap-crawler", {{input = "{site.base}/bomb.xml"}})')
    assert bomb["success"] is False and "entity declaration (refused)" in bomb["error"]


def test_api_tester_checks_status_time_headers_and_json(allowed: Path, site: WebServer):
    engine = _engine(allowed)
    ok = run(
        engine,
        f"""return Tool.invoke("api-tester", {{input = "{site.base}/api/items", expected_status = 200,
            max_response_time_ms = 10000, expected_headers = {{["X-Version"] = "2"}},
            expected_json = {{["items.1.name"] = "hash", ["items.1.id"] = 7}}}})""",
    )
    assert ok["success"] is True and ok["result"]["passed"] is True
    assert sorted(c["name"] for c in ok["result"]["checks"]) == [
        "header X-Version", "json items.1.id", "json items.1.name", "response_time_ms", "status",
    ]  # fmt: skip
    bad = run(
        engine,
        f"""return Tool.invoke("api-tester", {{input = "{site.base}/api/items", expected_status = {{201, 204}},
            expected_json = {{["items.2.id"] = 8}}}})""",
    )
    assert bad["success"] is False and bad["result"]["passed"] is False
    assert bad["error"] == "failed: status (expected [201, 204], got 200), json items.2.id (expected 8, got None)"  # fmt: skip


def test_graphql_query_data_errors_and_introspection(allowed: Path, site: WebServer):
    engine = _engine(allowed)
    query = "query Book($id: Int!) { book(id: $id) { title year } }"
    found = run(
        engine,
        f"""return Tool.invoke("graphql_query", {{input = "{site.base}/graphql", query = "{query}",
            variables = {{id = 1}}, auth = {{type = "bearer", token = "gql"}}}})""",
    )
    assert found["success"] is True
    assert found["result"]["data"] == {"book": {"title": "Programming in Lua", "year": 2016}}
    sent = json.loads(site.requests[-1].body)
    assert sent == {"query": query, "variables": {"id": 1}}
    missing = run(
        engine,
        f"""return Tool.invoke("graphql_query", {{input = "{site.base}/graphql", query = "{query}",
            variables = {{id = 99}}, auth = {{type = "bearer", token = "gql"}}}})""",
    )
    assert missing["success"] is False and missing["error"] == "no book 99"
    assert missing["result"]["errors"][0]["path"] == ["book"]
    schema = run(engine, f'return Tool.invoke("graphql_query", {{input = "{site.base}/graphql", operation = "introspect"}})')  # fmt: skip
    assert schema["result"]["data"]["queryType"] == {"name": "Query"}
    page = run(engine, f'return Tool.invoke("graphql_query", {{input = "{site.base}/page", query = "{{ a }}"}})')  # fmt: skip
    assert page["success"] is False and "without a GraphQL response" in page["error"]
