"""Usage and cost: every provider call in the state database's provider_calls, priced exactly
from the shipped table (or the configuration), `llmspell usage` and `session show` totals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
from llmspell_kernel.providers.types import Usage
from llmspell_kernel.state.settings import DataSettings
from llmspell_kernel.usage import prices
from tests.data_helpers import write_config
from tests.llm_server import Reply, anthropic_text, error_body, openai_text
from tests.test_agents import cli_env, run, server  # noqa: F401 - the fixture

TABLE = json.loads((Path(prices.__file__).parents[1] / "data" / "prices.json").read_text())


def _entry(provider: str, model_id: str) -> dict:
    return next(m for m in TABLE["providers"][provider]["models"] if m["id"] == model_id)


def _expected(period: dict, prompt: int, cached: int, output: int) -> Decimal:
    """USD from the table's decimal strings, in exact decimal arithmetic."""
    return (
        Decimal(period["input"]) * (prompt - cached)
        + Decimal(period.get("cached_input", period["input"])) * cached
        + Decimal(period["output"]) * output
    ) / 10**6


def test_the_table_is_dated_and_says_where_it_comes_from() -> None:
    info = prices.table_info()
    assert info["source"] == "https://github.com/pydantic/genai-prices"
    assert len(info["source_commit"]) == 40 and info["source_date"] >= "2026-08-21"
    assert _entry("openai", "gpt-4o-mini")["checked"] == "2025-07-04"


@pytest.mark.parametrize(
    ("provider", "model", "model_id"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai", "gpt-4o", "gpt-4o"),
        ("anthropic", "claude-3-haiku-20240307", "claude-3-haiku"),
        ("groq", "llama-3.1-8b-instant", "llama-3.1-8b-instant"),
    ],
)
def test_cost_is_price_times_reported_tokens_exactly(provider, model, model_id) -> None:
    period = _entry(provider, model_id)["prices"][-1]
    price = prices.find_price(provider, model)
    assert price is not None and price.model_id == model_id
    for prompt, cached, output in [(9, 0, 3), (123457, 2048, 9871), (1, 1, 0)]:
        pico = prices.cost(price, Usage(prompt, output, cached))
        exact = _expected(period, prompt, cached, output)
        assert Decimal(pico) / 10**12 == exact  # integers of 1e-12 USD: no rounding at all
        assert prices.usd(pico) == float(exact)


def test_an_embedding_model_is_priced_per_input_token_only() -> None:
    price = prices.find_price("openai", "text-embedding-3-small")
    assert price is not None and price.model_id == "text-embedding-3-small"
    assert price.describe()["input_per_mtok"] == 0.02 and price.output is None
    assert prices.cost(price, Usage(1000, 0)) == 1000 * 20_000  # 0.02 USD/M in pico-USD
    assert prices.cost(price, Usage(1000, 5)) is None  # output tokens it has no price for


def test_unknown_models_have_no_cost_never_a_guess() -> None:
    assert prices.find_price("openai", "gpt-9-imaginary") is None
    assert prices.find_price("work-proxy", "gpt-4o-mini") is None  # a provider of your own
    assert prices.cost(None, Usage(10, 10)) is None
    price = prices.find_price("openai", "gpt-4o-mini")
    assert prices.cost(price, Usage()) is None  # no reported tokens: no cost
    assert prices.cost(price, Usage(10, 5, cache_write_tokens=3)) is None  # unpriced kind
    local = prices.find_price("local", "smollm2", provider_type="local")
    assert prices.cost(local, Usage(100, 20)) == 0 and prices.usd(0) == 0


def test_tiers_and_price_history() -> None:
    tiered = prices.find_price("anthropic", "claude-sonnet-4-5-20250929")
    assert prices.cost(tiered, Usage(200000, 1000)) == 200000 * 3_000_000 + 1000 * 15_000_000
    # past 200k input tokens every token pays the tier's price
    assert prices.cost(tiered, Usage(200001, 1000)) == 200001 * 6_000_000 + 1000 * 22_500_000
    before = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    after = datetime(2026, 8, 1, tzinfo=UTC).timestamp()
    old = prices.find_price("openai", "gpt-5.6-luna", at=before)
    new = prices.find_price("openai", "gpt-5.6-luna", at=after)
    assert prices.cost(old, Usage(10, 10)) == 10 * 1_000_000 + 10 * 6_000_000
    assert prices.cost(new, Usage(10, 10)) == 10 * 200_000 + 10 * 1_200_000


