"""Running code for `run` / `exec`: stream output live, print the result, map failures to exit
codes. Works the same for every kind of kernel because it only uses KernelClient."""

from __future__ import annotations

import math
import os
import sys
import time

from llmspell_cli.context import check_engine, open_kernel
from llmspell_cli.options import GlobalOptions
from llmspell_cli.render import Renderer
from llmspell_kernel.api import ExecutionOutputs, StdinInput
from llmspell_kernel.errors import UsageError

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def run_script(
    opts: GlobalOptions,
    script: str,
    args: list[str],
    *,
    engine: str,
    timeout: float | None,
    connect: str | None = None,
    session: str | None = None,
) -> int:
    """`llmspell run SCRIPT -- ARGS`; returns the exit code."""
    check_engine(engine)
    path = os.path.expanduser(script)
    if not os.path.isfile(path):
        hint = (
            None
            if os.path.exists(path)
            else "check the path; scripts are resolved from the current directory"
        )
        what = "is a directory" if os.path.isdir(path) else "not found"
        raise UsageError(f"script {what}: {script}", hint=hint)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            code = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {script}: {exc.strerror}") from exc
    absolute = os.path.realpath(path)
    return _execute(
        opts,
        code,
        script_path=absolute,
        display_path=script,
        args=args,
        timeout=timeout,
        connect=connect,
        session=session,
    )


def run_snippet(
    opts: GlobalOptions,
    code: str,
    *,
    engine: str,
    timeout: float | None,
    connect: str | None = None,
    session: str | None = None,
) -> int:
    """`llmspell exec CODE`; returns the exit code."""
    check_engine(engine)
    if code == "-":
        code = sys.stdin.read()
    return _execute(
        opts, code, chunk_name="=exec", timeout=timeout, connect=connect, session=session
    )


# Line by line, for commands whose own prompts read stdin too (the terminal debugger).
_input_handler = StdinInput(read_ahead=False)


def _execute(
    opts: GlobalOptions,
    code: str,
    *,
    script_path: str | None = None,
    display_path: str | None = None,
    chunk_name: str | None = None,
    args: list[str] | None = None,
    timeout: float | None = None,
    connect: str | None = None,
    session: str | None = None,
) -> int:
    if timeout is not None and not (math.isfinite(timeout) and timeout >= 0):
        raise UsageError(f"--timeout must be a number of seconds (0 for no limit), got {timeout:g}")
    renderer = Renderer(opts.output)
    started = time.perf_counter()
    with open_kernel(opts, connect, input_handler=StdinInput()) as context:
        execution = context.client.execute(
            code,
            script_path=script_path,
            args=args,
            timeout=timeout,
            chunk_name=chunk_name,
            session_id=session,
        )
        printer = _OutputPrinter(renderer, script_path, display_path)
        interrupted_at: float | None = None
        while True:
            try:
                for output in execution:
                    printer.handle(output)
                break
            except KeyboardInterrupt:
                if interrupted_at is not None:
                    sys.stderr.write("error: interrupted\n")
                    return 130
                interrupted_at = time.monotonic()
                context.client.interrupt()
    reply = execution.reply or {}
    metadata = (execution.reply_metadata or {}).get("llmspell", {})
    duration_ms = metadata.get("duration_ms", (time.perf_counter() - started) * 1000.0)
    return printer.finish(reply, metadata, duration_ms)


def short_script_name(display: str) -> str:
    """A script as errors name it: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(os.path.abspath(display))
    except ValueError:
        return display
    return relative if not relative.startswith("..") else display


class _OutputPrinter(ExecutionOutputs):
    """Writes outputs as they arrive (text mode) or collects them (json/yaml)."""

    def __init__(
        self, renderer: Renderer, script_path: str | None, display_path: str | None
    ) -> None:
        super().__init__(self._paths)
        self.renderer = renderer
        self.script_path = script_path
        self.display_path = display_path
        self._last_char = "\n"

    def handle(self, output: Any) -> None:
        from llmspell_kernel.api import Stream

        if not isinstance(output, Stream):
            self.add(output)
            return
        text = self._paths(output.text)
        if self.renderer.machine:  # kept for the JSON/YAML document, up to a bound
            self.capture(output.name, text)
        if not self.renderer.machine or output.name == "stderr":
            stream = sys.stdout if output.name == "stdout" else sys.stderr
            if self.renderer.machine:
                stream = sys.stderr
            stream.write(text)
            stream.flush()
            if output.name == "stdout" and text:
                self._last_char = text[-1]

    def _paths(self, text: str) -> str:
        """Show the script as the user named it, not as the absolute chunk name."""
        if self.script_path and self.display_path and self.script_path in text:
            return text.replace(self.script_path, short_script_name(self.display_path))
        return text

    def finish(
        self,
        reply: dict[str, Any],
        metadata: dict[str, Any],
        duration_ms: float,
        silent: tuple[str, ...] = ("Exit",),
    ) -> int:
        """Print what the execution left (result, error) and return its exit code; errors
        named in `silent` print nothing (os.exit, and a debugging user ending the run)."""
        code, document = self.summary(reply, metadata, duration_ms)
        if self.renderer.machine:
            self.renderer.document(document)
        else:
            from llmspell_kernel.api import reply_pages

            for page in reply_pages(reply):  # help("...") shows its text here, as a pager would
                if self._last_char != "\n":
                    sys.stdout.write("\n")
                sys.stdout.write(page if page.endswith("\n") else page + "\n")
                self._last_char = "\n"
            if self.result_text is not None:
                if self._last_char != "\n":
                    sys.stdout.write("\n")
                plain = isinstance(self.result, str) and not self.several
                sys.stdout.write((self.result if plain else self.result_text) + "\n")
            sys.stdout.flush()
        if self.error and self.error["ename"] not in silent:
            self._report_error()
        return code

    def _report_error(self) -> None:
        assert self.error is not None
        from llmspell_kernel.api import logging_enabled_for

        verbose = logging_enabled_for("debug")
        sys.stderr.write(f"error: {self.error['evalue']}\n")
        if verbose and len(self.error["traceback"]) > 1:
            sys.stderr.write("\n".join(self.error["traceback"][1:]) + "\n")
        sys.stderr.flush()
