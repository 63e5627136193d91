"""OpenTelemetry traces of executions (the `llmspell[otel]` extra), built from the event stream.

Off unless the standard variables ask for it (`tracing_requested`): OTEL_TRACES_EXPORTER
(otlp, console or none) or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and not OTEL_SDK_DISABLED=true. When off, this module is
never imported. The exporter reads its own OTEL_EXPORTER_OTLP_* settings (headers, timeout,
protocol http/protobuf); OTEL_SERVICE_NAME names the service (default "llmspell").

Spans: `execute` (one per request; its correlation id) -> `workflow <name>` -> `step <name>`
(when the step event carries duration_ms) -> `agent <name>` -> `chat <provider>/<model>` (one
per provider call, with gen_ai.* attributes) and `tool <name>`; hooks are span events. Every
span carries `llmspell.correlation_id`, so a trace and `llmspell events --correlation` meet.
Spans are built off the script's path, from the events' own times (see `Tracing`).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from llmspell_kernel.events.model import Event
from llmspell_kernel.events.settings import tracing_requested

MAX_PENDING = 8192  # queued items that wake the worker at once
MAX_QUEUED = 200_000  # queued events beyond which events are dropped (a stuck exporter)
EXPORT_BATCH = 512  # spans per export call (the BatchSpanProcessor's default batch)
EXPORT_SECONDS = 1.0  # the longest a made span waits for its export (unless an execution ends)
DRAIN_SECONDS = 0.05  # how long the worker lets a batch fill before making its spans
# Events that open or close a span of their kind: event type -> (kind, phase). Workflow
# events make workflow and step spans, hook.executed span events; nothing else is traced.
_SPAN_PHASES = {
    f"{kind}.{phase}": (kind, phase)
    for kind in ("agent", "tool")
    for phase in ("started", "completed", "failed")
}
_NAME_ATTRIBUTE = {"agent": "llmspell.agent.name", "tool": "llmspell.tool.name"}


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


_new = object.__new__
_tuple_new = tuple.__new__
_span_bits = random.getrandbits


class _Open:
    """A span not yet ended: what its ReadableSpan will hold."""

    __slots__ = ("attributes", "context", "events", "name", "parent", "sampled", "start")

    def __init__(
        self,
        name: str,
        context: Any,
        parent: Any,
        start: int,
        attributes: dict[str, Any],
        sampled: bool,
    ) -> None:
        self.name = name
        self.context = context  # its SpanContext (sampled or not)
        self.sampled = sampled
        self.parent = parent  # the parent's SpanContext, None for a root
        self.start = start
        self.attributes = attributes
        self.events: list[Any] = []


class Tracing:
    """Turns events (and provider calls, and executions) into spans of one tracer provider.

    Cheap on the script's thread: `on_event` (a bus sink), `execute_started/finished` and
    `provider_call` only queue what happened, with its time; a worker thread of its own makes
    the spans, in order, with those explicit start and end times (~50 ms after the first of
    a batch; `flush` does it at once, `shutdown` before exporting). A span is built once, when
    it ends, as the SDK's `ReadableSpan`: no SDK `Span` with its lock, attribute validation and
    context per span. With an `exporter` (what `from_environment` makes) the spans of one
    execution go to it from this thread, which already batches (when the execution ends, and
    during a long one by EXPORT_BATCH or after EXPORT_SECONDS), instead of one by one
    through a BatchSpanProcessor (its queue and thread); without one they go to
    the provider's span processors (`on_end`). Sampling follows the provider's sampler at each
    root span; the spans under a root inherit its decision (the SDK default, parent-based)."""

    def __init__(self, provider: Any, exporter: Any = None) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import Event as SpanEvent
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
        from opentelemetry.trace.span import DEFAULT_TRACE_STATE

        self._trace = trace
        self.provider = provider
        self.tracer = provider.get_tracer("llmspell")
        self._processor = provider._active_span_processor  # the SDK's multi-processor
        self.exporter = exporter  # a SpanExporter fed by flush, or None: the processors
        self._finished: list[Any] = []  # (under the lock) spans made, not yet exported
        self._finished_since = 0.0  # when the oldest of them was made (monotonic)
        self.dropped = 0  # events not traced: the queue was full (see on_events)
        self._names: dict[tuple[str, Any], tuple[str, str, str]] = {}  # -> key, span name, name
        self._ids = provider.id_generator
        # The SDK's random generator: span ids drawn here and span contexts made as the tuples
        # SpanContext.__new__ makes (its validity check is true for such ids by construction).
        self._random_ids = type(self._ids) is RandomIdGenerator
        self._trace_state = DEFAULT_TRACE_STATE
        self._resource = provider.resource
        self._scope = InstrumentationScope("llmspell")
        self._readable = ReadableSpan
        self._span_event = SpanEvent
        self._context = SpanContext
        self._kind = SpanKind.INTERNAL
        self._status = Status
        self._error = StatusCode.ERROR
        self._unset = Status()
        self._sampled = TraceFlags(TraceFlags.SAMPLED)
        self._dropped = TraceFlags(TraceFlags.DEFAULT)
        self._lock = threading.Lock()
        # Events (on_event) and markers (execute_started/finished, provider_call), in order,
        # not yet spans; the worker thread turns them into spans (`flush`).
        self._pending: deque[Any] = deque()
        self._due = False  # the worker was asked to flush the current queue
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._closed = False
        self._stack: list[tuple[str, _Open]] = []  # (key, span): open spans, innermost last
        self._workflows: dict[str, _Open] = {}  # execution_id -> its span
        self.sync: Callable[[], None] | None = None  # the hub's dispatch (queued events first)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Tracing:
        """A tracer provider with the exporter the OTEL_* variables name."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        service = environ.get("OTEL_SERVICE_NAME") or "llmspell"
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        exporter_name = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
        exporter: Any
        if exporter_name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporter = ConsoleSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        return cls(provider, exporter)

    # -- spans -----------------------------------------------------------------------------------
    def _open(
        self,
        name: str,
        correlation_id: str,
        attributes: dict[str, Any],
        parent: _Open | None,
        start: int,
    ) -> _Open:
        """A new span under `parent` (None: a root, sampled by the provider's sampler)."""
        attributes["llmspell.correlation_id"] = correlation_id
        if parent is None:
            trace_id = self._ids.generate_trace_id()
            decision = self.provider.sampler.should_sample(
                None, trace_id, name, self._kind, attributes
            )
            sampled = decision.decision.is_sampled()
            flags = self._sampled if sampled else self._dropped
            parent_context = None
        else:
            parent_context = parent.context
            trace_id, flags = parent_context.trace_id, parent_context.trace_flags
            sampled = parent.sampled
        if self._random_ids:
            span_id = _span_bits(64) or self._ids.generate_span_id()  # 0 is the invalid id
            context = _tuple_new(
                self._context, (trace_id, span_id, False, flags, self._trace_state, True)
            )
        else:
            context = self._context(trace_id, self._ids.generate_span_id(), False, flags)
        return _Open(name, context, parent_context, start, attributes, sampled)

    def _emit(self, span: _Open, end: int, error: Any = None) -> None:
        """The ended span to the processors (they export sampled spans only): a ReadableSpan
        with the fields its constructor sets, assigned at once (the constructor's keyword
        handling was a fifth of a span's cost)."""
        if not span.sampled:
            return
        readable = _new(self._readable)
        readable.__dict__ = {
            "_name": span.name,
            "_context": span.context,
            "_kind": self._kind,
            "_instrumentation_info": None,
            "_instrumentation_scope": self._scope,
            "_parent": span.parent,
            "_start_time": span.start,
            "_end_time": end if end > span.start else span.start,
            "_attributes": span.attributes,
            "_events": tuple(span.events) if span.events else (),
            "_links": (),
            "_resource": self._resource,
            "_status": self._status(self._error, str(error)) if error else self._unset,
        }
        if self.exporter is not None:
            self._finished.append(readable)
        else:
            self._processor.on_end(readable)

    def _push(
        self, key: str, name: str, correlation_id: str, attributes: dict[str, Any], start: int
    ) -> _Open:
        span = self._open(name, correlation_id, attributes, self._top(), start)
        self._stack.append((key, span))
        return span

    def _top(self) -> _Open | None:
        return self._stack[-1][1] if self._stack else None

    def _end(self, key: str, end: int, error: Any = None) -> None:
        stack = self._stack
        if stack and stack[-1][0] == key:  # the usual case: the innermost span ends
            self._emit(stack.pop()[1], end, error)
            return
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == key:
                self._emit(stack.pop(index)[1], end, error)
                return

    def execute_started(self, correlation_id: str, execution_count: int) -> None:
        """The root span of one request (its msg_id is the correlation id)."""
        self._queue(("execute", correlation_id, execution_count, time.time_ns()))

    def execute_finished(self, status: str, error: str | None) -> None:
        """End the request's span and any span its execution left open (an interrupt). Call
        it after the hub's flush (the kernel does): the execution's events are queued by then."""
        self._queue(("finished", error if status != "ok" else None, time.time_ns()))
        self._wake.set()

    def provider_call(self, call: Any) -> None:
        """A finished provider call (usage/log.py ProviderCall) as a span of its own, under the
        span open when it was made (the hub's queued events are dispatched first, so its
        agent.started is ahead of it)."""
        sync = self.sync
        if sync is not None:
            sync()
        self._queue(("call", call))

    def on_event(self, event: Event) -> None:
        """The event sink: queues the event for the worker, which makes its spans."""
        self.on_events([event])

    def on_events(self, events: list[Event]) -> None:
        """The bus's batch sink (what the hub installs): one publish's events queued at once.
        While the worker is stuck (an exporter waiting on an endpoint that does not answer),
        at most MAX_QUEUED wait: later events are dropped (counted in `dropped`, logged once)
        and their spans not made; executions' starts and ends are always kept."""
        room = MAX_QUEUED - len(self._pending)
        if room < len(events):
            if not self.dropped:
                from llmspell_kernel.logs import get_logger

                get_logger("llmspell.tracing").warning(
                    "tracing is %d events behind (the exporter is slow?): dropping events",
                    MAX_QUEUED,
                )
            self.dropped += len(events) - max(0, room)
            events = events[: max(0, room)]
        self._pending.extend(events)
        self._queued()

    def _queue(self, item: Any) -> None:
        self._pending.append(item)
        self._queued()

    def _queued(self) -> None:
        if not self._due:  # the first of a batch: the worker drains it soon
            self._due = True
            if self._worker is None and not self._closed:
                self._worker = threading.Thread(
                    target=self._work, name="llmspell-tracing", daemon=True
                )
                self._worker.start()
            self._wake.set()
        elif len(self._pending) >= MAX_PENDING:
            self._wake.set()

    def _work(self) -> None:
        while not self._closed:
            # spans made but not exported yet (a long run, no execution ended): look again
            # within EXPORT_SECONDS
            self._wake.wait(EXPORT_SECONDS if self._finished else None)
            self._wake.clear()
            if self._closed:
                return
            if self._pending and len(self._pending) < MAX_PENDING:
                self._wake.wait(DRAIN_SECONDS)  # let the batch fill
                self._wake.clear()
            self._make(export=False)

    def flush(self) -> None:
        """Make the spans of everything queued now, on the calling thread (the worker does it
        ~50 ms after the first of a batch; shutdown and tests call it), and export them."""
        self._make(export=True)

    def _make(self, export: bool) -> None:
        """Make the queued items' spans; export them when `export`, when an execution ended,
        when EXPORT_BATCH are waiting or the oldest has waited EXPORT_SECONDS."""
        with self._lock:
            self._due = False  # before taking: a later item asks for the worker again
            pending = self._pending
            take = pending.popleft
            handle, marker = self._handle, self._marker
            ended = False
            while pending:
                item = take()
                if type(item) is tuple:
                    marker(item)
                    ended = ended or item[0] == "finished"
                else:
                    handle(item)
            finished = self._finished
            if not finished:
                return
            now = time.monotonic()
            if not self._finished_since:
                self._finished_since = now
            if (
                export
                or ended
                or len(finished) >= EXPORT_BATCH
                or now - self._finished_since >= EXPORT_SECONDS
            ):
                self._export()

    def _export(self) -> None:
        """(Under the lock.) This flush's spans to the exporter; a failure is logged."""
        finished, self._finished = self._finished, []
        self._finished_since = 0.0
        for index in range(0, len(finished), EXPORT_BATCH):
            try:
                self.exporter.export(finished[index : index + EXPORT_BATCH])
            except Exception as exc:
                from llmspell_kernel.logs import get_logger

                get_logger("llmspell.tracing").warning("could not export spans: %s", exc)

    def _marker(self, item: tuple[Any, ...]) -> None:
        """(Under the lock.) An execution's start or end, or a provider call."""
        if item[0] == "execute":
            _kind, correlation_id, count, at = item
            span = self._open(
                "execute",
                correlation_id,
                {"jupyter.msg_id": correlation_id, "jupyter.execution_count": count},
                None,
                at,
            )
            self._stack.append(("execute", span))
        elif item[0] == "finished":
            _kind, error, at = item
            while self._stack and self._stack[-1][0] != "execute":
                self._emit(self._stack.pop()[1], at)
            self._end("execute", at, error)
        else:
            call = item[1]
            start = _ns(call.at)
            span = self._open(
                f"chat {call.provider}/{call.model}",
                call.correlation_id,
                {
                    "gen_ai.system": call.provider,
                    "gen_ai.request.model": call.model,
                    "gen_ai.operation.name": call.operation,
                    "gen_ai.usage.input_tokens": call.input_tokens or 0,
                    "gen_ai.usage.output_tokens": call.output_tokens or 0,
                    "llmspell.agent.name": call.agent or "",
                },
                self._top(),
                start,
            )
            error = (call.error or call.status) if call.status != "ok" else None
            self._emit(span, start + int(call.latency_ms * 1_000_000), error)

    def _handle(self, event: Event) -> None:
        """(Under the lock.) started/completed pairs open and close spans."""
        event_type = event.event_type
        spanned = _SPAN_PHASES.get(event_type)
        if spanned is None:
            kind, _, phase = event_type.partition(".")
            if kind == "workflow":
                data = event.data
                if type(data) is not dict:
                    data = {}
                self._workflow(event, phase, str(data.get("name", "")), data, _ns(event.at))
            elif kind == "hook":
                self._hook(event)
            return
        kind, phase = spanned
        data = event.data
        name = data.get("name", "") if type(data) is dict else ""
        names = self._names.get((kind, name))
        if names is None:
            text = str(name)
            names = self._names[(kind, name)] = (f"{kind}:{text}", f"{kind} {text}", text)
        at = int(event.at * 1_000_000_000)
        stack = self._stack
        if phase == "started":
            attributes = {_NAME_ATTRIBUTE[kind]: names[2]}
            parent = stack[-1][1] if stack else None
            if parent is None or not self._random_ids:
                span = self._open(names[1], event.correlation_id, attributes, parent, at)
            else:  # _open's child case, inline: a span under the one open (SpanContext's
                # tuple is (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid))
                attributes["llmspell.correlation_id"] = event.correlation_id
                above = parent.context
                context = _tuple_new(
                    self._context,
                    (above[0], _span_bits(64) or 1, False, above[3], self._trace_state, True),
                )
                span = _Open(names[1], context, above, at, attributes, parent.sampled)
            stack.append((names[0], span))
        elif phase == "completed":
            if stack and stack[-1][0] == names[0]:  # _end's usual case, inline
                self._emit(stack.pop()[1], at)
            else:
                self._end(names[0], at)
        else:
            self._end(names[0], at, data.get("error") if type(data) is dict else None)

    def _hook(self, event: Event) -> None:
        """(Under the lock.) A hook run: an event of the innermost open span."""
        top = self._top()
        if top is None:
            return
        data = event.data
        if type(data) is not dict:
            data = {}
        top.events.append(
            self._span_event(
                f"hook {data.get('hook_point', '')}",
                {
                    "llmspell.hook.name": str(data.get("name", "")),
                    "llmspell.hook.action": str(data.get("action", "")),
                },
                _ns(event.at),
            )
        )

    def _workflow(self, event: Event, phase: str, name: str, data: dict[str, Any], at: int) -> None:
        run_id = str(data.get("execution_id", ""))
        if phase == "started":
            self._workflows[run_id] = self._push(
                f"workflow:{run_id}",
                f"workflow {name}",
                event.correlation_id,
                {"llmspell.workflow.name": name, "llmspell.workflow.execution_id": run_id},
                at,
            )
        elif phase in ("completed", "failed"):
            self._workflows.pop(run_id, None)
            self._end(f"workflow:{run_id}", at, data.get("error") if phase == "failed" else None)
        elif phase == "step.completed":
            parent = self._workflows.get(run_id) or self._top()
            step = str(data.get("step", data.get("step_name", "")))
            duration = data.get("duration_ms")
            if isinstance(duration, int | float) and parent is not None:
                span = self._open(
                    f"step {step}",
                    event.correlation_id,
                    {"llmspell.step.name": step},
                    parent,
                    at - int(duration * 1_000_000),
                )
                self._emit(span, at, data.get("error"))
            elif parent is not None:
                parent.events.append(
                    self._span_event(
                        f"step {step}",
                        {"llmspell.step.success": bool(data.get("success", True))},
                        at,
                    )
                )

    def shutdown(self) -> None:
        """Make the spans of what is queued, end the open ones and export (the kernel stops)."""
        self._closed = True
        self._wake.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=5)
        self.flush()
        with self._lock:
            now = time.time_ns()
            while self._stack:
                self._emit(self._stack.pop()[1], now)
            if self._finished:
                self._export()
        if self.exporter is not None:
            self.exporter.shutdown()
        self.provider.shutdown()


def new_tracing(environ: Mapping[str, str] = os.environ) -> Tracing | None:
    """Tracing from the environment, or None (with a warning) when the extra is missing."""
    try:
        return Tracing.from_environment(environ)
    except ImportError:
        from llmspell_kernel.logs import get_logger

        get_logger("llmspell.tracing").warning(
            "OTEL_* variables ask for tracing but OpenTelemetry is not installed: "
            "pip install 'llmspell[otel]'"
        )
        return None


__all__ = ["Tracing", "new_tracing", "tracing_requested"]
