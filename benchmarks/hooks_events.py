"""Hooks and events (issue 15, Measure), each against a reference in the same run.

- Hook overhead, two workloads: a Lua loop of N cheap tool calls
  (Tool.invoke("base64_encoder")) and a sequential workflow of N tool steps of that tool (the
  issue's workload), with 0, 1 and 10 no-op BeforeToolExecution hooks, against the same
  workload with no hook, the system events off and on. With the events on (the default),
  every call also publishes tool.started/completed (and hook.executed per hook run; a
  workflow step also workflow.step.completed), stored in SQLite. Process CPU time (every
  thread: the events' writer too), the writing of what each run left pending included.
- Tracing: the loop with the events on, OpenTelemetry off (nothing imported) against on (the
  SDK with a batch processor and an exporter that counts and drops the spans, so the network
  is not measured), each run one request as the kernel makes it (the execute root span):
  one span per tool call. Process CPU and the script thread's CPU (the execution's path).
- Event latency: Event.publish then Event.receive in one script (the in-process round trip a
  script sees), and a receiver thread blocked in EventBus.receive woken by a publisher (the
  bus's publish->receive latency across threads).

    python benchmarks/hooks_events.py [--calls 1000] [--runs 7] [--events 5000]
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import median, percentile, print_table  # noqa: E402
from benchmarks.orchestration import BUILD as WORKFLOW  # noqa: E402 - N cheap tool steps

LOOP = """
local params = {operation = "encode", input = "hook benchmark"}
for i = 1, {n} do
  local r = Tool.invoke("base64_encoder", params)
