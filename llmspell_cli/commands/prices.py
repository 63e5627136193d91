"""`llmspell prices list|show|update`: the price table in force and a newer one on request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from llmspell_cli.render import Renderer

app = typer.Typer(
    help="Model prices (USD per million tokens) that costs are computed with: the table shipped "
    "in the package, the newer one `prices update` fetched (it takes precedence), and "
    '[prices."PROVIDER/MODEL"] in the configuration (which wins over both).',
    no_args_is_help=True,
)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@app.command("list")
def list_prices(
    ctx: typer.Context,
    provider: str = typer.Argument(None, metavar="[PROVIDER]", help="Only this provider."),
) -> None:
    """List the priced models (the update layer's first, then the shipped table's).

    Example: llmspell prices list anthropic --output json
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import price_layers, price_listing
    from llmspell_kernel.errors import UsageError

    rows = price_listing(provider)
    if provider and not rows:
        raise UsageError(f"no prices for provider '{provider}'")
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document({"tables": price_layers(), "models": rows})
        return
    renderer.table(
        None,
        ["model", "input", "cached", "output", "checked", "table"],
        [
            [
                f"{r['provider']}/{r['model']}",
                _money(r["input_per_mtok"]) + ("*" if r["tiered"] else ""),
                _money(r["cached_input_per_mtok"]),
                _money(r["output_per_mtok"]),
                r["checked"] or "-",
                "shipped" if r["source"] == "table" else r["source"],
            ]
            for r in rows
        ],
        whole=("model",),
    )
    renderer.text("USD per million tokens; * tiered (the base price shown).")
    _say_tables(renderer, price_layers())


def _say_tables(renderer: Renderer, layers: dict[str, Any]) -> None:
    shipped, update = layers["shipped"], layers["update"]
    renderer.text(f"shipped table: {shipped['source']} ({shipped['source_date']})")
    if update:
        renderer.text(
            f"updated table: {update['path']} (data {update['source_date']}, "
            f"fetched {update['fetched_at']})"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    model: str = typer.Argument(..., metavar="PROVIDER/MODEL", help="e.g. openai/gpt-4o-mini"),
) -> None:
    """Show the price a call to PROVIDER/MODEL is charged at now, and which table it comes from.

    Example: llmspell prices show anthropic/claude-3-haiku-20240307
    """
    from llmspell_cli.context import load_effective_config
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import find_price
    from llmspell_kernel.errors import LlmspellError, UsageError

    provider, _, name = model.partition("/")
    if not provider or not name:
        raise UsageError(f"expected PROVIDER/MODEL (e.g. openai/gpt-4o-mini), not '{model}'")
    overrides = load_effective_config(ctx.obj).prices.models
    kind = "local" if provider == "local" else ""
    price = find_price(provider, name, provider_type=kind, overrides=overrides)
    if price is None:
        raise LlmspellError(
            f"no price known for '{model}': its calls are recorded with no cost",
            hint='add [prices."' + model + '"] to the configuration, or run llmspell prices update',
        )
    described = {"provider": provider, "requested": name, **price.describe()}
    Renderer(ctx.obj.output).document(described)


@app.command("update")
def update(
    ctx: typer.Context,
    url: str = typer.Option(
        None, "--url", metavar="URL", help="Fetch from URL (default: genai-prices' live data)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    timeout: float = typer.Option(30.0, "--timeout", metavar="SECONDS", help="Give up after."),
) -> None:
    """Fetch a newer price table from pydantic's genai-prices data (only when asked: nothing
    fetches prices at start-up) and keep it in the user data dir, above the shipped table.

    Example: llmspell prices update --dry-run
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import PRICES_URL, update_prices
    from llmspell_kernel.errors import UsageError

    if timeout <= 0:
        raise UsageError(f"--timeout must be above 0, not {timeout:g}")
    result = update_prices(url or PRICES_URL, dry_run=dry_run, timeout=timeout)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result.as_dict())
        return
    c = result.changes
    counts = f"{len(c.added)} added, {len(c.changed)} changed, {len(c.removed)} removed"
    dated = "last modified" if result.date_from == "last-modified" else "fetched"
    verb = "would write" if dry_run else "wrote"
    renderer.text(f"{verb} {result.path}: {c.total} models, {counts}")
    renderer.text(f"data from {result.url}, {dated} {result.data_date}")
    for label, items in (
        ("added", c.added),
        ("changed", [f"{m}: {what}" for m, what in c.changed]),
        ("removed", c.removed),
    ):
        for item in items[:5]:
            renderer.text(f"  {label} {item}")
        if len(items) > 5:
            renderer.text(f"  ... and {len(items) - 5} more {label}")
    if c.removed:
        renderer.text("(models no longer listed keep their shipped price, if it has one)")
