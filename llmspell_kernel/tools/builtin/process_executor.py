"""process_executor: run one program (never through a shell) past the PROC gate, with a
timeout, a capped output and absolute-path arguments checked against the FILE gate."""

from __future__ import annotations

import os
import subprocess
import time

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any


def run(params: Params, context: Any) -> ToolResponse:
    name = params.text("executable", required=True, aliases=("command",))
    arguments = [str(a) for a in params.array("arguments", aliases=("args",))]
    found = context.executable(name)
    settings = context.settings
    if not settings.allow_process_spawn:  # read-only commands may only look inside the paths
        for argument in arguments:
            if argument.startswith(("/", "~")) or ".." in argument.split("/"):
                context.path(argument)
    cwd = params.text("working_directory", aliases=("cwd",))
    directory = str(context.path(cwd)) if cwd is not None else None
    timeout = params.number("timeout_seconds", None)
    if timeout is None and params.has("timeout_ms"):
        timeout = params.number("timeout_ms") / 1000.0
    if timeout is None:
        timeout = settings.process_timeout_seconds
    if timeout <= 0:
        raise ToolError("parameter 'timeout_seconds' must be positive")
    environment = dict(os.environ)
    for key, value in params.table("environment", aliases=("env",)).items():
        environment[str(key)] = str(value)
    stdin = params.text("input")
    if not found:
        raise ToolFailure(f"executable '{name}' not found on PATH")
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [found, *arguments],
            cwd=directory,
            env=environment,
            input=stdin.encode("utf-8") if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolFailure(f"'{name}' timed out after {timeout:g} s") from None
    elapsed = (time.perf_counter() - started) * 1000.0
    cap = settings.max_output_bytes
    stdout, out_cut = _capped(completed.stdout, cap)
    stderr, err_cut = _capped(completed.stderr, cap)
    ok = completed.returncode == 0
    result = {
        "executable": name,
        "arguments": arguments,
        "exit_code": completed.returncode,
        "success": ok,
        "stdout": stdout,
        "stderr": stderr,
        "truncated": out_cut or err_cut,
        "duration_ms": round(elapsed, 3),
    }
    error = None if ok else f"'{name}' exited with code {completed.returncode}"
    return ToolResponse(result=result, text=stdout, success=ok, error=error)


def _capped(data: bytes, cap: int) -> tuple[str, bool]:
    """Output over tools.process_executor.max_output_bytes is cut there."""
    if len(data) > cap:
        return data[:cap].decode("utf-8", errors="replace"), True
    return data.decode("utf-8", errors="replace"), False