end
"""


def engine_in(directory: str, *, events: bool) -> object:
    """An engine whose store is an SQLite file in `directory`, system events on or off."""
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
    from llmspell_kernel.state.settings import DataSettings

    data = DataSettings(path=os.path.join(directory, "state.db"))
    return LuaEngine(EngineSettings(data=data, events=EventSettings(enabled=events)))


def timed(engine: object, code: str) -> float:
    """CPU seconds of the process (every thread: the events' writer too) for one execution:
    on a shared, loaded machine wall time mostly measures the neighbours."""
    started = time.process_time()
    outcome = engine.execute(code)  # type: ignore[attr-defined]
    elapsed = time.process_time() - started
    if outcome.status != "ok":
        raise SystemExit(f"benchmark code failed: {outcome.evalue}")
    return elapsed


def timed_both(engine: object, code: str) -> tuple[float, float]:
    """(CPU seconds of the process, CPU seconds of the script's thread) for one execution and
    the writing of what it left pending (`events.flush()`, counted in the first only)."""
    engine.events.flush()  # type: ignore[attr-defined]
    started, thread_started = time.process_time(), time.thread_time()
    outcome = engine.execute(code)  # type: ignore[attr-defined]
    thread = time.thread_time() - thread_started
    engine.events.flush()  # type: ignore[attr-defined]
    elapsed = time.process_time() - started
    if outcome.status != "ok":
        raise SystemExit(f"benchmark code failed: {outcome.evalue}")
    return elapsed, thread


HOOK = 'Hook.register("BeforeToolExecution", function(ctx) end)'


def hook_rows(calls: int, runs: int) -> list[list[object]]:
    """(label, workload, events, hooks, reference index) configurations, interleaved run by
    run; each row is compared with the row it names."""
    loop = LOOP.replace("{n}", str(calls))
    configs: list[tuple[str, str, bool, int, int]] = [
        ("loop: no hook, events off (reference)", "loop", False, 0, -1),
        ("loop: 0 hooks registered-then-removed, events off", "loop", False, -1, 0),
        ("loop: 1 no-op hook, events off", "loop", False, 1, 0),
        ("loop: 10 no-op hooks, events off", "loop", False, 10, 0),
        ("loop: no hook, events on (default; reference)", "loop", True, 0, -1),
        ("loop: 1 no-op hook, events on", "loop", True, 1, 4),
        ("loop: 10 no-op hooks, events on", "loop", True, 10, 4),
        (f"workflow of {calls} tool steps: no hook, events off (reference)", "flow", False, 0, -1),
        ("workflow: 1 no-op hook, events off", "flow", False, 1, 7),
        ("workflow: no hook, events on (default; reference)", "flow", True, 0, -1),
        ("workflow: 1 no-op hook, events on", "flow", True, 1, 9),
        ("workflow: 10 no-op hooks, events on", "flow", True, 10, 9),
    ]
    goals = {2, 5, 8, 10}
    run_flow = "cheap:execute({})"
    with tempfile.TemporaryDirectory() as directory:
        engines = []
        for _label, workload, events, hooks, _ref in configs:
            path = os.path.join(directory, str(len(engines)))
            os.makedirs(path, exist_ok=True)
            engine = engine_in(path, events=events)
            if hooks == -1:  # the chain existed once: the check is still one table read
                timed(engine, 'Hook.register("BeforeToolExecution", function() end):unregister()')
            for _ in range(max(0, hooks)):
                timed(engine, HOOK)
            if workload == "flow":
                timed(engine, WORKFLOW.replace("{n}", str(calls)))
            code = loop if workload == "loop" else run_flow
            timed(engine, code)  # warm: the tool module, the store
            engines.append((engine, code, []))
        for _ in range(runs):
            for engine, code, samples in engines:
                samples.append(timed_both(engine, code)[0])
    medians = [median(samples) for _engine, _code, samples in engines]
    rows: list[list[object]] = []
    for index, (label, _workload, _events, _hooks, ref) in enumerate(configs):
        m = medians[index]
        versus = ""
        if ref >= 0:
            base = medians[ref]
            goal = " (goal < 5%)" if index in goals else ""
            versus = f"{(m - base) / base * 100:+.1f}%{goal}, {(m - base) / calls * 1e6:+.1f} us"
        rows.append([label, f"{m * 1000:.1f}", f"{m / calls * 1e6:.1f}", versus])
    return rows


def tracing_rows(calls: int, runs: int) -> list[list[object]]:
    """Tool calls with tracing off and on (events on in both: the spans follow them). Each
    execution is one request as the kernel runs it: tracing's execute_started before it,
    events.flush() and execute_finished after it (the root span every tool span is under)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from llmspell_kernel.events.tracing import Tracing

    class Dropped(SpanExporter):
        def __init__(self) -> None:
            self.spans = 0

        def export(self, spans: object) -> SpanExportResult:
            self.spans += len(spans)  # type: ignore[arg-type]
            return SpanExportResult.SUCCESS

    loop = LOOP.replace("{n}", str(calls))
    exporter = Dropped()
    with tempfile.TemporaryDirectory() as directory:
        plain = engine_in(os.path.join(directory, "a"), events=True)
        traced = engine_in(os.path.join(directory, "b"), events=True)
        provider = TracerProvider()
        hub = traced.events  # type: ignore[attr-defined]
        if "exporter" in inspect.signature(Tracing).parameters:
            # as Tracing.from_environment makes it: tracing's thread exports in batches
            tracing = Tracing(provider, exporter)
        else:  # (the tree before: through the SDK's BatchSpanProcessor)
            provider.add_span_processor(BatchSpanProcessor(exporter))
            tracing = Tracing(provider)
        hub.tracer = tracing
        if hasattr(hub, "add_batch_sink"):  # as the hub installs it
            hub.add_batch_sink(tracing.on_events)
        else:
            hub.add_sink(tracing.on_event)
        samples: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for engine in (plain, traced):
            timed(engine, loop)
        # (the tree before tracing had a thread of its own made the spans during the flush)
        drain = getattr(tracing, "flush", lambda: None)
        traced.events.flush()  # type: ignore[attr-defined]
        drain()
        provider.force_flush()
        exporter.spans = 0
        for count in range(runs):
            for name, engine in (("off", plain), ("on", traced)):
                engine.events.flush()  # type: ignore[attr-defined]
                started, thread_started = time.process_time(), time.thread_time()
                if name == "on":
                    tracing.execute_started(f"bench-{count}", count)
                outcome = engine.execute(loop)  # type: ignore[attr-defined]
                thread = time.thread_time() - thread_started
                engine.events.flush()  # type: ignore[attr-defined]
                if name == "on":
                    tracing.execute_finished(outcome.status, None)
                    drain()  # what tracing's thread has not made yet: counted here
                    provider.force_flush()
                samples[name].append((time.process_time() - started, thread))
        tracing.shutdown()
    if exporter.spans != runs * (calls + 1):
        raise SystemExit(f"expected {runs * (calls + 1)} spans exported, got {exporter.spans}")
    off = median([s[0] for s in samples["off"]])
    on = median([s[0] for s in samples["on"]])
    off_thread = median([s[1] for s in samples["off"]])
    on_thread = median([s[1] for s in samples["on"]])
    return [
        [
            "tracing off: OpenTelemetry not imported (reference)",
            f"{off * 1000:.1f}",
            f"{off / calls * 1e6:.1f}",
            "0 (goal 0)",
            f"{off_thread / calls * 1e6:.1f}",
            "",
        ],
        [
            "tracing on: one span per tool call under the execute span, batch export",
            f"{on * 1000:.1f}",
            f"{on / calls * 1e6:.1f}",
            f"{(on - off) / off * 100:+.1f}% (goal < 2%)",
            f"{on_thread / calls * 1e6:.1f}",
            f"{(on_thread - off_thread) / off_thread * 100:+.1f}%",
        ],
    ]


ROUND_TRIP = """
local sub = Event.subscribe("bench.*")
local t0 = os.clock()
for i = 1, {n} do
  Event.publish("bench.tick", {i = i})
  local ev = Event.receive(sub, 0)
end
Event.unsubscribe(sub)
"""


def latency_rows(count: int, runs: int) -> list[list[object]]:
    from llmspell_kernel.events.bus import EventBus
    from llmspell_kernel.events.model import Event

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as directory:
        engine = engine_in(directory, events=True)
        code = ROUND_TRIP.replace("{n}", str(count))
        timed(engine, code)
        samples = [timed(engine, code) / count for _ in range(runs)]
    rows.append(
        [
            "Lua: Event.publish + Event.receive(sub, 0), stored in SQLite",
            f"{median(samples) * 1e6:.1f}",
            f"{percentile(samples, 0.95) * 1e6:.1f}",
            "goal < 100",
        ]
    )
    bus = EventBus()
    sub = bus.subscribe("bench.*")
    latencies: list[float] = []
    ready = threading.Event()

    def receiver() -> None:
        ready.set()
        for _ in range(count):
            event = bus.receive(sub.id, 5.0)
            if event is not None:
                latencies.append(time.perf_counter() - event.data)

    thread = threading.Thread(target=receiver)
    thread.start()
    ready.wait()
    for _ in range(count):
        time.sleep(0.0002)  # let the receiver block again: each event wakes a waiter
        bus.publish(Event("bench.tick", time.perf_counter(), "c"))
    thread.join()
    rows.append(
        [
            "EventBus: publish on one thread -> blocked receive on another",
            f"{median(latencies) * 1e6:.1f}",
            f"{percentile(latencies, 0.95) * 1e6:.1f}",
            "goal < 100",
        ]
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    print_table(
        f"Hook overhead: {args.calls} Tool.invoke calls from a Lua loop, and a workflow of "
        f"{args.calls} tool steps (process CPU, median of {args.runs} interleaved runs)",
        ["configuration", "CPU ms", "CPU us per call or step", "vs its reference"],
        hook_rows(args.calls, args.runs),
    )
    try:
        rows = tracing_rows(args.calls, args.runs)
    except ImportError:
        rows = [["tracing on", "-", "-", "pip install 'llmspell[otel]' to measure", "-", "-"]]
    print_table(
        f"Tracing: {args.calls} Tool.invoke calls with the events on (median of {args.runs})",
        [
            "configuration",
            "process CPU ms",
            "process CPU us per call",
            "vs off",
            "script thread CPU us per call",
            "vs off",
        ],
        rows,
    )
    print_table(
        f"Event publish -> receive ({args.events} events)",
        ["path", "median us", "p95 us", ""],
        latency_rows(args.events, args.runs),
    )


if __name__ == "__main__":
    main()