def test_config_overrides_a_price_per_model(tmp_path: Path) -> None:
    from llmspell_kernel.config import load_config

    config = write_config(
        tmp_path / "c.toml",
        '[prices."openai/gpt-4o-mini"]\ninput = 1.5\noutput = 2.25\nchecked = "2026-12-01"\n'
        '[prices."ollama/*"]\ninput = 0\noutput = 0\n',
    )
    overrides = load_config(config, env={}).config.prices.models
    mine = prices.find_price("openai", "gpt-4o-mini", overrides=overrides)
    assert (mine.source, mine.checked) == ("config", "2026-12-01")
    assert prices.cost(mine, Usage(10, 4, 6)) == 10 * 1_500_000 + 4 * 2_250_000
    ollama = prices.find_price("ollama", "llama3.2", overrides=overrides)
    assert prices.cost(ollama, Usage(100, 100)) == 0


def test_every_call_is_recorded_with_its_cost(server) -> None:  # noqa: F811
    server.script(
        Reply(body=openai_text("a", model="gpt-4o-mini-2024-07-18", prompt=1234, completion=567)),
        Reply(body=openai_text("b", model="gpt-9-imaginary")),
        Reply(401, error_body("invalid_api_key", "bad key")),
    )
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    first = run(
        engine,
        'return Agent.builder():name("w"):model("gpt-4o-mini"):build():execute("x").metadata',
    )
    exact = _expected(_entry("openai", "gpt-4o-mini")["prices"][0], 1234, 0, 567)
    assert first["cost"] == float(exact)
    unknown = run(engine, 'return Agent.builder():model("gpt-9-imaginary"):build():execute("x")')
    assert "cost" not in unknown["metadata"]  # nil
    failed = engine.execute('Agent.builder():name("f"):model("gpt-4o"):build():execute("x")')
    assert failed.status == "error"
    calls = engine.data.usage().calls()
    assert [(c["agent"], c["model"], c["status"]) for c in calls] == [
        ("w", "gpt-4o-mini-2024-07-18", "ok"),
        (calls[1]["agent"], "gpt-9-imaginary", "ok"),
        ("f", "gpt-4o", "error"),
    ]
    assert calls[0]["cost_pico_usd"] == int(exact * 10**12)
    assert (calls[0]["input_tokens"], calls[0]["output_tokens"]) == (1234, 567)
    assert calls[0]["correlation_id"] == first["correlation_id"]
    assert calls[0]["price_checked"] == "2025-07-04" and calls[0]["latency_ms"] > 0
    assert calls[1]["cost_pico_usd"] is None
    assert calls[2]["error"].startswith("authentication failed for provider 'openai' (HTTP 401)")
    totals = engine.data.usage().totals()
    assert (totals["calls"], totals["errors"], totals["unpriced_calls"]) == (3, 1, 1)
    assert totals["cost_usd"] == float(exact)


