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
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from llmspell_kernel.events.model import Event
from llmspell_kernel.events.settings import tracing_requested

MAX_PENDING = 8192  # queued items that wake the worker at once
DRAIN_SECONDS = 0.05  # how long the worker lets a batch fill before making its spans
_TRACED = frozenset(("agent", "tool", "workflow", "hook"))  # event kinds that make spans


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class _Open:
    """A span not yet ended: what its ReadableSpan will hold."""

    __slots__ = ("attributes", "context", "events", "name", "parent", "start")

    def __init__(
        self, name: str, context: Any, parent: Any, start: int, attributes: dict[str, Any]
    ) -> None:
        self.name = name
        self.context = context  # its SpanContext (sampled or not)
        self.parent = parent  # the parent's SpanContext, None for a root
        self.start = start
        self.attributes = attributes
        self.events: list[Any] = []


class Tracing:
    """Turns events (and provider calls, and executions) into spans of one tracer provider.

    Cheap on the script's thread: `on_event` (a bus sink), `execute_started/finished` and
    `provider_call` only queue what happened, with its time; a worker thread of its own makes
    the spans, in order, with those explicit start and end times (~50 ms after the first of
    a batch; `flush` does it at once, `shutdown` before exporting). A span is built once, when it ends, as the
    SDK's `ReadableSpan`, and handed to the provider's span processors (`on_end`, which is
    what exporters see): no SDK `Span` with its lock, attribute validation and context per
    span. Sampling follows the provider's sampler at each root span; the spans under a root
    inherit its decision (the SDK default, parent-based)."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import Event as SpanEvent
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        self._trace = trace
        self.provider = provider
        self.tracer = provider.get_tracer("llmspell")
        self._processor = provider._active_span_processor  # the SDK's multi-processor
        self._ids = provider.id_generator
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
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

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
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider)

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
            flags = self._sampled if decision.decision.is_sampled() else self._dropped
            parent_context = None
        else:
            parent_context = parent.context
            trace_id, flags = parent_context.trace_id, parent_context.trace_flags
        context = self._context(trace_id, self._ids.generate_span_id(), False, flags)
        return _Open(name, context, parent_context, start, attributes)

    def _emit(self, span: _Open, end: int, error: Any = None) -> None:
        """The ended span to the processors (they export sampled spans only)."""
        if not span.context.trace_flags.sampled:
            return
        status = self._status(self._error, str(error)) if error else self._unset
        self._processor.on_end(
            self._readable(
                span.name,
                context=span.context,
                parent=span.parent,
                resource=self.provider.resource,
                attributes=span.attributes,
                events=tuple(span.events),
                kind=self._kind,
                status=status,
                start_time=span.start,
                end_time=max(end, span.start),
                instrumentation_scope=self._scope,
            )
        )

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
        self._queue(event)

    def _queue(self, item: Any) -> None:
        pending = self._pending
        pending.append(item)
        if not self._due:  # the first of a batch: the worker drains it soon
            self._due = True
            if self._worker is None and not self._closed:
                self._worker = threading.Thread(
                    target=self._work, name="llmspell-tracing", daemon=True
                )
                self._worker.start()
            self._wake.set()
        elif len(pending) >= MAX_PENDING:
            self._wake.set()

    def _work(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            if len(self._pending) < MAX_PENDING:
                self._wake.wait(DRAIN_SECONDS)  # let the batch fill
                self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Make the spans of everything queued now, on the calling thread (the worker does it
        ~50 ms after the first of a batch; shutdown and tests call it)."""
        with self._lock:
            self._due = False  # before taking: a later item asks for the worker again
            take = self._pending.popleft
            while self._pending:
                item = take()
                if type(item) is tuple:
                    self._marker(item)
                else:
                    self._handle(item)

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
        kind, _, phase = event_type.partition(".")
        if kind not in _TRACED:
            return
        data = event.data
        if type(data) is not dict:
            data = {}
        name = str(data.get("name", ""))
        at = _ns(event.at)
        if kind == "tool" or kind == "agent":
            if phase == "started":
                self._push(
                    f"{kind}:{name}",
                    f"{kind} {name}",
                    event.correlation_id,
                    {f"llmspell.{kind}.name": name},
                    at,
                )
            elif phase == "completed":
                self._end(f"{kind}:{name}", at)
            elif phase == "failed":
                self._end(f"{kind}:{name}", at, data.get("error"))
        elif kind == "workflow":
            self._workflow(event, phase, name, data, at)
        else:
            top = self._top()
            if top is not None:
                top.events.append(
                    self._span_event(
                        f"hook {data.get('hook_point', '')}",
                        {
                            "llmspell.hook.name": name,
                            "llmspell.hook.action": str(data.get("action", "")),
                        },
                        at,
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
