"""KernelClient: the one client API used by the CLI, the REPL and the tests, whatever the transport."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator

from llmspell_kernel.errors import KernelConnectionError
from llmspell_kernel.protocol.message import END_OF_INPUT, Message, MessageFactory
from llmspell_kernel.records import Record
from llmspell_kernel.transport.base import CONTROL, IOPUB, SHELL, STDIN, ClientTransport

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


class Stream(Record):
    """Text a script printed (`stdout` or `stderr`)."""

    __slots__ = ("name", "text")
    name: str
    text: str


class Result(Record):
    """The value an execution returned (`execute_result`) or displayed (`display_data`)."""

    __slots__ = ("data", "execution_count", "display", "metadata")
    _defaults: ClassVar[dict[str, Any]] = {
        "execution_count": None,
        "display": False,
        "metadata": {},
    }
    data: dict[str, Any]
    execution_count: int | None
    display: bool
    metadata: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.data.get("text/plain", ""))


class ErrorOutput(Record):
    """An execution failed."""

    __slots__ = ("ename", "evalue", "traceback")
    _defaults: ClassVar[dict[str, Any]] = {"traceback": []}
    ename: str
    evalue: str
    traceback: list[str]


class DebugStop(Record):
    """The debugger stopped the execution (a `stopped` debug_event); resume it with a
    `debug_request` (continue, next, stepIn, stepOut or terminate)."""

    __slots__ = ("body",)
    body: dict[str, Any]


Output = Stream | Result | ErrorOutput | DebugStop
HEARTBEAT_AFTER = 1.0  # seconds of silence before a network client checks the kernel is alive
HEARTBEAT_MISSES = 2
# Answers input_request: (prompt, password) → one line without its newline; EOFError at end of
# input. A handler may also have `read(prompt, want) -> str` for io.read's raw standard input:
# want "L" (a line), "a" (everything) or N (up to N bytes); it returns the exact text read, which
# may be more or less than asked, and "" only at end of input (Kernel._read_input).
InputHandler = Callable[[str, bool], str]
_GLOBALS_EXPRESSION = (
    "(function() local out = {} for k, v in pairs(_G) do if type(k) == 'string' then "
    "local ok, s = pcall(tostring, v) out[#out + 1] = {k, type(v), ok and s or '?'} end end "
    "return JSON.stringify(out) end)()"
)
_NO_REQUEST = "llmspell-no-request"  # a msg_id no message answers (poll_events)
INPUT_ORDER_WAIT = 5.0  # seconds an input_request waits for the output printed before it


def exit_code(reply: dict[str, Any], metadata: dict[str, Any]) -> int:
    """The exit code an execute_reply means, as `llmspell run` exits: 0 when it succeeded, 130
    when interrupted, the code a script gave `os.exit`, else 1 (`metadata`: the reply
    metadata's `llmspell` table)."""
    if reply.get("status") == "ok":
        return 0
    if reply.get("ename") == "Interrupted":
        return 130
    code = metadata.get("exit_code")
    return 1 if code is None else int(code)


# Characters of each stream an ExecutionOutputs keeps (a bound on a document's memory).
CAPTURE_LIMIT = 16 * 1024 * 1024


class ExecutionOutputs:
    """What one execution produced, collected from its outputs for a summary document
    (`--output json|yaml`): stdout and stderr (CAPTURE_LIMIT characters each), the result, the
    error. `rewrite` is applied to the text of streams and errors (front ends name a script
    as the user did)."""

    def __init__(self, rewrite: Callable[[str], str] | None = None) -> None:
        self.rewrite = rewrite or str
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.result: Any = None
        self.result_text: str | None = None
        self.several = False  # the script returned more than one value
        self.error: dict[str, Any] | None = None
        self._captured: dict[int, int] = {}  # characters captured per stream list

    def capture(self, name: str, text: str) -> None:
        """Keep `text` of stream `name` unless that stream's capture is full."""
        parts = self.stdout if name == "stdout" else self.stderr
        used = self._captured.get(id(parts), 0)
        if used >= CAPTURE_LIMIT:
            return
        if used + len(text) > CAPTURE_LIMIT:
            text = text[: CAPTURE_LIMIT - used] + "\n[output truncated: capture limit reached]\n"
        self._captured[id(parts)] = used + len(text)
        parts.append(text)

    def add(self, output: Stream | Result | ErrorOutput | DebugStop) -> None:
        """Keep a result or an error (streams are the caller's: see `capture`)."""
        if isinstance(output, Result):
            self.result = output.data.get("application/json", output.text)
            self.result_text = output.text
            self.several = (output.metadata.get("llmspell") or {}).get("count", 1) > 1
        elif isinstance(output, ErrorOutput):
            self.error = {
                "ename": output.ename,
                "evalue": self.rewrite(output.evalue),
                "traceback": [self.rewrite(line) for line in output.traceback],
            }

    def summary(
        self, reply: dict[str, Any], metadata: dict[str, Any], duration_ms: float
    ) -> tuple[int, dict[str, Any]]:
        """(exit code, document) once the reply is in; an error reply without an error output
        becomes the error."""
        code = exit_code(reply, metadata)
        if self.error is None and reply.get("status", "error") == "error":
            self.error = {
                "ename": reply.get("ename", "Error"),
                "evalue": self.rewrite(str(reply.get("evalue", ""))),
                "traceback": [],
            }
        error = self.error["evalue"] if self.error and self.error["ename"] != "Exit" else None
        return code, {
            "status": "ok" if code == 0 else ("interrupted" if code == 130 else "error"),
            "stdout": "".join(self.stdout),
            "stderr": "".join(self.stderr),
            "result": self.result,
            "error": error,
            "execution_count": reply.get("execution_count"),
            "duration_ms": round(float(duration_ms), 3),
            "exit_code": code,
        }


def reply_pages(reply: dict[str, Any]) -> list[str]:
    """The text of the `page` payloads of an execute_reply (what `help()` asks to show)."""
    return [
        str((item.get("data") or {}).get("text/plain", ""))
        for item in reply.get("payload") or []
        if isinstance(item, dict) and item.get("source") == "page"
    ]


class Execution:
    """An execute request in flight. Iterate it to receive outputs as they arrive; afterwards
    `reply` holds the execute_reply content. A KeyboardInterrupt raised while iterating leaves
    the object usable: interrupt the kernel and keep iterating."""

    def __init__(self, client: KernelClient, msg: Message, timeout: float | None) -> None:
        self.client = client
        self.msg_id = msg["header"]["msg_id"]
        self.reply: dict[str, Any] | None = None
        self.reply_metadata: dict[str, Any] = {}
        self._idle = False
        self._running = False  # our execute_input arrived: the kernel's executor runs us
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._streams = 0  # stream messages of this execution received so far
        # An input_request that waits for stream text the kernel sent before it (see _handle).
        self._input: Message | None = None
        self._input_wait = 0.0

    @property
    def done(self) -> bool:
        return self.reply is not None and self._idle

    @property
    def status(self) -> str:
        return "pending" if self.reply is None else str(self.reply.get("status", "error"))

    def __iter__(self) -> Iterator[Output]:
        return self

    def __next__(self) -> Output:
        while not self.done:
            remaining = None if self._deadline is None else self._deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise KernelConnectionError("the kernel did not answer in time")
            if self._input is not None:
                remaining = self._answer_when_shown(remaining)
            item = self.client._next_for(self.msg_id, remaining)
            if item is None:
                continue
            output = self._handle(*item)
            if output is not None:
                return output
        self.client._untrack(self.msg_id)
        if self.client._debug_sink == self.msg_id:
            self.client._debug_sink = None
        raise StopIteration

    def wait(self) -> list[Output]:
        """Collect every output until the execution has finished."""
        return list(self)

    def _answer_when_shown(self, remaining: float | None) -> float | None:
        """Answer the held input_request once its earlier output is in (or waited for long
        enough); otherwise the time to wait for the next message."""
        assert self._input is not None
        expected = self._input["content"].get("llmspell_streams", 0)
        left = self._input_wait - time.monotonic()
        if self._streams >= expected or left <= 0:
            msg, self._input = self._input, None
            self.client._answer_input(msg)
            return remaining
        return left if remaining is None else min(left, remaining)

    def _handle(self, channel: str, msg: Message) -> Output | None:
        msg_type = msg["header"]["msg_type"]
        if channel == SHELL:
            self.reply = msg["content"]
            self.reply_metadata = msg.get("metadata") or {}
            return None
        if channel == STDIN and msg_type == "input_request":
            # The kernel publishes what the script printed before it asks, but IOPub and stdin
            # are separate channels: a relay (Enterprise Gateway's websocket) may deliver the
            # question first. `llmspell_streams` says how many stream messages came before it;
            # answer once they are shown (waiting at most INPUT_ORDER_WAIT seconds for them).
            expected = msg["content"].get("llmspell_streams")
            if isinstance(expected, int) and expected > self._streams:
                self._input, self._input_wait = msg, time.monotonic() + INPUT_ORDER_WAIT
                return None
            self.client._answer_input(msg)
            return None
        if channel != IOPUB:
            return None
        content = msg["content"]
        if msg_type == "status":
            if content.get("execution_state") == "idle":
                self._idle = True
            return None
        if msg_type == "execute_input":
            self._running = msg.get("parent_header", {}).get("msg_id") == self.msg_id
            return None
        if msg_type == "stream":
            self._streams += 1
            return Stream(content.get("name", "stdout"), content.get("text", ""))
        if msg_type == "execute_result":
            return Result(
                content.get("data", {}),
                content.get("execution_count"),
                metadata=content.get("metadata") or {},
            )
        if msg_type == "display_data":
            return Result(content.get("data", {}), None, display=True)
        if msg_type == "error":
            return ErrorOutput(
                content.get("ename", ""), content.get("evalue", ""), content.get("traceback", [])
            )
        if msg_type == "debug_event":
            body = content.get("body") or {}
            if not self._running:
                return None  # a stop of another client's run, while ours waits in the queue
            if content.get("event") == "stopped":
                return DebugStop(body)
            if content.get("event") == "output" and body.get("output"):
                name = "stderr" if body.get("category") == "stderr" else "stdout"
                return Stream(name, str(body["output"]))
        return None


class KernelClient:
    """Talks Jupyter 5.3 to one kernel over any ClientTransport."""

    def __init__(
        self,
        transport: ClientTransport,
        *,
        input_handler: InputHandler | None = None,
        on_foreign: Callable[[str, Message], None] | None = None,
        messages: MessageFactory | None = None,
    ) -> None:
        self.transport = transport
        # A network transport identifies the client by its session id: build the factory
        # first (`MessageFactory()`), open the transport with its id, then pass both here.
        self.messages = messages or MessageFactory()
        self.input_handler = input_handler
        self._on_foreign: Callable[[str, Message], None] | None = None
        self.on_foreign = on_foreign
        # Sent with every execute_request: the kernel routes each agent to this model.
        self.model_override: str | None = None
        self._buffers: dict[str, collections.deque[tuple[str, Message]]] = {}
        # The execution that receives debug_events (their parent is a debug_request).
        self._debug_sink: str | None = None

    @property
    def on_foreign(self) -> Callable[[str, Message], None] | None:
        """Called with IOPub traffic no request of this client waits for: other clients'
        output and the kernel's events (their messages reach an in-process client only while
        it has one)."""
        return self._on_foreign

    @on_foreign.setter
    def on_foreign(self, handler: Callable[[str, Message], None] | None) -> None:
        self._on_foreign = handler
        self.transport.wants_foreign = handler is not None

    @property
    def describe(self) -> str:
        """Where the kernel is: `embedded` or an address."""
        return self.transport.describe

    # -- low level ---------------------------------------------------------------------------------
    def send(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        *,
        track: bool = True,
    ) -> Message:
        """Send a request and return it (its header holds the msg_id)."""
        msg = self.messages.message(msg_type, content, metadata=metadata)
        if track:
            self._buffers[msg["header"]["msg_id"]] = collections.deque()
        self.transport.send(channel, msg)
        return msg

    def _next_for(self, msg_id: str, timeout: float | None) -> tuple[str, Message] | None:
        """The next message answering `msg_id`; messages for this client's other requests in
        flight are kept for them, anything else goes to `on_foreign`.

        Over a network transport, a silence of HEARTBEAT_AFTER seconds makes the client ping
        the kernel's heartbeat; HEARTBEAT_MISSES unanswered pings in a row mean the kernel is
        gone (killed, its machine down) and raise KernelConnectionError instead of waiting
        forever."""
        buffered = self._buffers.get(msg_id)
        if buffered:
            return buffered.popleft()
        deadline = None if timeout is None else time.monotonic() + timeout
        beat = getattr(self.transport, "heartbeat", None)
        misses = 0
        while True:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            wait = remaining
            if beat is not None:
                wait = HEARTBEAT_AFTER if remaining is None else min(remaining, HEARTBEAT_AFTER)
            item = self.transport.recv(wait)
            if item is None:
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                if beat is None:
                    continue
                if beat(HEARTBEAT_AFTER):
                    misses = 0
                    continue
                misses += 1
                if misses >= HEARTBEAT_MISSES:
                    raise KernelConnectionError(
                        f"the kernel at {self.describe} stopped answering (no heartbeat for "
                        f"{HEARTBEAT_MISSES * HEARTBEAT_AFTER * 2:g} s)",
                        hint="`llmspell kernel status` shows whether it is still running",
                    )
                continue
            misses = 0
            parent = item[1].get("parent_header", {}).get("msg_id")
            sink = self._debug_sink
            # Debug events belong to the execution being debugged, whatever their parent: a
            # `stopped` event can come in reply to the very `next` request still waiting here.
            if (
                sink is not None
                and item[0] == IOPUB
                and item[1]["header"].get("msg_type") == "debug_event"
                and sink in self._buffers
            ):
                if sink == msg_id:
                    return item
                self._buffers[sink].append(item)
                continue
            if parent == msg_id:
                return item
            if parent in self._buffers:
                self._buffers[parent].append(item)
            else:
                self._foreign(*item)
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def poll_events(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for kernel traffic no request of this client waits
        for (another client's output, debug events) and hand it to `on_foreign`; what answers
        a request in flight is kept for that request."""
        self._next_for(_NO_REQUEST, timeout)

    def _untrack(self, msg_id: str) -> None:
        self._buffers.pop(msg_id, None)

    def _foreign(self, channel: str, msg: Message) -> None:
        if self._on_foreign is not None and channel == IOPUB:
            self._on_foreign(channel, msg)

    def _answer_input(self, msg: Message) -> None:
        content = msg["content"]
        prompt, want = str(content.get("prompt", "")), content.get("llmspell_read")
        answer: dict[str, Any] = {"value": END_OF_INPUT}
        raw_read = getattr(self.input_handler, "read", None)
        if want is not None and raw_read is not None:
            answer = {"value": raw_read(prompt, want), "llmspell_raw": True}
        elif self.input_handler is not None:
            try:
                answer["value"] = self.input_handler(prompt, bool(content.get("password", False)))
            except EOFError:
                pass
        reply = self.messages.message("input_reply", answer, msg)
        self.transport.send(STDIN, reply)

    def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float | None = 10.0
    ) -> Message:
        """Send a request and wait for its reply (IOPub traffic meanwhile goes to `on_foreign`)."""
        msg = self.send(channel, msg_type, content)
        msg_id = msg["header"]["msg_id"]
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise KernelConnectionError(f"no reply to {msg_type} within {timeout:g} s")
                item = self._next_for(msg_id, remaining)
                if item is not None and item[0] in (SHELL, CONTROL):
                    return item[1]
                if item is not None:
                    # IOPub traffic parented by this request is not its reply: a `stopped`
                    # debug_event can overtake the reply to the `next`/`pause` that caused it,
                    # and belongs to the debug session (on_foreign), never to the request.
                    self._foreign(*item)
        finally:
            self._untrack(msg_id)

    # -- the Jupyter requests ------------------------------------------------------------------------
    def execute(
        self,
        code: str,
        *,
        silent: bool = False,
        store_history: bool = True,
        user_expressions: dict[str, str] | None = None,
        allow_stdin: bool | None = None,
        stop_on_error: bool = True,
        script_path: str | None = None,
        args: list[str] | None = None,
        timeout: float | None = None,
        chunk_name: str | None = None,
        wait_timeout: float | None = None,
        session_id: str | None = None,
        cell_names: bool = False,
        debug_events: bool = False,
    ) -> Execution:
        """Start executing `code`; iterate the returned Execution for its outputs.

        `session_id` names the session the kernel records the execution in (and makes current).
        `cell_names` keeps snippets named `cell[N]` while a debugger is attached (JupyterLab's
        hashed cell paths otherwise); with `debug_events` the execution also yields DebugStop
        for the debugger's stops and Stream for its log points.
        """
        # llmspell's front ends read a result's value from its JSON (others get text/plain only)
        options: dict[str, Any] = {"json_results": True}
        if cell_names:
            options["cell_names"] = True
        if session_id:
            options["session_id"] = session_id
        if script_path is not None:
            options["script_path"] = script_path
        if args:
            options["args"] = list(args)
        if timeout:
            options["timeout"] = timeout
        if chunk_name:
            options["chunk_name"] = chunk_name
        if self.model_override:
            options["model_override"] = self.model_override
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": user_expressions or {},
            "allow_stdin": self.input_handler is not None if allow_stdin is None else allow_stdin,
            "stop_on_error": stop_on_error,
        }
        msg = self.send(SHELL, "execute_request", content, metadata={"llmspell": options})
        if debug_events:
            self._debug_sink = msg["header"]["msg_id"]
        return Execution(self, msg, wait_timeout)

    def debug_request(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float | None = 30.0
    ) -> dict[str, Any]:
        """One DAP request through the kernel's `debug_request` (control); the DAP response."""
        content = {"type": "request", "seq": 0, "command": command, "arguments": arguments or {}}
        return self.request(CONTROL, "debug_request", content, timeout)["content"]

    def kernel_info(self, timeout: float | None = 10.0) -> dict[str, Any]:
        """kernel_info_reply content."""
        return self.request(SHELL, "kernel_info_request", {}, timeout)["content"]

    def complete(self, code: str, cursor_pos: int | None = None) -> dict[str, Any]:
        """complete_reply content."""
        pos = len(code) if cursor_pos is None else cursor_pos
        return self.request(SHELL, "complete_request", {"code": code, "cursor_pos": pos})["content"]

    def inspect(
        self, code: str, cursor_pos: int | None = None, detail_level: int = 0
    ) -> dict[str, Any]:
        """inspect_reply content."""
        pos = len(code) if cursor_pos is None else cursor_pos
        return self.request(
            SHELL,
            "inspect_request",
            {"code": code, "cursor_pos": pos, "detail_level": detail_level},
        )["content"]

    def is_complete(self, code: str) -> dict[str, Any]:
        """is_complete_reply content."""
        return self.request(SHELL, "is_complete_request", {"code": code})["content"]

    def pump_events(self, lock: threading.RLock | threading.Lock) -> EventPump:
        """A context manager: while it is entered, a thread delivers IOPub messages of other
        clients' executions to `on_foreign` (whenever `lock`, which the caller holds around
        its own requests, is free)."""
        return EventPump(self, lock)

    def kernel_status(self) -> dict[str, Any]:
        """llmspell_status_reply content: kernel id, uptime, clients, executions, memory."""
        return self.request(CONTROL, "llmspell_status_request", {})["content"]

    def builtin_globals(self) -> set[str]:
        """The globals the kernel's Lua state had before any code ran (every other one was
        made by a client), from the metadata of a complete_reply."""
        metadata = self.complete("", 0).get("metadata", {})
        builtins = metadata.get("llmspell_builtin_globals")
        if isinstance(builtins, list):
            return {str(name) for name in builtins}
        types = metadata.get("_jupyter_types_experimental", [])  # an older kernel: those now
        return {item["text"] for item in types if item.get("type") != "keyword"}

    def global_values(self) -> list[tuple[str, str, str]] | None:
        """Every string-named global of the kernel's Lua state as (name, type, tostring text),
        sorted; None when the kernel could not list them. Runs silently: no history, no count."""
        import json

        execution = self.execute(
            "", silent=True, store_history=False, user_expressions={"vars": _GLOBALS_EXPRESSION}
        )
        execution.wait()
        result = (execution.reply or {}).get("user_expressions", {}).get("vars", {})
        data = result.get("data", {}).get("application/json")
        if not isinstance(data, str):
            return None
        return sorted((str(name), str(kind), str(text)) for name, kind, text in json.loads(data))

    def history(self, **content: Any) -> dict[str, Any]:
        """history_reply content (`hist_access_type` tail/range/search)."""
        content.setdefault("hist_access_type", "tail")
        content.setdefault("output", False)
        content.setdefault("raw", True)
        return self.request(SHELL, "history_request", content)["content"]

    def interrupt(self, timeout: float = 5.0) -> None:
        """Ask the kernel to stop the running execution (control channel: never queued)."""
        self.request(CONTROL, "interrupt_request", {}, timeout)

    def shutdown(self, restart: bool = False, timeout: float = 5.0) -> dict[str, Any]:
        """Ask the kernel to shut down (or restart)."""
        return self.request(CONTROL, "shutdown_request", {"restart": restart}, timeout)["content"]

    def close(self) -> None:
        """Disconnect from the kernel (an embedded kernel keeps running until shut down)."""
        self.transport.close()


class EventPump:
    """While entered, polls a client's events in a thread (see KernelClient.pump_events)."""

    def __init__(self, client: KernelClient, lock: threading.RLock | threading.Lock) -> None:
        self.client = client
        self.lock = lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EventPump:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="llmspell-iopub-pump", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.lock.acquire(timeout=0.05):
                continue
            try:
                self.client.poll_events(0.05)  # other clients' output goes to on_foreign
            except Exception:  # the kernel went away: the next request says so
                self._stop.wait(0.05)
            finally:
                self.lock.release()
