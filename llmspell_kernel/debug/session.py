"""The debugger engine: breakpoints, stepping and inspection for one LuaEngine.

Lua may only be touched by the executor thread. The Lua half (hooks.lua) calls `_on_stop` when
the script must stop; that call blocks the executor inside the hook and serves a command queue,
so inspection requested by other threads (DAP reader, Jupyter control thread) runs in the
paused executor. Configuration changes made while the script runs are stored here and picked up
by the hook at its next poll (the engine wakes the main thread's hook for that).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from enum import IntEnum
from typing import Any, Literal

from llmspell_kernel.debug.breakpoints import (
    NOT_LOADED,
    Breakpoint,
    BreakpointError,
    SourceLines,
    chunk_for_path,
    parse_hit_condition,
    split_log_message,
    verify,
)
from llmspell_kernel.logs import get_logger

log = get_logger("llmspell.debug")

EventSink = Callable[[str, dict[str, Any]], None]
ResumeAction = Literal["continue", "next", "stepIn", "stepOut", "terminate"]
RESUME_ACTIONS: tuple[ResumeAction, ...] = ("continue", "next", "stepIn", "stepOut", "terminate")


class Poll(IntEnum):
    """What the hook's poll (hooks.lua's poll_host) is told to do; handed to Lua as `.value`
    (the host bridge passes an int subclass as a Python object, not as a Lua integer)."""

    RUN = 0  # nothing: go on
    TERMINATE = 1  # the run is being ended (terminate, an interrupt)
    PAUSE = 2  # stop at the next line of the script
    SYNC = 3  # breakpoints or filters changed: take them (host.sync) and re-arm the hooks


_STEP = {"next": "over", "stepIn": "in", "stepOut": "out", "continue": "continue"}
THREAD_ID = 1


class DebugError(Exception):
    """A debugger request that cannot be served now (the message is for the user)."""


class Debugger:
    """One debug session over a LuaEngine; front ends (DAP, Jupyter, terminal) share it."""

    def __init__(self, events: EventSink) -> None:
        self._events = events
        self._lock = threading.RLock()
        self._engine: Any = None
        self._lua: Any = None
        self._c_filter = False
        self._runtime: Any = None
        self._next_id = 0
        self._breakpoints: dict[str, list[Breakpoint]] = {}
        self._function_breakpoints: list[str] = []
        self._function_ids: dict[str, int] = {}
        self._exception_filters: set[str] = set()
        self._sources: dict[str, str] = {}  # chunk name -> text
        # Where to find the text of chunks that ran before this session (a kernel's cells).
        self.source_fallback: Callable[[str], str | None] | None = None
        self._source_refs: dict[str, int] = {}
        self._lines = SourceLines()
        self._dirty = True
        self._pause_requested = False
        self.stop_on_entry = False
        self._commands: queue.Queue[tuple[Callable[[], Any], Future[Any]] | str] = queue.Queue()
        self._stopped = False
        self._stop_reason = ""
        self._stop_text = ""  # the error of an exception stop
        self._terminating = False
        self.running = False

    # -- attaching ----------------------------------------------------------------------------
    def attach(self, engine: Any) -> None:
        """Watch every run of `engine` (call from its executor thread or before it runs)."""
        if self._engine is engine and self._lua is not None:
            self._dirty = True  # attached already (a new session): keep the installed hooks
            return
        hooks = getattr(engine, "hooks", None)  # the kernel's PreDebug point (Python hooks)
        outcome = hooks.fire_kernel("PreDebug", {"action": "attach"}) if hooks else None
        if outcome is not None and outcome.action in ("cancel", "skip"):
            raise DebugError(f"Cancelled by hook: {outcome.value}")
        self._engine = engine
        engine.debugger = self
        self._lua = None
        self._dirty = True

    def detach(self) -> None:
        """Stop debugging: remove the hooks (executor thread, while nothing runs)."""
        engine = self._engine
        if engine is None:
            return
        engine.debugger = None
        if self._lua is not None and engine.runtime is self._runtime:
            self._lua.detach()
            engine.api.store_interrupt_hook()
        self._lua = None
        self._engine = None

    @property
    def attached(self) -> bool:
        return self._engine is not None

    @property
    def c_filter(self) -> bool:
        """True when the C hook filter (_chook.c) serves this session's hooks (after the
        first run: the hooks are installed then)."""
        return self._lua is not None and self._c_filter

    @property
    def stopped(self) -> bool:
        """True while the script is paused in the debugger."""
        return self._stopped

    def _install(self) -> None:
        engine = self._engine
        host = engine.bridge.table(
            {"poll": self._poll, "stop": self._on_stop, "log": self._log, "sync": self._sync},
            "debugger.",
            builds=False,
        )
        # hooks.lua loads the other three (each one concern) with what they need; one chunk
        # name for all, which the stacks shown to users leave out
        # and the C filter (_chook.c) through package.loadlib, from the host's globals
        loader = engine.runtime.eval(
            "function(host, api, hooks, values, evaluate, breakpoints, chook)\n"
            "  local function chunk(code) return assert(load(code, '=llmspell.debug')) end\n"
            "  local modules = { values = chunk(values), evaluate = chunk(evaluate),\n"
            "                    breakpoints = chunk(breakpoints) }\n"
            "  if chook then\n"
            "    local open = package.loadlib(chook, 'llmspell_chook_open')\n"
            "    modules.chook = open and open() or nil\n"
            "  end\n"
            "  return chunk(hooks)(host, api, modules)\n"
            "end"
        )
        sources = (_lua_source(name) for name in _LUA_MODULES)
        module = loader(host, engine.api, *sources, c_filter_path())
        # Fetch the functions now: lupa misreads table lookups made while a coroutine is
        # paused in a hook, while calls (with tuple results) work.
        self._lua = _LuaApi({name: module[name] for name in _LUA_FUNCTIONS})
        self._c_filter = bool(self._lua.filter_active())  # asked now: Lua is the executor's
        self._runtime = engine.runtime
        self._dirty = True

    # -- engine callbacks (executor thread) ---------------------------------------------------
    def before_run(self, code: str, chunk_name: str) -> None:
        """Called by the engine just before it runs a chunk."""
        if self._engine is None:
            return
        if self._lua is None or self._engine.runtime is not self._runtime:
            self._install()
        with self._lock:
            known = self._sources.get(chunk_name)
        if known != code:  # new, or edited since (a file, `=exec` snippets, cells)
            self.register_source(chunk_name, code)
            self._reverify(chunk_name, code, every=known is not None)
        self._sync()
        self._lua.begin_run(not self._engine.async_hooks)
        if self.stop_on_entry:
            self.stop_on_entry = False
            self._lua.request_step_in("entry")

    def _reverify(self, chunk: str, code: str, every: bool = False) -> None:
        """Breakpoints set before their source was known (or, with `every`, all of them, the
        text having changed) are placed again now that it runs; the front ends learn it from
        a `breakpoint` event (reason `changed`)."""
        with self._lock:
            waiting = [
                bp for bp in self._breakpoints.get(chunk, []) if every or bp.message == NOT_LOADED
            ]
        if not waiting:
            return
        for bp in waiting:
            verify(bp, code, self._lines)
        self._dirty = True  # the _sync() that follows in before_run installs them
        source = self.dap_source(chunk)
        for bp in waiting:
            self._events("breakpoint", {"reason": "changed", "breakpoint": bp.dap(source)})

    def _poll(self) -> int:
        engine = self._engine
        if self._terminating or (engine is not None and engine._is_interrupt_pending()):
            return Poll.TERMINATE.value
        if self._pause_requested:
            self._pause_requested = False
            return Poll.PAUSE.value
        if self._dirty:
            return Poll.SYNC.value
        return Poll.RUN.value

    def _sync(self) -> None:
        lua = self._lua
        if lua is None:
            return  # not installed yet: before_run installs and syncs
        with self._lock:
            self._dirty = False
            breakpoints = [bp for bps in self._breakpoints.values() for bp in bps]
            functions = list(self._function_breakpoints)
            filters = set(self._exception_filters)
        lua.clear_breakpoints()
        for bp in breakpoints:
            if bp.actual_line is None:
                continue
            lua.add_breakpoint(
                bp.source,
                bp.actual_line,
                bp.id,
                bp.condition,
                bp.hit_op,
                bp.hit_n,
                *(bp.log_parts or ()),
            )
        lua.set_function_breakpoints(*functions)
        lua.set_exceptions("error" in filters, "pcall" in filters)

    def _log(self, text: str, source: str, line: int) -> None:
        self._events(
            "output",
            {
                "category": "console",
                "output": text,
                "source": self.dap_source(source),
                "line": line,
            },
        )

    def _on_stop(self, reason: str, text: str, bp_id: int) -> str:
        with self._lock:
            self._stopped = True
            self._stop_reason = reason
            self._stop_text = str(text or "")
        body: dict[str, Any] = {
            "reason": reason,
            "threadId": THREAD_ID,
            "allThreadsStopped": True,
        }
        if text:
            body["text" if reason == "exception" else "description"] = str(text)
            if reason == "exception":
                body["description"] = "Error: " + str(text)
        if bp_id:
            body["hitBreakpointIds"] = [int(bp_id)]
        self._events("stopped", body)
        action = "terminate"
        try:
            action = self._serve_commands()
        finally:
            with self._lock:
                self._stopped = False
            self._drain()
        if action == "terminate":
            return "terminate"
        return _STEP[action]

    def _serve_commands(self) -> str:
        engine = self._engine
        while True:
            if self._dirty:
                self._sync()
            if self._terminating or engine._is_interrupt_pending():
                return "terminate"
            try:
                item = self._commands.get(timeout=0.05)
            except queue.Empty:
                continue
            if isinstance(item, str):
                if self._dirty:
                    self._sync()
                return item
            fn, future = item
            try:
                future.set_result(fn())
            except Exception as exc:  # reported to the requester
                future.set_exception(exc)

    def _drain(self) -> None:
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, str):
                item[1].set_exception(DebugError("the program is running"))

    # -- execution control (any thread) -------------------------------------------------------
    def resume(self, action: str) -> None:
        """continue / next / stepIn / stepOut / terminate the paused script."""
        if action not in RESUME_ACTIONS:
            raise DebugError(f"unknown action {action!r}")
        with self._lock:
            if not self._stopped:
                if action == "terminate":
                    self.terminate()
                    return
                raise DebugError("the program is not paused")
            self._stopped = False
            self._commands.put(action)
        # for the other front ends on a shared kernel (the one that asked knows already)
        self._events("continued", {"threadId": THREAD_ID, "allThreadsContinued": True})

    def pause(self) -> None:
        """Stop the running script at the next line it executes (within milliseconds)."""
        with self._lock:
            if self._stopped:
                return
            self._pause_requested = True
        engine = self._engine
        if engine is not None and self.running:
            engine.wake_hook()

    def terminate(self) -> None:
        """End the running (or paused) script."""
        # The engine learns why before the paused script resumes: interrupting after the
        # resume could find the run already over (or the next one started).
        engine = self._engine
        if engine is not None:
            engine.interrupt("interrupt")
        with self._lock:
            self._terminating = True
            if self._stopped:
                self._stopped = False
                self._commands.put("terminate")

    def exception_info(self) -> tuple[str, bool]:
        """The error the program is stopped at, and whether errors caught by pcall stop too."""
        with self._lock:
            if not self._stopped or self._stop_reason != "exception":
                raise DebugError("the program is not stopped at an error")
            return self._stop_text, "pcall" in self._exception_filters

    def run_started(self) -> None:
        """Front ends call this before an execution that should be debugged."""
        self._terminating = False
        self.running = True

    def run_finished(self) -> None:
        self.running = False
        self._pause_requested = False

    def _changed(self) -> None:
        self._dirty = True
        engine = self._engine
        if engine is not None and self.running and not self._stopped:
            engine.wake_hook()

    # -- configuration (any thread) -----------------------------------------------------------
    def register_source(self, chunk_name: str, text: str) -> None:
        """Remember the text of a chunk (cells, snippets) so it can be shown and verified."""
        with self._lock:
            self._sources[chunk_name] = text

    def chunk_name(self, source: dict[str, Any]) -> str:
        """The chunk name a DAP `Source` refers to."""
        reference = int(source.get("sourceReference") or 0)
        if reference:
            for chunk, ref in self._source_refs.items():
                if ref == reference:
                    return chunk
        path = source.get("path")
        if not path:
            raise DebugError("the source has neither a path nor a known sourceReference")
        path = str(path)
        if path.startswith(("@", "=")):
            return path
        return chunk_for_path(path)

    def source_text(self, chunk: str) -> str | None:
        """The text of a chunk: registered, or read from its file."""
        with self._lock:
            text = self._sources.get(chunk)
        if text is None and self.source_fallback is not None:
            text = self.source_fallback(chunk)
        if text is None and chunk.startswith("@") and os.path.isfile(chunk[1:]):
            try:
                with open(chunk[1:], encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                return None
        return text

    def dap_source(self, chunk: str) -> dict[str, Any]:
        """The DAP `Source` of a chunk name."""
        if chunk.startswith("@"):
            return {"name": os.path.basename(chunk[1:]), "path": chunk[1:]}
        with self._lock:
            ref = self._source_refs.setdefault(chunk, len(self._source_refs) + 1)
        return {"name": chunk.lstrip("="), "sourceReference": ref}

    def set_breakpoints(self, chunk: str, specs: list[dict[str, Any]]) -> list[Breakpoint]:
        """Replace the breakpoints of one source; returns them verified and placed."""
        text = _file_text(chunk) if not self.running else None  # what will run next
        if text is None:
            text = self.source_text(chunk)
        result: list[Breakpoint] = []
        with self._lock:
            known = {bp.line: bp.id for bp in self._breakpoints.get(chunk, [])}
        for spec in specs:
            line = int(spec.get("line", 0))
            with self._lock:
                ident = known.get(line)
                if ident is None:
                    self._next_id += 1
                    ident = self._next_id
                bp = Breakpoint(id=ident, source=chunk, line=line)
            verify(bp, text, self._lines)
            try:
                bp.hit_op, bp.hit_n = parse_hit_condition(spec.get("hitCondition"))
                condition = spec.get("condition")
                if condition and str(condition).strip():
                    bp.condition = str(condition)
                    self._check_expression(bp.condition)
                message = spec.get("logMessage")
                if message:
                    bp.log_parts = split_log_message(str(message))
                    for expression in bp.log_parts[1::2]:
                        self._check_expression(expression)
            except BreakpointError as exc:
                bp.verified, bp.actual_line, bp.message = False, None, str(exc)
            result.append(bp)
        with self._lock:
            if result:
                self._breakpoints[chunk] = result
            else:
                self._breakpoints.pop(chunk, None)
        self._changed()
        return result

    def _check_expression(self, expression: str) -> None:
        from llmspell_kernel.debug.lines import ChunkError, code_lines

        try:
            code_lines("return " + expression)
        except ChunkError:
            try:
                code_lines(expression)
            except ChunkError as exc:
                raise BreakpointError(f"expression {expression!r} does not compile: {exc}") from exc

    def breakpoints(self) -> dict[str, list[Breakpoint]]:
        """Current line breakpoints by chunk name."""
        with self._lock:
            return {chunk: list(bps) for chunk, bps in self._breakpoints.items()}

    def set_function_breakpoints(self, names: list[str]) -> list[dict[str, Any]]:
        """Stop when a function with one of these names is called ('M.f' matches 'f')."""
        cleaned = [name.strip() for name in names]
        with self._lock:
            self._function_breakpoints = [name for name in cleaned if name]
        self._changed()
        out = []
        for name in cleaned:
            with self._lock:
                ident = self._function_ids.get(name)  # a name keeps its id while it stays
                if ident is None:
                    self._next_id += 1
                    ident = self._function_ids[name] = self._next_id
            out.append({"id": ident, "verified": bool(name)})
        with self._lock:
            self._function_ids = {n: i for n, i in self._function_ids.items() if n in cleaned}
        return out

    def set_exception_filters(self, filters: list[str]) -> None:
        """'error' stops on uncaught errors, 'pcall' on errors caught by pcall/xpcall."""
        unknown = [name for name in filters if name not in ("error", "pcall")]
        if unknown:
            raise DebugError(f"unknown exception filter {unknown[0]!r} (use error or pcall)")
        with self._lock:
            self._exception_filters = set(filters)
        self._changed()

    # -- inspection (any thread; runs in the paused executor) ---------------------------------
    def call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run `fn` in the paused executor and return its result."""
        future: Future[Any] = Future()
        with self._lock:
            if not self._stopped:
                raise DebugError("the program is not paused")
            self._commands.put((fn, future))
        return future.result(timeout)

    def stack_trace(self, start: int = 0, levels: int = 0) -> tuple[list[dict[str, Any]], int]:
        """DAP StackFrames of the paused program and the total count."""
        flat = self.call(lambda: _flat(self._lua.frames()))
        frames = []
        for index in range(0, len(flat), 4):
            source, line, name, _defined = flat[index : index + 4]
            frame_id = index // 4 + 1
            frames.append(
                {
                    "id": frame_id,
                    "name": str(name),
                    "source": self.dap_source(str(source)),
                    "line": int(line),
                    "column": 1,
                }
            )
        total = len(frames)
        end = start + levels if levels else total
        return frames[start:end], total

    def scopes(self, frame_id: int) -> list[dict[str, Any]]:
        """Locals, Upvalues and Globals of one frame."""
        if frame_id < 1 or frame_id >= 25000:
            raise DebugError(f"unknown frame {frame_id}")
        return [
            {
                "name": "Locals",
                "presentationHint": "locals",
                "variablesReference": frame_id * 4 + 1,
                "expensive": False,
            },
            {"name": "Upvalues", "variablesReference": frame_id * 4 + 2, "expensive": False},
            {"name": "Globals", "variablesReference": frame_id * 4 + 3, "expensive": True},
        ]

    def variables(
        self, reference: int, filter_: str | None = None, start: int = 0, count: int = 0
    ) -> list[dict[str, Any]]:
        """Children of a scope or table, `start`/`count` paging the list."""
        if reference <= 0:
            raise DebugError("variablesReference must be positive")

        def fetch() -> list[Any]:
            return _flat(self._lua.variables(reference, filter_ or "", start, count))

        flat = self.call(fetch)
        out = [_variable(flat[i : i + 6]) for i in range(0, len(flat), 6)]
        if filter_ != "indexed" and (start or count):
            out = out[start : start + count] if count else out[start:]
        return out

    def evaluate(self, expression: str, frame_id: int | None) -> dict[str, Any]:
        """Evaluate in a frame (or the globals): {result, type, variablesReference}."""

        def run() -> tuple[Any, ...]:
            result = self._lua.evaluate(expression, int(frame_id or 0))
            if result[0]:
                return True, list(result[1:])
            return False, str(result[1])

        ok, value = self.call(run)
        if not ok:
            raise DebugError(value)
        variable = _variable(value)
        return {
            "result": variable["value"],
            "type": variable["type"],
            "variablesReference": variable["variablesReference"],
            **{k: variable[k] for k in ("indexedVariables", "namedVariables") if k in variable},
        }

    def set_variable(
        self, reference: int, name: str, value: str, frame_id: int | None = None
    ) -> dict[str, Any]:
        """Assign the value of expression `value` to a variable of a scope or table."""
        frame = frame_id if frame_id is not None else (reference // 4 if reference < 100000 else 0)

        def run() -> tuple[Any, ...]:
            result = self._lua.set_variable(reference, name, value, int(frame))
            if result[0]:
                return True, list(result[1:])
            return False, str(result[1])

        ok, entry = self.call(run)
        if not ok:
            raise DebugError(entry)
        variable = _variable(entry)
        return {
            "value": variable["value"],
            "type": variable["type"],
            "variablesReference": variable["variablesReference"],
        }

    def loaded_sources(self) -> list[dict[str, Any]]:
        """Every chunk this session has seen."""
        with self._lock:
            chunks = list(self._sources)
        return [self.dap_source(chunk) for chunk in chunks]

    def globals_snapshot(self) -> list[dict[str, Any]]:
        """The script's globals (executor thread, e.g. after a run while not paused)."""
        if self._lua is None:
            return []
        flat = _flat(self._lua.variables(3, "", 0, 0))
        return [_variable(flat[i : i + 6]) for i in range(0, len(flat), 6)]


_LUA_MODULES = ("hooks", "values", "evaluate", "breakpoints")  # debug/NAME.lua

# Whether sessions use the C hook filter when it is built (tests compare both paths; the
# environment variable LLMSPELL_DEBUG_C_HOOK=0 turns it off for a whole process).
USE_C_FILTER = True


def c_filter_path() -> str | None:
    """The file of the built C hook filter, ready to be loaded into lupa's Lua, or None when
    it is not built, turned off, or cannot find the Lua C API in lupa's module."""
    if not USE_C_FILTER or os.environ.get("LLMSPELL_DEBUG_C_HOOK", "") == "0":
        return None
    import importlib

    try:
        import lupa.lua54 as lua54

        _chook = importlib.import_module("llmspell_kernel.debug._chook")
    except ImportError:
        return None
    if tuple(lua54.LUA_VERSION) != (5, 4):
        return None
    try:
        _chook.init(lua54.__file__)
    except OSError as exc:
        log.debug("the debugger's C hook filter is unavailable: %s", exc)
        return None
    return str(_chook.__file__)


def _lua_source(name: str) -> str:
    with open(os.path.join(os.path.dirname(__file__), f"{name}.lua"), encoding="utf-8") as handle:
        return handle.read()


_LUA_FUNCTIONS = (
    "begin_run",
    "detach",
    "clear_breakpoints",
    "add_breakpoint",
    "set_function_breakpoints",
    "set_exceptions",
    "request_step_in",
    "frames",
    "filter_active",
    "variables",
    "evaluate",
    "set_variable",
)


class _LuaApi:
    """The functions of hooks.lua as Python attributes."""

    def __init__(self, functions: dict[str, Any]) -> None:
        self.__dict__.update(functions)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def _flat(result: Any) -> list[Any]:
    """Lua functions return their lists unpacked: no value, one value or a tuple."""
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


def _variable(entry: list[Any]) -> dict[str, Any]:
    name, value, kind, ref, indexed, named = entry
    body: dict[str, Any] = {
        "name": str(name),
        "value": str(value),
        "type": str(kind),
        "variablesReference": int(ref),
    }
    if int(ref) and int(indexed):
        body["indexedVariables"] = int(indexed)
    if int(ref) and int(named):
        body["namedVariables"] = int(named)
    if kind == "function":
        body["presentationHint"] = {"kind": "method"}
    return body


def _file_text(chunk: str) -> str | None:
    """The current text of a file chunk (`@path`), or None."""
    if not chunk.startswith("@") or not os.path.isfile(chunk[1:]):
        return None
    try:
        with open(chunk[1:], encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None
