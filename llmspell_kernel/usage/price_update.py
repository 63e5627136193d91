"""`llmspell prices update`: a newer price table from pydantic's genai-prices feed, on request.

genai-prices (MIT) publishes its live data as one JSON document (`prices/new_data/v2/data.json`:
a list of providers, each with models, their match rules and prices). `update()` fetches it,
converts the providers llmspell has presets for with the same rules as the shipped table
(scripts/genai_prices_table.py uses this module too), and writes the result atomically to
`prices.json` in the user data dir. That file is a layer above the shipped table (a model it
prices is priced from it; one it does not know falls back to the shipped table), and
`[prices."PROVIDER/MODEL"]` in the configuration still wins over both. Nothing here runs at
start-up; on any failure nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from llmspell_kernel.errors import LlmspellError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_URL = (
    "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/"
    "prices/new_data/v2/data.json"
)
SOURCE = "https://github.com/pydantic/genai-prices"
LICENSE = "MIT (c) Pydantic Services Inc."
MAX_BYTES = 64 * 1024 * 1024  # the feed is ~0.4 MB; anything this large is not it

# genai-prices provider id -> llmspell provider (preset) name
PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "together": "together",
    "fireworks": "fireworks",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "google": "gemini",
    "cohere": "cohere",
}
# genai-prices key -> ours (USD per million tokens)
FIELDS = {"input_mtok": "input", "cache_read_mtok": "cached_input", "output_mtok": "output"}
CLAUSES = {"equals", "starts_with", "ends_with", "contains", "regex", "or", "and"}


class PriceDataError(LlmspellError):
    """The price data does not have the form genai-prices publishes."""


class PriceFetchError(LlmspellError):
    """The price data could not be fetched (network failure or an HTTP error)."""


def amount(value: object, where: str) -> str:
    """A price as an exact decimal string; it must be a whole number of micro-USD per million
    tokens (llmspell keeps costs as integers of 1e-12 USD)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PriceDataError(f"{where}: price {value!r} is not a number")
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise PriceDataError(f"{where}: price {value!r} is not a number") from None
    if not exact.is_finite() or exact < 0 or (exact * 10**6) != (exact * 10**6).to_integral():
        raise PriceDataError(f"{where}: price {value!r} is not a price with at most 6 decimals")
    return format(exact.normalize(), "f")


def price(value: object, where: str) -> str | dict[str, Any]:
    """A flat price, or a tiered one ({base, tiers: [{start, price}]})."""
    if isinstance(value, dict):
        tiers = value.get("tiers") or []
        if "base" not in value or not isinstance(tiers, list):
            raise PriceDataError(f"{where}: a tiered price needs 'base' and a list of 'tiers'")
        try:
            parsed = [{"start": int(t["start"]), "price": amount(t["price"], where)} for t in tiers]
        except (KeyError, TypeError, ValueError):
            raise PriceDataError(f"{where}: each tier needs a 'start' and a 'price'") from None
        return {
            "base": amount(value["base"], where),
            "tiers": sorted(parsed, key=lambda t: t["start"]),
        }
    return amount(value, where)


def check_match(match: object, where: str) -> None:
    """A match rule of a form the price lookup understands."""
    if not isinstance(match, dict) or len(match) != 1 or next(iter(match)) not in CLAUSES:
        raise PriceDataError(f"{where}: unsupported match clause {match!r}")
    kind, value = next(iter(match.items()))
    if kind in ("or", "and"):
        if not isinstance(value, list):
            raise PriceDataError(f"{where}: '{kind}' needs a list of clauses")
        for clause in value:
            check_match(clause, where)
    elif not isinstance(value, str):
        raise PriceDataError(f"{where}: '{kind}' needs a string, not {value!r}")


def period(raw: dict[str, Any], where: str) -> dict[str, Any] | None:
    """One price of a model (None when it is not priced per input token). An embedding model
    has an input price only."""
    prices = raw.get("prices", raw)
    if not isinstance(prices, dict):
        raise PriceDataError(f"{where}: prices must be an object, not {prices!r}")
    if "input_mtok" not in prices:
        return None
    out: dict[str, Any] = {}
    constraint = raw.get("constraint") or {}
    if not isinstance(constraint, dict):
        raise PriceDataError(f"{where}: constraint must be an object")
    if "start_date" in constraint:
        out["start_date"] = str(constraint["start_date"])
    if "start_time" in constraint:
        out["utc_time"] = [str(constraint["start_time"]), str(constraint.get("end_time"))]
    extra = set(constraint) - {"start_date", "start_time", "end_time"}
    if extra:
        raise PriceDataError(f"{where}: unsupported price constraint {sorted(extra)}")
    for key, ours in FIELDS.items():
        if key in prices:
            out[ours] = price(prices[key], f"{where}.{key}")
    return out


