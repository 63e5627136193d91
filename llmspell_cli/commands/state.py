"""`llmspell state show|set|clear|export|import|migrate`."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Read and change scoped state (what scripts keep with State.save), offline on the "
    "configured store or online through a running kernel.",
    no_args_is_help=True,
)

KERNEL_HELP = "Use this running kernel (id, HOST:PORT or connection file) instead of the store."
TENANT_HELP = "Work as this tenant (default: state.tenant from the configuration)."
SCOPE_HELP = "Scope: global, session:<id>, agent:<id>, tool:<id>, workflow:<id>, custom:<id>, ..."


def _access(ctx: typer.Context, kernel: str | None, tenant: str | None):  # noqa: ANN202
    from llmspell_cli.context import data_client

    return data_client(ctx.obj, kernel, tenant)


def confirm_destructive(question: str, yes: bool) -> None:
    """Ask before deleting everything; without a terminal to ask, refuse unless `--yes`."""
    import sys

    from llmspell_kernel.errors import UsageError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"{question.rstrip('?')}: there is no terminal to ask, so nothing was deleted; "
            "use --yes to confirm"
        )
    typer.confirm(question, abort=True, err=True)


def _compact(value: object, width: int = 60) -> str:
    import json

    text = (
        value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    )
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command("show")
def show(
    ctx: typer.Context,
    key: str = typer.Argument(None, metavar="[KEY]", help="Show one key (default: every key)."),
    scope: str = typer.Option(None, "--scope", "-s", metavar="S", help=SCOPE_HELP),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Show one value, or every key (of a scope) with its value.

    Example: llmspell state show last_run, or llmspell state show --scope agent:writer
    """
    import json

    from llmspell_cli.render import Renderer
    from llmspell_kernel.errors import LlmspellError

    with _access(ctx, kernel, tenant) as access:
        result = access.call("state.show", key=key, scope=scope)
    renderer = Renderer(ctx.obj.output)
    if key:
        if not result["found"]:
            raise LlmspellError(f"no state at '{result['key']}'")
        if renderer.machine:
            renderer.document(result)
        elif isinstance(result["value"], str):
            renderer.text(result["value"])
        else:
            renderer.text(json.dumps(result["value"], indent=2, sort_keys=True, ensure_ascii=False))
        return
    if renderer.machine:
        renderer.document(result)
        return
    if not result["entries"]:
        renderer.text("no state" + (f" in scope '{scope}'" if scope else ""))
        return
    renderer.table(
        None,
        ["key", "value"],
        [[e["key"], _compact(e["value"])] for e in result["entries"]],
        whole=("key",),
    )


