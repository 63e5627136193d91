"""`llmspell backup create|restore|list|delete`."""

from __future__ import annotations

import typer

from llmspell_cli.commands.state import KERNEL_HELP, _access

app = typer.Typer(
    help="Consistent snapshots of state, sessions and artifacts (tar.gz with a checksummed "
    "manifest); restore verifies an archive completely before it replaces anything.",
    no_args_is_help=True,
)


def _working(message: str):  # noqa: ANN202 - a context manager
    """A spinner on stderr while long work runs (only on a terminal; quiet when piped)."""
    import contextlib
    import sys

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def _named(ident: str) -> str:
    """A backup as the kernel or the store should find it: a local file by its absolute
    path, else the id (or unique id prefix) as typed."""
    import os

    path = os.path.expanduser(ident)
    return os.path.abspath(path) if os.path.isfile(path) else ident


def _whose(tenant: str | None) -> str:
    return f" of tenant '{tenant}'" if tenant else ""


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command("create")
def create(
    ctx: typer.Context,
    output_file: str = typer.Option(
        None, "-o", "--output-file", metavar="FILE", help="Archive path (default: backup.dir)."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
) -> None:
    """Snapshot the store, safe while a kernel writes to it: offline every tenant, through a
    kernel the tenant it serves."""
    import os

    from llmspell_cli.render import Renderer

    target = os.path.abspath(os.path.expanduser(output_file)) if output_file else None
    with _access(ctx, kernel, None) as access, _working("creating backup…"):
        result = access.call("backup.create", output=target)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    counts = result["manifest"]["counts"]
    renderer.text(
        f"backup {result['id']}{_whose(result.get('tenant'))} written to {result['path']} "
        f"({_size(result['size'])})"
    )
    renderer.text(
        f"{counts['state_keys']} state keys, {counts['sessions']} sessions, "
        f"{counts['artifacts']} artifacts, {counts['blobs']} blobs"
    )


@app.command("restore")
def restore(
    ctx: typer.Context,
    file: str = typer.Argument(
        ...,
        metavar="FILE|ID",
        help="Archive path, or a backup id (or unique prefix) from `backup list`.",
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
) -> None:
    """Verify an archive, keep the current data as a pre-restore backup, then replace it
    (through a kernel, or for a tenant's archive, only that tenant's data)."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, None) as access, _working("verifying and restoring…"):
        result = access.call("backup.restore", path=_named(file))
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    renderer.text(f"restored {result['restored']}{_whose(result.get('tenant'))}")
    if result["pre_restore_backup"]:
        renderer.text(f"the previous store was saved as {result['pre_restore_backup']}")


@app.command("list")
def list_backups(
    ctx: typer.Context,
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
) -> None:
    """Archives in the backup directory, newest first."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, None) as access:
        result = access.call("backup.list")
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    if not result["backups"]:
        renderer.text(f"no backups in {result['directory']}")
        return
    renderer.table(
        None,
        ["id", "tenant", "created", "size", "keys", "sessions", "artifacts"],
        [
            [
                b["id"],
                b.get("tenant") or "(all)",
                b["created_at"],
                _size(b["size"]),
                b["counts"].get("state_keys", "?"),
                b["counts"].get("sessions", "?"),
                b["counts"].get("artifacts", "?"),
            ]
            for b in result["backups"]
        ],
        whole=("id",),
    )


@app.command("delete")
def delete(
    ctx: typer.Context,
    backup_id: str = typer.Argument(
        ..., metavar="ID", help="A backup id (or unique prefix) or path."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
) -> None:
    """Delete one archive from the backup directory."""
    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, None) as access:
        result = access.call("backup.delete", id=_named(backup_id))
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        renderer.text(f"deleted {result['deleted']}")