def provider_table(data: dict[str, Any]) -> dict[str, Any]:
    """One provider of genai-prices (its YAML file, or one entry of the JSON feed) in the
    shipped table's form: the models priced per token, in the source's order."""
    models = []
    raw_models = data.get("models")
    if not isinstance(raw_models, list):
        raise PriceDataError(f"{data.get('id')}: 'models' must be a list")
    for number, model in enumerate(raw_models):
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            raise PriceDataError(f"{data.get('id')}: model #{number + 1} has no 'id'")
        where = f"{data['id']}/{model['id']}"
        if "match" not in model:
            raise PriceDataError(f"{where}: no 'match' rule")
        check_match(model["match"], where)
        raw = model.get("prices")
        raws = raw if isinstance(raw, list) else [{"prices": raw or {}}]
        if not all(isinstance(r, dict) for r in raws):
            raise PriceDataError(f"{where}: each price period must be an object")
        periods = [period(r, where) for r in raws]
        if not periods or any(p is None for p in periods):
            continue  # not priced per token (images, audio, requests, ...)
        checked = model.get("prices_checked")
        models.append(
            {
                "id": model["id"],
                "match": model["match"],
                "checked": str(checked) if checked else None,
                "prices": periods,
            }
        )
    table: dict[str, Any] = {"models": models}
    fallback = [PROVIDERS[p] for p in data.get("fallback_model_providers") or [] if p in PROVIDERS]
    if fallback:
        table["fallback"] = fallback
    return table


