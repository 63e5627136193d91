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
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from llmspell_kernel.events.model import Event
from llmspell_kernel.events.settings import tracing_requested


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class Tracing:
    """Turns events (and provider calls, and executions) into spans of one tracer."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import trace

        self._trace = trace
        self.provider = provider
        self.tracer = provider.get_tracer("llmspell")
        self._lock = threading.Lock()
        self._stack: list[tuple[str, Any]] = []  # (key, span): open spans, innermost last
        self._workflows: dict[str, Any] = {}  # execution_id -> its span

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
    def _start(
        self, key: str, name: str, correlation_id: str, attributes: dict[str, Any], parent: Any
    ) -> Any:
        context = self._trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(
            name,
            context=context,
            attributes={"llmspell.correlation_id": correlation_id, **attributes},
        )
        self._stack.append((key, span))
        return span

    def _top(self) -> Any:
        return self._stack[-1][1] if self._stack else None

    def _end(self, key: str, error: Any = None) -> Any:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == key:
                span = self._stack.pop(index)[1]
                if error:
                    from opentelemetry.trace import Status, StatusCode

                    span.set_status(Status(StatusCode.ERROR, str(error)))
                span.end()
                return span
        return None

    def execute_started(self, correlation_id: str, execution_count: int) -> None:
        """The root span of one request (its msg_id is the correlation id)."""
        with self._lock:
            self._start(
                "execute",
                "execute",
                correlation_id,
                {"jupyter.msg_id": correlation_id, "jupyter.execution_count": execution_count},
                None,
            )

    def execute_finished(self, status: str, error: str | None) -> None:
        """End the request's span and any span its execution left open (an interrupt)."""
        with self._lock:
            while self._stack and self._stack[-1][0] != "execute":
                self._stack.pop()[1].end()
            self._end("execute", error if status != "ok" else None)

    def provider_call(self, call: Any) -> None:
        """A finished provider call (usage/log.py ProviderCall) as a span of its own."""
        with self._lock:
            parent = self._top()
            context = self._trace.set_span_in_context(parent) if parent is not None else None
            span = self.tracer.start_span(
                f"chat {call.provider}/{call.model}",
                context=context,
                start_time=_ns(call.at),
                attributes={
                    "llmspell.correlation_id": call.correlation_id,
                    "gen_ai.system": call.provider,
                    "gen_ai.request.model": call.model,
                    "gen_ai.operation.name": call.operation,
                    "gen_ai.usage.input_tokens": call.input_tokens or 0,
                    "gen_ai.usage.output_tokens": call.output_tokens or 0,
                    "llmspell.agent.name": call.agent or "",
                },
            )
            if call.status != "ok":
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, call.error or call.status))
            span.end(end_time=_ns(call.at + call.latency_ms / 1000.0))

    def on_event(self, event: Event) -> None:
        """The event sink: started/completed pairs open and close spans."""
        kind, _, phase = event.event_type.partition(".")
        data = event.data if isinstance(event.data, dict) else {}
        name = str(data.get("name", ""))
        with self._lock:
            if kind in ("agent", "tool") and phase in ("started", "completed", "failed"):
                key = f"{kind}:{name}"
                if phase == "started":
                    self._start(
                        key,
                        f"{kind} {name}",
                        event.correlation_id,
                        {f"llmspell.{kind}.name": name},
                        self._top(),
                    )
                else:
                    self._end(key, data.get("error") if phase == "failed" else None)
            elif kind == "workflow":
                self._workflow(event, phase, name, data)
            elif kind == "hook":
                top = self._top()
                if top is not None:
                    top.add_event(
                        f"hook {data.get('hook_point', '')}",
                        {
                            "llmspell.hook.name": name,
                            "llmspell.hook.action": str(data.get("action", "")),
                        },
                    )

    def _workflow(self, event: Event, phase: str, name: str, data: dict[str, Any]) -> None:
        run_id = str(data.get("execution_id", ""))
        if phase == "started":
            self._workflows[run_id] = self._start(
                f"workflow:{run_id}",
                f"workflow {name}",
                event.correlation_id,
                {"llmspell.workflow.name": name, "llmspell.workflow.execution_id": run_id},
                self._top(),
            )
        elif phase in ("completed", "failed"):
            self._workflows.pop(run_id, None)
            self._end(f"workflow:{run_id}", data.get("error") if phase == "failed" else None)
        elif phase == "step.completed":
            parent = self._workflows.get(run_id) or self._top()
            step = str(data.get("step", data.get("step_name", "")))
            duration = data.get("duration_ms")
            if isinstance(duration, int | float) and parent is not None:
                context = self._trace.set_span_in_context(parent)
                span = self.tracer.start_span(
                    f"step {step}",
                    context=context,
                    start_time=_ns(event.at - duration / 1000.0),
                    attributes={
                        "llmspell.correlation_id": event.correlation_id,
                        "llmspell.step.name": step,
                    },
                )
                if data.get("error"):
                    from opentelemetry.trace import Status, StatusCode

                    span.set_status(Status(StatusCode.ERROR, str(data["error"])))
                span.end(end_time=_ns(event.at))
            elif parent is not None:
                parent.add_event(
                    f"step {step}", {"llmspell.step.success": bool(data.get("success", True))}
                )

    def shutdown(self) -> None:
        """Export what is pending (the kernel stops)."""
        with self._lock:
            while self._stack:
                self._stack.pop()[1].end()
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
