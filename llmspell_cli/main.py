"""The typer application. Command modules hold only typer declarations; the work they do is
imported inside the command bodies, so `llmspell --help` stays fast."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException as _TyperException

from llmspell_cli.commands import COMMANDS
from llmspell_cli.options import (
    GLOBAL_OPTIONS,
    GLOBAL_VALUE_OPTIONS,
    GlobalOptions,
    hoist_global_options,
)
from llmspell_cli.reporting import report_failure
from llmspell_kernel import __version__

if TYPE_CHECKING:
    from typer._click import Context as ClickContext


class LlmspellGroup(TyperGroup):
    """Root group: accepts global options anywhere before `--`, maps our errors to exit codes."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        if args[:1] == ["--show-completion"] and len(args) > 1 and not args[1].startswith("-"):
            _show_completion(args[1])  # typer's flag takes no value: it printed bash's script
        return super().parse_args(ctx, hoist_global_options(args, GLOBAL_VALUE_OPTIONS))

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Usage errors as one line (`error: ...` plus a hint) and exit code 2, like our errors."""
        kwargs["standalone_mode"] = False  # we report errors ourselves
        if not standalone_mode:
            return super().main(*args, **kwargs)
        from typer import _click

        try:
            code = super().main(*args, **kwargs)
        except _click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # a group called without a subcommand shows its help
            sys.exit(exc.exit_code)
        except _click.exceptions.UsageError as exc:
            sys.stderr.write(f"error: {exc.format_message()}\n")
            where = exc.ctx.command_path if exc.ctx is not None else "llmspell"
            sys.stderr.write(f"hint: '{where} --help' shows the usage\n")
            sys.exit(exc.exit_code)
        except _click.exceptions.ClickException as exc:
            sys.stderr.write(f"error: {exc.format_message()}\n")
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(130)
        sys.exit(code or 0)

    def list_commands(self, ctx: ClickContext) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: ClickContext, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        loaded = self.commands.get(cmd_name)
        if loaded is None:
            loaded = self.commands[cmd_name] = load_command(cmd_name)
        return loaded

    def format_commands(self, ctx: ClickContext, formatter: Any) -> None:
        """The command list of `llmspell --help` without importing every command module."""
        rows = [(name, help_text) for name, (_module, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: ClickContext) -> None:
        try:
            # A command's return value is not an exit code (typer ignores it too); commands
            # end with typer.Exit(code), which main() turns into the process's exit status.
            super().invoke(ctx)
        except (typer.Exit, typer.Abort, _TyperException, SystemExit, BrokenPipeError):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            opts = ctx.obj if isinstance(ctx.obj, GlobalOptions) else None
            ctx.exit(report_failure(opts, exc))


app = typer.Typer(
    cls=LlmspellGroup,
    name="llmspell",
    help="Run Lua scripts that orchestrate LLM agents, tools and workflows.\n\n"
    "Scripts run in a Jupyter-protocol kernel: embedded in this process by default, "
    "or a running kernel with --connect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"llmspell {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: str = GLOBAL_OPTIONS["config"].typer_option(),
    trace: str = GLOBAL_OPTIONS["trace"].typer_option(),
    output: str = GLOBAL_OPTIONS["output"].typer_option(),
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version_callback,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """Global options are valid before or after any subcommand."""
    source = ctx.get_parameter_source("trace")
    opts = GlobalOptions(
        config_path=config,
        trace=trace.lower(),
        output=output.lower(),
        trace_explicit=source is not None and source.name != "DEFAULT",
    )
    ctx.obj = opts
    _configure_logging(opts.trace)


def _configure_logging(trace: str) -> None:
    from llmspell_kernel.api import configure_logging

    configure_logging(trace)


def _show_completion(shell: str) -> None:
    """`llmspell --show-completion SHELL`: print that shell's completion script and exit."""
    from llmspell_cli.shell_completion import SHELLS, completion_script

    if shell not in SHELLS:
        sys.stderr.write(
            f"error: no completion for shell '{shell}' (one of: {', '.join(SHELLS)})\n"
        )
        sys.exit(2)
    sys.stdout.write(completion_script(shell).rstrip("\n") + "\n")
    sys.exit(0)


def load_command(name: str) -> Any:
    """The click command for a subcommand, built from its module on first use."""
    import importlib

    import typer.main

    module = importlib.import_module(COMMANDS[name][0])
    if hasattr(module, "register"):  # top-level commands declared on a holder app
        holder = typer.Typer(rich_markup_mode=None)
        module.register(holder)
        command = typer.main.get_group(holder).commands[name]
    else:
        module.app.rich_markup_mode = None  # plain help, like the root (and faster)
        module.app._add_completion = False  # completion options belong to the root only
        command = typer.main.get_command(module.app)
        command.name = name
    command.short_help = COMMANDS[name][1]
    return command
