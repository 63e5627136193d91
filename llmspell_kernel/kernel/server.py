"""The kernel: one dispatch table per channel, an executor thread that alone touches Lua, and a
control thread that is never blocked by it. Transports deliver the messages; handlers here are
short: parse the content, do the work, send the reply."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from llmspell_kernel import __version__
from llmspell_kernel.kernel.data_handlers import (
    DATA_REQUEST,
    expire_sessions_when_due,
    handle_data_request,
    record_executions,
    track_execution,
)
from llmspell_kernel.kernel.history import History
from llmspell_kernel.logs import enabled_for, get_logger
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine, Outcome
from llmspell_kernel.lua.globals.event import begin_execution
from llmspell_kernel.protocol.message import (
    END_OF_INPUT,
    PROTOCOL_VERSION,
    Message,
    MessageFactory,
    reply_type,
)
from llmspell_kernel.records import Record
from llmspell_kernel.transport.base import Incoming, KernelTransport

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

log = get_logger("llmspell.kernel")

Handler = Callable[[Incoming], None]
CELL_SOURCES = 500
# Stream output is coalesced (ipykernel flushes on a timer too): consecutive writes of one
# execution to one stream become one `stream` message, sent STREAM_FLUSH_SECONDS after the first
# of them or once STREAM_FLUSH_BYTES are pending, and always before any other IOPub message of
# that execution, its reply and its input requests.
STREAM_FLUSH_SECONDS = 0.05
STREAM_FLUSH_BYTES = 64 * 1024
# A kernel keeps the session records of up to this many executions and writes them in one
# transaction once no request came for RECORD_IDLE_SECONDS (see flush_records).
RECORD_BATCH = 64
RECORD_IDLE_SECONDS = 0.05
# Requests that do not make their sender a client in `status` (every connection starts with a
# kernel_info probe; `kernel status`/`interrupt` ask and leave).
_PROBES = frozenset({"kernel_info_request", "llmspell_status_request", "interrupt_request"})
# Events reach attached clients as IOPub `comm_msg`s of this comm id (never opened: Jupyter
# clients drop messages of unknown comms quietly; llmspell's REPL shows them), content
# `{"comm_id": EVENTS_COMM_ID, "data": {"llmspell_event": <event table>}}` (README, Events).
EVENTS_COMM_ID = "llmspell.events"


class KernelSettings(Record):
    """Kernel behaviour that comes from configuration."""

    __slots__ = (
        "engine",
        "script_timeout",
        "kernel_id",
        "history_size",
        "history_file",
        "restart_in_place",
        "kernel_session",
        "max_message_bytes",
    )
    _defaults: ClassVar[dict[str, Any]] = {
        "engine": None,
        "script_timeout": 0.0,
        "kernel_id": "",
        "history_size": 1000,
        "history_file": None,
        "restart_in_place": True,
        "kernel_session": False,
        "max_message_bytes": 16 * 1024 * 1024,
    }
    engine: EngineSettings
    script_timeout: float
    kernel_id: str
    history_size: int
    # JSON-lines file that keeps history across kernel starts (None: memory only).
    history_file: str | None
    # A kernel launched by a Jupyter manager exits on shutdown(restart=True) and the manager
    # starts a new process; an embedded kernel or an `llmspell kernel start` service has no
    # manager, so it replaces its Lua state in place.
    restart_in_place: bool
    # A kernel service records every execution in a session (its own when the client names
    # none and none is current); an embedded run/exec touches the store only when asked.
    kernel_session: bool
    # Largest request a ZeroMQ kernel accepts (kernel.max_message_bytes; 0 = no limit).
    max_message_bytes: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine is None:
            object.__setattr__(self, "engine", EngineSettings())


class Cell:
    """One execute_request as run_cell takes it (parsed by on_execute). A plain slotted class:
    made once per execution, and no code generated at import (see llmspell_kernel.records)."""

    __slots__ = (
        "code",
        "count",
        "silent",
        "store_history",
        "options",
        "script_path",
        "args",
        "timeout",
        "model_override",
    )

    def __init__(
        self,
        *,
        code: str,
        count: int,
        silent: bool,
        store_history: bool,
        options: dict[str, Any],
        script_path: str | None,
        args: list[str],
        timeout: float | None,
        model_override: str | None,
    ) -> None:
        self.code = code
        self.count = count  # the execution count it runs as
        self.silent = silent
        self.store_history = store_history
        self.options = options  # the request's metadata.llmspell (llmspell's own client)
        self.script_path = script_path
        self.args = args
        self.timeout = timeout
        self.model_override = model_override


class CellRun:
    """What run_cell hands back to the protocol side."""

    __slots__ = ("outcome", "duration_ms", "suppress")

    def __init__(self, outcome: Outcome, duration_ms: float, suppress: bool) -> None:
        self.outcome = outcome
        self.duration_ms = duration_ms
        self.suppress = suppress  # a trailing ';' hides the value


def _deprioritise(thread: threading.Thread) -> None:
    """Give an abandoned executor, still spinning in its C call, the lowest CPU priority."""
    native = thread.native_id
    if native is None or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, native, 19)  # Linux: per thread
    except OSError:
        log.debug("could not lower the priority of the abandoned executor thread")


def language_info() -> dict[str, Any]:
    """The `language_info` block of kernel_info_reply."""
    return {
        "name": "lua",
        "version": "5.4",
        "mimetype": "text/x-lua",
        "file_extension": ".lua",
        "pygments_lexer": "lua",
        "codemirror_mode": "lua",
    }


class Kernel:
    """Serves Jupyter 5.3 requests from one transport with one Lua engine."""

    def __init__(self, transport: KernelTransport, settings: KernelSettings | None = None) -> None:
        self.transport = transport
        self.settings = settings or KernelSettings()
        self.kernel_id = self.settings.kernel_id or os.urandom(6).hex()
        self.kernel_session_id: str | None = None  # see data_handlers._kernel_session
        self.kernel_session_trusted_until = 0.0  # (monotonic) its status was checked
        self.messages = MessageFactory()
        self.execution_count = 0
        self.executions_total = 0
        self.started_at = time.time()
        self.last_activity = self.started_at
        self.clients_seen: dict[str, float] = {}
        self.history = History(self.settings.history_file, self.settings.history_size)
        self.engine: LuaEngine | None = None
        self.shell_handlers: dict[str, Handler] = {
            "kernel_info_request": self.on_kernel_info,
            "execute_request": self.on_execute,
            "is_complete_request": self.on_is_complete,
            "complete_request": self.on_complete,
            "inspect_request": self.on_inspect,
            "history_request": self.on_history,
            "comm_info_request": self.on_comm_info,
            "comm_open": self.on_comm_open,
            "comm_msg": self.on_comm_ignored,
            "comm_close": self.on_comm_ignored,
        }
        self.control_handlers: dict[str, Handler] = {
            "kernel_info_request": self.on_kernel_info,
            "shutdown_request": self.on_shutdown,
            "interrupt_request": self.on_interrupt,
            "llmspell_status_request": self.on_status,
            "debug_request": self.on_debug_request,
        }
        self.debug_frontend: Any = None  # llmspell_kernel.debug.jupyter, created on first use
        self._trace = enabled_for("debug")  # --trace debug: every request is logged
        # The code of recent `=cell[N]` chunks, so a debugger started later can show the source
        # of functions defined in them (kept for the last CELL_SOURCES cells).
        self._cell_sources: dict[str, str] = {}
        self.shell_handlers["llmspell_status_request"] = self.on_status
        self.control_handlers[DATA_REQUEST] = self.shell_handlers[DATA_REQUEST] = self.on_data
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._engine_ready = threading.Event()
        self._swap_lock = threading.Lock()
        self._abandoned: set[threading.Thread] = set()  # executors stuck in a C call
        self._engine_error: BaseException | None = None
        self._reset_requested = threading.Event()
        self._current: Incoming | None = None
        self._payloads: list[dict[str, Any]] = []
        self._executor = threading.Thread(
            target=self._executor_loop, name="llmspell-executor", daemon=True
        )
        self._control = threading.Thread(
            target=self._control_loop, name="llmspell-control", daemon=True
        )
        self.on_stop: list[Callable[[], None]] = []
        # Called with (stream name, text) for everything the running cell prints, silent
        # cells too (the session record is one: see run_cell).
        self.output_listeners: list[Callable[[str, str], None]] = []
        # Session records of finished executions not yet written (see flush_records).
        self._records: list[Any] = []
        self._records_lock = threading.Lock()
        # Stream text not yet published (see STREAM_FLUSH_SECONDS): held under _out_lock, which
        # is also held while it is published, so batches go out in order and a client that
        # reads slowly holds back the writer (the in-process transport's back-pressure).
        self._out_lock = threading.Lock()
        self._out_parts: list[str] = []
        self._out_bytes = 0
        self._streams_parent: str | None = None  # the execution whose stream messages
        self._streams_sent = 0  # ... _flush_locked has counted (input_request carries it)
        self._out_name = ""
        self._out_parent: Message | None = None
        self._out_writer: threading.Thread | None = None
        self._out_since = 0.0
        self._out_pending = threading.Event()
        self._flusher = threading.Thread(
            target=self._flusher_loop, name="llmspell-output", daemon=True
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Kernel:
        """Start the executor and control threads; returns once the Lua engine is ready."""
        self._executor.start()
        self._control.start()
        self._flusher.start()
        self._engine_ready.wait()
        if self._engine_error is not None:
            raise self._engine_error
        return self

    def stop(self) -> None:
        """Stop serving: interrupt running code, end the threads, close the transport."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.engine is not None:
            self.engine.interrupt("shutdown")
        self.transport.wake()
        self._out_pending.set()
        for thread in (self._executor, self._control, self._flusher):
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=5)
        self.flush_output()
        self.transport.close()
        self.flush_records()
        self.history.close()
        if self.engine is not None:
            self.engine.hooks.fire_kernel("SystemShutdown", {})
            self.engine.events.close()
            # Close the store now rather than whenever the garbage collector gets to it: closing
            # the last connection checkpoints SQLite's WAL into the database file.
            self.engine.data.close()
        # Before _stopped: whoever wait()s sees the kernel's files already gone.
        try:
            for callback in self.on_stop:
                callback()
        finally:
            self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the kernel has stopped (after a shutdown request)."""
        return self._stopped.wait(timeout)

    @property
    def stopping(self) -> bool:
        """True once shutdown has begun."""
        return self._stopping.is_set()

    # -- threads ----------------------------------------------------------------------------------
    def _new_engine(self) -> LuaEngine:
        settings = self.settings.engine
        if settings.on_stuck is None:  # an embedded CLI exits instead (it sets its own)
            import copy

            settings = copy.copy(settings)
            settings.on_stuck = self._engine_stuck
        engine = LuaEngine(
            settings,
            output=self._stream,
            read_input=self._read_input,
            notebook=self._notebook,
        )
        engine.events.kernel_id = self.settings.kernel_id or None
        if engine.events.settings.iopub:
            engine.events.add_sink(self._publish_event)
        return engine

    def _publish_event(self, event: Any) -> None:
        """Every event of the engine, to every attached client (see EVENTS_COMM_ID), unless
        the transport knows that no client but the requester's shows them (an embedded kernel
        whose one client is the CLI that runs the script: ~18 µs of CPU an event saved)."""
        current = self._current
        if not self.transport.others_listen(current.route if current is not None else None):
            return
        parent = current.msg if current is not None else None
        if parent is not None and parent["content"].get("silent"):
            return
        content = {"comm_id": EVENTS_COMM_ID, "data": {"llmspell_event": event.as_table()}}
        self.publish("comm_msg", content, parent)

    def _executor_loop(self) -> None:
        try:
            self.engine = self._new_engine()
        except BaseException as exc:  # surfaced by start()
            self._engine_error = exc
            self._engine_ready.set()
            return
        self._engine_ready.set()
        # The executor never dies of one message: a request that fails gets an error reply
        # (_dispatch); anything failing outside a request is logged and the loop goes on. A
        # failure that repeats at once backs off (up to 1 s) and is logged at growing
        # intervals, so a lasting fault neither spins a core nor fills the log.
        failures = 0
        while not self._stopping.is_set() and not self._abandoned_thread():
            try:
                self._executor_step()
                failures = 0
            except Exception:
                failures += 1
                if failures & (failures - 1) == 0:  # the 1st, 2nd, 4th, 8th... in a row
                    log.exception(
                        "the executor recovered from an error outside any request%s",
                        f" ({failures} in a row)" if failures > 1 else "",
                    )
                if failures > 1:
                    self._stopping.wait(min(1.0, 0.001 * 2 ** min(failures, 10)))

    def _executor_step(self) -> None:
        self._reset_if_requested()
        expire_sessions_when_due(self)  # sessions.gc_interval_seconds; a clock read if not due
        pending = self._records or self.history.unflushed
        incoming = self.transport.recv_shell(RECORD_IDLE_SECONDS if pending else 0.1)
        if incoming is None:
            self.flush_records()
            self.history.flush()
            return
        self._reset_if_requested()
        self._dispatch(incoming, self.shell_handlers)
        if len(self._records) >= RECORD_BATCH:
            self.flush_records()  # after the reply and the idle status

    def _reset_if_requested(self) -> None:
        if not self._reset_requested.is_set():
            return
        self._reset_requested.clear()
        assert self.engine is not None
        try:
            self.engine.reset()
        except Exception:
            log.exception("could not reset the Lua engine; starting a new one")
            self.engine = self._new_engine()

    def _control_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                incoming = self.transport.recv_control(0.1)
                if incoming is not None:
                    self._dispatch(incoming, self.control_handlers)
            except Exception:
                log.exception("the control thread recovered from an error outside any request")

    def _dispatch(self, incoming: Incoming, handlers: dict[str, Handler]) -> None:
        msg = incoming.msg
        msg_type = msg["header"].get("msg_type", "")
        handler = handlers.get(msg_type)
        self.last_activity = time.time()
        traced = self._trace
        if traced:
            began = time.monotonic()
            log.debug(
                "%s %s %s from session %s",
                incoming.channel,
                msg_type,
                msg["header"].get("msg_id", ""),
                msg["header"].get("session", ""),
            )
        if msg_type != "execute_request":
            self.kernel_session_trusted_until = 0.0  # it may close the kernel's session
            if self._records:
                self.flush_records()  # whatever it reads of the store includes every record
        if msg_type not in _PROBES:
            self.clients_seen[str(msg["header"].get("session", ""))] = self.last_activity
        self._publish_status("busy", msg)
        try:
            if incoming.refused is not None:
                self._reply_error(incoming, "RequestRefused", incoming.refused)
            elif handler is None:
                log.warning("ignoring unknown %s message type %r", incoming.channel, msg_type)
            else:
                handler(incoming)
        except Exception:
            log.exception("error while handling %s", msg_type)
            if handler is not None:
                self._reply_error(incoming, "KernelError", "internal error")
        finally:
            if not self._abandoned_thread():  # else _engine_stuck() said idle for it
                self._publish_status("idle", msg)
            if traced:
                log.debug(
                    "%s %s done in %.1f ms",
                    msg_type,
                    msg["header"].get("msg_id", ""),
                    (time.monotonic() - began) * 1000.0,
                )

    # -- an engine that ignores interrupts ----------------------------------------------------
    def _abandoned_thread(self) -> bool:
        """True on an executor thread the kernel replaced (see _engine_stuck)."""
        return threading.current_thread() in self._abandoned

    def _engine_stuck(self, reason: str) -> None:
        """The script ignored an interrupt past the grace period (watchdog thread).

        It is inside one C call that no hook can stop, so the executor thread cannot be
        unwound: the kernel answers the request, leaves that thread to finish on its own
        (whatever it produces then is dropped) and serves on with a fresh Lua state on a new
        executor thread. The store is shared, so State and sessions are intact.
        """
        with self._swap_lock:
            incoming, stuck = self._current, self._executor
            if self._stopping.is_set() or incoming is None or stuck in self._abandoned:
                return
            self._abandoned.add(stuck)
            self._current = None
            self._executor = threading.Thread(
                target=self._executor_loop, name="llmspell-executor", daemon=True
            )
        grace = self.settings.engine.interrupt_grace_seconds
        what = "time limit" if reason == "timeout" else "interrupt"
        evalue = (
            f"the script did not stop within {grace:g} s of the {what} (it is inside one long "
            "C call); the kernel replaced its Lua state: globals are gone, the store is intact"
        )
        log.warning("%s", evalue)
        _deprioritise(stuck)
        self.publish(
            "error",
            {"ename": "EngineRestarted", "evalue": evalue, "traceback": [evalue]},
            incoming.msg,
        )
        self._reply_error(incoming, "EngineRestarted", evalue)
        self._publish_status("idle", incoming.msg)
        self._executor.start()

    def _reply_error(self, incoming: Incoming, ename: str, evalue: str) -> None:
        """Fail one request with an error reply (requests only: other messages get none)."""
        msg_type = incoming.msg["header"].get("msg_type", "")
        if not msg_type.endswith("_request"):
            return
        content: dict[str, Any] = {
            "status": "error",
            "ename": ename,
            "evalue": evalue,
            "traceback": [evalue] if ename == "RequestRefused" else [],
        }
        if msg_type == "execute_request":
            content["execution_count"] = self.execution_count
        try:
            self._reply(incoming, content)
        except Exception:
            log.exception("could not send the error reply to %s", msg_type)

    # -- sending ----------------------------------------------------------------------------------
    def _reply(
        self, incoming: Incoming, content: dict[str, Any], metadata: dict[str, Any] | None = None
    ) -> None:
        msg_type = reply_type(incoming.msg["header"]["msg_type"])
        if self._out_parts:
            self._flush_for(incoming.msg)
        self.transport.reply(
            incoming, self.messages.message(msg_type, content, incoming.msg, metadata)
        )

    def publish(self, msg_type: str, content: dict[str, Any], parent: Message | None) -> None:
        """Publish one IOPub message answering `parent` (pending stream text of the same
        execution goes first)."""
        if self._out_parts:
            self._flush_for(parent)
        self.transport.publish(self.messages.message(msg_type, content, parent))

    def _publish_status(self, state: str, parent: Message) -> None:
        self.publish("status", {"execution_state": state}, parent)

    def _stream(self, name: str, text: str) -> None:
        current = self._current
        if current is None or not text:
            return
        for listener in self.output_listeners:
            listener(name, text)
        if current.msg["content"].get("silent"):
            return
        with self._out_lock:
            if self._out_parts and (self._out_name != name or self._out_parent is not current.msg):
                self._flush_locked()
            if not self._out_parts:
                self._out_name, self._out_parent = name, current.msg
                self._out_writer = threading.current_thread()
                self._out_since = time.monotonic()
                self._out_pending.set()
            self._out_parts.append(text)
            self._out_bytes += len(text)
            if self._out_bytes >= STREAM_FLUSH_BYTES:
                self._flush_locked()

    def flush_output(self) -> None:
        """Publish the stream text written so far."""
        with self._out_lock:
            self._flush_locked()

    def _flush_for(self, parent: Message | None) -> None:
        """Flush before a message of the buffered execution (or from the thread writing it)."""
        if not self._out_parts:
            return
        writer = self._out_writer
        if writer is threading.current_thread() or (
            parent is not None
            and self._out_parent is not None
            and parent.get("header", {}).get("msg_id")
            == self._out_parent.get("header", {}).get("msg_id")
        ):
            self.flush_output()

    def _flush_locked(self) -> None:
        if not self._out_parts:
            return
        text = "".join(self._out_parts)
        self._out_parts = []
        self._out_bytes = 0
        parent_id = self._out_parent.get("header", {}).get("msg_id") if self._out_parent else None
        if parent_id == self._streams_parent:
            self._streams_sent += 1
        else:
            self._streams_parent, self._streams_sent = parent_id, 1
        self.transport.publish(
            self.messages.message(
                "stream", {"name": self._out_name, "text": text}, self._out_parent
            )
        )

    def _flusher_loop(self) -> None:
        """Publish stream text STREAM_FLUSH_SECONDS after it was written, if still pending."""
        while not self._stopping.is_set():
            with self._out_lock:
                since = self._out_since if self._out_parts else None
            if since is None:
                self._out_pending.wait()
                self._out_pending.clear()
                continue
            delay = since + STREAM_FLUSH_SECONDS - time.monotonic()
            if delay > 0:
                self._stopping.wait(delay)
                continue
            try:
                with self._out_lock:
                    if self._out_parts and self._out_since == since:
                        self._flush_locked()
            except Exception:
                log.exception("could not publish stream output")

    def _notebook(self, kind: str, payload: Any) -> None:
        """display(), clear_output() and help() from Lua."""
        current = self._current
        if current is None or current.msg["content"].get("silent"):
            return
        if kind == "display":
            self.publish(
                "display_data", {"data": payload, "metadata": {}, "transient": {}}, current.msg
            )
        elif kind == "clear":
            self.publish("clear_output", {"wait": bool(payload)}, current.msg)
        elif kind == "page":
            self._payloads.append({"source": "page", "data": payload, "start": 0})

    def _read_input(self, prompt: str, password: bool, want: str | int | None = None) -> str | None:
        """Input from the client of the running execution; None at end of input (or no stdin).

        `want` None: one line without its newline (`input()`). Otherwise raw standard input for
        io.read: "L" a line, "a" everything, N up to N bytes; the result keeps its newlines
        and may be longer or shorter (the engine buffers), and None means end of input. A
        client that sets `llmspell_raw` in its input_reply answers with exactly the text read
        ("" at end of input); any other client answers one line at a time, with "\x04" (what
        jupyter_console sends for Ctrl-D) for end of input, and for "a" an empty line ends too.
        """
        current = self._current
        if current is None or not current.msg["content"].get("allow_stdin", False):
            return None
        content: dict[str, Any] = {"prompt": prompt, "password": password}
        self.flush_output()  # what the script printed before it asks
        if want is not None:
            content["llmspell_read"] = want
        # How many stream messages of this execution went before the question, so that a
        # client behind a relay that reorders channels shows them first (client.py).
        sent = self._streams_sent if self._streams_parent == current.msg["header"]["msg_id"] else 0
        content["llmspell_streams"] = sent
        request = self.messages.message("input_request", content, current.msg)
        engine = self.engine
        reply = self.transport.request_input(
            current,
            request,
            lambda: (
                self._stopping.is_set() or (engine is not None and engine._is_interrupt_pending())
            ),
        )
        if reply is None:
            return None
        answer = reply.get("content", {})
        value = str(answer.get("value", ""))
        if answer.get("llmspell_raw"):
            return value or None
        if value == END_OF_INPUT or (want == "a" and not value):
            return None
        return value if want is None else value + "\n"

    # -- handlers -----------------------------------------------------------------------------------
    def kernel_info(self) -> dict[str, Any]:
        """The content of kernel_info_reply."""
        return {
            "status": "ok",
            "protocol_version": PROTOCOL_VERSION,
            "implementation": "llmspell",
            "implementation_version": __version__,
            "language_info": language_info(),
            "banner": f"llmspell {__version__} — Lua 5.4 kernel for LLM scripting",
            "help_links": [],
            "debugger": True,
            "supported_features": ["debugger"],
        }

    def on_kernel_info(self, incoming: Incoming) -> None:
        self._reply(incoming, self.kernel_info())

    def on_execute(self, incoming: Incoming) -> None:
        """execute_request, the protocol side (ipykernel's execute_request): parse the request,
        announce it (execute_input), have `run_cell` run it, then publish its result or error,
        reply, and abort the requests queued behind a failure."""
        assert self.engine is not None
        # Interruptible from now on: an interrupt arriving while the store opens (the first
        # execution of a service) or a large chunk compiles stops the run instead of being lost.
        engine = self.engine  # this request's, even if the kernel replaces it meanwhile
        engine.begin_execution()
        try:
            cell = self._parse_cell(incoming)
            if not cell.silent:
                self.publish(
                    "execute_input",
                    {"code": cell.code, "execution_count": cell.count},
                    incoming.msg,
                )
            ran = self.run_cell(cell, incoming)
        finally:
            engine.abandon_execution()  # a no-op once the run started
        if ran is not None:  # else answered by _engine_stuck(); the kernel moved on
            self._answer_execute(incoming, cell, ran)

    def _parse_cell(self, incoming: Incoming) -> Cell:
        content = incoming.msg["content"]
        silent = bool(content.get("silent", False))
        store_history = bool(content.get("store_history", True)) and not silent
        if store_history:
            self.execution_count += 1
        options = (incoming.msg.get("metadata") or {}).get("llmspell") or {}
        script_path = options.get("script_path")
        override = options.get("model_override")  # the client's --model-override
        return Cell(
            code=str(content.get("code", "")),
            count=self.execution_count,
            silent=silent,
            store_history=store_history,
            options=options,
            script_path=script_path if isinstance(script_path, str) and script_path else None,
            args=[str(a) for a in options.get("args") or []],
            timeout=_positive(options.get("timeout")) or _positive(self.settings.script_timeout),
            model_override=override if isinstance(override, str) and override else None,
        )

    def _chunk_name(self, cell: Cell) -> str:
        """The chunk name a cell runs under (what errors, tracebacks and breakpoints show)."""
        options = cell.options
        if cell.script_path:
            return f"@{cell.script_path}"
        chunk_name = str(options.get("chunk_name") or f"=cell[{cell.count}]")
        debug = self.debug_frontend
        if debug is not None and not options.get("chunk_name") and not options.get("cell_names"):
            # JupyterLab maps its editors' breakpoints to cells by hashing their code; clients
            # that ask for `cell_names` (the REPL) keep `=cell[N]`, as in their error messages.
            return str(debug.chunk_name(cell.code) or chunk_name)
        if debug is not None and "[" not in chunk_name:
            # A client that names every snippet alike (`llmspell exec` sends `=exec`): while a
            # debugger is attached each execution gets its own chunk and source, so an editor
            # shows the right text and a breakpoint in one snippet never fires in another.
            return f"{chunk_name}[{cell.count}]"
        return chunk_name

    def run_cell(self, cell: Cell, incoming: Incoming) -> CellRun | None:
        """Run one cell in the engine (ipykernel's run_cell): chunk naming, the Pre/PostExecute
        hooks, the debugger before and after, the session record (an output listener) and the
        history. None when the kernel gave the run up (see _engine_stuck)."""
        assert self.engine is not None
        engine = self.engine
        engine.model_override = cell.model_override
        script_path = cell.script_path
        # Readable roots are the kernel's own: a remote client's path only names the chunk.
        script_file = script_path if self.transport.local_clients else None
        chunk_name = self._chunk_name(cell)
        if chunk_name.startswith("=") and chunk_name.endswith("]"):
            self._cell_sources[chunk_name] = cell.code
            if len(self._cell_sources) > CELL_SOURCES:
                del self._cell_sources[next(iter(self._cell_sources))]
        code = cell.code
        suppress = False
        expression_first = not script_path
        if expression_first and code.rstrip().endswith(";"):
            suppress = True
            code = code.rstrip()[:-1]
        self._current = incoming
        self._payloads = []
        self.executions_total += 1
        started = time.perf_counter()
        # One correlation id per request: its msg_id, so a client can match what it caused.
        begin_execution(
            engine, str(incoming.msg["header"].get("msg_id") or "") or os.urandom(16).hex()
        )
        tracer = engine.events.tracer  # OpenTelemetry, when OTEL_* variables ask for it
        if tracer is not None:
            tracer.execute_started(engine.correlation_id or "", cell.count)
        refused = None
        pre = engine.hooks.fire_kernel(
            "PreExecute",
            {
                "code": code,
                "chunk_name": chunk_name,
                "execution_count": cell.count,
                "silent": cell.silent,
            },
        )
        if pre is not None and pre.action in ("cancel", "skip"):
            refused = Outcome(
                status="error", ename="Cancelled", evalue=f"Cancelled by hook: {pre.value}"
            )
        elif pre is not None and isinstance(pre.data.get("code"), str):
            code = pre.data["code"]
        debug = self.debug_frontend
        if debug is not None:
            debug.before_cell()
        tracker = None
        if self._records and engine.data.settings.executions_per_minute:
            self.flush_records()  # the rate limit counts every earlier execution
        try:
            tracker = track_execution(self, cell.options, cell.code, script_path, cell.args)
            self.output_listeners.append(tracker.output)  # the record keeps what it printed
            outcome = (
                tracker.refused
                or refused
                or engine.execute(
                    code,
                    chunk_name=chunk_name,
                    script_path=script_file,
                    script_name=os.path.basename(script_path)
                    if script_path and not script_file
                    else None,
                    args=cell.args,
                    expression_first=expression_first,
                    timeout=cell.timeout,
                )
            )
        finally:
            if tracker is not None and tracker.output in self.output_listeners:
                self.output_listeners.remove(tracker.output)
            if not self._abandoned_thread():
                self._current = None
                if debug is not None:
                    debug.after_cell()
        if self._abandoned_thread():
            return None
        duration_ms = (time.perf_counter() - started) * 1000.0
        engine.hooks.fire_kernel(
            "PostExecute",
            {
                "code": code,
                "execution_count": cell.count,
                "status": outcome.status,
                "error": outcome.evalue or None,
                "duration_ms": duration_ms,
            },
        )
        engine.events.flush()
        engine.data.flush_usage()  # the execution's provider calls, in one transaction
        if tracer is not None:
            tracer.execute_finished(outcome.status, outcome.evalue or None)
        record = tracker.finish(outcome, duration_ms)
        if record is not None:
            with self._records_lock:
                self._records.append(record)
        if cell.store_history:
            self.history.append(cell.count, cell.code, outcome.text or None)
        return CellRun(outcome, duration_ms, suppress)

    def _answer_execute(self, incoming: Incoming, cell: Cell, ran: CellRun) -> None:
        """execute_result or error on IOPub, the execute_reply, and the aborted queue."""
        outcome, count, content = ran.outcome, cell.count, incoming.msg["content"]
        json_results = bool(cell.options.get("json_results"))
        reply_metadata: dict[str, Any] = {
            "llmspell": {"duration_ms": ran.duration_ms, "expression": outcome.expression}
        }
        if outcome.exit_code is not None:
            reply_metadata["llmspell"]["exit_code"] = outcome.exit_code
        if outcome.status == "ok" and outcome.count == 1 and not outcome.has_value:
            reply_metadata["llmspell"]["nil"] = True  # a REPL shows it, as Lua's own does
        if outcome.status == "ok":
            if outcome.has_value and not cell.silent and not ran.suppress:
                # several returned values: text/plain shows them all, the JSON is the first
                result_metadata = (
                    {"llmspell": {"count": outcome.count}} if outcome.count > 1 else {}
                )
                self.publish(
                    "execute_result",
                    {
                        "execution_count": count,
                        "data": _mime_bundle(outcome, json_results),
                        "metadata": result_metadata,
                    },
                    incoming.msg,
                )
            reply: dict[str, Any] = {
                "status": "ok",
                "execution_count": count,
                "payload": self._payloads,
                "user_expressions": self._user_expressions(
                    content.get("user_expressions") or {}, json_results
                ),
            }
        else:
            error = {
                "ename": outcome.ename,
                "evalue": outcome.evalue,
                "traceback": outcome.traceback or [outcome.evalue],
            }
            if not cell.silent:
                self.publish("error", error, incoming.msg)
            reply = {"status": "error", "execution_count": count, **error}
        # Requests already queued when the execution failed are taken *before* the error
        # reply goes out, so a request a client sends after seeing that reply is never aborted.
        aborting = (
            self._take_queued()
            if outcome.status != "ok" and content.get("stop_on_error", True) and not cell.silent
            else []
        )
        if self._records and self.transport.local_clients and not self._keep_records():
            self.flush_records()  # a client in this process may read the store at once
        self._reply(incoming, reply, reply_metadata)
        self._abort(aborting)

    def _keep_records(self) -> bool:
        """Whether to keep the records for now: requests are waiting and the batch has room."""
        return len(self._records) < RECORD_BATCH and self.transport.shell_waiting()

    def flush_records(self) -> None:
        """Write the session records kept so far. Execution records are kept (up to
        RECORD_BATCH) while requests keep coming, and written in one transaction once none came
        for RECORD_IDLE_SECONDS after the last reply and idle status, before the kernel handles
        any other kind of request, or stops (for clients in this process: before the reply,
        unless requests are waiting). So whatever a request reads of the store through the
        kernel includes every record; a reader of the store itself may see them a few
        milliseconds after the reply (by at most one batch)."""
        with self._records_lock:
            records, self._records = self._records, []
            if records:
                record_executions(records)

    def _take_queued(self) -> list[Incoming]:
        queued: list[Incoming] = []
        while (item := self.transport.recv_shell(0.0)) is not None:
            queued.append(item)
        return queued

    def _abort(self, queued: list[Incoming]) -> None:
        """Answer execute requests that were queued behind a failed execution `aborted`."""
        for item in queued:
            if item.msg["header"].get("msg_type") != "execute_request":
                self._dispatch(item, self.shell_handlers)
                continue
            self._publish_status("busy", item.msg)
            self._reply(item, {"status": "aborted", "execution_count": self.execution_count})
            self._publish_status("idle", item.msg)

    def _user_expressions(
        self, expressions: dict[str, str], json_results: bool = False
    ) -> dict[str, Any]:
        results: dict[str, Any] = {}
        assert self.engine is not None
        for name, expression in expressions.items():
            outcome = self.engine.evaluate(str(expression))
            if outcome.status == "ok":
                results[name] = {
                    "status": "ok",
                    "data": (
                        _mime_bundle(outcome, json_results)
                        if outcome.has_value
                        else {"text/plain": "nil"}
                    ),
                    "metadata": {},
                }
            else:
                results[name] = {
                    "status": "error",
                    "ename": outcome.ename,
                    "evalue": outcome.evalue,
                    "traceback": outcome.traceback,
                }
        return results

    def on_is_complete(self, incoming: Incoming) -> None:
        assert self.engine is not None
        self._reply(
            incoming,
            _introspect().is_complete(self.engine, str(incoming.msg["content"].get("code", ""))),
        )

    def on_complete(self, incoming: Incoming) -> None:
        assert self.engine is not None
        content = incoming.msg["content"]
        code = str(content.get("code", ""))
        cursor = content.get("cursor_pos")
        cursor = len(code) if cursor is None else int(cursor)
        self._reply(incoming, _introspect().complete(self.engine, code, cursor))

    def on_inspect(self, incoming: Incoming) -> None:
        assert self.engine is not None
        content = incoming.msg["content"]
        code = str(content.get("code", ""))
        cursor = content.get("cursor_pos")
        cursor = len(code) if cursor is None else int(cursor)
        self._reply(
            incoming,
            _introspect().inspect(
                self.engine, code, cursor, int(content.get("detail_level", 0) or 0)
            ),
        )

    def on_history(self, incoming: Incoming) -> None:
        history = self.history.query(incoming.msg["content"])
        self._reply(incoming, {"status": "ok", "history": history})

    def on_comm_info(self, incoming: Incoming) -> None:
        self._reply(incoming, {"status": "ok", "comms": {}})

    def on_comm_open(self, incoming: Incoming) -> None:
        content = incoming.msg["content"]
        log.info(
            "no comm target %r; closing comm %s", content.get("target_name"), content.get("comm_id")
        )
        self.publish("comm_close", {"comm_id": content.get("comm_id"), "data": {}}, incoming.msg)

    def on_comm_ignored(self, incoming: Incoming) -> None:
        log.debug("ignoring %s for an unknown comm", incoming.msg["header"].get("msg_type"))

    def status(self) -> dict[str, Any]:
        """llmspell's own status: identity, uptime, work done, memory (not a Jupyter message)."""
        engine = self.engine
        return {
            "status": "ok",
            "kernel_id": self.kernel_id,
            "started": self.started_at,
            "uptime_seconds": time.time() - self.started_at,
            "executions": self.executions_total,
            "execution_count": self.execution_count,
            "busy": self._current is not None,
            "idle_seconds": time.time() - self.last_activity,
            "clients": sum(
                1 for seen in list(self.clients_seen.values()) if time.time() - seen < 300
            ),
            "memory_bytes": engine.memory_bytes_estimate() if engine is not None else 0,
            "security_level": engine.level if engine is not None else "",
        }

    def on_data(self, incoming: Incoming) -> None:
        """State, session and backup operations on this kernel's store (data_handlers.py)."""
        self._reply(incoming, handle_data_request(self, incoming.msg["content"]))

    def on_status(self, incoming: Incoming) -> None:
        self._reply(incoming, self.status())

    def cell_source(self, chunk: str) -> str | None:
        """The code of a recent `=cell[N]` chunk (for the debugger's source view)."""
        return self._cell_sources.get(chunk)

    def on_debug_request(self, incoming: Incoming) -> None:
        """JupyterLab's debugger (DAP in debug_request); see llmspell_kernel/debug/jupyter.py."""
        if self.debug_frontend is None:
            from llmspell_kernel.debug.jupyter import JupyterDebugger

            self.debug_frontend = JupyterDebugger(self)
        self._reply(incoming, self.debug_frontend.handle(incoming.msg))

    def on_interrupt(self, incoming: Incoming) -> None:
        if self.engine is not None:
            self.engine.interrupt("interrupt")
        self._reply(incoming, {"status": "ok"})

    def interrupt(self) -> None:
        """Interrupt the running execution (SIGINT path)."""
        if self.engine is not None:
            self.engine.interrupt("interrupt")

    def on_shutdown(self, incoming: Incoming) -> None:
        restart = bool(incoming.msg["content"].get("restart", False))
        self._reply(incoming, {"status": "ok", "restart": restart})
        if restart and self.settings.restart_in_place:
            if self.engine is not None:
                self.engine.interrupt("restart")
            self.execution_count = 0
            self.history.reset_session()
            self._reset_requested.set()
            return
        self._publish_status("idle", incoming.msg)
        threading.Thread(target=self.stop, name="llmspell-shutdown", daemon=True).start()


def _introspect() -> Any:
    """Code intelligence is imported on first use (it is not needed to run a script)."""
    from llmspell_kernel.lua import introspect

    return introspect


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _mime_bundle(outcome: Outcome, json_results: bool) -> dict[str, Any]:
    """A result's MIME bundle: text/plain, plus the value as JSON when the client asked."""
    data: dict[str, Any] = {"text/plain": outcome.text}
    if (
        json_results
        and outcome.data
        and isinstance(outcome.value, dict | list | str | int | float | bool)
    ):
        data["application/json"] = outcome.value
    return data
