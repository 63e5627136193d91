"""`llmspell usage`: provider calls, tokens and cost from the state database."""

from __future__ import annotations

import typer

KERNEL_HELP = "Use this running kernel (id, HOST:PORT or connection file) instead of the store."
TENANT_HELP = "Work as this tenant (default: state.tenant from the configuration)."
BY = ("model", "day", "agent", "provider", "session")


def register(app: typer.Typer) -> None:
    """Add `usage` to the root app."""

    @app.command(
        "usage",
        help="Provider calls, tokens and cost (USD, from the shipped price table; '-' where a "
        "model's price is unknown), grouped by model, day, agent, provider or session.\n\n"
        "Examples: llmspell usage; llmspell usage --by day --since 7d; "
        "llmspell usage --session 3f2a --output json",
    )
    def usage(
        ctx: typer.Context,
        session: str = typer.Option(
            None, "--session", metavar="ID", help="Only this session's calls (id or prefix)."
        ),
        since: str = typer.Option(
            None,
            "--since",
            metavar="DATE",
            help="Only calls from DATE on: 2026-01-31, 2026-01-31T09:00 (local time), 7d, 12h.",
        ),
        by: str = typer.Option("model", "--by", metavar="|".join(BY), help="Group rows by."),
        calls: int = typer.Option(
            0, "--calls", metavar="N", help="Also list the N most recent calls."
        ),
        kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
        tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
    ) -> None:
        from llmspell_cli.context import data_client
        from llmspell_cli.render import Renderer
        from llmspell_kernel.errors import UsageError

        if by not in BY:
            raise UsageError(f"--by must be one of {', '.join(BY)}, not '{by}'")
        if calls < 0:
            raise UsageError(f"--calls must be 0 or more, not {calls}")
        started = parse_since(since) if since else None
        with data_client(ctx.obj, kernel, tenant) as access:
            result = access.call(
                "usage.summary", session=session, since=started, by=by, calls=calls or None
            )
        renderer = Renderer(ctx.obj.output)
        if renderer.machine:
            renderer.document(result)
            return
        total = result["total"]
        if not total["calls"]:
            renderer.text("no provider calls recorded" + (" in this window" if since else ""))
            return
        columns = [by, "calls", "errors", "input", "cached", "output", "cost_usd", "unpriced"]
        rows = [_row(g) for g in result["groups"]]
        rows.append(_row({**total, "key": "total"}))
        renderer.table(None, columns, rows, whole=(by,))
        if result.get("calls"):
            renderer.text("")
            renderer.table(
                "calls",
                ["time", "agent", "model", "status", "in", "out", "cost_usd", "ms"],
                [
                    [
                        _when(c["at"]),
                        c["agent"],
                        f"{c['provider']}/{c['model']}",
                        c["status"] if not c["error"] else f"{c['status']}: {c['error']}",
                        c["input_tokens"],
                        c["output_tokens"],
                        format_usd(c["cost_usd"]),
                        f"{c['latency_ms']:.0f}",
                    ]
                    for c in result["calls"]
                ],
            )


def _row(group: dict) -> list:
    return [
        group["key"],
        group["calls"],
        group["errors"],
        group["input_tokens"],
        group["cached_input_tokens"],
        group["output_tokens"],
        format_usd(group["cost_usd"]),
        group["unpriced_calls"],
    ]


def format_usd(value: float | None) -> str:
    """A cost as text: '-' unknown, '0', else up to 10 decimals (a call can cost $0.0000003)."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:.10f}".rstrip("0")


def _when(at: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def parse_since(text: str) -> float:
    """Unix time of `--since`: an ISO date or date-time (local time), or Nd / Nh / Nm ago."""
    import re
    import time
    from datetime import datetime

    from llmspell_kernel.errors import UsageError

    relative = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if relative:
        seconds = {"d": 86400, "h": 3600, "m": 60}[relative.group(2)]
        return time.time() - int(relative.group(1)) * seconds
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise UsageError(
            f"--since must be a date (2026-01-31), a date-time (2026-01-31T09:00) or 7d/12h/30m, "
            f"not '{text}'"
        ) from None
