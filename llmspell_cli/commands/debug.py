"""`llmspell debug`: a terminal debugger, or a DAP server for editors (--dap, --dap-port)."""

from __future__ import annotations

import typer

from llmspell_cli.options import model_override_option, set_model_override


def register(app: typer.Typer) -> None:
    """Add `debug` to the root app."""

    @app.command(
        "debug",
        help="Debug a Lua script: stop at breakpoints, step, inspect variables.\n\n"
        "Examples: llmspell debug report.lua --break report.lua:12 -- --topic lua\n\n"
        "llmspell debug report.lua --dap (DAP on stdio, for editors); "
        "llmspell debug --dap-port 4711 (VS Code `debugServer`); "
        "llmspell debug report.lua --connect localhost:9555 (in a running kernel).",
    )
    def debug(
        ctx: typer.Context,
        script: str = typer.Argument(None, metavar="SCRIPT", help="The Lua file to debug."),
        args: list[str] = typer.Argument(None, metavar="[-- ARGS...]", help="Script arguments."),
        breaks: list[str] = typer.Option(
            None,
            "--break",
            "-b",
            metavar="FILE:LINE[:COND]|NAME",
            help="Breakpoint (repeatable): a line, COND being a Lua expression, or a function NAME.",
        ),
        dap: bool = typer.Option(False, "--dap", help="Serve the Debug Adapter Protocol on stdio."),
        dap_port: int = typer.Option(
            None,
            "--dap-port",
            metavar="N",
            help="Serve DAP on 127.0.0.1:N (0 picks a port); clients need the printed token.",
        ),
        dap_max_message: int = typer.Option(
            16 * 1024 * 1024,
            "--dap-max-message",
            metavar="BYTES",
            help="With --dap/--dap-port: the largest DAP message accepted (Content-Length).",
        ),
        stop_on_entry: bool = typer.Option(
            False, "--stop-on-entry", help="Stop at the script's first line."
        ),
        break_on_error: bool = typer.Option(
            False, "--break-on-error", help="Stop where an uncaught error is raised."
        ),
        connect: str = typer.Option(
            None,
            "--connect",
            metavar="ADDR",
            help="Debug in a running kernel (HOST:PORT, tcp://…, connection file or kernel id).",
        ),
        model_override: str = model_override_option(),
    ) -> None:
        set_model_override(ctx.obj, model_override)
        from llmspell_cli.debugger import debug_command

        raise typer.Exit(
            debug_command(
                ctx.obj,
                script,
                args or [],
                breaks=breaks or [],
                dap=dap,
                dap_port=dap_port,
                stop_on_entry=stop_on_entry,
                connect=connect,
                break_on_error=break_on_error,
                dap_max_message=dap_max_message,
            )
        )
