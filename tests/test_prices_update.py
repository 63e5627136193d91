"""`llmspell prices update|show|list`: a newer table fetched over real HTTP (a local server on
127.0.0.1 serving data in genai-prices' published JSON form), kept as a layer above the shipped
table, used by the next cost computed; failures change nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.state.settings import DataSettings
from llmspell_kernel.usage import prices
from tests.data_helpers import write_config
from tests.llm_server import Reply as LLMReply
from tests.llm_server import openai_text
from tests.test_agents import run, server  # noqa: F401 - the fixture
from tests.web_server import Reply, WebServer, web_server

# The form of genai-prices' prices/new_data/v2/data.json (a list of providers; the fields a
# provider and a model carry there, a model priced per request, a dated price history).
FEED = [
    {
        "id": "openai",
        "name": "OpenAI",
        "pricing_urls": ["https://platform.openai.com/docs/pricing"],
        "api_pattern": "https://api\\.openai\\.com",
        "model_match": {"or": [{"starts_with": "gpt-"}, {"regex": "^o[134]"}]},
        "provider_match": {"contains": "openai"},
        "extractors": [
            {
                "api_flavor": "chat",
                "root": "usage",
                "model_path": "model",
                "mappings": [
                    {"path": "prompt_tokens", "dest": "input_tokens", "required": True},
                    {"path": "completion_tokens", "dest": "output_tokens", "required": True},
                ],
            }
        ],
        "models": [
            {
                "id": "gpt-4o-mini",
                "name": "gpt 4o mini",
                "description": "GPT-4o Mini is a cost-optimized variant of GPT-4o.",
                "match": {"or": [{"equals": "gpt-4o-mini"}, {"equals": "gpt-4o-mini-2024-07-18"}]},
                "context_window": 128000,
                "prices": {"input_mtok": 0.2, "cache_read_mtok": 0.1, "output_mtok": 0.9},
            },
            {
                "id": "gpt-4o",
                "name": "gpt 4o",
                "match": {
                    "or": [
                        {"equals": "gpt-4o"},
                        {"equals": "gpt-4o-2024-05-13"},
                        {"equals": "gpt-4o-2024-08-06"},
                        {"equals": "gpt-4o-2024-11-20"},
                    ]
                },
                "context_window": 128000,
                "prices": {"input_mtok": 2.5, "cache_read_mtok": 1.25, "output_mtok": 10},
            },
            {
                "id": "gpt-new",
                "match": {"starts_with": "gpt-new"},
                "prices": [
                    {"prices": {"input_mtok": 1, "output_mtok": 4}},
                    {
                        "constraint": {"start_date": "2026-07-30"},
                        "prices": {"input_mtok": 0.5, "output_mtok": 2},
                    },
                ],
            },
            {"id": "dall-e-3", "match": {"equals": "dall-e-3"}, "prices": {"requests_kcount": 40}},
        ],
    },
    {
        "id": "anthropic",
        "name": "Anthropic",
        "pricing_urls": ["https://www.anthropic.com/pricing#api"],
        "api_pattern": "https://api\\.anthropic\\.com",
        "models": [
            {
                "id": "claude-3-haiku",
                "match": {"starts_with": "claude-3-haiku"},
                "prices": {
                    "input_mtok": 0.25,
                    "cache_write_mtok": 0.3,
                    "cache_read_mtok": 0.03,
                    "output_mtok": 1.5,
                },
            }
        ],
    },
    {"id": "aws", "name": "AWS Bedrock", "api_pattern": "x", "models": []},
]
MODIFIED = "Tue, 01 Dec 2026 08:00:00 GMT"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def feed() -> WebServer:
    with web_server() as web:
        body = json.dumps(FEED)
        web.route("/data.json", Reply(body=body, content_type="application/json",
                                      headers={"Last-Modified": MODIFIED}))  # fmt: skip
        web.route("/undated.json", Reply(body=body, content_type="application/json"))
        web.route("/gone", Reply(404, "404: Not Found", "text/plain"))
        web.route("/broken", Reply(500, "oops", "text/plain"))
        web.route("/truncated", Reply(body=body[: len(body) // 2], content_type="text/plain"))
        web.route("/not-a-feed", Reply(body='{"providers": {}}', content_type="application/json"))
        bad = json.loads(body)
        bad[0]["models"][0]["prices"]["input_mtok"] = "cheap"
        web.route("/bad-price", Reply(body=json.dumps(bad), content_type="application/json"))
        yield web


def _shipped_ids() -> set[str]:
    return {
        f"{name}/{m['id']}" for name, p in prices.table()["providers"].items() for m in p["models"]
    }


def test_dry_run_shows_the_changes_and_writes_nothing(feed: WebServer) -> None:
    ran = _cli("--output", "json", "prices", "update", "--url", f"{feed.base}/data.json",
               "--dry-run")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    shown = json.loads(ran.stdout)
    target = prices.override_path()
    assert not target.exists() and shown["written"] is False
    assert shown["path"] == str(target) and shown["data_date"] == "2026-12-01"
    kept = {"openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-haiku"}
    assert (shown["added"], shown["changed"], shown["models"]) == (1, 2, 4)
    assert shown["removed"] == len(_shipped_ids() - kept)
    assert shown["examples"]["added"] == ["openai/gpt-new"]
    assert sorted(shown["examples"]["changed"]) == [
        "anthropic/claude-3-haiku: output 1.25 -> 1.5",
        "openai/gpt-4o-mini: input 0.15 -> 0.2, cached_input 0.075 -> 0.1, output 0.6 -> 0.9",
    ]
    text = _cli("prices", "update", "--url", f"{feed.base}/data.json", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"would write {target}: 4 models, 1 added, 2 changed, ")
    assert "last modified 2026-12-01" in text.stdout and not target.exists()
    assert [r.path for r in feed.requests] == ["/data.json", "/data.json"]


def test_update_is_a_layer_the_next_cost_uses(feed: WebServer, server, tmp_path) -> None:  # noqa: F811
    server.script(*(LLMReply(body=openai_text("a", prompt=1000, completion=100)) for _ in range(2)))
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    agent = 'return Agent.builder():model("gpt-4o-mini"):build():execute("x").metadata.cost'
    assert run(engine, agent) == float(
        Decimal("0.15") * 1000 / 10**6 + Decimal("0.6") * 100 / 10**6
    )

    ran = _cli("prices", "update", "--url", f"{feed.base}/undated.json")
    assert ran.returncode == 0, ran.stderr
    target = prices.override_path()
    assert ran.stdout.splitlines()[0].startswith(f"wrote {target}: 4 models, 1 added, 2 changed")
    assert f"data from {feed.base}/undated.json, fetched 20" in ran.stdout  # no Last-Modified
    written = json.loads(target.read_text())
    assert written["source_url"] == f"{feed.base}/undated.json"
    assert written["source_date_from"] == "fetched"
    mini = written["providers"]["openai"]["models"][0]
    assert mini["prices"] == [{"input": "0.2", "cached_input": "0.1", "output": "0.9"}]
    # The feed has no check dates: a changed price is dated by the data (here the fetch day).
    assert mini["checked"] == written["source_date"]
    assert written["providers"]["openai"]["models"][1]["checked"] == "2025-07-04"  # unchanged
    assert not list(target.parent.glob(".*tmp*"))  # the temporary file went with the rename

    # The same engine (a running kernel) prices its next call with the new table.
    assert run(engine, agent) == float(Decimal("0.2") * 1000 / 10**6 + Decimal("0.9") * 100 / 10**6)
    calls = engine.data.usage().calls()
    assert [c["cost_pico_usd"] for c in calls] == [
        1000 * 150_000 + 100 * 600_000,
        1000 * 200_000 + 100 * 900_000,
    ]
    # The history in the update: the period in force now.
    new = prices.find_price("openai", "gpt-new-1")
    assert (new.source, new.describe()["input_per_mtok"]) == ("update", 0.5)
    # A model the update does not price keeps its shipped price; the configuration wins.
    groq = prices.find_price("groq", "llama-3.1-8b-instant")
    assert groq is not None and groq.source == "table"
    config = write_config(
        tmp_path / "c.toml", '[prices."openai/gpt-4o-mini"]\ninput = 7\noutput = 8\n'
    )
    shown = _cli(
        "--config", str(config), "--output", "json", "prices", "show", "openai/gpt-4o-mini"
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["source"] == "config"
    shown = _cli("--output", "json", "prices", "show", "openai/gpt-4o-mini-2024-07-18")
    assert json.loads(shown.stdout)["input_per_mtok"] == 0.2
    assert json.loads(shown.stdout)["source"] == "update"
    listed = json.loads(_cli("--output", "json", "prices", "list", "openai").stdout)
    assert listed["tables"]["update"]["path"] == str(target)
    assert [m["model"] for m in listed["models"][:3]] == ["gpt-4o-mini", "gpt-4o", "gpt-new"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/gone", "error: could not fetch prices from {url}: HTTP 404 Not Found"),
        ("/broken", "error: could not fetch prices from {url}: HTTP 500 Internal Server Error"),
        ("/truncated", "error: malformed price data from {url}: not JSON (Unterminated string"),
        (
            "/not-a-feed",
            "error: malformed price data from {url}: expected a JSON list of providers "
            "(genai-prices' data.json)",
        ),
        (
            "/bad-price",
            "error: malformed price data from {url}: openai/gpt-4o-mini.input_mtok: "
            "price 'cheap' is not a number",
        ),
    ],
)
def test_a_failed_update_says_why_in_one_line_and_changes_nothing(
    feed: WebServer, path: str, message: str
) -> None:
    first = _cli("prices", "update", "--url", f"{feed.base}/data.json")
    assert first.returncode == 0, first.stderr
    target = prices.override_path()
    before = target.read_bytes()
    url = f"{feed.base}{path}"
    ran = _cli("prices", "update", "--url", url)
    assert ran.returncode == 1 and ran.stdout == ""
    lines = ran.stderr.splitlines()
    assert lines[0].startswith(message.format(url=url)), ran.stderr
    assert "Traceback" not in ran.stderr and len(lines) == 1
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["prices.json"]


def test_network_failure_and_bad_arguments() -> None:
    with web_server() as web:
        closed = web.base  # nothing listens there once the server is closed
    ran = _cli("prices", "update", "--url", f"{closed}/data.json")
    assert ran.returncode == 1
    assert ran.stderr.startswith(f"error: could not fetch prices from {closed}/data.json: ")
    assert "Connection refused" in ran.stderr and len(ran.stderr.splitlines()) == 1
    assert not prices.override_path().exists()
    ran = _cli("prices", "update", "--url", "ftp://example.org/data.json")
    assert ran.returncode == 2
    assert ran.stderr.splitlines()[0] == (
        "error: --url must be an http:// or https:// URL, not 'ftp://example.org/data.json'"
    )
    ran = _cli("prices", "show", "gpt-4o-mini")
    assert ran.returncode == 2 and "expected PROVIDER/MODEL" in ran.stderr
    ran = _cli("prices", "show", "openai/gpt-9-imaginary")
    assert ran.returncode == 1
    assert ran.stderr.splitlines()[0] == (
        "error: no price known for 'openai/gpt-9-imaginary': its calls are recorded with no cost"
    )


def test_a_damaged_update_file_leaves_the_shipped_prices_in_force() -> None:
    target = prices.override_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("{not json")
    price = prices.find_price("openai", "gpt-4o-mini")
    assert price is not None and price.source == "table"
