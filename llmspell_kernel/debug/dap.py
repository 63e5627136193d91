"""Debug Adapter Protocol requests → the Debugger. Shared by the DAP server (stdio/TCP) and the
Jupyter front end (debug_request); neither transport nor message framing lives here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from lupa.lua54 import LuaError

from llmspell_kernel.debug.session import THREAD_ID, DebugError, Debugger
from llmspell_kernel.logs import get_logger

log = get_logger("llmspell.debug")

EventSink = Callable[[str, dict[str, Any]], None]

EXCEPTION_FILTERS = [
    {"filter": "error", "label": "Uncaught errors", "default": True},
    {"filter": "pcall", "label": "Errors caught by pcall/xpcall", "default": False},
]


def capabilities() -> dict[str, Any]:
    """What this adapter really supports."""
    return {
        "supportsConfigurationDoneRequest": True,
        "supportsFunctionBreakpoints": True,
        "supportsConditionalBreakpoints": True,
        "supportsHitConditionalBreakpoints": True,
        "supportsLogPoints": True,
        "supportsEvaluateForHovers": True,
        "supportsSetVariable": True,
        "supportsLoadedSourcesRequest": True,
        "supportsTerminateRequest": True,
        "supportsDelayedStackTraceLoading": True,
        "supportTerminateDebuggee": True,
        "exceptionBreakpointFilters": EXCEPTION_FILTERS,
        "supportsStepBack": False,
        "supportsRestartRequest": False,
        "supportsExceptionInfoRequest": True,
        "supportsCompletionsRequest": False,
        "supportsModulesRequest": False,
    }


class Target(Protocol):
    """What runs the debuggee: a script runner (DAP server) or a kernel (Jupyter, attach)."""

    def launch(self, arguments: dict[str, Any]) -> None: ...

    def attach(self, arguments: dict[str, Any]) -> None: ...

    def configuration_done(self) -> None: ...

    def terminate(self) -> None: ...

    def disconnect(self, terminate: bool) -> None: ...


class DapError(Exception):
    """A request failed; the message goes into the response."""


class DapHandlers:
    """One handler per DAP command; `handle()` turns a request into a response."""

    def __init__(self, debugger: Debugger, target: Target, events: EventSink) -> None:
        self.debugger = debugger
        self.target = target
        self.events = events
        self.after_response: list[Callable[[], None]] = []
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
            "initialize": self.initialize,
            "launch": self.launch,
            "attach": self.attach,
            "setBreakpoints": self.set_breakpoints,
            "setFunctionBreakpoints": self.set_function_breakpoints,
            "setExceptionBreakpoints": self.set_exception_breakpoints,
            "configurationDone": self.configuration_done,
            "threads": self.threads,
            "stackTrace": self.stack_trace,
            "scopes": self.scopes,
            "variables": self.variables,
            "setVariable": self.set_variable,
            "evaluate": self.evaluate,
            "continue": self.resume("continue"),
            "next": self.resume("next"),
            "stepIn": self.resume("stepIn"),
            "stepOut": self.resume("stepOut"),
            "pause": self.pause,
            "exceptionInfo": self.exception_info,
            "source": self.source,
            "loadedSources": self.loaded_sources,
            "terminate": self.terminate,
            "disconnect": self.disconnect,
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """The response to one request (never raises)."""
        command = str(request.get("command", ""))
        response: dict[str, Any] = {
            "type": "response",
            "request_seq": request.get("seq", 0),
            "command": command,
            "success": True,
        }
        handler = self.handlers.get(command)
        try:
            if handler is None:
                raise DapError(f"unsupported request '{command}'")
            arguments = request.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise DapError(f"the arguments of '{command}' must be an object")
            body = handler(arguments)
            if body is not None:
                response["body"] = body
        except (DapError, DebugError) as exc:
            response["success"] = False
            response["message"] = str(exc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            response["success"] = False
            response["message"] = f"bad arguments for '{command}': {exc}"
        except LuaError as exc:  # the debuggee's side refused: a stale frame or reference
            response["success"] = False
            response["message"] = f"'{command}' failed: {exc}"
        except Exception as exc:  # one request fails, the session goes on
            log.exception("DAP request %s failed", command)
            response["success"] = False
            response["message"] = f"'{command}' failed: {type(exc).__name__}: {exc}"
        return response

    def run_after_response(self) -> None:
        """Send what must follow the response (e.g. `initialized` after `initialize`)."""
        pending, self.after_response = self.after_response, []
        for callback in pending:
            callback()

    # -- session --------------------------------------------------------------------------------
    def initialize(self, _args: dict[str, Any]) -> dict[str, Any]:
        self.after_response.append(lambda: self.events("initialized", {}))
        return capabilities()

    def launch(self, args: dict[str, Any]) -> None:
        self.debugger.stop_on_entry = bool(args.get("stopOnEntry", False))
        self.target.launch(args)

    def attach(self, args: dict[str, Any]) -> None:
        if args.get("stopOnEntry"):  # the next run stops at its first line
            self.debugger.stop_on_entry = True
        self.target.attach(args)

    def configuration_done(self, _args: dict[str, Any]) -> None:
        self.target.configuration_done()

    def terminate(self, _args: dict[str, Any]) -> None:
        self.target.terminate()

    def disconnect(self, args: dict[str, Any]) -> None:
        self.target.disconnect(bool(args.get("terminateDebuggee", True)))

    # -- breakpoints ----------------------------------------------------------------------------
    def set_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        source = args.get("source") or {}
        chunk = self.debugger.chunk_name(source)
        specs = args.get("breakpoints")
        if specs is None:
            specs = [{"line": line} for line in args.get("lines") or []]
        placed = self.debugger.set_breakpoints(chunk, list(specs))
        dap_source = self.debugger.dap_source(chunk)
        if source.get("path") and not str(source["path"]).startswith(("@", "=")):
            dap_source = {**dap_source, "path": source["path"]}
        return {"breakpoints": [bp.dap(dap_source) for bp in placed]}

    def set_function_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        names = [str(spec.get("name", "")) for spec in args.get("breakpoints") or []]
        return {"breakpoints": self.debugger.set_function_breakpoints(names)}

    def set_exception_breakpoints(self, args: dict[str, Any]) -> dict[str, Any]:
        filters = [str(name) for name in args.get("filters") or []]
        self.debugger.set_exception_filters(filters)
        return {"breakpoints": [{"verified": True} for _ in filters]}

    # -- execution ------------------------------------------------------------------------------
    def threads(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"threads": [{"id": THREAD_ID, "name": "main"}]}

    def resume(self, action: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        def handler(_args: dict[str, Any]) -> dict[str, Any] | None:
            self.debugger.resume(action)
            return {"allThreadsContinued": True} if action == "continue" else None

        return handler

    def pause(self, _args: dict[str, Any]) -> None:
        self.debugger.pause()

    def exception_info(self, _args: dict[str, Any]) -> dict[str, Any]:
        text, caught_too = self.debugger.exception_info()
        frames, _total = self.debugger.stack_trace()
        trace = "\n".join(
            f"  at {f['name']} ({f['source'].get('path') or f['source'].get('name')}:{f['line']})"
            for f in frames
        )
        return {
            "exceptionId": "error",
            "description": text,
            # the mode that made the program stop: every error, or only the uncaught ones
            "breakMode": "always" if caught_too else "unhandled",
            "details": {"message": text, "typeName": "Lua error", "stackTrace": trace},
        }

    # -- inspection -----------------------------------------------------------------------------
    def stack_trace(self, args: dict[str, Any]) -> dict[str, Any]:
        frames, total = self.debugger.stack_trace(
            int(args.get("startFrame", 0) or 0), int(args.get("levels", 0) or 0)
        )
        return {"stackFrames": frames, "totalFrames": total}

    def scopes(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"scopes": self.debugger.scopes(int(args["frameId"]))}

    def variables(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "variables": self.debugger.variables(
                int(args["variablesReference"]),
                args.get("filter"),
                int(args.get("start", 0) or 0),
                int(args.get("count", 0) or 0),
            )
        }

    def set_variable(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.debugger.set_variable(
            int(args["variablesReference"]), str(args["name"]), str(args["value"])
        )

    def evaluate(self, args: dict[str, Any]) -> dict[str, Any]:
        expression = str(args.get("expression", ""))
        if not expression.strip():
            raise DapError("nothing to evaluate")
        if not self.debugger.stopped:
            raise DapError("expressions can be evaluated while the program is paused")
        frame = args.get("frameId")
        return self.debugger.evaluate(expression, int(frame) if frame is not None else None)

    def source(self, args: dict[str, Any]) -> dict[str, Any]:
        source = args.get("source") or {}
        if not source and args.get("sourceReference"):
            source = {"sourceReference": args["sourceReference"]}
        chunk = self.debugger.chunk_name(source)
        text = self.debugger.source_text(chunk)
        if text is None:
            raise DapError(f"no source for {source.get('path') or chunk}")
        return {"content": text, "mimeType": "text/x-lua"}

    def loaded_sources(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"sources": self.debugger.loaded_sources()}
