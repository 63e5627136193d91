"""`llmspell run` and `llmspell exec`."""

from __future__ import annotations

import typer

from llmspell_cli.options import MODEL_OVERRIDE_ENV, MODEL_OVERRIDE_HELP, set_model_override

CONNECT_HELP = (
    "Use a running kernel (HOST:PORT, tcp://HOST:PORT, a connection file or a kernel id)."
)
SESSION_HELP = "Record this run in session ID (it becomes the current session)."


def register(app: typer.Typer) -> None:
    """Add `run` and `exec` to the root app."""

    @app.command(
        "run",
        help="Run a Lua script. Everything after `--` reaches the script as ARGS / arg.\n\n"
        "Example: llmspell run report.lua -- --topic lua --verbose draft.md",
    )
    def run(
        ctx: typer.Context,
        script: str = typer.Argument(..., metavar="SCRIPT", help="The Lua file to run."),
        args: list[str] = typer.Argument(None, metavar="[-- ARGS...]", help="Script arguments."),
        engine: str = typer.Option("lua", "--engine", help="Script engine (only lua)."),
        timeout: float = typer.Option(
            None, "--timeout", metavar="SECONDS", help="Stop the script after this many seconds."
        ),
        connect: str = typer.Option(None, "--connect", metavar="ADDR", help=CONNECT_HELP),
        session: str = typer.Option(None, "--session", metavar="ID", help=SESSION_HELP),
        model_override: str = typer.Option(
            None,
            "--model-override",
            metavar="SPEC",
            envvar=MODEL_OVERRIDE_ENV,
            show_envvar=False,
            help=MODEL_OVERRIDE_HELP,
        ),
    ) -> None:
        set_model_override(ctx.obj, model_override)
        from llmspell_cli.execution import run_script

        raise typer.Exit(
            run_script(
                ctx.obj,
                script,
                args or [],
                engine=engine,
                timeout=timeout,
                connect=connect,
                session=session,
            )
        )

    @app.command(
        "exec",
        help="Run a Lua snippet; `-` reads it from stdin. An expression shows its value.\n\n"
        "Example: llmspell exec 'return JSON.stringify({a = 1})'",
    )
    def exec_(
        ctx: typer.Context,
        code: str = typer.Argument(..., metavar="CODE", help="Lua code, or - for stdin."),
        engine: str = typer.Option("lua", "--engine", help="Script engine (only lua)."),
        timeout: float = typer.Option(
            None, "--timeout", metavar="SECONDS", help="Stop the code after this many seconds."
        ),
        connect: str = typer.Option(None, "--connect", metavar="ADDR", help=CONNECT_HELP),
        session: str = typer.Option(None, "--session", metavar="ID", help=SESSION_HELP),
        model_override: str = typer.Option(
            None,
            "--model-override",
            metavar="SPEC",
            envvar=MODEL_OVERRIDE_ENV,
            show_envvar=False,
            help=MODEL_OVERRIDE_HELP,
        ),
    ) -> None:
        set_model_override(ctx.obj, model_override)
        from llmspell_cli.execution import run_snippet

        raise typer.Exit(
            run_snippet(
                ctx.obj, code, engine=engine, timeout=timeout, connect=connect, session=session
            )
        )
