"""The Lua script engine: one lupa.lua54 runtime, its sandbox, output capture and interrupts.

Only the kernel's executor thread may call the engine's methods, except `interrupt()`, which is
safe from any thread. The engine knows nothing of sockets or Jupyter messages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import lupa.lua54 as lua54

from llmspell_kernel.logs import get_logger
from llmspell_kernel.lua.arguments import parse_script_args
from llmspell_kernel.lua.convert import to_lua, to_python, to_shown
from llmspell_kernel.lua.globals.agent import install_agent_globals
from llmspell_kernel.lua.globals.config import install_config_global
from llmspell_kernel.lua.globals.core import DebugLog, install_core_globals
from llmspell_kernel.lua.globals.event import install_event_global
from llmspell_kernel.lua.globals.hook import install_hook_global
from llmspell_kernel.lua.globals.rag import install_rag_global
from llmspell_kernel.lua.globals.session import install_session_globals
from llmspell_kernel.lua.globals.state import install_state_global
from llmspell_kernel.lua.globals.tool import install_tool_global
from llmspell_kernel.lua.globals.workflow import install_workflow_global
from llmspell_kernel.lua.host import HostBridge
from llmspell_kernel.lua.interrupt import AsyncHook
from llmspell_kernel.lua.literal import lua_literal
from llmspell_kernel.records import Record
from llmspell_kernel.state.hub import DataHub
from llmspell_kernel.state.settings import DataSettings

# typing, pathlib and re are not imported at run time: with their own imports they cost a
# fifth of `llmspell exec 'return 1'` (tests/test_cli_fast_path.py keeps them out).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, ClassVar

    from llmspell_kernel.events.hub import EventHub
    from llmspell_kernel.lua.globals.hook import EngineHooks

log = get_logger("llmspell.lua")

SECURITY_LEVELS = ("safe", "privileged", "unrestricted")

OutputSink = Callable[[str, str], None]
# (prompt, password, want) → input or None at end of input; see Kernel._read_input for `want`.
InputSource = Callable[[str, bool, "str | int | None"], "str | None"]


class EngineSettings(Record):
    """What the engine needs from the configuration."""

    __slots__ = (
        "security_level",
        "max_memory_bytes",
        "allowed_paths",
        "debug_level",
        "data",
        "interrupt_grace_seconds",
        "on_stuck",
        "tools",
        "events",
        "hook_modules",
        "hook_entry_points",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "security_level": "safe",
        "max_memory_bytes": 50 * 1024 * 1024,
        "allowed_paths": ("/tmp",),
        "debug_level": "warn",
        "data": None,
        "interrupt_grace_seconds": 3.0,
        "on_stuck": None,
        "tools": None,
        "events": None,
        "hook_modules": (),
        "hook_entry_points": True,
    }
    security_level: str
    max_memory_bytes: int
    allowed_paths: Sequence[str]
    debug_level: str
    # Store, session and backup settings (None: the defaults, i.e. state.db in the data dir).
    data: DataSettings | None
    # An interrupt not honoured within this many seconds (the script is inside one long C call:
    # a backtracking pattern, a huge sort) calls `on_stuck(reason)` from a watchdog thread: the
    # embedded CLI exits, a kernel service replaces its engine. None: wait forever.
    interrupt_grace_seconds: float
    on_stuck: Callable[[str], None] | None
    # What the built-in tools may touch (llmspell_kernel.tools.settings.ToolSettings; None: the
    # defaults); their file paths must lie inside allowed_paths (see tool_path).
    tools: Any
    # [events] (llmspell_kernel.events.settings.EventSettings; None: the defaults).
    events: Any
    # [hooks]: Python extensions ("module:function") and whether installed packages'
    # `llmspell.hooks` entry points load too (llmspell_kernel/hooks/extensions.py).
    hook_modules: Sequence[str]
    hook_entry_points: bool


class Outcome(Record):
    """How one execution ended (status "ok" or "error")."""

    __slots__ = (
        "status",
        "value",
        "has_value",
        "text",
        "ename",
        "evalue",
        "traceback",
        "exit_code",
        "expression",
        "data",
        "count",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "value": None,
        "has_value": False,
        "text": "",
        "ename": "",
        "evalue": "",
        "traceback": [],
        "exit_code": None,
        "expression": False,
        "data": True,
        "count": 0,  # values the chunk returned (a nil counts: `return nil` is one)
    }
    status: str
    value: Any
    has_value: bool
    text: str
    ename: str
    evalue: str
    traceback: list[str]
    exit_code: int | None
    expression: bool
    data: bool  # the value is data (JSON-convertible), not a function or userdata
    count: int


# How far back from the end a cell's last expression may start (see _compile_last_expression).
LAST_EXPRESSION_LINES = 20

_NIL_ACCESS = r"attempt to (?:call|index) a nil value \((global|field|method) '(\w+)'\)$"
_GLOBAL_CAPABILITIES = {
    "require": "require",
    "package": "package",
    "debug": "the debug library",
    "python": "the python bridge",
}
_FIELD_CAPABILITIES = {
    "execute": "os.execute",
    "popen": "io.popen",
    "dump": "string.dump",
    "getenv": "os.getenv",
    "remove": "os.remove",
    "rename": "os.rename",
    "tmpname": "os.tmpname",
    "loadlib": "package.loadlib",
    "stdin": "io.stdin",
    "stdout": "io.stdout",
}


def _trim_traceback(lines: list[str]) -> list[str]:
    """Drop the host frames below the script's own (from the bootstrap's xpcall down)."""
    for index, line in enumerate(lines):
        if "in function 'xpcall'" in line and line.lstrip().startswith("[C]"):
            return lines[:index]
    return lines


def _read_resource(name: str) -> str:
    """A Lua file shipped beside this module."""
    with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as handle:
        return handle.read()


def _starts_with_return(code: str) -> bool:
    """True when the code's first word is the keyword `return` (a chunk's return statement)."""
    head = code.lstrip(" \t\r\n")
    if not head.startswith("return"):
        return False
    after = head[6:7]
    return not (after.isalnum() or after == "_")


def _pair(result: Any) -> tuple[Any, Any]:
    """Lua returns one value as itself and several as a tuple; normalise to two."""
    if isinstance(result, tuple):
        return result[0], (result[1] if len(result) > 1 else None)
    return result, None


def _denied(_obj: Any, _name: Any, _setting: bool) -> Any:
    raise AttributeError("access to Python objects is not allowed")


class LuaEngine:
    """A sandboxed Lua 5.4 runtime with streaming output and asynchronous interrupts."""

    # Set by the globals' installers (lua/globals/event.py, hook.py).
    events: EventHub
    hooks: EngineHooks

    def __init__(
        self,
        settings: EngineSettings | None = None,
        *,
        output: OutputSink | None = None,
        read_input: InputSource | None = None,
        notebook: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        level = self.settings.security_level.lower()
        if level not in SECURITY_LEVELS:
            raise ValueError(f"unknown security level {self.settings.security_level!r}")
        self.level = level
        self._output = output or (lambda _name, _text: None)
        self._read_input = read_input
        self._notebook = notebook
        self._roots: list[str] = []  # real paths
        self._roots_for: tuple[str | None, ...] | None = None  # what they were resolved from
        # Relative script paths resolve here (None: the process's working directory).
        self.working_dir: str | None = None
        self._private: list[tuple[Path, str | None]] | None = None  # see _is_private()
        self._interrupt_lock = threading.Lock()
        self._running = False
        self._interrupt_reason: str | None = None
        self._accepted = False  # begin_execution() ran for the execution about to start
        self._run_id = 0  # which execution an interrupt's watchdog belongs to
        self._in_script = False  # inside _run: the interrupt hook may be armed
        self.debug_log = DebugLog(self.settings.debug_level, self._emit)
        # State, sessions and artifacts; opened on first use, kept across reset().
        self.data = DataHub(self.settings.data)
        # The model every agent built by the current execution uses (a client's
        # --model-override; the kernel sets it per execute_request). None: the configuration's.
        self.model_override: str | None = None
        # Set by llmspell_kernel.debug.Debugger.attach(); told about every run before it starts.
        self.debugger: Any = None
        # The running execution's correlation id (the kernel sets the request's msg_id, see
        # lua/globals/event.py begin_execution); every hook, event and provider call carries it.
        self.correlation_id: str | None = None
        self._start_runtime()

    # -- setup ----------------------------------------------------------------------------------
    def _start_runtime(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.settings.max_memory_bytes:
            kwargs["max_memory"] = int(self.settings.max_memory_bytes)
        self.runtime = lua54.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_denied,
            **kwargs,
        )
        self.bridge = HostBridge(self.runtime, int(kwargs.get("max_memory", 0)))
        host = self.bridge.table(
            {
                "write": self._emit,
                "read": self._read,
                "check_read": self._check_read,
                "check_write": self._check_write,
                "module_path": self._module_path,
            }
        )
        # The interrupt poll of coroutine hooks runs thousands of times a second: no wrapping,
        # and it cannot raise (it reads one attribute).
        host.interrupted = self._is_interrupt_pending
        # print and io.write run once per line of output: a direct call (no guard), which
        # cannot raise and receives only valid UTF-8 text (the bootstrap repairs it first).
        host.write_fast = self._emit_fast
        code = _read_resource("bootstrap.lua")
        self.api = self.runtime.execute(code, host, self.level)
        self.env = self.api.env
        self._is_null, self._json_encode = install_core_globals(
            self.runtime,
            self.env,
            self.debug_log,
            self.bridge,
            lambda kind, payload: self._notify(kind, payload),
        )
        # The events and hooks seams (event.lua, hook.lua) go to every global that fires them.
        self.event_api = install_event_global(self)  # sets self.events (EventHub)
        self.hook_api = install_hook_global(self, self.event_api)  # sets self.hooks
        install_state_global(self)
        install_session_globals(self)
        self.tool_api = install_tool_global(self)  # sets self.tools; agents call tools through it
        agent_async = install_agent_globals(self)
        self.workflow_api = install_workflow_global(self, agent_async)
        install_rag_global(self)  # lazy: llmspell_kernel.rag loads on the first RAG call
        install_config_global(self)  # reads the configuration on its first call
        self._hook = AsyncHook(lua54.__file__, self.api)
        self._set_args(None, [])
        self._builtin_globals: frozenset[str] | None = None  # taken before code first runs

    def reset(self) -> None:
        """Throw the Lua state away and start a fresh one (globals are lost)."""
        self._start_runtime()

    # -- host callbacks -------------------------------------------------------------------------
    def _notify(self, kind: str, payload: Any) -> None:
        if kind == "page":
            from llmspell_kernel.lua.introspect import inspect

            reply = inspect(self, payload, len(payload), 1)
            text = (
                reply["data"].get("text/plain")
                if reply.get("found")
                else f"no help for '{payload}'"
            )
            payload = {"text/plain": text}
        if self._notebook is not None:
            self._notebook(kind, payload)

    def _emit(self, name: str, text: str) -> None:
        self._output(name, text)

    def _emit_fast(self, name: str, text: str) -> None:
        try:
            self._output(name, text)
        except Exception:  # no Python exception may reach Lua; output is best effort
            log.exception("could not write script output")

    def _read(self, prompt: str, want: str | int | None = None) -> str | None:
        if self._read_input is None:
            return None
        return self._read_input(prompt, False, want)

    def readable_roots(self) -> list[Path]:
        """Directories scripts may read below (script directory plus allowed_paths)."""
        from pathlib import Path

        return [Path(root) for root in self._roots]

    def _absolute(self, path: str) -> str:
        return os.path.join(self.working_dir or os.getcwd(), os.path.expanduser(path))

    def _inside_roots(self, path: str) -> Path | None:
        from pathlib import Path

        resolved = Path(os.path.realpath(self._absolute(path)))
        if self._is_private(resolved):
            return None
        for root in self.readable_roots():
            if resolved == root or root in resolved.parents:
                return resolved
        return None

    def _is_private(self, resolved: Path) -> bool:
        """True for llmspell's own files (keys, store, backups, connection files), whatever the
        readable roots are: a script in $HOME must not read ~/.config/llmspell/keys.json."""
        private = self._private
        if private is None:
            private = self._private = _private_paths(self.settings.data)
        for directory, stem in private:
            inside = resolved == directory or directory in resolved.parents
            if inside and (stem is None or resolved.name.startswith(stem)):
                return True
        return False

    # A denial is (None, message, reason): the message for an error, the reason alone for the
    # "<path>: Permission denied (<reason>)" that io.open returns (bootstrap.lua).
    def _private_denial(self, path: str) -> tuple[Any, ...] | None:
        from pathlib import Path

        resolved = Path(os.path.realpath(self._absolute(path)))
        if self._is_private(resolved):
            reason = (
                "llmspell's own configuration, data or runtime files, which scripts cannot access"
            )
            return None, f"'{path}' belongs to {reason}", f"it belongs to {reason}"
        return None

    def _check_read(self, path: str) -> tuple[Any, ...]:
        resolved = self._inside_roots(path)
        if resolved is None:
            denial = self._private_denial(path)
            if denial is not None:
                return denial
            where = "the script's directory and tools.file_operations.allowed_paths"
            return (
                None,
                f"'{path}' is outside the readable paths ({where})",
                f"outside the readable paths: {where}",
            )
        return (str(resolved),)

    def _check_write(self, path: str) -> tuple[Any, ...]:
        resolved = self._inside_roots(path)
        if resolved is None:
            denial = self._private_denial(path)
            if denial is not None:
                return denial
            where = "tools.file_operations.allowed_paths"
            return None, f"'{path}' is outside {where}", f"outside {where}"
        return (str(resolved),)

    def tool_path(self, path: str) -> Path:
        """`path` resolved (`~`, `..`, symlinks) for a tool when it lies inside
        tools.file_operations.allowed_paths (the script's directory does not count) and outside
        llmspell's own files; else LlmspellError naming the key (the FILE gate, lua-api.md 4)."""
        from pathlib import Path

        from llmspell_kernel.errors import LlmspellError

        resolved = Path(os.path.realpath(self._absolute(path)))
        denial = self._private_denial(path) if self._is_private(resolved) else None
        if denial is not None:
            raise LlmspellError(str(denial[1]))
        for entry in self.settings.allowed_paths:
            root = Path(os.path.realpath(os.path.expanduser(entry)))
            if resolved == root or root in resolved.parents:
                return resolved
        shown = ", ".join(f'"{entry}"' for entry in self.settings.allowed_paths)
        raise LlmspellError(f"'{path}' is outside tools.file_operations.allowed_paths ([{shown}])")

    def _module_path(self, name: str) -> str | None:
        relative = name.replace(".", "/")
        for root in self.readable_roots():
            for candidate in (root / f"{relative}.lua", root / relative / "init.lua"):
                if candidate.is_file() and self._inside_roots(str(candidate)) is not None:
                    return str(candidate)
        return None

    def _set_roots(self, script_dir: str | None) -> None:
        """The readable roots of the next run; resolved again only when their sources change."""
        entries = (script_dir, *self.settings.allowed_paths)
        relative = any(entry is not None and not os.path.isabs(entry) for entry in entries)
        sources = (os.getcwd() if relative else None, *entries)  # relative ones follow the cwd
        if sources == self._roots_for:
            return
        roots: list[str] = []
        if script_dir is not None:
            roots.append(os.path.realpath(script_dir))
        for entry in self.settings.allowed_paths:
            roots.append(os.path.realpath(os.path.expanduser(entry)))
        self._roots, self._roots_for = roots, sources

    def _set_args(self, script_name: str | None, args: Sequence[str]) -> None:
        if not args:
            self.api.set_args(script_name)
            return
        named, positional = parse_script_args(args)
        table_from = self.runtime.table_from
        self.api.set_args(script_name, table_from(positional), table_from(named))

    # -- interrupts -----------------------------------------------------------------------------
    def _is_interrupt_pending(self) -> bool:
        return self._interrupt_reason is not None

    def interrupt(self, reason: str = "interrupt") -> bool:
        """Stop the running execution as soon as possible; safe from any thread.

        Returns False when nothing was running.
        """
        with self._interrupt_lock:
            if not self._running:
                return False
            if self._interrupt_reason is None:
                self._interrupt_reason = reason
                self._start_watchdog(reason)
            if self._in_script:  # else _run arms it when the script starts
                self._hook.arm()
            for listener in list(getattr(self, "_interrupt_listeners", ())):
                listener(reason)
            return True

    def add_interrupt_listener(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(reason)` (from the interrupting thread) when the running execution is
        interrupted, at once if it already is; returns the function that removes it again.
        The I/O runtime uses this to cancel a provider request a script is waiting on."""
        with self._interrupt_lock:
            listeners = self.__dict__.setdefault("_interrupt_listeners", [])
            listeners.append(callback)
            if self._running and self._interrupt_reason is not None:
                callback(self._interrupt_reason)

        def remove() -> None:
            with self._interrupt_lock:
                if callback in listeners:
                    listeners.remove(callback)

        return remove

    def _start_watchdog(self, reason: str) -> None:
        grace = self.settings.interrupt_grace_seconds
        if self.settings.on_stuck is None or not grace or grace <= 0:
            return
        watchdog = threading.Timer(grace, self._check_stuck, args=(self._run_id, reason))
        watchdog.daemon = True
        watchdog.start()

    def _check_stuck(self, run_id: int, reason: str) -> None:
        with self._interrupt_lock:
            stuck = self._running and self._run_id == run_id
        handler = self.settings.on_stuck
        if stuck and handler is not None:
            log.info(
                "the script ignored the %s for %.1f s",
                reason,
                self.settings.interrupt_grace_seconds,
            )
            handler(reason)

    def begin_execution(self) -> None:
        """Accept interrupts for the execution about to start; safe from any thread.

        The kernel calls this as soon as it takes an execute request, before anything slow (the
        first opening of the store, compiling a large chunk): an interrupt arriving in between is
        recorded and stops the run at its first instruction instead of being dropped.
        """
        with self._interrupt_lock:
            if not self._running:
                self._running = True
                self._interrupt_reason = None
                self._accepted = True
                self._run_id += 1

    def abandon_execution(self) -> None:
        """Undo begin_execution() for a request that will not run (it did not compile)."""
        with self._interrupt_lock:
            if self._accepted:
                self._running = False
                self._interrupt_reason = None
                self._accepted = False

    def wake_hook(self) -> None:
        """Make the main Lua thread run its hook at the next instruction; safe from any thread.

        The debugger uses this to pause and to pick up breakpoint changes while code runs.
        """
        with self._interrupt_lock:
            # Between executions nothing needs waking: the debugger's before_run() syncs its
            # breakpoints and pause requests into the next run (arming the hook now would run
            # it inside host code; deferring it could fire a stale interrupt hook).
            if self._in_script:
                self._hook.arm()

    @property
    def async_hooks(self) -> bool:
        """True when wake_hook() works without a permanent count hook on the main thread."""
        return self._hook.available

    # -- execution ------------------------------------------------------------------------------
    def execute(
        self,
        code: str,
        *,
        chunk_name: str = "=input",
        script_path: str | None = None,
        script_name: str | None = None,
        args: Sequence[str] = (),
        expression_first: bool = False,
        timeout: float | None = None,
    ) -> Outcome:
        """Compile and run `code`; the first returned value becomes the result.

        `script_path` is a local script: its directory becomes readable and its name is
        `arg[0]`. `script_name` names a script without either (a remote client's file).
        """
        self.builtin_globals()  # noted before the first code can add globals
        if code.startswith("\ufeff"):  # a UTF-8 byte-order mark, as editors on Windows write
            code = code[1:]
        if code.startswith("#!") or (script_path and code.startswith("#")):
            code = "--" + code  # a shebang line, skipped as `lua` skips it (line numbers kept)
        self._set_roots(os.path.dirname(script_path) if script_path else None)
        self._set_args(os.path.basename(script_path) if script_path else script_name, args)
        fn = None
        expression = False
        if expression_first:
            candidate = code[1:] if code.startswith("=") else code
            if not _starts_with_return(candidate):  # `return return …` never compiles
                fn, _ = _pair(self.api.compile("return " + candidate, chunk_name))
                expression = fn is not None
        if fn is None:
            fn, message = _pair(self.api.compile(code, chunk_name))
            if fn is None and expression_first:
                fn = self._compile_last_expression(code, chunk_name)
            if fn is None:
                self.abandon_execution()
                return Outcome(
                    status="error",
                    ename="SyntaxError",
                    evalue=self._full_paths(str(message), chunk_name),
                    traceback=[self._full_paths(str(message), chunk_name)],
                )
        if self.debugger is not None:
            self.debugger.before_run(code, chunk_name)
        outcome = self._run(fn, chunk_name, timeout)
        outcome.expression = expression
        return outcome

    def _compile_last_expression(self, code: str, chunk_name: str) -> Any:
        """`print(s)\ns`: statements, then a bare expression (so the whole is no chunk). Shown
        as ipykernel and xeus-lua show a cell's last expression: the statements run and the
        expression is returned. Tries the last LAST_EXPRESSION_LINES lines; line numbers stay."""
        lines = code.rstrip().split("\n")
        for start in range(len(lines) - 1, max(0, len(lines) - LAST_EXPRESSION_LINES), -1):
            tail = "\n".join(lines[start:])
            if not tail.strip():
                continue
            head = "\n".join(lines[:start])
            fn, _ = _pair(self.api.compile(f"{head}\nreturn {tail}", chunk_name))
            if fn is not None:
                return fn
        return None

    def _run(self, fn: Any, chunk_name: str, timeout: float | None) -> Outcome:
        timer: threading.Timer | None = None
        with self._interrupt_lock:
            if not self._accepted:  # else begin_execution() did this and a reason may be pending
                self._running = True
                self._interrupt_reason = None
                self._run_id += 1
            self._accepted = False
            self._in_script = True
            if self._interrupt_reason is not None:  # arrived before Lua started
                self._hook.arm()
        if timeout and timeout > 0:
            timer = threading.Timer(timeout, self.interrupt, args=("timeout",))
            timer.daemon = True
            timer.start()
        if self._hook.needs_count_hook:  # asynchronous hooks proved unavailable
            self.api.enable_main_count_hook()
        try:
            try:
                self.bridge.apply_limit(True)
                result = self.api.run(fn)
                if not isinstance(result, tuple):
                    result = (result,)
            except lua54.LuaMemoryError:
                result = ("memory",)
            except lua54.LuaError as exc:
                result = ("error", str(exc))
        finally:
            self.bridge.apply_limit(False)
            if timer is not None:
                timer.cancel()
            self.events.dispatch()  # the execution's queued system events reach the bus now
            with self._interrupt_lock:
                self._running = False
                self._in_script = False
                reason = self._interrupt_reason
                self._interrupt_reason = None
                self._hook.disarm()
        if reason is not None:
            return self._interrupted(reason, timeout)
        status = result[0]
        if status == "ok":
            return self._success(result)
        if status == "exit":
            code = int(result[1]) if result[1] is not None else 0
            if code == 0:
                return Outcome(status="ok", exit_code=0)
            return Outcome(
                status="error",
                ename="Exit",
                evalue=f"script exited with code {code}",
                exit_code=code,
            )
        if status == "memory":
            return self._memory_error()
        if status == "interrupt":  # the sentinel raised by a debugger's terminate
            return self._interrupted("interrupt", timeout)
        if status == "error":
            err = result[1]
            if isinstance(err, str):
                message, trace = err, ""
            else:
                message, trace = str(err["message"]), str(err["traceback"] or "")
            if message == "not enough memory":
                return self._memory_error()
            message = self._explain_missing(self._full_paths(message, chunk_name))
            lines = [message]
            if trace:
                lines = _trim_traceback(self._full_paths(trace, chunk_name).splitlines())
                lines[0] = message
            return Outcome(status="error", ename="LuaError", evalue=message, traceback=lines)
        return Outcome(status="error", ename="LuaError", evalue=f"unexpected status {status}")

    def _success(self, result: tuple[Any, ...]) -> Outcome:
        count = int(result[1])
        if count == 0:
            return Outcome(status="ok")
        if count == 1 and result[2] is None:  # a nil value, unlike no value (`print("x")`)
            return Outcome(status="ok", text="nil", count=1)
        values = [result[2]]
        if count > 1 and len(result) > 3 and result[3] is not None:
            rest = result[3]
            values += [rest[i] for i in range(1, int(rest["n"]) + 1)]
        pieces = [self._shown(v) for v in values]
        value, text, data = pieces[0]
        if count > 1:  # all of them, as Lua's own REPL shows them; the value is the first
            text = "\t".join(piece[1] for piece in pieces)
        return Outcome(status="ok", value=value, has_value=True, text=text, data=data, count=count)

    def _shown(self, value: Any) -> tuple[Any, str, bool]:
        """(converted value, text, is data) of one returned value."""
        if value is None:
            return None, "nil", True
        if lua54.lua_type(value) in ("function", "userdata", "thread"):
            # Not data: shown as Lua's tostring gives it, never as a (quoted) JSON string.
            text = str(self.api.tostring(value))
            return text, text, False
        data, shown = self.to_shown(value)
        return data, self.render(shown), True

    def _interrupted(self, reason: str, timeout: float | None) -> Outcome:
        if self.level != "unrestricted":  # else a script's finalizer could loop, hooks off
            self.api.collect()
        if reason == "timeout":
            return Outcome(
                status="error",
                ename="Timeout",
                evalue=f"script timed out after {timeout:g} s",
            )
        return Outcome(status="error", ename="Interrupted", evalue="interrupted")

    def _memory_error(self) -> Outcome:
        # The dead script's heap is left to the collector, as a finished script's is: the next
        # allocation that meets the limit collects it (a full collection here cost 15-30 ms of
        # the failure, benchmarks/memory_limit.py).
        limit = self.settings.max_memory_bytes
        return Outcome(
            status="error",
            ename="MemoryError",
            evalue=f"memory limit exceeded ({_size(limit)}, engines.lua.max_memory_bytes)",
        )

    def _full_paths(self, text: str, chunk_name: str) -> str:
        """Lua shortens long chunk names to `...tail`; put the whole path back."""
        if not chunk_name.startswith("@"):
            return text
        path = chunk_name[1:]
        out = []
        for line in text.splitlines(keepends=True):
            stripped = line.lstrip()
            if stripped.startswith("..."):
                tail = stripped[3:].split(":", 1)[0]
                if tail and path.endswith(tail):
                    line = line.replace("..." + tail, path, 1)
            out.append(line)
        return "".join(out)

    def _explain_missing(self, message: str) -> str:
        """Name the security level when a script reaches for a capability it does not have."""
        import re

        match = re.search(_NIL_ACCESS, message)
        if match is None or self.level == "unrestricted":
            return message
        kind, name = match.group(1), match.group(2)
        known = _GLOBAL_CAPABILITIES if kind == "global" else _FIELD_CAPABILITIES
        capability = known.get(name)
        if capability is None:
            return message
        return f"{message}: {capability} is not available at security level '{self.level}'"

    # -- values ---------------------------------------------------------------------------------
    def to_python(self, value: Any, *, strict: bool = False) -> Any:
        """Convert a Lua value to plain data (non-convertible parts become their tostring)."""
        try:
            return to_python(value, strict=strict, is_null=self._is_null)
        except UnicodeDecodeError:
            return to_python(self.api.sanitize_deep(value), strict=strict, is_null=self._is_null)

    def to_shown(self, value: Any) -> tuple[Any, Any]:
        """(JSON data, the same with Lua's own table keys: what results show) of a value."""
        try:
            return to_shown(value, is_null=self._is_null)
        except UnicodeDecodeError:
            return to_shown(self.api.sanitize_deep(value), is_null=self._is_null)

    def to_lua(self, value: Any) -> Any:
        """Convert plain data to Lua values."""
        return to_lua(self.runtime, value)

    @staticmethod
    def render(value: Any) -> str:
        """The text/plain rendering of a converted value (`to_shown`'s second part)."""
        return lua_literal(value)

    def evaluate(self, expression: str) -> Outcome:
        """Evaluate an expression in the global environment (used by user_expressions)."""
        return self.execute(expression, chunk_name="=expression", expression_first=True)

    # -- introspection (executor thread) --------------------------------------------------------
    def compile_only(self, code: str, chunk_name: str = "=input") -> tuple[Any, str | None]:
        """Compile without running: (function, None) or (None, error message)."""
        fn, message = _pair(self.api.compile(code, chunk_name))
        return fn, (None if message is None else str(message))

    def fields(self, parts: Sequence[str], *, methods_only: bool = False) -> dict[str, str]:
        """Identifier keys (and their types) of the table at `parts`; [] means the globals."""
        flat = list(self.api.fields(self.runtime.table_from(list(parts)), methods_only).values())
        return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}

    def builtin_globals(self) -> frozenset[str]:
        """The globals this Lua state had before any code ran in it (what `.vars` leaves out)."""
        if self._builtin_globals is None:
            self._builtin_globals = frozenset(self.fields([]))
        return self._builtin_globals

    def describe(self, parts: Sequence[str]) -> dict[str, Any] | None:
        """Type and details of the value at `parts`, or None when it is nil."""
        info = self.api.describe(self.runtime.table_from(list(parts)))
        if info["type"] == "nil":
            return None
        result = {key: info[key] for key in ("type", "what", "source", "line", "params", "vararg")}
        if result["type"] != "function":
            value = self.api.lookup(self.runtime.table_from(list(parts)))
            if lua54.lua_type(value) in (None, "table"):
                result["rendering"] = self.render(self.to_shown(value)[1])
            else:
                result["rendering"] = str(info["repr"])
        return result

    def memory_bytes_estimate(self) -> int:
        """Bytes lupa's allocator reports for this runtime; safe from any thread."""
        try:
            return int(self.runtime.get_memory_used() or 0)
        except (AttributeError, TypeError):
            return 0

    def memory_in_use(self) -> int:
        """Bytes the Lua state currently holds."""
        return int(float(self.api.memory_kb()) * 1024)


def _private_paths(data: DataSettings | None) -> list[tuple[Path, str | None]]:
    """(directory, file-name prefix or None for all of it) pairs scripts may never touch."""
    from pathlib import Path

    from llmspell_kernel.config import user_config_path
    from llmspell_kernel.registry import jupyter_runtime_dir
    from llmspell_kernel.state.settings import user_data_dir

    settings = data or DataSettings()
    found: list[tuple[Path, str | None]] = [
        (user_config_path().parent, None),
        (user_data_dir(), None),
        (jupyter_runtime_dir(), None),
        (settings.backups_dir, None),
    ]
    database = settings.database_path
    if database is not None:  # the file, its -wal/-shm/-journal siblings, and its blobs
        found.append((database.parent, database.name))
        found.append((database.parent / "blobs", None))
    return [(Path(os.path.realpath(directory)), stem) for directory, stem in found]


def _size(count: int) -> str:
    """A byte count for messages: whole MB when exact, else one decimal, else bytes."""
    if count >= 1024 * 1024:
        megabytes = count / (1024 * 1024)
        return f"{megabytes:.0f} MB" if megabytes.is_integer() else f"{megabytes:.1f} MB"
    return f"{count} bytes"
