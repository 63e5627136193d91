"""`llmspell repl`."""

from __future__ import annotations

import typer

from llmspell_cli.options import model_override_option, set_model_override


def register(app: typer.Typer) -> None:
    """Add `repl` to the root app."""

    @app.command(
        "repl",
        help="Interactive Lua REPL on a kernel: Tab completes from the kernel, Enter runs a complete "
        "input (an open block keeps the prompt going), Ctrl-C interrupts, Ctrl-D exits, Ctrl-R "
        "searches history. Type .help for the meta-commands.",
    )
    def repl(
        ctx: typer.Context,
        history: str = typer.Option(
            None, "--history", metavar="FILE", help="History file (default: per-user data dir)."
        ),
        engine: str = typer.Option("lua", "--engine", help="Script engine (only lua)."),
        connect: str = typer.Option(
            None,
            "--connect",
            metavar="ADDR",
            help="Use a running kernel (HOST:PORT, tcp://HOST:PORT, connection file or kernel id) "
            "or one a gateway starts (gateway://HOST:PORT).",
        ),
        model_override: str = model_override_option(),
    ) -> None:
        set_model_override(ctx.obj, model_override)
        from llmspell_cli.repl.launch import launch_repl

        raise typer.Exit(launch_repl(ctx.obj, history=history, engine=engine, connect=connect))
