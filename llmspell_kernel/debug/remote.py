"""A kernel's debugger seen from outside: DAP inside the kernel's `debug_request`/`debug_event`.

Every debugging front end goes through a kernel this way, embedded (in-process transport) or
running elsewhere (ZeroMQ): `RemoteDebugger` is the terminal debugger's and the REPL's handle
(breakpoint bookkeeping included), `KernelRelay` hands an editor's DAP requests to a kernel and
its events back (the DAP server's `attach`, and its `launch` on an embedded kernel). Nothing
here formats for a terminal.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmspell_kernel.client import KernelClient
from llmspell_kernel.debug.session import THREAD_ID, ResumeAction
from llmspell_kernel.errors import UsageError
from llmspell_kernel.protocol.message import Message
from llmspell_kernel.transport.base import IOPUB

EventSink = Callable[[str, dict[str, Any]], None]
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*([.:][A-Za-z_][A-Za-z0-9_]*)*")
_CELL = re.compile(r"cell\[\d+\]")


@dataclass(slots=True)
class PlacedBreakpoint:
    """A line breakpoint as the kernel placed it."""

    id: int
    line: int
    actual_line: int | None
    message: str
    condition: str | None


@dataclass(slots=True)
class AddedBreakpoint:
    """What `add_breakpoint` placed: its id, where (`s.lua:3`, `function f`), and why it is
    not placed where asked, if so."""

    id: str
    where: str
    message: str


def parse_break(spec: str, default_file: str | None) -> tuple[str, int, str | None]:
    """'file.lua:12:x > 3' / '12' → (path, line, condition); UsageError if it is neither."""
    parts = spec.split(":", 2)
    if parts[0].strip().isdigit():
        if default_file is None:
            raise UsageError(f"breakpoint '{spec}' needs a file (FILE:LINE)")
        parts = [default_file, *parts]
        parts = [parts[0], parts[1], ":".join(parts[2:])] if len(parts) > 2 else parts
    if len(parts) < 2 or not parts[1].strip().isdigit():
        raise UsageError(f"breakpoint '{spec}' is not FILE:LINE[:CONDITION]")
    if int(parts[1]) < 1:
        raise UsageError(f"breakpoint '{spec}': lines are numbered from 1")
    condition = parts[2].strip() if len(parts) > 2 and parts[2].strip() else None
    if condition:
        _check_condition(spec, condition)
    return parts[0], int(parts[1]), condition


def _check_condition(spec: str, condition: str) -> None:
    """A condition that does not compile is a usage error, found before anything is placed
    (the debugger itself would keep an unverified breakpoint, as DAP wants for editors)."""
    from llmspell_kernel.debug.lines import ChunkError, code_lines

    try:
        code_lines("return " + condition)
    except ChunkError:
        try:
            code_lines(condition)
        except ChunkError as exc:
            reason = re.sub(r"^[^:]*:\d+: ", "", str(exc))
            raise UsageError(
                f"breakpoint '{spec}': the condition does not compile ({reason})"
            ) from None


def _find_file(path: str, default_file: str | None) -> str:
    """A breakpoint's file: as given (from the working directory), else beside the script
    being debugged (`--break s.lua:3` for `llmspell debug ../s.lua`)."""
    given = os.path.expanduser(path)
    if os.path.isfile(given):
        return given
    if default_file and not os.path.isabs(given):
        beside = os.path.join(os.path.dirname(os.path.expanduser(default_file)), given)
        if os.path.isfile(beside):
            return beside
    raise UsageError(f"breakpoint file not found: {path}")


def _source(chunk: str) -> dict[str, Any]:
    """The DAP Source of a chunk name (`@path` or `=cell[N]`)."""
    return {"path": chunk[1:] if chunk.startswith("@") else chunk}


class RemoteDebugger:
    """A kernel's debugger driven through one KernelClient; it keeps the breakpoints it set,
    so front ends add and delete one at a time while DAP replaces a source's whole list."""

    def __init__(self, client: KernelClient) -> None:
        self.client = client
        self.started = False
        self._breakpoints: dict[str, list[PlacedBreakpoint]] = {}
        self._functions: list[str] = []
        self._function_ids: list[str] = []
        self._references: dict[str, int] = {}

    def dap(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send one DAP request; its body (UsageError with the kernel's message on failure)."""
        response = self.client.debug_request(command, arguments)
        if not response.get("success", False):
            raise UsageError(str(response.get("message") or f"debug request {command} failed"))
        return dict(response.get("body") or {})

    def start(self, *, stop_on_entry: bool = False) -> None:
        """Start the kernel's debug session (once): its engine is watched from then on;
        `stop_on_entry` stops the next execution at its first line."""
        if self.started:
            return
        self.dap("initialize", adapterID="llmspell-terminal", linesStartAt1=True)
        self.dap("attach", **({"stopOnEntry": True} if stop_on_entry else {}))
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
        """Replace the line breakpoints of one chunk (DAP's setBreakpoints)."""
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

    def add_breakpoint(self, spec: str, default_file: str | None = None) -> AddedBreakpoint:
        """A breakpoint from `[FILE:]LINE[:COND]` (FILE may be `cell[N]`, a REPL input) or a
        function NAME; a LINE alone is in `default_file`."""
        from llmspell_kernel.debug.breakpoints import chunk_for_path

        name = spec.strip()
        if _FUNCTION_NAME.fullmatch(name) and ".lua" not in name:
            return AddedBreakpoint(self.add_function_breakpoint(name), f"function {name}", "")
        path, line, condition = parse_break(spec, default_file)
        if _CELL.fullmatch(path.strip()):
            chunk = "=" + path.strip()
        else:
            chunk = chunk_for_path(_find_file(path, default_file))
        bp = self.add_line_breakpoint(chunk, line, condition)
        where = f"{os.path.basename(chunk[1:])}:{bp.actual_line or line}"
        return AddedBreakpoint(str(bp.id), where, bp.message)

    def add_line_breakpoint(
        self, chunk: str, line: int, condition: str | None = None
    ) -> PlacedBreakpoint:
        """One more line breakpoint (the same line again replaces its breakpoint)."""
        kept = [_spec(bp) for bp in self._breakpoints.get(chunk, []) if bp.line != line]
        entry: dict[str, Any] = {"line": line}
        if condition:
            entry["condition"] = condition
        return self.set_breakpoints(chunk, [*kept, entry])[-1]

    def add_function_breakpoint(self, name: str) -> str:
        """Stop when a function called `name` is entered; the breakpoint's id."""
        if name not in self._functions:
            self._set_functions([*self._functions, name])
        return self._function_ids[self._functions.index(name)]

    def breakpoints(self) -> dict[str, list[PlacedBreakpoint]]:
        """The line breakpoints by chunk."""
        return dict(self._breakpoints)

    def function_breakpoints(self) -> list[tuple[str, str]]:
        """(id, function name) of each function breakpoint."""
        return list(zip(self._function_ids, self._functions, strict=False))

    def delete_breakpoint(self, which: str) -> bool:
        """Remove the breakpoint with id `which` ("all": every one); False if there is none."""
        if which == "all":
            for chunk in list(self._breakpoints):
                self.set_breakpoints(chunk, [])
            if self._functions:
                self._set_functions([])
            return True
        if which in self._function_ids:
            del self._functions[self._function_ids.index(which)]
            self._set_functions(self._functions)
            return True
        for chunk, placed in self._breakpoints.items():
            if any(str(bp.id) == which for bp in placed):
                self.set_breakpoints(chunk, [_spec(bp) for bp in placed if str(bp.id) != which])
                return True
        return False

    def _set_functions(self, names: list[str]) -> None:
        placed = self.set_function_breakpoints(names)
        self._function_ids = [str(bp.get("id", "")) for bp in placed]

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

    def frame_source_text(self, frame: dict[str, Any]) -> str | None:
        """The text of the chunk a stack frame runs, from the kernel (it may be elsewhere)."""
        source = frame["source"]
        if source.get("path"):
            return self.source_text("@" + str(source["path"]))
        return self.source_text("=" + str(source.get("name", "")))

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

    def resume(self, action: ResumeAction) -> None:
        """continue / next / stepIn / stepOut, or terminate the run."""
        if action == "terminate":
            self.dap("terminate")
        else:
            self.dap(action, threadId=THREAD_ID)

    def pause(self) -> None:
        self.dap("pause", threadId=THREAD_ID)


def response_for(request: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    """The DAP response to `request`: a success, or a failure saying `error`."""
    response: dict[str, Any] = {
        "type": "response",
        "request_seq": request.get("seq", 0),
        "command": str(request.get("command", "")),
        "success": error is None,
    }
    if error:
        response["message"] = error
    return response


def _spec(bp: PlacedBreakpoint) -> dict[str, Any]:
    return {"line": bp.line, **({"condition": bp.condition} if bp.condition else {})}


class KernelRelay:
    """One editor's DAP session relayed to a kernel: requests become `debug_request`s, the
    kernel's `debug_event`s and the output of whatever runs there come back as DAP events."""

    def __init__(self, client: KernelClient, events: EventSink, *, streams: bool = True) -> None:
        self.client = client
        self.events = events
        self.streams = streams  # relay what runs there prints (a launch forwards its own)
        client.on_foreign = self._relay
        self._idle: set[str] = set()  # executions whose traffic has all been relayed
        self._idle_changed = threading.Condition()
        self._lock = threading.Lock()
        self._requesting = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="llmspell-dap-relay", daemon=True)

    def attach(self, adapter_id: str, **arguments: Any) -> None:
        """Start the kernel's debug session and relay its events from now on."""
        for command, args in (
            ("initialize", {"adapterID": adapter_id, "linesStartAt1": True}),
            ("attach", arguments),
        ):
            with self._lock:
                response = self.client.debug_request(command, args)
            if not response.get("success", False):
                raise RuntimeError(str(response.get("message") or f"{command} failed"))
        self._thread.start()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """The kernel's response to one DAP request, addressed to this editor's request."""
        command = str(message.get("command", ""))
        response = response_for(message, "")
        self._requesting.set()  # the pump steps aside (a Lock is not fair: it could starve us)
        try:
            with self._lock:
                reply = self.client.debug_request(command, message.get("arguments") or {})
        except Exception as exc:  # the kernel went away or did not answer in time
            response["message"] = f"the kernel did not answer '{command}': {exc}"
            return response
        finally:
            self._requesting.clear()
        response["success"] = bool(reply.get("success", False))
        if "body" in reply:
            response["body"] = reply["body"]
        if not response["success"]:
            # a kernel's error reply (not a DAP response) says why in evalue, if at all
            text = reply.get("message") or reply.get("evalue")
            response["message"] = str(text or f"the kernel refused '{command}'")
        elif reply.get("message"):
            response["message"] = reply["message"]
        return response

    def _pump(self) -> None:
        while not self._stop.is_set():
            if self._requesting.is_set():  # a request reads the client now (and relays too)
                self._stop.wait(0.005)
                continue
            with self._lock:
                try:
                    self.client.poll_events(0.05)
                except Exception:  # the kernel went away: the editor sees `terminated`
                    self.events("terminated", {})
                    return

    def _relay(self, channel: str, msg: Message) -> None:
        if channel != IOPUB:
            return
        msg_type = msg["header"].get("msg_type")
        content = msg.get("content") or {}
        if msg_type == "debug_event":
            name = str(content.get("event", ""))
            if name and name != "initialized":  # the adapter sent its own after `initialize`
                self.events(name, content.get("body") or {})
        elif msg_type == "status" and content.get("execution_state") == "idle":
            with self._idle_changed:
                self._idle.add(str(msg.get("parent_header", {}).get("msg_id")))
                self._idle_changed.notify_all()
        elif msg_type == "stream" and self.streams:
            category = "stderr" if content.get("name") == "stderr" else "stdout"
            self.events("output", {"category": category, "output": str(content.get("text", ""))})

    def wait_idle(self, msg_id: str, timeout: float) -> bool:
        """Wait until the kernel's traffic for request `msg_id` has all been relayed."""
        with self._idle_changed:
            return self._idle_changed.wait_for(lambda: msg_id in self._idle, timeout)

    def close(self) -> None:
        """End the relay (the kernel keeps running)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.client.close()


def attach_relay(address: str, events: EventSink) -> KernelRelay:
    """A relay to the kernel `address` names: only through a connection file this user can
    read, and only to a kernel that signs its messages (the adapter never talks to a kernel
    whose key it does not hold)."""
    from llmspell_kernel.errors import KernelConnectionError
    from llmspell_kernel.service import connect_to_kernel, connection_info

    info = connection_info(address)
    if not info.key:
        raise KernelConnectionError(
            "the kernel's connection file has no key (unsigned kernels cannot be attached)"
        )
    return KernelRelay(connect_to_kernel(info), events)
