"""`llmspell keys add|list|remove`."""

from __future__ import annotations

from typing import Any

import typer

app = typer.Typer(
    help="Store provider API keys owner-only in the user config dir (environment variables "
    "still win). Keys are never printed whole. With --kernel ID the kernel's user and machine "
    "are meant (the key travels over the kernel's connection: use loopback or a tunnel).",
    no_args_is_help=True,
)

KERNEL_HELP = "Work on the keys of the user a running kernel runs as (id, HOST:PORT or file)."


def _online(ctx: typer.Context, kernel: str | None, op: str, **params: object) -> Any:
    """Run a keys operation in the kernel named by --kernel; None when there is none."""
    if not kernel:
        return None
    from llmspell_cli.context import data_client

    with data_client(ctx.obj, kernel, None) as access:
        return access.call(op, **params)


@app.command("add")
def add(
    ctx: typer.Context,
    provider: str = typer.Argument(..., metavar="PROVIDER", help="e.g. openai, anthropic"),
    key: str = typer.Argument(
        None, metavar="[KEY]", help="The key; omit to be prompted (no echo), '-' reads stdin."
    ),
    kernel: str = typer.Option(None, "--kernel", metavar="ID", help=KERNEL_HELP),
) -> None:
    """Store the API key of a provider (replacing an earlier one).

    Example: llmspell keys add openai   (then paste the key at the prompt)
    """
    import sys

    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import KeyStore, provider_name
    from llmspell_kernel.errors import UsageError

    name = provider_name(provider)
    if key == "-":
        key = sys.stdin.readline().strip()
    elif key is None:
        if not sys.stdin.isatty():
            key = sys.stdin.readline().strip()
        else:
            import getpass

            try:
                key = getpass.getpass(f"API key for {name} (input hidden): ")
            except EOFError:
                key = ""
    if not key:
        raise UsageError("no key given")
    result = _online(ctx, kernel, "keys.add", provider=name, key=key)
    if result is None:
        store = KeyStore()
        store.add(name, key)
        result = {"provider": name, "stored": True, "path": str(store.path)}
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document(result)
    else:
        where = " of the kernel's user" if kernel else ""
        renderer.text(f"stored the {name} key in {result['path']}{where}")


@app.command("list")
def list_keys(
    ctx: typer.Context,
    kernel: str = typer.Option(None, "--kernel", metavar="ID", help=KERNEL_HELP),
) -> None:
    """Providers with a key: where it comes from (env or file) and a masked form."""
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import list_keys as collect

    online = _online(ctx, kernel, "keys.list")
    rows = online["keys"] if isinstance(online, dict) else collect()
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document({"keys": rows})
    elif not rows:
        renderer.text("no keys (add one with `llmspell keys add PROVIDER`)")
    else:
        renderer.table(
            None,
            ["provider", "source", "key", "note"],
            [[r["provider"], r["source"], r["key"], r.get("note", "")] for r in rows],
        )


@app.command("remove")
def remove(
    ctx: typer.Context,
    provider: str = typer.Argument(..., metavar="PROVIDER"),
    kernel: str = typer.Option(None, "--kernel", metavar="ID", help=KERNEL_HELP),
) -> None:
    """Forget the stored key of a provider (environment variables are not touched)."""
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import KeyStore, provider_name
    from llmspell_kernel.errors import LlmspellError

    name = provider_name(provider)
    if _online(ctx, kernel, "keys.remove", provider=name) is None and not KeyStore().remove(name):
        raise LlmspellError(f"no stored key for '{name}'")
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        renderer.document({"provider": name, "removed": True})
    else:
        renderer.text(f"removed the {name} key")
