"""The debugger's command language (`.step`, `.bt`, `.print EXPR`, `.break FILE:LINE`, ...), as pdb
has one beside its debugger: each command drives a kernel's debugger (RemoteDebugger) and
answers in plain text lines. Front ends bring the prompt and show the source around a stop (the
terminal debugger of `llmspell debug` and the REPL's `debug>` prompt colour it); nothing here
formats for a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from llmspell_kernel.debug.remote import RemoteDebugger
from llmspell_kernel.debug.session import ResumeAction
from llmspell_kernel.errors import UsageError

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

RESUME: dict[str, ResumeAction] = {
    ".step": "stepIn",
    ".s": "stepIn",
    ".next": "next",
    ".n": "next",
    ".finish": "stepOut",
    ".f": "stepOut",
    ".continue": "continue",
    ".c": "continue",
}


class DebugConsole:
    """Runs debug commands against a kernel's debugger and shows each stop (where, watches).

    `prompt(text)` reads a command line (EOFError ends the run); `write(text)` shows answers.
    `show_source(frame)` is the front end's: it lists the source around a frame's line.
    """

    def __init__(
        self,
        debugger: RemoteDebugger,
        prompt: Callable[[str], str],
        write: Callable[[str], None],
        default_file: str | None = None,
    ) -> None:
        self.debugger = debugger
        self.prompt = prompt
        self.write = write
        self.default_file = default_file
        self.frame = 1
        self.watches: list[str] = []
        self.catching: list[str] = []

    def show_source(self, frame: dict[str, Any]) -> None:
        """List the source around `frame`'s line, when the kernel has it."""
        text = self.debugger.frame_source_text(frame)
        if text:
            self.list_source(text, int(frame["line"]))

    def list_source(self, text: str, line: int) -> None:
        """Show lines line-3..line+3 of `text`, `line` marked (plain text; front ends colour
        it)."""
        lines = text.splitlines()
        for number in range(max(1, line - 3), min(len(lines), line + 3) + 1):
            mark = ">" if number == line else " "
            self.write(f"{mark}{number:5d}  {lines[number - 1]}\n")

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
        """Show where the script stopped: reason, source around the line, watches."""
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
        if name in RESUME:
            return RESUME[name]
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

    def follow(self, execution: Iterable[Any], on_output: Callable[[Any], None]) -> None:
        """Follow an execution started with debug events to its end: each stop is served at
        the prompt and resumed, every other output goes to `on_output`; Ctrl-C pauses the
        script (it stops at its next line), Ctrl-C at the prompt ends it."""
        from llmspell_kernel.client import DebugStop

        while True:
            try:
                for output in execution:
                    if not isinstance(output, DebugStop):
                        on_output(output)
                        continue
                    try:
                        action = self.serve_stop(output.body)
                    except KeyboardInterrupt:
                        action = "terminate"
                    try:
                        self.debugger.resume(action)
                    except UsageError as exc:  # resumed meanwhile elsewhere
                        self.write(f"note: {exc.message}; the script went on\n")
                return
            except KeyboardInterrupt:
                self.debugger.pause()

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
