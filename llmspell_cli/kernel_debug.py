"""The debugger of a kernel, driven through `debug_request` (DAP inside Jupyter messages).

`KernelDebugHandle` gives the terminal debugger (llmspell_cli/debugger.py) the same handle it
gets from an in-process `Debugger`, so `.break`, `.step`, `.locals`, … work the same in
`llmspell debug`, in `llmspell repl` and against a kernel reached with `--connect`.
"""

from __future__ import annotations

from typing import Any

from llmspell_kernel.client import KernelClient
from llmspell_kernel.debug.session import THREAD_ID
from llmspell_kernel.errors import UsageError
from llmspell_kernel.records import Record


class PlacedBreakpoint(Record):
    """A breakpoint as the kernel placed it."""

    __slots__ = ("id", "line", "actual_line", "message", "condition")
    id: int
    line: int
    actual_line: int | None
    message: str
    condition: str | None


def _source(chunk: str) -> dict[str, Any]:
    """The DAP Source of a chunk name (`@path` or `=cell[N]`)."""
    return {"path": chunk[1:] if chunk.startswith("@") else chunk}


class KernelDebugHandle:
    """A kernel's debugger as the terminal debugger sees it."""

    def __init__(self, client: KernelClient) -> None:
        self.client = client
        self.started = False
        self._breakpoints: dict[str, list[PlacedBreakpoint]] = {}
        self._functions: list[str] = []
        self._references: dict[str, int] = {}

    def dap(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send one DAP request; its body (UsageError with the kernel's message on failure)."""
        response = self.client.debug_request(command, arguments)
        if not response.get("success", False):
            raise UsageError(str(response.get("message") or f"debug request {command} failed"))
        return dict(response.get("body") or {})

    def start(self) -> None:
        """Start the kernel's debug session (once): its engine is watched from then on."""
        if self.started:
            return
        self.dap("initialize", adapterID="llmspell-terminal", linesStartAt1=True)
        self.dap("attach")
        self.dap("setExceptionBreakpoints", filters=[])
        self.dap("configurationDone")
        self.started = True

    def stop(self) -> None:
        """End the session: the kernel forgets the breakpoints and runs at full speed."""
        if self.started:
            self.started = False
            self.dap("disconnect", terminateDebuggee=False)

    # -- breakpoints ------------------------------------------------------------------------------
    def set_breakpoints(self, chunk: str, specs: list[dict[str, Any]]) -> list[PlacedBreakpoint]:
        self.start()
        body = self.dap("setBreakpoints", source=_source(chunk), breakpoints=specs)
        placed = [
            PlacedBreakpoint(
                int(bp.get("id", 0)),
                int(spec["line"]),
                bp.get("line"),
                str(bp.get("message") or ""),
                spec.get("condition"),
            )
            for spec, bp in zip(specs, body.get("breakpoints", []), strict=False)
        ]
        if placed:
            self._breakpoints[chunk] = placed
        else:
            self._breakpoints.pop(chunk, None)
        return placed

    def breakpoints(self) -> dict[str, list[PlacedBreakpoint]]:
        return dict(self._breakpoints)

    def set_exception_filters(self, filters: list[str]) -> None:
        self.start()
        self.dap("setExceptionBreakpoints", filters=list(filters))

    def set_function_breakpoints(self, names: list[str]) -> list[dict[str, Any]]:
        self.start()
        body = self.dap("setFunctionBreakpoints", breakpoints=[{"name": n} for n in names])
        self._functions = list(names)
        return list(body.get("breakpoints", []))

    # -- stops --------------------------------------------------------------------------------------
    def stack_trace(self, start: int = 0, levels: int = 0) -> tuple[list[dict[str, Any]], int]:
        body = self.dap("stackTrace", threadId=THREAD_ID, startFrame=start, levels=levels)
        frames = list(body.get("stackFrames", []))
        for frame in frames:
            source = frame.get("source") or {}
            if source.get("sourceReference"):
                self._references[str(source.get("name"))] = int(source["sourceReference"])
        return frames, int(body.get("totalFrames", len(frames)))

    def variables(self, reference: int) -> list[dict[str, Any]]:
        return list(self.dap("variables", variablesReference=reference).get("variables", []))

    def evaluate(self, expression: str, frame_id: int | None) -> dict[str, Any]:
        arguments: dict[str, Any] = {"expression": expression, "context": "repl"}
        if frame_id is not None:
            arguments["frameId"] = frame_id
        return self.dap("evaluate", **arguments)

    def chunk_name(self, source: dict[str, Any]) -> str:
        if source.get("path"):
            return "@" + str(source["path"])
        return "=" + str(source.get("name", ""))

    def source_text(self, chunk: str) -> str | None:
        """The text of a chunk, from the kernel (it may run on another machine)."""
        if chunk.startswith("@"):
            source: dict[str, Any] = {"path": chunk[1:]}
        elif chunk[1:] in self._references:
            source = {"sourceReference": self._references[chunk[1:]]}
        else:
            source = {"path": chunk}
        try:
            return str(self.dap("source", source=source).get("content"))
        except UsageError:
            return None

    def resume(self, action: str) -> None:
        if action == "terminate":
            self.dap("terminate")
        else:
            self.dap(action, threadId=THREAD_ID)

    def pause(self) -> None:
        self.dap("pause", threadId=THREAD_ID)
