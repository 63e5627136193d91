"""`llmspell debug`: the terminal debugger, and the entry to the DAP server modes.

TerminalDebugger drives a kernel's debugger (llmspell_kernel.api.RemoteDebugger) with a prompt
function, so the REPL can drive it with its own prompt_toolkit session; every script is debugged
in a kernel, an embedded one or the one --connect names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmspell_cli.options import GlobalOptions
from llmspell_kernel.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from llmspell_kernel.api import RemoteDebugger, ResumeAction

HELP = """debug commands:
  .step / .s        step into the next line (entering calls)
  .next / .n        step over calls
  .finish / .f      run until the current function returns
  .continue / .c    run to the next breakpoint
  .locals           local variables of the current frame
  .bt               backtrace
  .frame N          select frame N (see .bt)
  .print EXPR       evaluate a Lua expression in the current frame
  .watch EXPR       evaluate EXPR at every stop (.watch alone lists, .unwatch N removes)
  .break [FILE:]LINE[:COND]   add a breakpoint (FILE may be cell[N], a REPL input)
  .break NAME       stop when a function called NAME is entered
  .delete N|all     remove breakpoint N (see .breaks)
  .breaks           list breakpoints
  .catch [error|pcall|off]  stop on uncaught errors (error), on those pcall catches too
                    (pcall), or not at all (off); alone, shows the setting
  .quit             stop the script (Ctrl-D too)
  EXPR              any other input is evaluated in the current frame, like .print"""

_RESUME: dict[str, ResumeAction] = {
    ".step": "stepIn",
    ".s": "stepIn",
    ".next": "next",
    ".n": "next",
    ".finish": "stepOut",
    ".f": "stepOut",
    ".continue": "continue",
    ".c": "continue",
}


class TerminalDebugger:
    """Shows each stop (source, watches) and runs debug commands until the script resumes."""

    def __init__(
        self,
        debugger: RemoteDebugger,
        prompt: Callable[[str], str],
        write: Callable[[str], None],
        default_file: str | None = None,
        stream: Callable[[], Any] | None = None,
    ) -> None:
        self.debugger = debugger
        self.prompt = prompt
        self.write = write
        self.default_file = default_file
        self.stream = stream or (lambda: sys.stdout)  # where the source listing is printed
        self.frame = 1
        self.watches: list[str] = []
        self.catching: list[str] = []

    # -- breakpoints ----------------------------------------------------------------------------
    def add_break(self, spec: str) -> str:
        """Add a breakpoint from FILE:LINE[:COND] or a function NAME; a one-line report."""
        added = self.debugger.add_breakpoint(spec, self.default_file)
        note = f" ({added.message})" if added.message else ""
        return f"breakpoint {added.id} at {added.where}{note}"

    def catch(self, what: str) -> str:
        """`.catch error|pcall|off`: which errors stop the script."""
        choices = {"error": ["error"], "pcall": ["error", "pcall"], "off": []}
        if what and what not in choices:
            raise UsageError(f".catch takes error, pcall or off, not '{what}'")
        if what:
            self.catching = choices[what]
            self.debugger.set_exception_filters(self.catching)
        if not self.catching:
            return "errors do not stop the script"
        if "pcall" in self.catching:
            return "stopping on every error, also those pcall catches"
        return "stopping on uncaught errors"

    def list_breaks(self) -> str:
        rows = []
        for chunk, bps in self.debugger.breakpoints().items():
            for bp in bps:
                cond = f" if {bp.condition}" if bp.condition else ""
                note = f"  ({bp.message})" if bp.message else ""
                rows.append(
                    f"  {bp.id}: {chunk.lstrip('@=')}:{bp.actual_line or bp.line}{cond}{note}"
                )
        for ident, function in self.debugger.function_breakpoints():
            rows.append(f"  {ident}: function {function}")
        return "\n".join(rows) if rows else "no breakpoints"

    def delete_break(self, which: str) -> str:
        if not self.debugger.delete_breakpoint(which):
            return f"no breakpoint {which} (see .breaks)"
        return "deleted all breakpoints" if which == "all" else f"deleted breakpoint {which}"

    # -- stops ----------------------------------------------------------------------------------
    def show_stop(self, body: dict[str, Any]) -> None:
        """Print where the script stopped: reason, source around the line, watches."""
        self.frame = 1
        frames, _total = self.debugger.stack_trace(0, 1)
        reason = body.get("reason", "")
        detail = body.get("text") or body.get("description") or ""
        if not frames:
            self.write(f"stopped ({reason}) {detail}\n")
            return
        top = frames[0]
        self.write(
            f"stopped ({reason}) at {top['source'].get('name')}:{top['line']} in "
            f"{top['name']}{(': ' + detail) if detail else ''}\n"
        )
        self.show_source(top)
        for index, expression in enumerate(self.watches, start=1):
            self.write(f"  watch {index}: {expression} = {self._value(expression)}\n")

    def show_source(self, frame: dict[str, Any]) -> None:
        text = self.debugger.frame_source_text(frame)
        if not text:
            return
        line = int(frame["line"])
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

    def _value(self, expression: str) -> str:
        try:
            return str(self.debugger.evaluate(expression, self.frame)["result"])
        except Exception as exc:  # shown to the user, the session goes on
            return f"<error: {exc}>"

    def command(self, line: str) -> ResumeAction | None:
        """Run one debug command; returns a resume action or None to keep prompting."""
        text = line.strip()
        if not text:
            return None
        if not text.startswith("."):
            text = ".print " + text  # an expression typed at the prompt shows its value
        name, _, rest = text.partition(" ")
        rest = rest.strip()
        if name in _RESUME:
            return _RESUME[name]
        if name in (".quit", ".q"):
            return "terminate"
        try:
            self.write(self._inspect(name, rest) + "\n")
        except UsageError as exc:
            self.write(f"error: {exc.message}\n")
        except Exception as exc:  # a failed request must not end the session
            self.write(f"error: {exc}\n")
        return None

    def _inspect(self, name: str, rest: str) -> str:
        if name == ".locals":
            variables = self.debugger.variables(self.frame * 4 + 1)
            return "\n".join(f"  {v['name']} = {v['value']}" for v in variables) or "  (none)"
        if name == ".bt":
            frames, _ = self.debugger.stack_trace(0, 0)
            return "\n".join(
                f"{'*' if f['id'] == self.frame else ' '} #{f['id']} {f['name']} at "
                f"{f['source'].get('name')}:{f['line']}"
                for f in frames
            )
        if name == ".frame":
            frames, total = self.debugger.stack_trace(0, 0)
            if not rest.isdigit() or not 1 <= int(rest) <= total:
                return f"error: .frame takes a number from 1 to {total}"
            self.frame = int(rest)
            frame = frames[self.frame - 1]
            self.show_source(frame)
            return f"frame #{self.frame} {frame['name']} at {frame['source'].get('name')}:{frame['line']}"
        if name in (".print", ".p"):
            if not rest:
                return "error: .print needs an expression"
            return self._value(rest)
        if name == ".watch":
            if rest:
                self.watches.append(rest)
                return f"watch {len(self.watches)}: {rest} = {self._value(rest)}"
            return "\n".join(f"  {i}: {w}" for i, w in enumerate(self.watches, 1)) or "no watches"
        if name == ".unwatch":
            if rest.isdigit() and 1 <= int(rest) <= len(self.watches):
                return f"removed watch {self.watches.pop(int(rest) - 1)}"
            return "error: .unwatch takes a watch number"
        if name in (".break", ".b"):
            return self.add_break(rest) if rest else self.list_breaks()
        if name == ".breaks":
            return self.list_breaks()
        if name == ".catch":
            return self.catch(rest)
        if name == ".delete":
            return self.delete_break(rest or "all")
        if name == ".help":
            return HELP
        return f"error: unknown debug command {name} (.help lists them)"

    def serve_stop(self, body: dict[str, Any]) -> ResumeAction:
        """Show a stop and prompt until the user resumes; returns the action."""
        self.show_stop(body)
        while True:
            try:
                line = self.prompt("debug> ")
            except EOFError:
                return "terminate"
            except KeyboardInterrupt:  # as at any prompt: drop the line (.quit ends the run)
                self.write("\n")
                continue
            action = self.command(line)
            if action is not None:
                return action


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

    from llmspell_cli.context import ExecutionContext
    from llmspell_cli.execution import _input_handler, _OutputPrinter
    from llmspell_cli.render import Renderer
    from llmspell_kernel.api import DebugStop, remote_debugger

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
    resolve = ExecutionContext.resolve
    with resolve(opts, connect, input_handler=_input_handler, script_timeout=0.0) as context:
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
            while True:
                try:
                    for output in execution:
                        if isinstance(output, DebugStop):
                            try:
                                action = term.serve_stop(output.body)
                            except KeyboardInterrupt:
                                action = "terminate"
                            try:
                                handle.resume(action)
                            except UsageError as exc:  # resumed meanwhile elsewhere
                                _write(f"note: {exc.message}; the script went on\n")
                        else:
                            printer.handle(output)
                    break
                except KeyboardInterrupt:
                    handle.pause()
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
