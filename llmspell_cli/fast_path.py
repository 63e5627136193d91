"""`llmspell run` / `exec` / `kernel stop`, and bash completion of a command name, without the
CLI framework.

Importing typer (with its click and the modules they pull in) costs more than starting the
kernel and running a short script, so a plain `run`/`exec` command line is parsed here, from the
option tables typer builds those commands from (`llmspell_cli/options.py`,
`llmspell_cli/commands/run.py`; `kernel stop` has to finish within 100 ms, typer's import
alone takes about 40), with click's rules: options anywhere before `--`, `--name value`
or `--name=value`, the last one wins, then the environment variable, then the default.
Anything else — help, completion, an unknown option, a value typer would reject, a missing or
extra argument — returns None and goes to typer, which reports it as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from llmspell_cli.options import (
    GLOBAL_OPTIONS,
    GLOBAL_VALUE_OPTIONS,
    KERNEL_STOP_OPTIONS,
    GlobalOptions,
    OptionSpec,
    hoist_global_options,
)

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMANDS = ("run", "exec", "kernel")


def complete(environ: Mapping[str, str]) -> str | None:
    """What typer's bash completion prints for the command name being typed (`llmspell st<Tab>`),
    from the command table; None for anything else (options, arguments, other shells)."""
    words = environ.get("COMP_WORDS", "")
    if environ.get("_LLMSPELL_COMPLETE") != "complete_bash" or environ.get("COMP_CWORD") != "1":
        return None
    if any(char in words for char in "\"'\\"):  # quoting: leave it to click's shlex split
        return None
    incomplete = (words.split()[1:] or [""])[0]
    if incomplete.startswith("-"):
        return None
    from llmspell_cli.commands import COMMANDS as ALL_COMMANDS

    return "".join(f"{name}\n" for name in ALL_COMMANDS if name.startswith(incomplete)) or "\n"


def parse(args: list[str], environ: Mapping[str, str]) -> Callable[[], int] | None:
    """The command `args` ask for, ready to run; None when typer has to handle them."""
    if "_LLMSPELL_COMPLETE" in environ or not any(arg in COMMANDS for arg in args):
        return None
    args = hoist_global_options(args, GLOBAL_VALUE_OPTIONS)
    position = 0
    given: dict[str, str] = {}
    while position < len(args) and args[position].startswith("-"):
        position = _take_option(args, position, GLOBAL_OPTIONS, given)
        if position < 0:
            return None
    if position == len(args) or args[position] not in COMMANDS:
        return None
    if args[position] == "kernel" and args[position + 1 : position + 2] != ["stop"]:
        return None
    global_values = _values(GLOBAL_OPTIONS, given, environ)
    if global_values is None:
        return None
    opts = GlobalOptions(
        config_path=global_values["config"],
        trace=global_values["trace"].lower(),
        output=global_values["output"].lower(),
        trace_explicit="trace" in given or bool(environ.get(GLOBAL_OPTIONS["trace"].envvar or "")),
    )
    return _command(opts, args[position], args[position + 1 :], environ)


def _command(
    opts: GlobalOptions, name: str, args: list[str], environ: Mapping[str, str]
) -> Callable[[], int] | None:
    if name == "kernel":
        return _kernel_stop(opts, args[1:], environ)
    from llmspell_cli.commands import run as commands

    specs = commands.RUN_OPTIONS if name == "run" else commands.EXEC_OPTIONS
    parsed = _arguments(args, specs, environ)
    if parsed is None:
        return None
    values, positional = parsed
    if name == "run" and positional:
        script, script_args = positional[0], positional[1:] or None  # as typer passes them
        return lambda: _guarded(opts, lambda: commands.run(opts, script, script_args, **values))
    if name == "exec" and len(positional) == 1:
        code = positional[0]
        return lambda: _guarded(opts, lambda: commands.exec_(opts, code, **values))
    return None


def _kernel_stop(
    opts: GlobalOptions, args: list[str], environ: Mapping[str, str]
) -> Callable[[], int] | None:
    parsed = _arguments(args, KERNEL_STOP_OPTIONS, environ)
    if parsed is None or len(parsed[1]) > 1:
        return None
    values, positional = parsed
    kernel_id = positional[0] if positional else None

    def stop() -> int:
        from llmspell_cli.kernel_service import stop_kernels

        return stop_kernels(opts, kernel_id=kernel_id, **values)

    return lambda: _guarded(opts, stop)


def _arguments(
    args: list[str], specs: Mapping[str, OptionSpec], environ: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]] | None:
    """(option values by name, positional arguments) of a command's arguments; None for
    anything typer has to report."""
    given: dict[str, str] = {}
    positional: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            positional.extend(args[position + 1 :])
            break
        if arg.startswith("-") and arg != "-":
            position = _take_option(args, position, specs, given)
            if position < 0:
                return None
            continue
        positional.append(arg)
        position += 1
    values = _values(specs, given, environ)
    return None if values is None else (values, positional)


def _take_option(
    args: list[str], position: int, specs: Mapping[str, OptionSpec], given: dict[str, str]
) -> int:
    """Record the option at `position` (and its value); the next position, or -1 if unknown."""
    flag, equals, value = args[position].partition("=")
    if equals and not flag.startswith("--"):
        return -1  # `-c=FILE`: click's reading of it is not worth copying
    dest = next((name for name, spec in specs.items() if flag in spec.flags), None)
    if dest is None:
        return -1
    if specs[dest].flag:
        if equals:
            return -1  # `--all=yes`: click refuses it
        given[dest] = flag
        return position + 1
    if not equals:
        if position + 1 == len(args):
            return -1
        value = args[position + 1]
        position += 1
    given[dest] = value
    return position + 1


def _values(
    specs: Mapping[str, OptionSpec], given: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, Any] | None:
    """Each option's value: given, else its (non-empty) environment variable, else the default."""
    values: dict[str, Any] = {}
    for dest, spec in specs.items():
        if spec.flag:
            values[dest] = dest in given
            continue
        text = given.get(dest)
        if text is None and spec.envvar:
            text = environ.get(spec.envvar) or None
        if text is None:
            values[dest] = spec.default
            continue
        try:
            values[dest] = spec.parse(text)
        except ValueError:
            return None
    return values


def _guarded(opts: GlobalOptions, command: Callable[[], int]) -> int:
    """Run the command as the typer group would: logging set up, failures reported."""
    from llmspell_kernel.api import configure_logging

    configure_logging(opts.trace)
    try:
        return command()
    except (SystemExit, BrokenPipeError):
        raise
    except (Exception, KeyboardInterrupt) as exc:
        from llmspell_cli.reporting import report_failure

        return report_failure(opts, exc)
