"""`llmspell help lua [NAME]`: the reference of the script-facing globals."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.callback()
def reference() -> None:
    """Reference documentation: `llmspell help lua [NAME]` for the Lua API scripts use."""


@app.command("lua")
def lua(
    ctx: typer.Context,
    name: str = typer.Argument(
        None, metavar="[NAME]", help="A global or a function (JSON, State.save, string.format)."
    ),
) -> None:
    """The Lua globals scripts can use; with NAME, that global and its functions.

    The same text as help("NAME") in a script or the REPL, and as docs/lua-api.md.
    """
    import difflib
    import sys

    from llmspell_cli.render import Renderer
    from llmspell_kernel import api
    from llmspell_kernel.errors import UsageError

    name = name.strip() if name is not None else None
    found = api.lua_doc_entries(name)
    if not found:
        names = api.lua_documented_names()
        close = [known for known in names if known.lower() == str(name).lower()]
        close = close or difflib.get_close_matches(str(name), names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UsageError(
            f"no Lua reference entry for '{name}'",
            hint=hint + "'llmspell help lua' lists the globals",
        )
    renderer = Renderer(ctx.obj.output)
    if renderer.machine:
        keys = ("name", "signature", "doc")
        renderer.document([dict(zip(keys, entry, strict=True)) for entry in found])
    else:
        text = api.lua_overview() if name is None else api.lua_reference_of(name)
        sys.stdout.write(f"{text or ''}\n")