def test_anthropic_input_counts_prompt_cache_reads(server, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("LLMSPELL_ANTHROPIC_ENDPOINT", server.url)
    body = anthropic_text("hi")
    body["usage"] = {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 4}
    server.script(Reply(body=body))
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    meta = run(
        engine,
        'return Agent.builder():model("anthropic/claude-3-haiku-20240307"):api_key("k")'
        ":build():execute('x').metadata",
    )
    assert meta["usage"]["prompt_tokens"] == 100 and meta["usage"]["cached_tokens"] == 90
    assert meta["cost"] == float(
        _expected(_entry("anthropic", "claude-3-haiku")["prices"][0], 100, 90, 4)
    )


def _llmspell(config: Path, server_, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**cli_env(server_), "LLMSPELL_OPENAI_ENDPOINT": server_.url},
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.usefixtures("store_backend")
def test_llmspell_usage_after_three_calls(server, tmp_path: Path) -> None:  # noqa: F811
    server.script(
        Reply(body=openai_text("1", model="gpt-4o-mini", prompt=100, completion=10)),
        Reply(body=openai_text("2", model="gpt-4o", prompt=200, completion=20)),
        Reply(body=openai_text("3", model="my-finetune", prompt=300, completion=30)),
    )
    config = write_config(tmp_path / "c.toml")
    code = """
    local s = Session.create({name = "costs"})
    Agent.builder():name("a"):model("gpt-4o-mini"):build():execute("x")
    Agent.builder():name("b"):model("gpt-4o"):build():execute("x")
    Agent.builder():name("b2"):model("my-finetune"):build():execute("x")
    return s
    """
    ran = _llmspell(config, server, "--output", "json", "exec", code)
    assert ran.returncode == 0, ran.stderr
    session = json.loads(ran.stdout)["result"]
    shown = _llmspell(config, server, "--output", "json", "usage")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    mini = _expected(_entry("openai", "gpt-4o-mini")["prices"][0], 100, 0, 10)
    big = _expected(_entry("openai", "gpt-4o")["prices"][0], 200, 0, 20)
    assert [(g["key"], g["calls"], g["cost_usd"]) for g in summary["groups"]] == [
        ("gpt-4o", 1, float(big)),
        ("gpt-4o-mini", 1, float(mini)),
        ("my-finetune", 1, None),
    ]
    total = summary["total"]
    assert (total["calls"], total["input_tokens"], total["output_tokens"]) == (3, 600, 60)
    assert total["cost_usd"] == float(mini + big) and total["unpriced_calls"] == 1
    text = _llmspell(config, server, "usage", "--by", "agent", "--session", session[:8])
    rows = [[c.strip() for c in re.split("[│┃]", line)] for line in text.stdout.splitlines()]
    assert rows[0] == [
        "agent",
        "calls",
        "errors",
        "input",
        "cached",
        "output",
        "cost_usd",
        "unpriced",
    ]
    assert [r[0] for r in rows[2:]] == ["a", "b", "b2", "total"], text.stdout
    assert rows[4][6] == "-"  # unknown, not 0
    assert rows[-1] == [
        "total",
        "3",
        "0",
        "600",
        "0",
        "60",
        f"{float(mini + big):.10f}".rstrip("0"),
        "1",
    ]
    later = _llmspell(config, server, "usage", "--since", "2999-01-01")
    assert later.stdout == "no provider calls recorded in this window\n"
    day = json.loads(_llmspell(config, server, "--output", "json", "usage", "--by", "day").stdout)
    assert day["groups"][0]["key"] == datetime.now().date().isoformat()
    show = _llmspell(config, server, "--output", "json", "session", "show", session)
    assert json.loads(show.stdout)["usage"]["calls"] == 3
    bad = _llmspell(config, server, "usage", "--since", "yesterday")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --since must be a date")


def _rows_in_file(path: Path) -> int:
    """provider_calls rows another connection sees in the database file (what `llmspell
    usage` in another process would read)."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM provider_calls").fetchone()[0]
    finally:
        conn.close()


def test_provider_calls_are_written_together_and_before_any_read(tmp_path, monkeypatch) -> None:
    from llmspell_kernel.state import hub as hub_module
    from llmspell_kernel.state.hub import DataHub
    from llmspell_kernel.usage.log import ProviderCall

    path = tmp_path / "state.db"
    hub = DataHub(DataSettings(backend="sqlite", path=str(path)))
    hub.database()  # the file and its schema

    def call(n: int) -> ProviderCall:
        return ProviderCall(correlation_id=f"c{n}", provider="openai", model="gpt-4o-mini")

    for n in range(3):
        hub.record_call(call(n))
    assert _rows_in_file(path) == 0  # queued: the script's call wrote no SQL
    assert [c["correlation_id"] for c in hub.usage().calls()] == ["c0", "c1", "c2"]
    assert _rows_in_file(path) == 3  # a read through the hub writes the queue first
    for n in range(3, 3 + hub_module.USAGE_BATCH):
        hub.record_call(call(n))
    assert _rows_in_file(path) == 3 + hub_module.USAGE_BATCH  # a full batch goes at once
    hub.record_call(call(100), tenant="other")
    hub.state().save("global", "k", 1)  # any other use of the store writes the queue first
    assert _rows_in_file(path) == 4 + hub_module.USAGE_BATCH
    assert [c["correlation_id"] for c in hub.usage("other").calls()] == ["c100"]
    monkeypatch.setattr(hub_module, "USAGE_SECONDS", 0.0)  # the oldest has waited long enough
    hub.record_call(call(101))
    assert _rows_in_file(path) == 5 + hub_module.USAGE_BATCH
    monkeypatch.setattr(hub_module, "USAGE_SECONDS", 3600.0)
    hub.record_call(call(102))
    hub.close()  # and the store's close
    assert _rows_in_file(path) == 6 + hub_module.USAGE_BATCH


def test_a_kernel_writes_an_executions_calls_when_it_ends(server, tmp_path) -> None:  # noqa: F811
    # The kernel stays up: the rows are in the file once the execution's reply has come.
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.kernel.server import KernelSettings

    server.script(Reply(body=openai_text("a")), Reply(body=openai_text("b")))
    path = tmp_path / "state.db"
    engine = EngineSettings(  # no events: their write would take the queue along
        data=DataSettings(backend="sqlite", path=str(path)),
        events=EventSettings(enabled=False, persist=False),
    )
    with start_embedded_kernel(KernelSettings(engine=engine)) as kernel:
        execution = kernel.client().execute(
            'local a = Agent.builder():model("gpt-4o-mini"):build() a:execute("x") '
            'a:execute("y") return 1'
        )
        list(execution)
        assert execution.reply["status"] == "ok", execution.reply
        assert _rows_in_file(path) == 2
