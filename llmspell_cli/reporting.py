"""How a command's failure reaches the user: one error line (plus a hint) and an exit code, the
details with `--trace debug`. Used by the typer group and the run/exec fast path alike."""

from __future__ import annotations

import sys

from llmspell_cli.options import GlobalOptions
from llmspell_kernel.errors import LlmspellError


def report_failure(opts: GlobalOptions | None, exc: BaseException) -> int:
    """Report an exception a command raised; returns the exit code."""
    if isinstance(exc, LlmspellError):
        report_error(opts, exc)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        return 130
    # A bug of ours: one line, the details with --trace debug.
    _traceback_if_asked(opts, exc)
    sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
    sys.stderr.write("hint: this is a bug in llmspell; `--trace debug` shows where it happened\n")
    return 1


def report_error(opts: GlobalOptions | None, exc: LlmspellError) -> None:
    """One of our errors: `error: ...` and its hint; also the document of --output json/yaml."""
    _traceback_if_asked(opts, exc)
    if opts is not None and opts.output in ("json", "yaml") and not getattr(exc, "reported", False):
        from llmspell_cli.render import Renderer

        Renderer(opts.output).document({"status": "error", "error": exc.message})
    sys.stderr.write(f"error: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")


def _traceback_if_asked(opts: GlobalOptions | None, exc: BaseException) -> None:
    if opts is not None and opts.trace in ("debug", "trace"):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
