"""The DAP server: Content-Length framing over stdio or TCP, and the script runner it debugs.

The debuggee runs on its own LuaEngine in a dedicated executor thread; the reader thread only
parses requests and hands them to DapHandlers, which talk to the Debugger.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from llmspell_kernel.debug.dap import DapError, DapHandlers
from llmspell_kernel.debug.session import Debugger
from llmspell_kernel.logs import get_logger
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine, Outcome

log = get_logger("llmspell.debug")


class DapConnection:
    """Reads and writes Content-Length framed DAP messages; `send` is thread-safe."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()
        self._seq = 0
        self.closed = False

    def read(self) -> dict[str, Any] | None:
        """The next message, or None at end of input."""
        length = None
        while True:
            line = self._reader.readline()
            if not line:
                return None
            text = line.decode("ascii", "replace").strip()
            if not text:
                if length is not None:
                    break
                continue
            name, _, value = text.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = b""
        while len(body) < length:
            chunk = self._reader.read(length - len(body))
            if not chunk:
                return None
            body += chunk
        message = json.loads(body.decode("utf-8"))
        if not isinstance(message, dict):
            raise ValueError("a DAP message must be a JSON object")
        return message

    def send(self, message: dict[str, Any]) -> None:
        """Write one message with the next `seq`."""
        with self._lock:
            if self.closed:
                return
            self._seq += 1
            message = {"seq": self._seq, **message}
            data = json.dumps(message, ensure_ascii=False).encode("utf-8")
            try:
                self._writer.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
                self._writer.flush()
            except (OSError, ValueError):
                self.closed = True

    def event(self, name: str, body: dict[str, Any] | None = None) -> None:
        """Send an event."""
        message: dict[str, Any] = {"type": "event", "event": name}
        if body is not None:
            message["body"] = body
        self.send(message)


class ScriptTarget:
    """Runs one Lua script under the debugger once `launch` and `configurationDone` arrived."""

    def __init__(
        self,
        debugger: Debugger,
        events: Callable[[str, dict[str, Any]], None],
        settings: EngineSettings | None = None,
        default_program: str | None = None,
        default_args: Sequence[str] = (),
    ) -> None:
        self.debugger = debugger
        self.events = events
        self.settings = settings or EngineSettings()
        self.default_program = default_program
        self.default_args = list(default_args)
        self._program: Path | None = None
        self._args: list[str] = []
        self._configured = False
        self._thread: threading.Thread | None = None
        self.finished = threading.Event()
        self.exit_code: int | None = None
        # For a terminal: how to name the script in a one-line error (None: the DAP console
        # gets the whole traceback).
        self.brief: str | None = None

    def launch(self, arguments: dict[str, Any]) -> None:
        program = arguments.get("program") or self.default_program
        if not program:
            raise DapError("launch needs 'program' (the Lua script to debug)")
        cwd = arguments.get("cwd")
        if cwd:
            if not os.path.isdir(str(cwd)):
                raise DapError(f"cwd is not a directory: {cwd}")
            os.chdir(str(cwd))
        path = Path(str(program)).expanduser()
        if not path.is_file():
            raise DapError(f"program not found: {program}")
        self._program = path.resolve()
        args = arguments.get("args")
        self._args = [str(a) for a in args] if args is not None else list(self.default_args)
        self._start_if_ready()

    def attach(self, arguments: dict[str, Any]) -> None:
        raise DapError(
            "attach needs 'connect': the address of a running kernel "
            "(HOST:PORT, tcp://HOST:PORT, a connection file or a kernel id)"
        )

    def configuration_done(self) -> None:
        self._configured = True
        self._start_if_ready()

    def _start_if_ready(self) -> None:
        if self._program is None or not self._configured or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="llmspell-debuggee", daemon=True)
        self._thread.start()

    def _output(self, name: str, text: str) -> None:
        self.events(
            "output", {"category": "stderr" if name == "stderr" else "stdout", "output": text}
        )

    def _run(self) -> None:
        assert self._program is not None
        code = 0
        try:
            engine = LuaEngine(self.settings, output=self._output)
            self.debugger.attach(engine)
            text = self._program.read_text(encoding="utf-8", errors="replace")
            self.debugger.run_started()
            outcome = engine.execute(
                text,
                chunk_name=f"@{self._program}",
                script_path=str(self._program),
                args=self._args,
            )
            self.debugger.run_finished()
            code = self._report(outcome)
        except Exception as exc:  # the session must end cleanly whatever happened
            log.exception("debuggee failed")
            self._output("stderr", f"error: {exc}\n")
            code = 1
        self.exit_code = code
        self.events("exited", {"exitCode": code})
        self.events("terminated", {})
        self.finished.set()

    def _report(self, outcome: Outcome) -> int:
        if outcome.status == "ok":
            if outcome.has_value:  # what `llmspell run` would print
                value = outcome.value
                text = value if isinstance(value, str) and outcome.count == 1 else outcome.text
                self._output("stdout", f"{text}\n")
            return outcome.exit_code or 0
        if outcome.ename == "Interrupted":
            return 130
        if self.brief is not None:  # a terminal: one line, the script named as the user did
            from llmspell_kernel import logs

            lines = outcome.traceback if logs.enabled_for("debug") else []
            text = "\n".join([outcome.evalue, *lines[1:]])
            if self._program is not None:
                text = text.replace(str(self._program), self.brief)
            self._output("stderr", f"error: {text}\n")
            return outcome.exit_code or 1
        lines = outcome.traceback or [outcome.evalue]
        self._output("stderr", "error: " + "\n".join(lines) + "\n")
        return outcome.exit_code or 1

    def terminate(self) -> None:
        if self._thread is None:
            self.events("terminated", {})
            return
        self.debugger.terminate()

    def disconnect(self, terminate: bool) -> None:
        if self._thread is not None and not self.finished.is_set():
            self.debugger.terminate()
            self.finished.wait(5)


