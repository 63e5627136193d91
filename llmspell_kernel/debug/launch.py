"""DAP `launch`: the script runs in an embedded kernel of its own, debugged through the same
relay as an `attach` to a running kernel (llmspell_kernel/debug/remote.py), so an editor, the
terminal and JupyterLab all debug one way: the kernel's `debug_request`.

The kernel starts with the first request that needs it (an editor may set breakpoints before it
sends `launch`); the script runs as an execute_request once both `launch` and
`configurationDone` arrived, on a second client whose outputs become `output` events.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmspell_kernel.client import ErrorOutput, Result, Stream, exit_code
from llmspell_kernel.debug.remote import EventSink, KernelRelay, response_for
from llmspell_kernel.kernel.server import KernelSettings
from llmspell_kernel.logs import get_logger

log = get_logger("llmspell.debug")


class LaunchError(Exception):
    """A `launch` that cannot run (the message goes into the response)."""


class LaunchSession:
    """One editor's `launch` session: an embedded kernel, the relay to it, the script's run."""

    def __init__(
        self,
        events: EventSink,
        settings: KernelSettings | None = None,
        default_program: str | None = None,
        default_args: Sequence[str] = (),
        adapter_id: str = "llmspell",
    ) -> None:
        self.events = events
        self.settings = settings
        self.default_program = default_program
        self.default_args = list(default_args)
        self.adapter_id = adapter_id
        self.exit_code: int | None = None
        self.finished = threading.Event()
        self._kernel: Any = None  # llmspell_kernel.api.EmbeddedKernel, on first use
        self._relay: KernelRelay | None = None
        self._program: Path | None = None
        self._args: list[str] = []
        self._configured = False
        self._thread: threading.Thread | None = None

    # -- requests ---------------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """The response to one DAP request of this session."""
        command = str(message.get("command", ""))
        arguments = message.get("arguments") or {}
        if command == "launch":
            try:
                self._launch(arguments)
            except LaunchError as exc:
                return response_for(message, str(exc))
            return response_for(message)
        if command == "terminate" and not self._running():
            self.events("terminated", {})
            return response_for(message)
        if command == "disconnect":
            self.close()
            return response_for(message)
        response = self._ensure().request(message)
        if command == "configurationDone" and response.get("success"):
            self._configured = True
            self._start_if_ready()
        return response

    def _launch(self, arguments: dict[str, Any]) -> None:
        program = arguments.get("program") or self.default_program
        if not program:
            raise LaunchError("launch needs 'program' (the Lua script to debug)")
        # `cwd` is this session's: a relative `program` is found there and the script's
        # relative paths resolve there; the process's own working directory never changes.
        cwd = arguments.get("cwd")
        base = Path.cwd()
        if cwd:
            base = Path(str(cwd)).expanduser()
            if not base.is_dir():
                raise LaunchError(f"cwd is not a directory: {cwd}")
        path = base / Path(str(program)).expanduser()
        if not path.is_file():
            raise LaunchError(f"program not found: {program}")
        args = arguments.get("args")
        relay = self._ensure()
        if arguments.get("stopOnEntry"):
            relay.request({"command": "attach", "arguments": {"stopOnEntry": True}})
        self._kernel.kernel.engine.working_dir = str(base)
        self._program = path.resolve()
        self._args = [str(a) for a in args] if args is not None else list(self.default_args)
        self._start_if_ready()

    def _ensure(self) -> KernelRelay:
        """The relay to this session's kernel, started on first use."""
        if self._relay is None:
            from llmspell_kernel.api import start_embedded_kernel

            settings = KernelSettings() if self.settings is None else copy.copy(self.settings)
            settings.script_timeout = 0.0  # a script paused at a breakpoint has no time limit
            self._kernel = start_embedded_kernel(settings)
            self._relay = KernelRelay(self._kernel.client(), self.events, streams=False)
            self._relay.attach(self.adapter_id)
        return self._relay

    # -- the run ----------------------------------------------------------------------------------
    def _running(self) -> bool:
        return self._thread is not None and not self.finished.is_set()

    def _start_if_ready(self) -> None:
        if self._program is None or not self._configured or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="llmspell-debuggee", daemon=True)
        self._thread.start()

    def _output(self, name: str, text: str) -> None:
        category = "stderr" if name == "stderr" else "stdout"
        self.events("output", {"category": category, "output": text})

    def _run(self) -> None:
        assert self._program is not None and self._relay is not None
        code = 0
        try:
            text = self._program.read_text(encoding="utf-8", errors="replace")
            client = self._kernel.client()
            execution = client.execute(text, script_path=str(self._program), args=self._args)
            result: Result | None = None
            error: ErrorOutput | None = None
            for output in execution:
                if isinstance(output, Stream):
                    self._output(output.name, output.text)
                elif isinstance(output, Result) and not output.display:
                    result = output
                elif isinstance(output, ErrorOutput):
                    error = output
            client.close()
            # the relay has passed on every debug event of the run (log points) once it saw
            # the run's idle status: only then is the run over for the editor
            self._relay.wait_idle(execution.msg_id, 5.0)
            code = self._report(execution.reply or {}, execution.reply_metadata, result, error)
        except Exception as exc:  # the session must end cleanly whatever happened
            log.exception("debuggee failed")
            self._output("stderr", f"error: {exc}\n")
            code = 1
        self.exit_code = code
        self.events("exited", {"exitCode": code})
        self.events("terminated", {})
        self.finished.set()

    def _report(
        self,
        reply: dict[str, Any],
        metadata: dict[str, Any],
        result: Result | None,
        error: ErrorOutput | None,
    ) -> int:
        """Show what `llmspell run` would (the value, or the error's traceback); the exit code."""
        code = exit_code(reply, metadata.get("llmspell") or {})
        if code == 0:
            if result is not None:
                value = result.data.get("application/json")
                several = (result.metadata.get("llmspell") or {}).get("count", 1) > 1
                shown = value if isinstance(value, str) and not several else result.text
                self._output("stdout", f"{shown}\n")
        elif code != 130:
            lines = error.traceback if error is not None else [str(reply.get("evalue", ""))]
            self._output("stderr", "error: " + "\n".join(lines) + "\n")
        return code

    # -- the end ----------------------------------------------------------------------------------
    def close(self) -> None:
        """End the session: a running script is terminated, the kernel shut down."""
        relay, self._relay = self._relay, None
        if relay is None:
            return
        if self._running():
            relay.request({"command": "terminate", "arguments": {}})
            self.finished.wait(5)
        relay.close()
        self._kernel.shutdown()
