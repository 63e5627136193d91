"""What the REPL does with a line of input: run it in the kernel, show outputs, or obey a
meta-command. Independent of prompt_toolkit so that it can be tested directly."""

from __future__ import annotations

import difflib
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from llmspell_cli.repl.values import shown_value
from llmspell_kernel.api import (
    DebugStop,
    ErrorOutput,
    KernelClient,
    Result,
    Stream,
    reply_pages,
    transcript_script,
    write_text_atomically,
)
from llmspell_kernel.errors import LlmspellError

META_COMMANDS: dict[str, str] = {
    ".help": "list the meta-commands",
    ".exit": "leave the REPL (also Ctrl-D on an empty line)",
    ".load": ".load FILE — run a Lua file in this session",
    ".run": ".run FILE — same as .load",
    ".save": ".save FILE — write this session's inputs as a runnable .lua script",
    ".history": ".history [N] — show the last N inputs (default 20)",
    ".vars": "user-defined globals with their types and values",
    ".reset": "start a fresh Lua state (asks first)",
    ".info": "kernel id, mode, address, uptime, executions, memory",
    ".time": "toggle timing of each execution",
    ".tb": "the traceback of the last error",
    ".clear": "clear the screen",
    ".break": ".break NAME | [FILE:]LINE[:COND] — stop in a function, a file or cell[N]",
    ".breaks": "list breakpoints",
    ".delete": ".delete N|all — remove breakpoints (all: stop debugging)",
    ".catch": ".catch error|pcall|off — stop where errors are raised",
}
# At a stop (`debug>` prompt) the debugger's own commands apply: .step .next .finish .continue
# .locals .bt .frame .print .watch (see .help there).
_DEBUG_ONLY = (".step", ".next", ".finish", ".continue", ".locals", ".bt", ".frame", ".print")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ReplSession:
    """One REPL conversation with a kernel."""

    def __init__(
        self,
        client: KernelClient,
        *,
        label: str = "embedded",
        out: TextIO | None = None,
        err: TextIO | None = None,
        confirm: Callable[[str], bool] | None = None,
        clear_screen: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.label = label
        self._out = out
        self._err = err
        self.confirm = confirm or (lambda _question: False)
        self.clear_screen = clear_screen or (lambda: self.out.write("\033[2J\033[H"))
        self.lock = threading.RLock()
        self.inputs: list[tuple[str, str]] = []
        self.entered: list[str] = []
        self.last_traceback: list[str] = []
        self.timing = False
        self.baseline: set[str] | None = None
        self._stream_last = "\n"
        self.debug_prompt: Callable[[str], str] | None = None
        self._debugger: Any = None  # llmspell_cli.debugger.TerminalDebugger, on first .break

    @property
    def out(self) -> TextIO:
        """Where values and stdout go (looked up late so prompt_toolkit can patch stdout)."""
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    # -- kernel calls, serialized with the background IOPub reader ------------------------------------
    def complete(self, code: str, cursor: int) -> dict[str, Any]:
        with self.lock:
            return self.client.complete(code, cursor)

    def is_complete(self, code: str) -> dict[str, Any]:
        with self.lock:
            return self.client.is_complete(code)

    def capture_baseline(self) -> None:
        """Learn which globals the kernel's Lua state had before any code ran (`.vars` leaves
        them out): every other global is listed, whichever client made it."""
        with self.lock:
            self.baseline = self.client.builtin_globals()

    # -- input ------------------------------------------------------------------------------------------
    def handle(self, text: str) -> bool:
        """Run one complete input; returns False when the REPL should end."""
        stripped = text.strip()
        if not stripped:
            return True
        if stripped.startswith(".") and not stripped.startswith(".."):
            return self.meta(stripped)
        self.entered.append(text)
        self.execute(text)
        return True

    def execute(self, code: str, *, script_path: str | None = None, record: bool = True) -> str:
        """Run code in the kernel, printing outputs as they arrive; returns the reply status."""
        started = time.perf_counter()
        debugging = self._debugger is not None and self._debugger.debugger.started
        with self.lock:
            execution = self.client.execute(
                code, script_path=script_path, cell_names=True, debug_events=debugging
            )
            self._stream_last = "\n"
            shown_value = False
            while True:
                try:
                    for output in execution:
                        if isinstance(output, DebugStop):
                            self._serve_stop(output.body)
                            continue
                        shown_value = shown_value or isinstance(output, Result)
                        self._show(output)
                    break
                except KeyboardInterrupt:
                    self.client.interrupt()
        elapsed = time.perf_counter() - started
        if self._stream_last != "\n":
            self.out.write("\n")
        status = execution.status
        for page in reply_pages(execution.reply or {}):
            self.out.write(page if page.endswith("\n") else page + "\n")
        llmspell_meta = execution.reply_metadata.get("llmspell") or {}
        if status == "ok" and llmspell_meta.get("nil") and not code.rstrip().endswith(";"):
            self.out.write("nil\n")
            shown_value = True
        if status == "ok" and record and script_path is None:
            expression = bool((execution.reply_metadata.get("llmspell") or {}).get("expression"))
            if expression:
                kind = "value" if shown_value else "expression"
            else:
                kind = "returned" if shown_value else "statement"
            self.inputs.append((code, kind))
        if self.timing:
            self.out.write(f"({elapsed * 1000:.1f} ms)\n")
        self.out.flush()
        return status

    def _show(self, output: Any, *, marker: str = "") -> None:
        if isinstance(output, Stream):
            stream = self.out if output.name == "stdout" else self.err
            text = output.text
            if marker:
                text = "".join(f"{marker}{line}" for line in text.splitlines(keepends=True))
            stream.write(text)
            stream.flush()
            if output.name == "stdout" and text:
                self._stream_last = text[-1]
        elif isinstance(output, Result):
            if self._stream_last != "\n":
                self.out.write("\n")
                self._stream_last = "\n"
            text = self.format_value(output)
            if not marker and "application/json" in output.data and _is_terminal(self.out):
                self._highlight(text)
            else:
                self.out.write(marker + text + "\n")
        elif isinstance(output, ErrorOutput):
            self.last_traceback = output.traceback
            if self._stream_last != "\n":
                self.out.write("\n")
                self._stream_last = "\n"
            hint = "  (.tb shows the traceback)" if len(output.traceback) > 1 else ""
            self.err.write(f"{marker}error: {output.evalue}{hint}\n")
            self.err.flush()

    # -- debugging ---------------------------------------------------------------------------------
    def debugger(self) -> Any:
        """The terminal debugger over this kernel's debug_request (made on first use)."""
        if self._debugger is None:
            from llmspell_cli.debugger import TerminalDebugger
            from llmspell_kernel.api import remote_debugger

            def write(text: str) -> None:
                self.out.write(text)
                self.out.flush()

            self._debugger = TerminalDebugger(remote_debugger(self.client), self._ask_debug, write)
            self._debugger.stream = lambda: self.out
        return self._debugger

    def end_debugging(self) -> None:
        """Leave the kernel without this REPL's breakpoints (called when the REPL ends)."""
        if self._debugger is not None and self._debugger.debugger.started:
            try:
                with self.lock:
                    self._debugger.debugger.stop()
            except Exception:  # the kernel may be gone already
                pass

    def _foreign_stop(self) -> bool:
        """Whether the kernel is paused (in another client's run) while this REPL debugs."""
        if self._debugger is None or not self._debugger.debugger.started:
            return False
        try:
            with self.lock:
                info = self._debugger.debugger.dap("debugInfo")
        except LlmspellError:
            return False
        return bool(info.get("stoppedThreads"))

    def _ask_debug(self, prompt: str) -> str:
        if self.debug_prompt is None:
            raise EOFError
        return self.debug_prompt(prompt)

    def _serve_stop(self, body: dict[str, Any]) -> None:
        """The script stopped in the debugger: show where, take debug commands, resume."""
        term = self.debugger()
        if self._stream_last != "\n":
            self.out.write("\n")
            self._stream_last = "\n"
        try:
            action = term.serve_stop(body)
        except KeyboardInterrupt:
            action = "terminate"
        try:
            term.debugger.resume(action)
        except LlmspellError as exc:  # resumed meanwhile by another client or an interrupt
            self.err.write(f"note: {exc.message}; the script went on without this prompt\n")

    def _debug_command(self, line: str) -> None:
        name = line.partition(" ")[0]
        term = self.debugger()
        with self.lock:
            if name == ".delete" and line.partition(" ")[2].strip() in ("", "all"):
                self.out.write(term.delete_break("all") + "\n")
                term.debugger.stop()  # the kernel's session ends: error stops (.catch) too
                term.catching = []
                return
            term.command(line)

    def _highlight(self, text: str) -> None:
        """A value in Lua syntax, coloured by type (strings, numbers, booleans, keys)."""
        from rich.console import Console
        from rich.syntax import Syntax

        Console(file=self.out, force_terminal=True, soft_wrap=True).print(
            Syntax(text, "lua", theme="ansi_dark", background_color="default", word_wrap=True)
        )

    @staticmethod
    def format_value(result: Result) -> str:
        if (result.metadata.get("llmspell") or {}).get("count", 1) > 1:
            return result.text  # several values, tab-separated as Lua's REPL shows them
        return shown_value(result.data, result.text)

    def show_foreign(self, msg: dict[str, Any]) -> None:
        """Output of another client's execution on a shared kernel, marked as such."""
        msg_type = msg["header"]["msg_type"]
        content = msg["content"]
        marker = "[other] "
        if msg_type == "execute_input":
            self.out.write(f"{marker}>> {content.get('code', '')}\n")
        elif msg_type == "stream":
            self._show(
                Stream(content.get("name", "stdout"), content.get("text", "")), marker=marker
            )
        elif msg_type == "execute_result":
            self._show(Result(content.get("data", {})), marker=marker)
        elif msg_type == "error":
            self.out.write(f"{marker}error: {content.get('evalue', '')}\n")
        elif msg_type == "comm_msg" and isinstance(content.get("data"), dict):
            event = content["data"].get("llmspell_event")  # the kernel's events (README)
            if isinstance(event, dict):
                from llmspell_cli.commands.events import event_summary

                self.out.write(f"{marker}event {event.get('event_type')}: {event_summary(event)}\n")
        elif (
            msg_type == "debug_event"
            and content.get("event") == "stopped"
            and self._debugger is not None
            and self._debugger.debugger.started
        ):
            body = content.get("body") or {}
            detail = body.get("description") or body.get("text") or ""
            self.out.write(
                f"{marker}a run stopped ({body.get('reason', 'breakpoint')}{': ' if detail else ''}"
                f"{detail}); .bt, .locals, .print, .continue work at this prompt\n"
            )
        self.out.flush()

    # -- meta-commands ----------------------------------------------------------------------------------
    def meta(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        handler = {
            ".help": self._help,
            ".exit": None,
            ".quit": None,
            ".load": self._load,
            ".run": self._load,
            ".save": self._save,
            ".history": self._history,
            ".vars": self._vars,
            ".reset": self._reset,
            ".info": self._info,
            ".time": self._time,
            ".tb": self._tb,
            ".clear": self._clear,
        }
        if name in (".break", ".breaks", ".delete", ".catch"):
            self._debug_command(line)
            self.out.flush()
            return True
        if name in _DEBUG_ONLY or name in (".s", ".n", ".f", ".c", ".watch", ".quit"):
            if self._foreign_stop():
                # another client's run is paused at a breakpoint of ours: serve it from here
                term = self.debugger()
                with self.lock:
                    action = term.command(line)
                    if action is not None:
                        try:
                            term.debugger.resume(action)
                        except LlmspellError as exc:
                            self.err.write(f"error: {exc.message}\n")
                self.out.flush()
                return True
            if name in _DEBUG_ONLY:
                self.err.write(
                    f"error: {name} works at a stop (debug> prompt); set one with .break\n"
                )
                return True
        if name not in handler:
            close = difflib.get_close_matches(name, list(META_COMMANDS), n=1)
            suggestion = f" (did you mean {close[0]}?)" if close else ""
            self.err.write(f"error: unknown command {name}{suggestion}; .help lists them\n")
            return True
        fn = handler[name]
        if fn is None:
            return False
        try:
            fn(arg)
        except LlmspellError as exc:  # a bad path or argument: say so, keep the session
            self.err.write(f"error: {exc.message}\n")
        self.out.flush()
        return True

    def _help(self, _arg: str) -> None:
        width = max(len(name) for name in META_COMMANDS)
        for name, text in META_COMMANDS.items():
            self.out.write(f"  {name.ljust(width)}  {text}\n")
        self.out.write(
            "  Lua input runs in the kernel; an expression shows its value, a trailing ';' hides it.\n"
        )

    def _load(self, arg: str) -> None:
        if not arg:
            self.err.write("error: .load needs a FILE\n")
            return
        path = Path(arg).expanduser()
        if not path.is_file():
            self.err.write(f"error: no such file: {arg}\n")
            return
        try:
            code = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            self.err.write(f"error: cannot read {arg}: {exc.strerror or exc}\n")
            return
        self.execute(code, script_path=str(path.resolve()))
        self.inputs.append((f"dofile({json.dumps(str(path.resolve()))})", "statement"))

    def _save(self, arg: str) -> None:
        if not arg:
            self.err.write("error: .save needs a FILE\n")
            return
        path = Path(arg).expanduser()
        script = transcript_script(self.inputs, Path(arg).name)
        write_text_atomically(path, script, shown=arg)
        self.out.write(f"saved {len(self.inputs)} inputs to {path}\n")

    def _history(self, arg: str) -> None:
        try:
            count = int(arg) if arg else 20
        except ValueError:
            self.err.write("error: .history takes a number\n")
            return
        entries = self.entered[-count:] if count > 0 else []
        start = len(self.entered) - len(entries) + 1
        for number, code in enumerate(entries, start=start):
            first, *rest = code.splitlines() or [""]
            self.out.write(f"{number:4d}  {first}\n")
            for line in rest:
                self.out.write(f"      {line}\n")

    def _vars(self, _arg: str) -> None:
        with self.lock:
            found = self.client.global_values()
        if found is None:
            self.err.write("error: could not list variables\n")
            return
        baseline = self.baseline or set()
        rows = [row for row in found if row[0] not in baseline]
        if not rows:
            self.out.write("no user-defined globals\n")
            return
        width = max(len(name) for name, _, _ in rows)
        for name, kind, value in rows:
            short = value if len(value) <= 60 else value[:57] + "..."
            self.out.write(f"  {name.ljust(width)}  {kind:<8}  {short}\n")

    def _reset(self, _arg: str) -> None:
        question = "Reset the Lua state and lose all globals? [y/N] "
        if self.label != "embedded":
            with self.lock:
                status = self.client.kernel_status()
            others = int(status.get("clients", 0)) - 1
            if others > 0:
                question = (
                    f"This kernel is shared: {others} other client(s) used it in the last "
                    "5 minutes and lose their globals too. Reset it? [y/N] "
                )
        if not self.confirm(question):
            self.out.write("not reset\n")
            return
        with self.lock:
            self.client.shutdown(restart=True)
        self.inputs.clear()
        self.out.write("fresh Lua state\n")

    def _info(self, _arg: str) -> None:
        with self.lock:
            status = self.client.kernel_status()
        uptime = status.get("uptime_seconds", 0.0)
        memory = status.get("memory_bytes", 0)
        rows = [
            ("kernel", status.get("kernel_id", "?")),
            ("mode", "embedded" if self.label == "embedded" else "connected"),
            ("address", self.label),
            ("uptime", f"{uptime:.0f} s"),
            ("executions", str(status.get("executions", 0))),
            ("memory", f"{memory / 1024:.0f} KiB"),
            ("security", status.get("security_level", "")),
        ]
        for key, value in rows:
            self.out.write(f"  {key:<10}  {value}\n")

    def _time(self, _arg: str) -> None:
        self.timing = not self.timing
        self.out.write(f"timing {'on' if self.timing else 'off'}\n")

    def _tb(self, _arg: str) -> None:
        if not self.last_traceback:
            self.out.write("no error yet\n")
            return
        self.out.write("\n".join(self.last_traceback) + "\n")

    def _clear(self, _arg: str) -> None:
        self.clear_screen()