def render(table: dict[str, Any]) -> str:
    """JSON with one model per line (readable diffs when prices change)."""
    lines = ["{"]
    for key, value in table.items():
        if key != "providers":
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines.append(' "providers": {')
    names = list(table["providers"])
    for i, name in enumerate(names):
        provider = table["providers"][name]
        lines.append(f"  {json.dumps(name)}: {{")
        if "fallback" in provider:
            lines.append(f'   "fallback": {json.dumps(provider["fallback"])},')
        lines.append('   "models": [')
        models = provider["models"]
        for j, model in enumerate(models):
            lines.append("    " + json.dumps(model) + ("," if j < len(models) - 1 else ""))
        lines.append("   ]")
        lines.append("  }" + ("," if i < len(names) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def convert_feed(feed: object) -> dict[str, dict[str, Any]]:
    """The providers of genai-prices' JSON feed (a list of providers) that llmspell prices."""
    if not isinstance(feed, list) or not all(isinstance(p, dict) for p in feed):
        raise PriceDataError("expected a JSON list of providers (genai-prices' data.json)")
    by_id = {p.get("id"): p for p in feed}
    providers = {
        PROVIDERS[source]: provider_table(by_id[source]) for source in PROVIDERS if source in by_id
    }
    if not providers:
        raise PriceDataError(f"no provider llmspell prices ({', '.join(PROVIDERS)}) in the data")
    if not any(p["models"] for p in providers.values()):
        raise PriceDataError("no model priced per token in the data")
    return providers


@dataclass
class Changes:
    """What an update changes against the table in force (provider/model ids)."""

    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (id, what changed)
    removed: list[str] = field(default_factory=list)
    total: int = 0  # models in the new table

    def as_dict(self, examples: int) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "models": self.total,
            "examples": {
                "added": self.added[:examples],
                "changed": [f"{m}: {what}" for m, what in self.changed[:examples]],
                "removed": self.removed[:examples],
            },
        }


def _latest(model: dict[str, Any]) -> dict[str, Any]:
    return model["prices"][-1]


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return f"{value['base']} (tiered)"
    return str(value)


def compare(old: dict[str, Any], new: dict[str, Any]) -> Changes:
    """Models added, changed (match rule or prices) and removed between two tables."""

    def flat(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            f"{name}/{m['id']}": m
            for name, provider in table.get("providers", {}).items()
            for m in provider.get("models", [])
        }

    before, after = flat(old), flat(new)
    changes = Changes(total=len(after))
    for key, model in after.items():
        was = before.get(key)
        if was is None:
            changes.added.append(key)
        elif was["prices"] != model["prices"] or was["match"] != model["match"]:
            a, b = _latest(was), _latest(model)
            parts = [
                f"{ours} {_shown(a.get(ours))} -> {_shown(b.get(ours))}"
                for ours in FIELDS.values()
                if a.get(ours) != b.get(ours)
            ]
            if not parts:
                parts = ["match rule" if was["match"] != model["match"] else "price history"]
            changes.changed.append((key, ", ".join(parts)))
    changes.removed = [key for key in before if key not in after]
    return changes


def fetch(url: str, timeout: float) -> tuple[bytes, str | None]:
    """The body at `url` and the date of its Last-Modified header (None without one)."""
    import httpx2

    try:
        with (
            httpx2.Client(timeout=httpx2.Timeout(timeout), follow_redirects=True) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code >= 400:
                reason = response.reason_phrase or ""
                raise PriceFetchError(
                    f"could not fetch prices from {url}: HTTP {response.status_code} {reason}".rstrip()
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise PriceDataError(
                        f"malformed price data from {url}: larger than {MAX_BYTES} bytes"
                    )
                chunks.append(chunk)
            modified = response.headers.get("last-modified")
    except httpx2.TimeoutException:
        raise PriceFetchError(
            f"could not fetch prices from {url}: no answer within {timeout:g} s"
        ) from None
    except httpx2.HTTPError as error:
        cause = str(error) or type(error).__name__
        raise PriceFetchError(f"could not fetch prices from {url}: {cause}") from None
    date = None
    if modified:
        try:
            date = parsedate_to_datetime(modified).astimezone(UTC).date().isoformat()
        except (TypeError, ValueError):
            date = None
    return b"".join(chunks), date


@dataclass
class UpdateResult:
    """What `prices update` did (or, with dry_run, would do)."""

    path: Path
    url: str
    data_date: str  # Last-Modified of the data, else the day it was fetched
    date_from: str  # "last-modified" or "fetched"
    written: bool
    changes: Changes

    def as_dict(self, examples: int = 5) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "url": self.url,
            "data_date": self.data_date,
            "date_from": self.date_from,
            "written": self.written,
            "dry_run": not self.written,
            **self.changes.as_dict(examples),
        }


def build_table(body: bytes, url: str, data_date: str, date_from: str) -> dict[str, Any]:
    """The override table from the fetched body (PriceDataError when it is not the feed)."""
    try:
        feed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise PriceDataError(f"malformed price data from {url}: not JSON ({error})") from None
    try:
        providers = convert_feed(feed)
    except PriceDataError as error:
        raise PriceDataError(f"malformed price data from {url}: {error.message}") from None
    return {
        "source": SOURCE,
        "source_url": url,
        "source_date": data_date,
        "source_date_from": date_from,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "license": LICENSE,
        "generated_by": "llmspell prices update",
        "units": "USD per million tokens",
        "providers": providers,
    }


def _keep_checked_dates(table: dict[str, Any], known: list[dict[str, Any]], data_date: str) -> None:
    """The JSON feed has no `prices_checked`: an unchanged price keeps the date it had; a new or
    changed one is dated by the data (its Last-Modified, else the day it was fetched)."""
    dates: dict[tuple[str, str], tuple[Any, str]] = {}
    for data in reversed(known):
        for name, provider in data.get("providers", {}).items():
            for m in provider.get("models", []):
                if m.get("checked"):
                    dates[(name, m["id"])] = (m["prices"], m["checked"])
    for name, provider in table["providers"].items():
        for m in provider["models"]:
            old = dates.get((name, m["id"]))
            if m["checked"] is None:
                m["checked"] = old[1] if old is not None and old[0] == m["prices"] else data_date


def update(url: str = DEFAULT_URL, *, dry_run: bool = False, timeout: float = 30.0) -> UpdateResult:
    """Fetch the feed at `url`, compare it with the table in force and (unless `dry_run`) write
    it as the override layer. Raises PriceFetchError or PriceDataError, writing nothing."""
    from llmspell_kernel.usage import prices

    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url must be an http:// or https:// URL, not '{url}'")
    body, modified = fetch(url, timeout)
    if modified:
        data_date, date_from = modified, "last-modified"
    else:
        data_date, date_from = datetime.now(UTC).date().isoformat(), "fetched"
    table = build_table(body, url, data_date, date_from)
    current = prices.effective_table()
    _keep_checked_dates(table, [current, prices.table()], data_date)
    changes = compare(current, table)
    path = prices.override_path()
    if not dry_run:
        from llmspell_kernel.files import write_text_atomically

        write_text_atomically(path, render(table), make_parents=True)
        prices.forget_override()
    return UpdateResult(path, url, data_date, date_from, not dry_run, changes)