def serve_connection(
    connection: DapConnection,
    settings: EngineSettings | None = None,
    program: str | None = None,
    args: Sequence[str] = (),
) -> int:
    """Serve one debug session; returns the debuggee's exit code (0 if it never ran)."""
    debugger = Debugger(connection.event)
    target = ScriptTarget(debugger, connection.event, settings, program, args)
    handlers = DapHandlers(debugger, target, connection.event)
    bridge: Any = None  # after `attach` to a kernel, everything is relayed to it
    disconnected = False
    adapter_id = "llmspell"
    try:
        while True:
            try:
                message = connection.read()
            except (ValueError, json.JSONDecodeError) as exc:
                log.warning("ignoring a malformed DAP message: %s", exc)
                continue
            if message is None:
                break
            if message.get("type") != "request":
                continue
            command = message.get("command")
            arguments = message.get("arguments") or {}
            if not isinstance(arguments, dict):
                arguments = {}
            if bridge is not None:
                if command == "disconnect":
                    message = {**message, "arguments": {"terminateDebuggee": False}}
                connection.send(bridge.request(message))
                if command == "disconnect":
                    disconnected = True
                    break
                continue
            if command == "initialize":
                adapter_id = str(arguments.get("adapterID") or adapter_id)
            if command == "attach" and arguments.get("connect"):
                bridge = _attach_to_kernel(connection, message, adapter_id)
                continue
            _serve_request(connection, handlers, message)
            if command == "disconnect":
                break
    finally:
        if bridge is not None:
            if not disconnected:
                # The editor went away without `disconnect`: never leave the kernel paused
                # with breakpoints that nobody will answer.
                try:
                    bridge.request({"command": "disconnect", "arguments": {}})
                except Exception as exc:
                    log.warning("could not end the debug session in the kernel: %s", exc)
            bridge.close()
    target.disconnect(True)
    return target.exit_code or 0


def _attach_to_kernel(connection: DapConnection, message: dict[str, Any], adapter_id: str) -> Any:
    """Answer `attach {connect: ADDR}`; the bridge to that kernel, or None if it failed."""
    from llmspell_kernel.debug.bridge import KernelBridge
    from llmspell_kernel.errors import LlmspellError

    address = str(message["arguments"]["connect"])
    response: dict[str, Any] = {
        "type": "response",
        "request_seq": message.get("seq", 0),
        "command": "attach",
        "success": True,
    }
    bridge = None
    try:
        bridge = KernelBridge(connection, address)
        bridge.attach(adapter_id)
    except (LlmspellError, RuntimeError) as exc:
        if bridge is not None:
            bridge.close()
            bridge = None
        response["success"] = False
        response["message"] = f"cannot attach to {address}: {getattr(exc, 'message', exc)}"
    connection.send(response)
    return bridge


def _serve_request(
    connection: DapConnection, handlers: DapHandlers, message: dict[str, Any]
) -> None:
    response = handlers.handle(message)
    connection.send(response)
    handlers.run_after_response()


def serve_stdio(
    settings: EngineSettings | None = None, program: str | None = None, args: Sequence[str] = ()
) -> int:
    """DAP on this process's stdin/stdout (what editors spawn)."""
    import sys

    return serve_connection(
        DapConnection(sys.stdin.buffer, sys.stdout.buffer), settings, program, args
    )


def serve_tcp(
    port: int,
    settings: EngineSettings | None = None,
    program: str | None = None,
    args: Sequence[str] = (),
    on_listening: Callable[[int], None] | None = None,
    sessions: int = 0,
) -> None:
    """DAP on 127.0.0.1:port, one session per connection (`sessions` 0 = until interrupted)."""
    with socket.create_server(("127.0.0.1", port)) as server:
        if on_listening is not None:
            on_listening(server.getsockname()[1])
        served = 0
        while sessions == 0 or served < sessions:
            client, _address = server.accept()
            try:
                with client, client.makefile("rb") as reader, client.makefile("wb") as writer:
                    serve_connection(DapConnection(reader, writer), settings, program, args)
            except (OSError, ValueError) as exc:
                # an editor that drops the connection ends its session, not the server
                log.info("DAP connection ended: %s", exc)
            served += 1
