"""`llmspell events`: the events scripts and the system published (lua-api.md 2.5), from the
state database, or live with --follow."""

from __future__ import annotations

import typer

from llmspell_cli.commands.usage import TENANT_HELP

KERNEL_HELP = (
    "Ask this running kernel (id, HOST:PORT or connection file) instead of the store; with "
    "--follow, attach to its IOPub and show every client's events as they happen."
)
POLL_SECONDS = 0.5

# Annotations only: typing is not imported at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def register(app: typer.Typer) -> None:
    """Add `events` to the root app."""

    @app.command(
        "events",
        help="Events in the order they were published: agent and tool calls, hooks, workflow "
        "steps and the scripts' own Event.publish, each with the correlation id of the request "
        "that caused it (a notebook cell's msg_id).\n\n"
        "Examples: llmspell events --correlation 5d1c...; llmspell events --type 'tool.*' "
        "--since 1h; llmspell events --follow; llmspell events --follow --kernel a1b2 "
        "--output json (one JSON object per line)",
    )
    def events(
        ctx: typer.Context,
        follow: bool = typer.Option(
            False, "--follow", "-f", help="Keep printing new events until Ctrl-C."
        ),
        correlation: str = typer.Option(
            None, "--correlation", metavar="ID", help="Only events of this correlation id."
        ),
        type_glob: str = typer.Option(
            None,
            "--type",
            metavar="GLOB",
            help="Only event types matching GLOB ('*' any run, '?' one character).",
        ),
        since: str = typer.Option(
            None,
            "--since",
            metavar="T",
            help="Only events from T on: 2026-01-31, 2026-01-31T09:00 (local time), 7d, 12h, 30m.",
        ),
        limit: int = typer.Option(0, "--limit", metavar="N", help="At most N events (0: all)."),
        kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
        tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
    ) -> None:
        from llmspell_cli.commands.usage import parse_since
        from llmspell_cli.render import Renderer
        from llmspell_kernel.errors import UsageError

        if limit < 0:
            raise UsageError(f"--limit must be 0 or more, not {limit}")
        params: dict[str, Any] = {
            "correlation": correlation,
            "type": type_glob,
            "since": parse_since(since) if since else None,
            "limit": limit or None,
        }
        renderer = Renderer(ctx.obj.output)
        if follow and kernel:
            _follow_kernel(renderer, kernel, params)
            return
        from llmspell_cli.context import data_client

        with data_client(ctx.obj, kernel, tenant) as access:
            if follow:
                _follow_store(renderer, access, params)
                return
            found = access.call("events.list", **params)["events"]
        if renderer.machine:
            renderer.document(found)
            return
        if not found:
            renderer.text("no events recorded" + (" matching" if any(params.values()) else ""))
            return
        for event in found:
            renderer.text(event_line(event))


def _follow_store(renderer: Any, access: Any, params: dict[str, Any]) -> None:
    """Poll the store (or a kernel's data requests) for rows past the last cursor."""
    try:
        for event in access.follow_events(POLL_SECONDS, **params):
            _print_live(renderer, event)
    except KeyboardInterrupt:
        return


def _follow_kernel(renderer: Any, kernel: str, params: dict[str, Any]) -> None:
    """Events of a running kernel as it publishes them on IOPub."""
    from llmspell_kernel.api import kernel_events

    try:
        for event in kernel_events(
            kernel, event_type=params.get("type"), correlation=params.get("correlation")
        ):
            _print_live(renderer, event)
    except KeyboardInterrupt:
        return


def _print_live(renderer: Any, event: dict[str, Any]) -> None:
    if renderer.machine:
        import json

        renderer.text(json.dumps(event, sort_keys=True, ensure_ascii=False, default=str))
    else:
        renderer.text(event_line(event))


def event_summary(event: dict[str, Any]) -> str:
    """The interesting part of an event's data in a few words (also the REPL's rendering)."""
    import json

    data = event.get("data")
    if not isinstance(data, dict):
        return json.dumps(data, ensure_ascii=False, default=str)[:120]
    parts = []
    for key in ("name", "hook_point", "action", "step_name", "execution_id"):
        if data.get(key) is not None:
            parts.append(str(data[key]) if key == "name" else f"{key}={data[key]}")
    if isinstance(data.get("duration_ms"), int | float):
        parts.append(f"{data['duration_ms']:.1f} ms")
    if data.get("error"):
        parts.append(f"error: {data['error']}")
    if not parts:
        return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)[:120]
    return " ".join(parts)


def event_line(event: dict[str, Any]) -> str:
    """`time  type  correlation  summary`, one line per event."""
    stamp = str(event.get("timestamp", ""))
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    return (
        f"{clock}  {event.get('event_type', '')}  {event.get('correlation_id', '')}  "
        f"{event_summary(event)}"
    )
