"""OpenTelemetry traces (issue 15 item 5): spans from a real engine into the SDK's in-memory
exporter, and end to end from `llmspell exec` to an OTLP/HTTP endpoint served here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from llmspell_kernel.events.settings import tracing_requested  # noqa: E402
from llmspell_kernel.events.tracing import Tracing  # noqa: E402
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine  # noqa: E402
from llmspell_kernel.lua.globals.event import begin_execution  # noqa: E402
from llmspell_kernel.state.settings import DataSettings  # noqa: E402
from tests import scripted_provider  # noqa: E402
from tests.llm_server import Reply, ScriptedLLMServer, openai_text, openai_tool_call  # noqa: E402

server = scripted_provider.server  # the fixture


def traced_engine(
    exporter: InMemorySpanExporter, path: str = "processor"
) -> tuple[Tracing, LuaEngine]:
    """An engine whose events make spans: exported one by one to `exporter` through a span
    processor, or (path "exporter", as `Tracing.from_environment` makes it) in batches by
    tracing's own thread, its sink the hub's batch sink."""
    provider = TracerProvider()
    engine = LuaEngine(EngineSettings(data=DataSettings(backend="memory")))
    if path == "exporter":
        tracing = Tracing(provider, exporter)
        engine.events.tracer = tracing
        engine.events.add_batch_sink(tracing.on_events)
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracing = Tracing(provider)
        engine.events.tracer = tracing
        engine.events.add_sink(tracing.on_event)
    return tracing, engine


def test_the_standard_variables_turn_tracing_on_and_off() -> None:
    assert not tracing_requested({})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/v1/traces"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})


def test_spans_nest_execute_agent_provider_call_and_tool(server: ScriptedLLMServer) -> None:
    server.script(Reply(body=openai_tool_call("noop", {})), Reply(body=openai_text("done")))
    exporter = InMemorySpanExporter()
    tracing, engine = traced_engine(exporter)
    begin_execution(engine, "req-7")
    tracing.execute_started("req-7", 1)
    outcome = engine.execute(
        """
        Tool.register({name = "noop", description = "", fn = function() return "ok" end})
        Hook.register("BeforeToolExecution", function() end, {name = "audit"})
        local a = Agent.builder():name("helper"):model("openai/gpt-4o-mini"):allow_tool("noop"):build()
        return a:execute("go").text"""
    )
    tracing.execute_finished(outcome.status, None)
    tracing.flush()  # the spans are made by tracing's own thread; make them now
    assert outcome.value == "done"
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {
        "execute",
        "agent helper",
        "chat openai/gpt-4o-mini",
        "tool noop",
    }
    root = spans["execute"]
    assert root.parent is None and root.attributes["jupyter.msg_id"] == "req-7"
    assert spans["agent helper"].parent.span_id == root.context.span_id
    assert spans["tool noop"].parent.span_id == spans["agent helper"].context.span_id
    chat = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert len(chat) == 2  # the tool round and the answer
    assert all(s.parent.span_id == spans["agent helper"].context.span_id for s in chat)
    assert chat[0].attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert {s.context.trace_id for s in exporter.get_finished_spans()} == {root.context.trace_id}
    assert {s.attributes["llmspell.correlation_id"] for s in exporter.get_finished_spans()} == {
        "req-7"
    }
    assert [e.name for e in spans["tool noop"].events] == ["hook BeforeToolExecution"]


class _Collector:
    """An OTLP/HTTP endpoint: POST /v1/traces with an ExportTraceServiceRequest body."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.received = threading.Event()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                )

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans.extend(scope.spans)
                collector.path = self.path
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                collector.received.set()

        self.path = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_llmspell_exec_exports_spans_to_an_otlp_http_endpoint() -> None:
    collector = _Collector()
    try:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_SERVICE_NAME": "llmspell-test",
        }
        code = (
            'Tool.register({name = "noop", description = "", fn = function() return 1 end}) '
            'Tool.invoke("noop", {}) return 1'
        )
        done = subprocess.run(
            [sys.executable, "-m", "llmspell_cli", "exec", code],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert collector.received.wait(30), "no spans arrived"
    finally:
        collector.close()
    assert collector.path == "/v1/traces"
    names = {span.name: span for span in collector.spans}
    assert {"execute", "tool noop"} <= set(names)
    root, tool = names["execute"], names["tool noop"]
    assert tool.parent_span_id == root.span_id and tool.trace_id == root.trace_id

    def attribute(span: Any, key: str) -> str:
        return next(a.value.string_value for a in span.attributes if a.key == key)

    msg_id = attribute(root, "jupyter.msg_id")
    assert (
        attribute(tool, "llmspell.correlation_id")
        == msg_id
        == attribute(root, "llmspell.correlation_id")
    )


def test_tracing_off_imports_no_opentelemetry(tmp_path: Any) -> None:
    code = (
        "import sys\n"
        "from llmspell_cli.__main__ import main\n"
        "sys.argv = ['llmspell', 'exec', 'Tool.invoke(\"uuid_generator\", {}) return 1']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(str(any(m.startswith('opentelemetry') for m in sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.stderr.strip().endswith("False"), done.stderr


def test_a_workflow_span_holds_its_steps() -> None:
    exporter = InMemorySpanExporter()
    tracing, engine = traced_engine(exporter)
    outcome = engine.execute(
        """
        local w = Workflow.builder():name("flow"):sequential()
          :add_step({name = "enc", type = "tool", tool = "base64_encoder",
                     input = {operation = "encode", input = "x"}})
          :build()
        return w:execute({}).success"""
    )
    assert outcome.value is True, outcome.evalue
    tracing.flush()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    flow = spans["workflow flow"]
    assert flow.parent is None
    assert spans["step enc"].parent.span_id == flow.context.span_id
    assert spans["step enc"].end_time > spans["step enc"].start_time  # from its duration_ms
    assert spans["tool base64_encoder"].parent.span_id == flow.context.span_id


@pytest.mark.parametrize("path", ["processor", "exporter"])
def test_spans_are_made_off_the_script_thread_with_the_events_times(path: str) -> None:
    """The script's thread only queues what happened; tracing's own thread makes the spans
    (no flush asked for here), each with the times its events carry; on the exporter path
    they are exported together when the execution ends."""
    from llmspell_kernel.events.store import EventStore

    exported_on: list[threading.Thread] = []

    class Recording(InMemorySpanExporter):
        def export(self, spans: Any) -> Any:
            exported_on.append(threading.current_thread())
            return super().export(spans)

    exporter = Recording()
    tracing, engine = traced_engine(exporter, path)
    begin_execution(engine, "req-9")
    tracing.execute_started("req-9", 3)
    outcome = engine.execute(
        """
        for i = 1, 3 do
          Tool.invoke("base64_encoder", {operation = "encode", input = "x" .. i})
        end
        return true"""
    )
    assert outcome.value is True, outcome.evalue
    engine.events.flush()
    tracing.execute_finished(outcome.status, None)
    deadline = time.monotonic() + 30
    while len(exporter.get_finished_spans()) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["execute"] + ["tool base64_encoder"] * 3
    assert exported_on and threading.current_thread() not in exported_on
    root = next(s for s in spans if s.name == "execute")
    assert root.attributes["jupyter.execution_count"] == 3
    tools = [s for s in spans if s.name != "execute"]
    assert all(s.parent.span_id == root.context.span_id for s in tools)
    rows = EventStore(engine.data.database(), engine.data.tenant).query(correlation_id="req-9")
    started = [r["at"] for r in rows if r["event_type"] == "tool.started"]
    completed = [r["at"] for r in rows if r["event_type"] == "tool.completed"]
    assert [s.start_time for s in tools] == [int(at * 1e9) for at in started]
    assert [s.end_time for s in tools] == [int(at * 1e9) for at in completed]
    assert root.start_time <= tools[0].start_time and tools[-1].end_time <= root.end_time
    if path == "exporter":
        assert len(exported_on) == 1  # one export call for the execution's four spans
        assert json.loads(tools[0].to_json())["attributes"] == {
            "llmspell.tool.name": "base64_encoder",
            "llmspell.correlation_id": "req-9",
        }
        assert tools[0].status.is_unset and tools[0].resource is tracing.provider.resource
    tracing.shutdown()


def test_spans_of_a_long_execution_are_exported_before_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the exporter path, spans made while an execution still runs wait at most
    EXPORT_SECONDS for their export."""
    from llmspell_kernel.events import tracing as tracing_module

    monkeypatch.setattr(tracing_module, "EXPORT_SECONDS", 0.05)
    exporter = InMemorySpanExporter()
    tracing, engine = traced_engine(exporter, "exporter")
    tracing.execute_started("req-long", 1)
    outcome = engine.execute(
        'return Tool.invoke("base64_encoder", {operation = "encode", input = "x"}).success'
    )
    assert outcome.value is True, outcome.evalue
    engine.events.flush()
    deadline = time.monotonic() + 30
    while not exporter.get_finished_spans() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [s.name for s in exporter.get_finished_spans()] == ["tool base64_encoder"]
    tracing.execute_finished("ok", None)
    tracing.flush()
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        "execute",
        "tool base64_encoder",
    ]
    tracing.shutdown()


def test_a_stuck_exporter_bounds_what_waits_and_loses_no_execution_marker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exporter that does not return (an endpoint that does not answer) holds tracing's
    thread: at most MAX_QUEUED events wait, the rest are dropped and counted; once it
    returns, what waited becomes spans and the execution's root span still ends."""
    from llmspell_kernel.events import tracing as tracing_module

    monkeypatch.setattr(tracing_module, "MAX_QUEUED", 50)
    release = threading.Event()
    exporting = threading.Event()

    class Stuck(InMemorySpanExporter):
        def export(self, spans: Any) -> Any:
            exporting.set()
            release.wait(30)
            return super().export(spans)

    exporter = Stuck()
    tracing, engine = traced_engine(exporter, "exporter")
    tracing.execute_started("req-a", 1)
    run = 'Tool.invoke("base64_encoder", {operation = "encode", input = "x"})'
    assert engine.execute(run).status == "ok"
    engine.events.flush()
    tracing.execute_finished("ok", None)  # the worker makes and exports these: and sticks
    assert exporting.wait(30)
    tracing.execute_started("req-b", 2)
    outcome = engine.execute(f"for i = 1, 100 do {run} end")
    assert outcome.status == "ok", outcome.evalue
    engine.events.flush()
    tracing.execute_finished("ok", None)
    kept = 200 - tracing.dropped  # of the 200 tool events; the markers count in the 50
    assert 40 <= kept < 50
    release.set()
    tracing.flush()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans].count("execute") == 2
    # a started event whose completed was dropped: its span ends with the execution's
    assert [s.name for s in spans].count("tool base64_encoder") == 1 + (kept + 1) // 2
    tracing.shutdown()
