"""`llmspell session list|show|delete|replay|gc`."""

from __future__ import annotations

import typer

from llmspell_cli.commands.state import KERNEL_HELP, TENANT_HELP, _access, confirm_destructive

app = typer.Typer(
    help="Inspect, expire, delete and replay sessions (and their artifacts and executions).",
    no_args_is_help=True,
)


def _when(text: str | None) -> str:
    return "" if not text else text.replace("T", " ")[:19]


@app.command("list")
def list_sessions(
    ctx: typer.Context,
    status: str = typer.Option(
        None, "--status", metavar="S", help="active, suspended, completed, failed or archived."
    ),
    detailed: bool = typer.Option(
        False, "--detailed", "-d", help="Also show description, tags, expiry, parent."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Sessions with their status, times, executions and artifacts (newest first)."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        result = access.call("session.list", status=status)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    sessions = result["sessions"]
    if not sessions:
        renderer.text("no sessions")
        return
    columns = ["id", "name", "status", "created", "updated", "executions", "artifacts"]
    if detailed:
        columns += ["description", "tags", "expires", "parent"]
    rows = []
    for s in sessions:
        row = [
            s["id"],
            s["name"],
            s["status"],
            _when(s["created_at"]),
            _when(s["updated_at"]),
            s["execution_count"],
            s["artifact_count"],
        ]
        if detailed:
            row += [
                s["description"],
                ", ".join(s["tags"]),
                _when(s["expires_at"]),
                s["parent_session_id"] or "",
            ]
        rows.append(row)
    renderer.table(None, columns, rows, whole=("id",))


@app.command("show")
def show(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., metavar="ID"),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """One session with its artifacts (name, version, hash) and recorded executions."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        s = access.call("session.show", id=session_id)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(s)
        return
    for label, key in (
        ("id", "id"),
        ("name", "name"),
        ("description", "description"),
        ("status", "status"),
        ("created", "created_at"),
        ("updated", "updated_at"),
        ("expires", "expires_at"),
        ("parent", "parent_session_id"),
    ):
        renderer.text(f"{label + ':':13}{s[key] if s[key] is not None else ''}")
    renderer.text(f"{'tags:':13}{', '.join(s['tags'])}")
    if s["artifacts"]:
        renderer.text("")
        renderer.table(
            "artifacts",
            ["seq", "name", "version", "type", "size", "sha256", "previous"],
            [
                [
                    a["sequence"],
                    a["name"],
                    a["version"],
                    a["artifact_type"],
                    a["size"],
                    a["content_hash"][:16],
                    (a["previous_hash"] or "")[:16],
                ]
                for a in s["artifacts"]
            ],
        )
    if s["executions"]:
        renderer.text("")
        renderer.table(
            "executions",
            ["step", "status", "started", "ms", "source"],
            [
                [
                    e["step"],
                    e["status"],
                    _when(e["started_at"]),
                    f"{e['duration_ms']:.1f}",
                    _source(e),
                ]
                for e in s["executions"]
            ],
            whole=("source",),
        )


def _source(execution: dict) -> str:  # type: ignore[type-arg]
    if execution.get("script_path"):
        return execution["script_path"]
    first = (execution.get("code") or "").strip().splitlines()
    text = first[0] if first else ""
    return text if len(text) <= 50 else text[:49] + "…"


@app.command("delete")
def delete(
    ctx: typer.Context,
    session_id: str = typer.Argument(None, metavar="ID|--all"),
    all_sessions: bool = typer.Option(False, "--all", help="Delete every session of the tenant."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting them all."),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Delete a session with its artifacts, executions and session state (--all asks first;
    without a terminal, only with --yes)."""
    from llmspell_cli.render import Renderer
    from llmspell_kernel.errors import UsageError

    if bool(session_id) == all_sessions:
        raise UsageError("name one session ID, or pass --all")
    if all_sessions:
        confirm_destructive("Delete EVERY session of this tenant, with its artifacts?", yes)
    with _access(ctx, kernel, tenant) as access:
        result = access.call("session.delete", id=session_id, all=all_sessions)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    elif all_sessions:
        renderer.text(f"deleted {result['deleted']} sessions")
    else:
        renderer.text(f"deleted session {session_id}")


@app.command("gc")
def gc(
    ctx: typer.Context,
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Expire sessions past their TTL now, and suspend sessions idle past the idle timeout."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        result = access.call("session.gc")
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        renderer.text(
            f"expired {len(result['expired'])} sessions, suspended {len(result['suspended'])} idle sessions"
        )


@app.command("replay")
def replay(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., metavar="ID"),
    from_step: int = typer.Option(
        None, "--from-step", metavar="N", min=1, help="First step to replay."
    ),
    to_step: int = typer.Option(None, "--to-step", metavar="N", min=1, help="Last step to replay."),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Re-run a session's recorded executions in a fresh kernel and compare each step.

    The fresh kernel keeps its state in memory, so replaying never changes the store.
    Exits 1 when any step differs from its recording.
    """
    from llmspell_cli.render import Renderer
    from llmspell_kernel.errors import UsageError
    from llmspell_kernel.sessions.replay import replay_executions

    if from_step is not None and to_step is not None and from_step > to_step:
        raise UsageError(f"--from-step {from_step} is after --to-step {to_step}")
    with _access(ctx, kernel, tenant) as access:
        recorded = access.call(
            "session.executions", id=session_id, from_step=from_step, to_step=to_step
        )
        if not recorded["executions"] and (from_step or to_step):
            total = len(access.call("session.executions", id=session_id)["executions"])
            raise UsageError(
                f"session {session_id} has {total} recorded execution(s); "
                f"steps {from_step or 1}..{to_step or total} select none"
            )
        config = access.config
    if config is None:
        from llmspell_cli.context import load_effective_config

        config = load_effective_config(ctx.obj)
    from llmspell_cli.commands.backup import _working

    with _working(f"replaying {len(recorded['executions'])} executions…"):
        steps = replay_executions(config, recorded["executions"])
    differing = sum(1 for s in steps if not s["same"])
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document({"session_id": session_id, "steps": steps, "differences": differing})
    elif not steps:
        renderer.text(f"session {session_id} has no recorded executions to replay")
    else:
        renderer.table(
            f"replay of session {session_id}",
            ["step", "source", "recorded", "replayed", "result"],
            [
                [
                    s["step"],
                    s["source"],
                    s["recorded"]["status"],
                    s["replayed"]["status"],
                    "same" if s["same"] else "DIFFERS: " + "; ".join(s["differences"]),
                ]
                for s in steps
            ],
        )
        renderer.text(f"{len(steps) - differing} of {len(steps)} steps reproduced")
    if differing:
        raise typer.Exit(1)
