"""Generate llmspell_kernel/data/prices.json from pydantic's genai-prices data (MIT licence).

    python scripts/genai_prices_table.py PATH_TO_GENAI_PRICES_CHECKOUT

It reads the provider YAML files under `prices/providers/` (the source the genai-prices project
edits, with each model's `prices_checked` date) at the checkout's HEAD, keeps the providers that
llmspell has presets for and the models priced per input token (with an output price, or none
for an embedding model, which writes no output tokens), and writes USD per
million input, cached-input and output tokens with their match rules, tiers and dated price
history. Run it again (and commit the output) to update the shipped table; nothing in llmspell
fetches prices at start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "llmspell_kernel" / "data" / "prices.json"
SOURCE = "https://github.com/pydantic/genai-prices"

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


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], check=True, capture_output=True, text=True
    ).stdout


def amount(value: Any, where: str) -> str:
    """A price as an exact decimal string; it must be a whole number of micro-USD per million
    tokens (llmspell keeps costs as integers of 1e-12 USD)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SystemExit(f"{where}: price {value!r} is not a number")
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if exact < 0 or (exact * 10**6) != (exact * 10**6).to_integral_value():
        raise SystemExit(f"{where}: price {value!r} has more than 6 decimals")
    text = format(exact.normalize(), "f")
    return text


def price(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        tiers = [
            {"start": int(t["start"]), "price": amount(t["price"], where)}
            for t in value.get("tiers") or []
        ]
        return {
            "base": amount(value["base"], where),
            "tiers": sorted(tiers, key=lambda t: t["start"]),
        }
    return amount(value, where)


def check_match(match: Any, where: str) -> None:
    if not isinstance(match, dict) or len(match) != 1 or next(iter(match)) not in CLAUSES:
        raise SystemExit(f"{where}: unsupported match clause {match!r}")
    kind, value = next(iter(match.items()))
    if kind in ("or", "and"):
        for clause in value:
            check_match(clause, where)


def period(raw: dict[str, Any], where: str) -> dict[str, Any] | None:
    """One price of a model (None when it is not priced per input token). An embedding model
    has an input price only."""
    prices = raw.get("prices", raw)
    if "input_mtok" not in prices:
        return None
    out: dict[str, Any] = {}
    constraint = raw.get("constraint") or {}
    if "start_date" in constraint:
        out["start_date"] = str(constraint["start_date"])
    if "start_time" in constraint:
        out["utc_time"] = [str(constraint["start_time"]), str(constraint["end_time"])]
    extra = set(constraint) - {"start_date", "start_time", "end_time"}
    if extra:
        raise SystemExit(f"{where}: unsupported price constraint {sorted(extra)}")
    for key, ours in FIELDS.items():
        if key in prices:
            out[ours] = price(prices[key], f"{where}.{key}")
    return out


def provider_table(data: dict[str, Any], name: str) -> dict[str, Any]:
    models = []
    for model in data.get("models") or []:
        where = f"{data['id']}/{model['id']}"
        check_match(model["match"], where)
        raw = model.get("prices")
        raws = raw if isinstance(raw, list) else [{"prices": raw or {}}]
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


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    checkout = Path(argv[1])
    commit, date = git(checkout, "log", "-1", "--format=%H %cs").split()
    providers = {}
    for source, name in PROVIDERS.items():
        text = git(checkout, "show", f"HEAD:prices/providers/{source}.yml")
        providers[name] = provider_table(yaml.safe_load(text), name)
    table = {
        "source": SOURCE,
        "source_commit": commit,
        "source_date": date,
        "license": "MIT (c) Pydantic Services Inc.",
        "generated_by": "scripts/genai_prices_table.py",
        "units": "USD per million tokens",
        "providers": providers,
    }
    OUTPUT.write_text(render(table), encoding="utf-8")
    count = sum(len(p["models"]) for p in providers.values())
    print(f"{OUTPUT.relative_to(ROOT)}: {count} models of {len(providers)} providers ({date})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
