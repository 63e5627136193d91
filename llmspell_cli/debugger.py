"""`llmspell debug`: the terminal debugger, and the entry to the DAP server modes.

TerminalDebugger is the kernel package's debug console (llmspell_kernel.api.DebugConsole, over
a kernel's RemoteDebugger) with a prompt function, so the REPL can drive it with its own
prompt_toolkit session; every script is debugged in a kernel, an embedded one or the one
--connect names.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from llmspell_cli.options import GlobalOptions
from llmspell_kernel.api import DebugConsole
from llmspell_kernel.errors import UsageError


class TerminalDebugger(DebugConsole):
    """The kernel package's debug console, with the source around each stop coloured."""

    def stream(self) -> Any:
        """Where the source listing is printed (the REPL points it at its own output)."""
        return sys.stdout

    def list_source(self, text: str, line: int) -> None:
        from rich.console import Console
        from rich.syntax import Syntax

        out = self.stream()
        console = Console(file=out, force_terminal=out.isatty())
        console.print(
            Syntax(
                text,
                "lua",
                line_numbers=True,
                line_range=(max(1, line - 3), line + 3),
                highlight_lines={line},
                theme="ansi_dark",
                background_color="default",
            )
        )
        out.flush()


def debug_command(
    opts: GlobalOptions,
    script: str | None,
    args: list[str],
    *,
    breaks: list[str],
    dap: bool,
    dap_port: int | None,
    stop_on_entry: bool,
    connect: str | None = None,
    break_on_error: bool = False,
    dap_max_message: int = 16 * 1024 * 1024,
) -> int:
    """Entry point of `llmspell debug`; returns the exit code."""
    program = None
    if script is not None:
        path = Path(script).expanduser()
        if not path.is_file():
            raise UsageError(f"script not found: {script}")
        program = str(path.resolve())
    if dap and dap_port is not None:
        raise UsageError("choose --dap (stdio) or --dap-port N (TCP), not both")
    if (dap or dap_port is not None) and (breaks or stop_on_entry or break_on_error):
        raise UsageError(
            "with --dap/--dap-port the editor sets breakpoints and stopOnEntry "
            "(--break and --stop-on-entry are for the terminal debugger)"
        )
    if connect is not None and stop_on_entry:
        raise UsageError(
            "--stop-on-entry works on scripts debugged here; in a running kernel, "
            "set --break FILE:LINE on the first line you want to stop at"
        )
    if connect is not None and (dap or dap_port is not None):
        raise UsageError(
            "--connect is for the terminal debugger; an editor attaches to a kernel with "
            'a DAP `attach` request whose arguments hold "connect": "HOST:PORT"'
        )
    if dap or dap_port is not None:
        return _serve_dap(opts, program, args, dap_port, dap_max_message)
    if program is None:
        if connect is not None:
            raise UsageError("llmspell debug --connect needs a SCRIPT")
        raise UsageError("llmspell debug needs a SCRIPT (or --dap / --dap-port for editors)")
    return _debug_in_kernel(
        opts, connect, program, args, breaks, script or "", stop_on_entry, break_on_error
    )


def _serve_dap(
    opts: GlobalOptions,
    program: str | None,
    args: list[str],
    dap_port: int | None,
    dap_max_message: int,
) -> int:
    """`--dap` (stdio) or `--dap-port N` (TCP): the DAP server of llmspell_kernel.api."""
    from llmspell_cli.context import load_effective_config
    from llmspell_kernel.api import kernel_settings_from_config, serve_dap_stdio, serve_dap_tcp

    if dap_max_message < 1024:
        raise UsageError(f"--dap-max-message must be at least 1024, not {dap_max_message}")
    settings = kernel_settings_from_config(load_effective_config(opts))
    if dap_port is None:
        return serve_dap_stdio(settings, program, args, dap_max_message)
    if not 0 <= dap_port <= 65535:
        raise UsageError(f"--dap-port must be 0..65535, not {dap_port}")

    def listening(port: int, token: str, token_file: str) -> None:
        sys.stderr.write(
            f"llmspell DAP server listening on 127.0.0.1:{port}\n"
            f'token: {token} (pass it as "token" in launch.json; also in {token_file})\n'
        )
        sys.stderr.flush()

    try:
        serve_dap_tcp(
            dap_port, settings, program, args, on_listening=listening, max_message=dap_max_message
        )
    except OSError as exc:
        raise UsageError(f"cannot listen on port {dap_port}: {exc.strerror}") from exc
    return 0


def _debug_in_kernel(
    opts: GlobalOptions,
    connect: str | None,
    program: str,
    args: list[str],
    breaks: list[str],
    display: str,
    stop_on_entry: bool = False,
    break_on_error: bool = False,
) -> int:
    """Debug a script in a kernel: an embedded one, or the running one `connect` names.
    Breakpoints and stops travel as debug_request / debug_event, the script runs as an
    execute_request (a running kernel keeps its globals)."""
    import signal
    import time

    from llmspell_cli.context import open_kernel
    from llmspell_cli.execution import _input_handler, _OutputPrinter
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import remote_debugger

    code = Path(program).read_text(encoding="utf-8", errors="replace")
    started = time.perf_counter()

    def hang_up(_signum: int, _frame: Any) -> None:
        # A closed terminal sends SIGHUP twice (the tty, then the shell passing it on): ignore
        # the rest, so that the finally below can end the kernel's debug session.
        for number in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
        raise SystemExit(129)

    for number in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(number, hang_up)
    # no time limit: a script paused at a breakpoint would hit it
    with open_kernel(opts, connect, input_handler=_input_handler, script_timeout=0.0) as context:
        handle = remote_debugger(context.client)
        term = TerminalDebugger(handle, _prompt, _write, default_file=display)
        handle.start(stop_on_entry=stop_on_entry)
        try:
            for spec in breaks:
                _write(term.add_break(spec) + "\n")
            if break_on_error:
                _write(term.catch("error") + "\n")
            execution = context.client.execute(
                code, script_path=program, args=args, debug_events=True
            )
            printer = _OutputPrinter(Renderer(opts.output), program, display)
            term.follow(execution, printer.handle)
        finally:
            # nothing may cut this short, or the kernel stays paused for a client that is gone
            for number in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                signal.signal(number, signal.SIG_IGN)
            handle.stop()
    reply = execution.reply or {}
    metadata = (execution.reply_metadata or {}).get("llmspell", {})
    duration_ms = metadata.get("duration_ms", (time.perf_counter() - started) * 1000.0)
    return printer.finish(reply, metadata, duration_ms, silent=("Exit", "Interrupted"))


def _prompt(text: str) -> str:
    sys.stdout.write(text)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
