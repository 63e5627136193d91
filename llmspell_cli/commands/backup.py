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
    """Snapshot the whole store (every tenant), safe while a kernel writes to it."""
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
    renderer.text(f"backup {result['id']} written to {result['path']} ({_size(result['size'])})")
    renderer.text(
        f"{counts['state_keys']} state keys, {counts['sessions']} sessions, "
        f"{counts['artifacts']} artifacts, {counts['blobs']} blobs"
    )


@app.command("restore")
def restore(
    ctx: typer.Context,
    file: str = typer.Argument(
        ..., metavar="FILE", help="Archive path, or a backup id from `backup list`."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID|ADDR", help=KERNEL_HELP),
) -> None:
    """Verify an archive, keep the current store as a pre-restore backup, then replace it."""
    import os

    from llmspell_cli.render import Renderer

    with _access(ctx, kernel, None) as access:
        path = file
        if not os.path.exists(os.path.expanduser(file)):
            known = access.call("backup.list")["backups"]
            match = [b["path"] for b in known if b["id"] == file]
            path = match[0] if match else file
        with _working("verifying and restoring…"):
            result = access.call("backup.restore", path=os.path.abspath(os.path.expanduser(path)))
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
        return
    renderer.text(f"restored {result['restored']}")
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
        ["id", "created", "size", "keys", "sessions", "artifacts"],
        [
            [
                b["id"],
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
        result = access.call("backup.delete", id=backup_id)
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        renderer.text(f"deleted {result['deleted']}")
