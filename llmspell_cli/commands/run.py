"""`llmspell run` and `llmspell exec`.

Their options are declared once, in the tables below: `register` builds the typer commands from
them (help, completion, usage errors), and the start-up fast path (`llmspell_cli/fast_path.py`)
parses a plain command line from the same tables without importing typer. Neither knows more
than the other: `tests/test_cli_fast_path.py` runs every option through both.
"""

# No `from __future__ import annotations`: typer evaluates the commands' annotations, and
# `typer` is imported inside `register` only (typing not at all: see llmspell_cli/fast_path.py).

from llmspell_cli.options import (
    MODEL_OVERRIDE_OPTION,
    GlobalOptions,
    OptionSpec,
    set_model_override,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import typer

CONNECT_HELP = (
    "Use a running kernel (HOST:PORT, tcp://HOST:PORT, a connection file or a kernel id), or "
    "one Jupyter Enterprise Gateway starts (gateway://HOST:PORT[?kernel=NAME])."
)
SESSION_HELP = "Record this run in session ID (it becomes the current session)."

RUN_HELP = (
    "Run a Lua script. Everything after `--` reaches the script as ARGS / arg.\n\n"
    "Example: llmspell run report.lua -- --topic lua --verbose draft.md"
)
EXEC_HELP = (
    "Run a Lua snippet; `-` reads it from stdin. An expression shows its value.\n\n"
    "Example: llmspell exec 'return JSON.stringify({a = 1})'"
)


def _options(what: str) -> dict[str, OptionSpec]:
    return {
        "engine": OptionSpec("--engine", default="lua", help="Script engine (only lua)."),
        "timeout": OptionSpec(
            "--timeout",
            convert=float,
            metavar="SECONDS",
            help=f"Stop the {what} after this many seconds.",
        ),
        "connect": OptionSpec("--connect", metavar="ADDR", help=CONNECT_HELP),
        "session": OptionSpec("--session", metavar="ID", help=SESSION_HELP),
        "model_override": MODEL_OVERRIDE_OPTION,
    }


# The options of each command by parameter name, in the order of its typer signature.
RUN_OPTIONS = _options("script")
EXEC_OPTIONS = _options("code")


def run(opts: GlobalOptions, script: str, args: list[str] | None, **options: "Any") -> int:
    """`llmspell run`, `options` being RUN_OPTIONS' values by name; returns the exit code."""
    set_model_override(opts, options.pop("model_override"))
    from llmspell_cli.execution import run_script

    return run_script(opts, script, args or [], **options)


def exec_(opts: GlobalOptions, code: str, **options: "Any") -> int:
    """`llmspell exec`, `options` being EXEC_OPTIONS' values by name; returns the exit code."""
    set_model_override(opts, options.pop("model_override"))
    from llmspell_cli.execution import run_snippet

    return run_snippet(opts, code, **options)


def _picked(values: "dict[str, Any]", specs: dict[str, OptionSpec]) -> "dict[str, Any]":
    """The option values among a typer command's parameters (its `locals()`)."""
    return {name: values[name] for name in specs}


def register(app: "typer.Typer") -> None:
    """Add `run` and `exec` to the root app."""
    import typer

    @app.command("run", help=RUN_HELP)
    def run_command(
        ctx: typer.Context,
        script: str = typer.Argument(..., metavar="SCRIPT", help="The Lua file to run."),
        args: list[str] = typer.Argument(None, metavar="[-- ARGS...]", help="Script arguments."),
        engine: str = RUN_OPTIONS["engine"].typer_option(),
        timeout: float = RUN_OPTIONS["timeout"].typer_option(),
        connect: str = RUN_OPTIONS["connect"].typer_option(),
        session: str = RUN_OPTIONS["session"].typer_option(),
        model_override: str = RUN_OPTIONS["model_override"].typer_option(),
    ) -> None:
        raise typer.Exit(run(ctx.obj, script, args, **_picked(locals(), RUN_OPTIONS)))

    @app.command("exec", help=EXEC_HELP)
    def exec_command(
        ctx: typer.Context,
        code: str = typer.Argument(..., metavar="CODE", help="Lua code, or - for stdin."),
        engine: str = EXEC_OPTIONS["engine"].typer_option(),
        timeout: float = EXEC_OPTIONS["timeout"].typer_option(),
        connect: str = EXEC_OPTIONS["connect"].typer_option(),
        session: str = EXEC_OPTIONS["session"].typer_option(),
        model_override: str = EXEC_OPTIONS["model_override"].typer_option(),
    ) -> None:
        raise typer.Exit(exec_(ctx.obj, code, **_picked(locals(), EXEC_OPTIONS)))
