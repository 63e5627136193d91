"""The configuration of a command line, and the kernel its code runs in (an embedded one, or a
running one: open_kernel), or the store its data commands work on (data_client)."""

from __future__ import annotations

import sys

from llmspell_cli.options import GlobalOptions
from llmspell_kernel.errors import UsageError

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from llmspell_kernel.api import AttachedKernel

ENGINES = ("lua",)


def check_engine(engine: str) -> None:
    """Only Lua exists; say so clearly for anything else."""
    if engine.lower() not in ENGINES:
        raise UsageError(f"unknown engine '{engine}' (available: {', '.join(ENGINES)})")


def load_effective_config(opts: GlobalOptions) -> Any:
    """The configuration after discovery and environment overrides (warnings to stderr)."""
    from llmspell_kernel.config import load_config

    loaded = load_config(opts.config_path)
    if opts.trace not in ("off", "error"):
        for warning in loaded.warnings:
            sys.stderr.write(f"warning: {warning}\n")
    config = loaded.config
    if opts.model_override:
        config.providers.model_override = opts.model_override
    if config.providers.model_override:
        from llmspell_kernel.api import check_model_override

        check_model_override(config)
    return config


def open_kernel(
    opts: GlobalOptions,
    connect: str | None,
    *,
    input_handler: Any = None,
    script_timeout: float | None = None,
) -> AttachedKernel:
    """A running kernel when `connect` names one, else an embedded kernel (with
    `script_timeout` instead of the configured one, if given): llmspell_kernel.api's
    attach_kernel with this command line's configuration, --trace and --model-override."""
    from llmspell_kernel.api import attach_kernel

    return attach_kernel(
        connect,
        lambda: load_effective_config(opts),
        model_override=opts.model_override,
        input_handler=input_handler,
        script_timeout=script_timeout,
        debug_level=_debug_level(opts),
        on_stuck=_abandon_stuck_script,
    )


def data_client(opts: GlobalOptions, kernel: str | None, tenant: str | None) -> Any:
    """The data operations of `state`, `session`, `backup` and `keys`: through --kernel (or the
    only running kernel), or offline on the store when --config names a configuration."""
    from llmspell_kernel.api import DataClient

    return DataClient(
        lambda: load_effective_config(opts),
        kernel=kernel,
        tenant=tenant,
        offline_by_default=bool(opts.config_path),
    )


def _abandon_stuck_script(reason: str) -> None:
    """An embedded script ignored an interrupt (it is inside one long C call): leave now.

    Called from the engine's watchdog thread; the Lua state cannot be unwound from here, so the
    process ends as a second Ctrl-C would end it.
    """
    import os
    import sys

    what = "time limit" if reason == "timeout" else "interrupt"
    sys.stderr.write(
        f"error: the script did not stop after the {what} (it is inside one long C call); exiting\n"
    )
    sys.stderr.flush()
    os._exit(1 if reason == "timeout" else 130)


def _debug_level(opts: GlobalOptions) -> str | None:
    """The Lua `Debug` level follows --trace when the user gave it (off: errors only)."""
    if not opts.trace_explicit:
        return None
    return "error" if opts.trace == "off" else opts.trace
