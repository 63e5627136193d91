"""JupyterLab's debugger: DAP inside `debug_request`/`debug_reply` (control) and `debug_event`
(IOPub). The DAP requests go to the same DapHandlers as the DAP server; this module adds
JupyterLab's own requests (debugInfo, dumpCell, inspectVariables, richInspectVariables) and the
cell file names JupyterLab computes itself (tmpFilePrefix + murmur2(code, seed) + suffix).

Runs on the kernel's control thread, which must never wait for a running cell: requests that
need Lua are served by the paused executor (Debugger.call) or from a snapshot taken after the
last cell ran.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from typing import Any

from llmspell_kernel.debug.dap import DapError, DapHandlers
from llmspell_kernel.debug.murmur import murmur2
from llmspell_kernel.debug.session import THREAD_ID, DebugError, Debugger

HASH_SEED = 0xC70F6907
SUFFIX = ".lua"
# JupyterLab's Variables panel prints a value only for these type names (else the type):
# Lua's numbers, booleans and strings are given them; `luaType` keeps Lua's own name.
_INTEGER = re.compile(r"-?\d+")


def cell_prefix() -> str:
    """The directory prefix of cell files for this process."""
    base = os.path.realpath(tempfile.gettempdir())
    return os.path.join(base, f"llmspell_{os.getpid()}", "")


def cell_path(code: str, prefix: str | None = None) -> str:
    """Where JupyterLab expects the code of a cell to live."""
    return f"{prefix or cell_prefix()}{murmur2(code.encode('utf-8'), HASH_SEED)}{SUFFIX}"


class KernelTarget:
    """The debuggee is the kernel itself: launching means nothing, cells run as they come."""

    def __init__(self, frontend: JupyterDebugger) -> None:
        self.frontend = frontend

    def launch(self, arguments: dict[str, Any]) -> None:
        raise DapError("the kernel is already running; use attach")

    def attach(self, arguments: dict[str, Any]) -> None:
        self.frontend.start()

    def configuration_done(self) -> None:
        self.frontend.configured = True

    def terminate(self) -> None:
        # JupyterLab's Terminate leaves debugging: end the cell and the session, or its
        # breakpoints would stop the next run with no debugger UI to resume it (ipykernel too).
        self.frontend.debugger.terminate()
        self.frontend.stop()

    def disconnect(self, terminate: bool) -> None:
        self.frontend.stop()


class JupyterDebugger:
    """Serves debug_request messages for one Kernel."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.prefix = cell_prefix()
        self.started = False
        self.configured = False
        self.python_types = True  # see handle(): type names JupyterLab shows values for
        self._parent: dict[str, Any] | None = None
        self._snapshot: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.debugger = Debugger(self._event)
        self.debugger.source_fallback = kernel.cell_source
        self.handlers = DapHandlers(self.debugger, KernelTarget(self), self._event)
        self.extra = {
            "debugInfo": self.debug_info,
            "dumpCell": self.dump_cell,
            "inspectVariables": self.inspect_variables,
            "richInspectVariables": self.rich_inspect_variables,
            "modules": self.modules,
        }

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Watch the kernel's engine from the next cell on."""
        engine = self.kernel.engine
        if engine is None:
            raise DapError("the kernel's Lua engine is not ready")
        if not self.started:
            self.debugger.attach(engine)
            self.started = True

    def stop(self) -> None:
        """End the session: breakpoints go, the hooks are removed before the next cell."""
        self.started = False
        self.configured = False
        self.debugger.set_exception_filters([])
        self.debugger.set_function_breakpoints([])
        for chunk in list(self.debugger.breakpoints()):
            self.debugger.set_breakpoints(chunk, [])
        if self.debugger.stopped:
            self.debugger.resume("continue")

    def _event(self, name: str, body: dict[str, Any]) -> None:
        self.kernel.publish(
            "debug_event", {"type": "event", "event": name, "body": body, "seq": 0}, self._parent
        )

    # -- kernel hooks -----------------------------------------------------------------------------
    def chunk_name(self, code: str) -> str | None:
        """The chunk name a cell runs under while debugging (None when not debugging)."""
        if not self.started:
            return None
        path = cell_path(code, self.prefix)
        self.debugger.register_source("@" + path, code)
        return "@" + path

    def before_cell(self) -> None:
        """Called on the executor thread before a cell runs."""
        if not self.started and self.debugger.attached:
            self.debugger.detach()
        if self.started:
            self.debugger.run_started()

    def after_cell(self) -> None:
        """Called on the executor thread after a cell ran: keep the globals for inspection."""
        if not self.started:
            return
        self.debugger.run_finished()
        try:
            snapshot = self.debugger.globals_snapshot()
        except Exception:  # inspection is best effort; the cell's result stands
            snapshot = []
        with self._lock:
            self._snapshot = snapshot

    # -- requests -----------------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """The debug_reply content for one debug_request."""
        self._parent = message
        request = message.get("content") or {}
        command = str(request.get("command", ""))
        if command in ("initialize",):
            self.start()
            # JupyterLab names itself (clientID); llmspell's own bridges (VS Code attach, the
            # terminal debugger) do not and keep Lua's type names.
            arguments = request.get("arguments")
            self.python_types = isinstance(arguments, dict) and bool(arguments.get("clientID"))
        handler = self.extra.get(command)
        if handler is None:
            response = self.handlers.handle(request) | self._after(request)
            if command == "variables" and self.python_types and response.get("success"):
                for variable in (response.get("body") or {}).get("variables") or []:
                    _jupyter_type(variable)
            return response
        response = {
            "type": "response",
            "request_seq": request.get("seq", 0),
            "command": command,
            "success": True,
            "seq": 0,
        }
        try:
            arguments = request.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise DapError(f"the arguments of '{command}' must be an object")
            response["body"] = handler(arguments)
        except (DapError, DebugError, KeyError, ValueError, TypeError, AttributeError) as exc:
            response["success"] = False
            response["message"] = str(exc)
        return response

    def _after(self, _request: dict[str, Any]) -> dict[str, Any]:
        # `initialized` must follow the reply; publishing from a short-lived thread keeps the
        # order on IOPub without making the control thread wait.
        if self.handlers.after_response:
            callbacks = list(self.handlers.after_response)
            self.handlers.after_response.clear()
            timer = threading.Timer(0.05, lambda: [cb() for cb in callbacks])
            timer.daemon = True
            timer.start()
        return {"seq": 0}

    def debug_info(self, _args: dict[str, Any]) -> dict[str, Any]:
        breakpoints = [
            {
                "source": chunk[1:] if chunk.startswith("@") else chunk,
                "breakpoints": [
                    {"line": bp.line, **({"condition": bp.condition} if bp.condition else {})}
                    for bp in bps
                ],
            }
            for chunk, bps in self.debugger.breakpoints().items()
        ]
        return {
            "isStarted": self.started,
            "hashMethod": "Murmur2",
            "hashSeed": HASH_SEED,
            "tmpFilePrefix": self.prefix,
            "tmpFileSuffix": SUFFIX,
            "breakpoints": breakpoints,
            "stoppedThreads": [THREAD_ID] if self.debugger.stopped else [],
            "richRendering": True,
            "exceptionPaths": [],
            "copyToGlobals": False,
        }

    def dump_cell(self, args: dict[str, Any]) -> dict[str, Any]:
        code = str(args["code"])
        path = cell_path(code, self.prefix)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(code)
        self.debugger.register_source("@" + path, code)
        return {"sourcePath": path}

    def inspect_variables(self, _args: dict[str, Any]) -> dict[str, Any]:
        if self.debugger.stopped:
            variables = self.debugger.variables(3)
        else:
            with self._lock:
                variables = [dict(v) for v in self._snapshot]
        if self.python_types:
            variables = [_jupyter_type(v) for v in variables]
        return {"variables": variables}

    def modules(self, args: dict[str, Any]) -> dict[str, Any]:
        """DAP `modules` (JupyterLab asks after every cell): the Lua files this session ran,
        cells excluded (they are the notebook's own)."""
        files = [
            source
            for source in self.debugger.loaded_sources()
            if source.get("path") and not str(source["path"]).startswith(self.prefix)
        ]
        start = max(0, int(args.get("startModule") or 0))
        count = int(args.get("moduleCount") or 0)
        chosen = files[start : start + count] if count > 0 else files[start:]
        return {
            "modules": [
                {
                    "id": start + index,
                    "name": os.path.splitext(str(source["name"]))[0],
                    "path": source["path"],
                }
                for index, source in enumerate(chosen)
            ],
            "totalModules": len(files),
        }

    def rich_inspect_variables(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args["variableName"])
        if self.debugger.stopped:
            frame = args.get("frameId")
            value = self.debugger.evaluate(name, int(frame) if frame else None)["result"]
        else:
            with self._lock:
                found = [v for v in self._snapshot if v["name"] == name]
            if not found:
                raise DebugError(f"no variable named {name}")
            value = found[0]["value"]
        return {"data": {"text/plain": value}, "metadata": {}}


def _jupyter_type(variable: dict[str, Any]) -> dict[str, Any]:
    """Give a DAP variable the Python type name JupyterLab shows values for (in place)."""
    kind = variable.get("type")
    value = str(variable.get("value", ""))
    if kind == "number":
        variable["type"] = "int" if _INTEGER.fullmatch(value) else "float"
    elif kind == "boolean":
        variable["type"] = "bool"
    elif kind == "string":
        variable["type"] = "str"
    else:
        return variable
    variable["luaType"] = kind
    return variable