@app.command("set")
def set_value(
    ctx: typer.Context,
    key: str = typer.Argument(..., metavar="KEY"),
    value: str = typer.Argument(..., metavar="VALUE", help='JSON (42, true, {"a":1}) or text.'),
    scope: str = typer.Option(
        None, "--scope", "-s", metavar="S", help=SCOPE_HELP + " Default global."
    ),
    as_string: bool = typer.Option(
        False, "--string", help="Store VALUE as text even if it parses as JSON."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Store a value (parsed as JSON when it is JSON, else kept as text)."""
    import json

    from llmspell_cli.render import Renderer

    parsed: object = value
    if not as_string:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        except RecursionError:
            from llmspell_kernel.errors import UsageError

            raise UsageError("VALUE nests too deeply to store") from None
    with _access(ctx, kernel, tenant) as access:
        result = access.call("state.set", key=key, scope=scope, value=parsed)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        renderer.text(f"set {result['key']}")


@app.command("clear")
def clear(
    ctx: typer.Context,
    key: str = typer.Argument(None, metavar="[KEY]", help="Delete one key (default: all keys)."),
    scope: str = typer.Option(None, "--scope", "-s", metavar="S", help=SCOPE_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting everything."),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Delete one key, every key of a scope, or all state of the tenant (asks first; without
    a terminal, only with --yes)."""
    from llmspell_cli.render import Renderer

    if not key and not scope:
        confirm_destructive("Delete ALL state of this tenant?", yes)
    with _access(ctx, kernel, tenant) as access:
        result = access.call("state.clear", key=key, scope=scope)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        count = result["deleted"]
        renderer.text(f"deleted {count} key{'s' if count != 1 else ''}")


@app.command("export")
def export(
    ctx: typer.Context,
    file: str = typer.Argument(..., metavar="FILE", help="Where to write ('-' for stdout)."),
    fmt: str = typer.Option(
        None,
        "--format",
        "-f",
        metavar="FORMAT",
        help="json, yaml or toml (default: from the extension, else json).",
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Write all state of the tenant to a file that `state import` reads back exactly."""
    import os
    import sys
    from pathlib import Path

    from llmspell_cli.render import Renderer
    from llmspell_kernel import api

    kind = api.state_format_for(file, fmt)
    with _access(ctx, kernel, tenant) as access:
        result = access.call("state.export")
    text = api.dump_state([(k, v) for k, v in result["entries"]], kind, result["tenant"])
    if file == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from llmspell_kernel.errors import UsageError

    target = Path(file).expanduser()
    if target.is_dir():
        raise UsageError(f"{file} is a directory; name the file to write (e.g. {file}/state.json)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = api.make_temporary(target.parent, f".{target.name}.", "")
    except OSError as exc:
        raise UsageError(f"cannot write {file}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    renderer = Renderer(ctx.obj.output)
    summary = {"path": str(target), "format": kind, "entries": len(result["entries"])}
    if renderer.machine:
        renderer.document(summary)
    else:
        renderer.text(f"exported {summary['entries']} entries to {target} ({kind})")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: str = typer.Argument(
        ..., metavar="FILE", help="A file written by `state export` ('-' for stdin)."
    ),
    merge: bool = typer.Option(
        False, "--merge", help="Keep keys the file does not mention (default: replace all state)."
    ),
    fmt: str = typer.Option(
        None,
        "--format",
        "-f",
        metavar="FORMAT",
        help="json, yaml or toml (default: from the extension, else json).",
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
    tenant: str = typer.Option(None, "--tenant", metavar="T", help=TENANT_HELP),
) -> None:
    """Load state from an export file in one transaction; a file that is not a sound export
    changes nothing (exit 3). Replacing existing state keeps a pre-import backup first."""
    import sys
    from pathlib import Path

    from llmspell_cli.render import Renderer
    from llmspell_kernel import api
    from llmspell_kernel.errors import UsageError

    kind = api.state_format_for(file, fmt)
    if file == "-":
        text, where = sys.stdin.read(), "<stdin>"
    else:
        try:
            text, where = Path(file).expanduser().read_text(encoding="utf-8"), file
        except FileNotFoundError as exc:
            raise UsageError(f"file not found: {file}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {file}: {exc}") from exc
    entries = api.parse_state(text, kind, where)
    with _access(ctx, kernel, tenant) as access:
        result = access.call("state.import", entries=[[k, v] for k, v in entries], merge=merge)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        mode = "merged" if merge else "replaced all state with"
        renderer.text(f"{mode} {result['imported']} entries from {where}")
        if result.get("pre_import_backup"):
            renderer.text(f"the previous state was saved as {result['pre_import_backup']}")


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", metavar="BACKEND", help="The target backend: postgres."),
    dsn: str = typer.Option(
        None, "--dsn", metavar="DSN", help="The empty PostgreSQL store (default: [state] dsn)."
    ),
) -> None:
    """Copy the configured SQLite store (state, sessions, artifacts, executions, usage,
    events) into an empty PostgreSQL store in one transaction, committed only after every
    table's row count and hash match the source; then set [state] backend = "postgres".

    Example: llmspell state migrate --to postgres --dsn postgresql://me@db/llmspell
    """
    from llmspell_cli.context import load_effective_config
    from llmspell_cli.render import Renderer
    from llmspell_kernel import api

    report = api.migrate_store(load_effective_config(ctx.obj), dsn, to)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(report)
        return
    tables = {**report["tables"], **report.get("rag", {}).get("tables", {})}
    total = sum(t["rows"] for t in tables.values())
    renderer.text(f"copied {total} rows from {report['source']} to {report['target']}:")
    for name, table in tables.items():
        renderer.text(f"  {name:<15} {table['rows']:>8} rows  sha256 {table['sha256'][:16]}")
    renderer.text('counts and hashes verified; now set [state] backend = "postgres" and dsn')
