"""`llmspell session list|show|delete|replay|gc`."""

from __future__ import annotations

from typing import Any

import typer

from llmspell_cli.commands.state import KERNEL_HELP, TENANT_HELP, _access, confirm_destructive

app = typer.Typer(
    help="Inspect, expire, delete and replay sessions (and their artifacts and executions). "
    "A session id may be shortened to a unique prefix of 4 or more characters.",
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
    name: str = typer.Option(
        None, "--name", metavar="NAME", help="Only sessions of this name (or pattern: 'report*')."
    ),
    tags: list[str] = typer.Option(
        None, "--tag", metavar="T", help="Only sessions with this tag (repeat: all of them)."
    ),
    detailed: bool = typer.Option(
        False, "--detailed", "-d", help="Also show description, tags, expiry, parent."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Sessions with their status, times, executions and artifacts (newest first).

    Session ids may be shortened to a unique prefix (at least 4 characters) in every command,
    as git accepts object names.
    """
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, tenant) as access:
        result = access.call("session.list", status=status, name=name, tags=tags or None)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    sessions = result["sessions"]
    if not sessions:
        filtered = status is not None or name is not None or bool(tags)
        renderer.text("no sessions match" if filtered else "no sessions")
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
    """One session with its artifacts (name, version, hash), recorded executions and workflow
    runs (each step's timing).

    ID may be a unique prefix of the id (at least 4 characters).
    """
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
    if (s.get("usage") or {}).get("calls"):
        from llmspell_cli.commands.usage import format_usd

        u = s["usage"]
        renderer.text(
            f"{'usage:':13}{u['calls']} provider calls, {u['input_tokens']} input + "
            f"{u['output_tokens']} output tokens, ${format_usd(u['cost_usd'])}"
            + (f" (+{u['unpriced_calls']} unpriced)" if u["unpriced_calls"] else "")
        )
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
    if s.get("workflow_runs"):
        from llmspell_cli.commands.workflow import render_runs

        renderer.text("")
        render_runs(renderer, s["workflow_runs"], "workflow runs")


def _source(execution: dict[str, Any]) -> str:
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
        renderer.text(f"deleted session {result['id']}")


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
    """Re-run a session's recorded executions in a fresh kernel and compare each step
    (ID may be a unique prefix).

    The fresh kernel keeps its state in memory, so replaying never changes the store.
    Exits 1 when any step differs from its recording.
    """
    from llmspell_cli.commands.backup import _working
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import replay_executions
    from llmspell_kernel.errors import UsageError

    if from_step is not None and to_step is not None and from_step > to_step:
        raise UsageError(f"--from-step {from_step} is after --to-step {to_step}")
    with _access(ctx, kernel, tenant) as access:
        session_id, executions = access.recorded_executions(session_id, from_step, to_step)
        config = access.effective_config()
    with _working(f"replaying {len(executions)} executions…"):
        steps = replay_executions(config, executions)
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


artifact_app = typer.Typer(
    help="Read the artifacts of a session (`session show ID` lists them).", no_args_is_help=True
)
app.add_typer(artifact_app, name="artifact")


@artifact_app.command("get")
def artifact_get(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., metavar="SESSION", help="Session id or unique prefix."),
    artifact: str = typer.Argument(
        ..., metavar="NAME_OR_ID", help="Artifact name, sequence number (seq) or sha256 (prefix)."
    ),
    version: int = typer.Option(
        None, "--version", metavar="N", min=1, help="That version of a name (default: latest)."
    ),
    output_file: str = typer.Option(
        None, "-o", "--output-file", metavar="FILE", help="Write the content to FILE (- is stdout)."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Print an artifact's content exactly as stored (any bytes), or write it to FILE.

    NAME_OR_ID is an artifact name (its latest version, or --version N), else its sequence
    number (the seq column of `session show`), else its sha256 or a unique prefix of at least 8
    hex digits. FILE is written atomically: it appears whole or not at all. Binary content is
    not printed to a terminal (use -o FILE, or -o - to insist).

    --output json|yaml prints one document instead: `session_id`, `artifact` (its metadata) and
    `encoding` with `content`: "utf-8" and the text itself when the content is valid UTF-8,
    else "base64" and the content in base64. With -o FILE the document has `path` instead of
    the content.
    """
    import sys
    from pathlib import Path

    from llmspell_cli.render import Renderer
    from llmspell_kernel.errors import UsageError

    renderer = Renderer(ctx.obj.output)
    to_stdout = output_file in (None, "-")
    with _access(ctx, kernel, tenant) as access:
        reader = access.artifact(session_id, artifact, version)
        if not to_stdout:
            from llmspell_kernel.api import write_chunks_atomically

            write_chunks_atomically(Path(output_file).expanduser(), reader, shown=output_file)
        elif renderer.machine:
            content = b"".join(reader)
        else:
            first = next(iter(reader), b"")
            if output_file is None and sys.stdout.isatty() and not _is_text(first):
                raise UsageError(
                    f"artifact '{reader.metadata['name']}' is binary "
                    f"({reader.metadata['mime_type']}, {reader.metadata['size']} bytes); "
                    "it is not printed to a terminal",
                    hint="write it with -o FILE, or print it anyway with -o -",
                )
            sys.stdout.flush()
            out = sys.stdout.buffer
            out.write(first)
            for chunk in reader:
                out.write(chunk)
            out.flush()
            return
    if not renderer.machine:
        renderer.text(
            f"wrote {reader.metadata['size']} bytes of artifact '{reader.metadata['name']}' "
            f"v{reader.metadata['version']} to {output_file}"
        )
        return
    document = {"session_id": reader.session_id, "artifact": reader.metadata}
    if not to_stdout:
        document["path"] = str(Path(output_file).expanduser().resolve())
    else:
        try:
            document.update(encoding="utf-8", content=content.decode("utf-8"))
        except UnicodeDecodeError:
            import base64

            document.update(encoding="base64", content=base64.b64encode(content).decode("ascii"))
    renderer.document(document)


def _is_text(sample: bytes) -> bool:
    """Whether a first chunk looks printable: UTF-8 (a character cut at its end is fine)
    without NUL bytes."""
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return b"\0" not in sample
