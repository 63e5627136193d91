"""Global options shared by every command, and the argv rewrite that lets them appear anywhere."""

from __future__ import annotations

# Global options that take a value, with their short forms.
GLOBAL_VALUE_OPTIONS = ("--config", "-c", "--trace", "--output")


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
        # agent of the command's executions uses this model (see ExecutionContext).
        self.model_override: str | None = None


MODEL_OVERRIDE_ENV = "LLMSPELL_MODEL_OVERRIDE"
MODEL_OVERRIDE_HELP = (
    "Route every agent to this model (PROVIDER/MODEL, e.g. local/smollm2) whatever the script "
    f"asks for; recorded in each result's metadata. Env: {MODEL_OVERRIDE_ENV}."
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
