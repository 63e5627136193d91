"""Global options shared by every command, and the argv rewrite that lets them appear anywhere.

Options that `run` and `exec` accept are declared here as `OptionSpec`s: typer builds its options
from them (help, completion, errors), and the start-up fast path (`llmspell_cli/fast_path.py`)
parses the same records without importing typer."""

from __future__ import annotations

from collections.abc import Callable

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class OptionSpec:
    """One command-line option taking a value, declared once for typer and the fast path."""

    __slots__ = (
        "flags",
        "default",
        "convert",
        "metavar",
        "help",
        "envvar",
        "show_envvar",
        "choices",
        "flag",
    )

    def __init__(
        self,
        *flags: str,
        default: Any = None,
        convert: Callable[[str], Any] = str,
        metavar: str | None = None,
        help: str = "",
        envvar: str | None = None,
        show_envvar: bool = True,
        choices: tuple[str, ...] | None = None,
        flag: bool = False,
    ) -> None:
        self.flags = flags
        self.default = default
        self.convert = convert  # str or float: what the typer parameter's annotation says
        self.metavar = metavar
        self.help = help
        self.envvar = envvar
        self.show_envvar = show_envvar
        self.choices = choices  # compared case-insensitively; the value is kept as given
        self.flag = flag  # a switch taking no value: present means True (default False)

    def typer_option(self) -> Any:
        """The `typer.Option(...)` default of the parameter this spec declares."""
        import typer

        if self.flag:
            return typer.Option(False, *self.flags, help=self.help)
        callback = None
        if self.choices is not None:
            choices, flag = self.choices, self.flags[0]

            def callback(value: str) -> str:
                if value is None or value.lower() in choices:
                    return value
                raise typer.BadParameter(
                    f"'{value}' is not one of {', '.join(choices)}", param_hint=flag
                )

        return typer.Option(
            self.default,
            *self.flags,
            metavar=self.metavar,
            envvar=self.envvar,
            show_envvar=self.show_envvar,
            help=self.help,
            callback=callback,
        )

    def parse(self, text: str) -> Any:
        """The value typer would give for `text`; ValueError where typer reports a usage error."""
        if self.choices is not None and text.lower() not in self.choices:
            raise ValueError(text)
        return self.convert(text)


# `kernel stop`'s options by parameter name (the fast path stops a kernel without typer).
KERNEL_STOP_OPTIONS = {
    "all_kernels": OptionSpec("--all", default=False, flag=True, help="Stop every running kernel."),
    "force": OptionSpec(
        "--force", default=False, flag=True, help="Signal the process instead of asking."
    ),
}

TRACE_LEVELS = ("off", "error", "warn", "info", "debug", "trace")
OUTPUT_FORMATS = ("text", "json", "yaml")

# The root's options that take a value (the root callback's parameters, by name).
GLOBAL_OPTIONS = {
    "config": OptionSpec(
        "--config",
        "-c",
        envvar="LLMSPELL_CONFIG",
        help="Configuration file (TOML). Default: ./llmspell.toml, then the user config dir.",
        metavar="FILE",
    ),
    "trace": OptionSpec(
        "--trace",
        default="warn",
        envvar="LLMSPELL_TRACE",
        help="Log level for stderr: off, error, warn, info, debug, trace.",
        metavar="LEVEL",
        choices=TRACE_LEVELS,
    ),
    "output": OptionSpec(
        "--output",
        default="text",
        envvar="LLMSPELL_OUTPUT",
        help="Output format: text, json or yaml (json/yaml print one document on stdout).",
        metavar="FORMAT",
        choices=OUTPUT_FORMATS,
    ),
}

# Global options that take a value, with their short forms.
GLOBAL_VALUE_OPTIONS = tuple(flag for spec in GLOBAL_OPTIONS.values() for flag in spec.flags)


class GlobalOptions:
    """The global options after parsing; stored as the typer context object."""

    def __init__(
        self,
        config_path: str | None = None,
        trace: str = "warn",
        output: str = "text",
        trace_explicit: bool = False,
    ) -> None:
        self.config_path = config_path
        self.trace = trace
        self.output = output
        self.trace_explicit = trace_explicit
        # `--model-override SPEC` of run/exec/repl/debug (or LLMSPELL_MODEL_OVERRIDE): every
        # agent of the command's executions uses this model (see llmspell_kernel.attach).
        self.model_override: str | None = None


MODEL_OVERRIDE_ENV = "LLMSPELL_MODEL_OVERRIDE"
MODEL_OVERRIDE_HELP = (
    "Route every agent to this model (PROVIDER/MODEL, e.g. local/smollm2) whatever the script "
    f"asks for; recorded in each result's metadata. Env: {MODEL_OVERRIDE_ENV}."
)


def model_override_option() -> Any:
    """The `--model-override` option of `repl` and `debug` (typer declarations; `run`/`exec`
    declare theirs in their OptionSpec tables)."""
    import typer

    return typer.Option(
        None,
        "--model-override",
        metavar="SPEC",
        envvar=MODEL_OVERRIDE_ENV,
        show_envvar=False,
        help=MODEL_OVERRIDE_HELP,
    )


MODEL_OVERRIDE_OPTION = OptionSpec(
    "--model-override",
    metavar="SPEC",
    envvar=MODEL_OVERRIDE_ENV,
    show_envvar=False,
    help=MODEL_OVERRIDE_HELP,
)


def set_model_override(opts: GlobalOptions, spec: str | None) -> None:
    """Validate a `--model-override` value and keep it on the options."""
    from llmspell_kernel.errors import UsageError

    if spec is None or not spec.strip():
        return
    spec = spec.strip()
    name, _, model = spec.partition("/")
    if any(c.isspace() for c in spec) or not name or (_ and not model):
        raise UsageError(
            f"--model-override must be PROVIDER/MODEL or MODEL, got '{spec}'",
            hint="for example --model-override local/smollm2",
        )
    opts.model_override = spec


def hoist_global_options(args: list[str], names: tuple[str, ...]) -> list[str]:
    """Move global options found after the subcommand to the front (stopping at `--`)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    seen_command = False
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if seen_command and name in names:
            if "=" in arg and arg.startswith("--"):
                front.append(arg)
                i += 1
                continue
            front.append(arg)
            if i + 1 < len(args):
                front.append(args[i + 1])
            i += 2
            continue
        if not arg.startswith("-"):
            seen_command = True
        rest.append(arg)
        i += 1
    return front + rest if front else rest
