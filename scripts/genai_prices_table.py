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

import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llmspell_kernel.usage.price_update import (  # noqa: E402 - after the path
    LICENSE,
    PROVIDERS,
    SOURCE,
    PriceDataError,
    provider_table,
    render,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "llmspell_kernel" / "data" / "prices.json"


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], check=True, capture_output=True, text=True
    ).stdout


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    checkout = Path(argv[1])
    commit, date = git(checkout, "log", "-1", "--format=%H %cs").split()
    providers = {}
    for source, name in PROVIDERS.items():
        text = git(checkout, "show", f"HEAD:prices/providers/{source}.yml")
        try:
            providers[name] = provider_table(yaml.safe_load(text))
        except PriceDataError as error:
            raise SystemExit(error.message) from None
    table = {
        "source": SOURCE,
        "source_commit": commit,
        "source_date": date,
        "license": LICENSE,
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
