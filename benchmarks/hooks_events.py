"""Hooks and events (issue 15, Measure), each against a reference in the same run.

- Hook overhead: a Lua loop of N cheap tool calls (Tool.invoke("base64_encoder")) with 0, 1
  and 10 no-op BeforeToolExecution hooks, against the same loop with no hook and the system
  events off (the seam's fast path: one table read per point). With the events on, every call
  also publishes tool.started/completed (and hook.executed per hook run), stored in SQLite.
- Tracing: the same loop with the events on, OpenTelemetry off (nothing imported) against on
  (the SDK with a batch processor and an exporter that drops the spans, so the network is not
  measured): one span per tool call.
- Event latency: Event.publish then Event.receive in one script (the in-process round trip a
  script sees), and a receiver thread blocked in EventBus.receive woken by a publisher (the
  bus's publish->receive latency across threads).

    python benchmarks/hooks_events.py [--calls 1000] [--runs 7] [--events 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import median, percentile, print_table  # noqa: E402

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


def hook_rows(calls: int, runs: int) -> list[list[object]]:
    """(label, events, hooks) configurations, interleaved run by run."""
    loop = LOOP.replace("{n}", str(calls))
    configs = [
        ("no hook, events off (reference)", False, 0),
        ("0 hooks registered-then-removed, events off", False, -1),
        ("1 no-op hook, events off", False, 1),
        ("10 no-op hooks, events off", False, 10),
        ("no hook, events on (default)", True, 0),
        ("1 no-op hook, events on", True, 1),
    ]
    with tempfile.TemporaryDirectory() as directory:
        engines = []
        for label, events, hooks in configs:
            engine = engine_in(os.path.join(directory, str(len(engines))), events=events)
            os.makedirs(os.path.join(directory, str(len(engines))), exist_ok=True)
            if hooks == -1:  # the chain existed once: the check is still one table read
                timed(engine, 'Hook.register("BeforeToolExecution", function() end):unregister()')
            for _ in range(max(0, hooks)):
                timed(engine, 'Hook.register("BeforeToolExecution", function(ctx) end)')
            timed(engine, loop)  # warm: the tool module, the store
            engines.append((label, engine, []))
        for _ in range(runs):
            for _label, engine, samples in engines:
                engine.events.flush()  # type: ignore[attr-defined]
                samples.append(timed(engine, loop + "\n"))
                started = time.process_time()
                engine.events.flush()  # type: ignore[attr-defined]
                samples[-1] += time.process_time() - started  # what this loop left to write
    reference = median(engines[0][2])
    events_reference = median(engines[4][2])
    rows: list[list[object]] = []
    for index, (label, _engine, samples) in enumerate(engines):
        m = median(samples)
        base = events_reference if index == 5 else reference
        goal = " (goal < 5%)" if index in (2, 5) else ""
        rows.append(
            [
                label,
                f"{m * 1000:.1f}",
                f"{m / calls * 1e6:.1f}",
                "" if index in (0,) else f"{(m - base) / base * 100:+.1f}%{goal}",
            ]
        )
    return rows


def tracing_rows(calls: int, runs: int) -> list[list[object]]:
    """Tool calls with tracing off and on (events on in both: the spans follow them)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from llmspell_kernel.events.tracing import Tracing

    class Dropped(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    loop = LOOP.replace("{n}", str(calls))
    with tempfile.TemporaryDirectory() as directory:
        plain = engine_in(os.path.join(directory, "a"), events=True)
        traced = engine_in(os.path.join(directory, "b"), events=True)
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Dropped()))
        tracing = Tracing(provider)
        traced.events.tracer = tracing  # type: ignore[attr-defined]
        traced.events.add_sink(tracing.on_event)  # type: ignore[attr-defined]
        samples: dict[str, list[float]] = {"off": [], "on": []}
        for engine in (plain, traced):
            timed(engine, loop)
        for _ in range(runs):
            for name, engine in (("off", plain), ("on", traced)):
                engine.events.flush()  # type: ignore[attr-defined]
                started = time.process_time()
                timed(engine, loop)
                provider.force_flush()
                engine.events.flush()  # type: ignore[attr-defined]
                samples[name].append(time.process_time() - started)
        tracing.shutdown()
    off, on = median(samples["off"]), median(samples["on"])
    return [
        [
            "tracing off: OpenTelemetry not imported (reference)",
            f"{off * 1000:.1f}",
            f"{off / calls * 1e6:.1f}",
            "0 (goal 0)",
        ],
        [
            "tracing on: one span per tool call, batch export",
            f"{on * 1000:.1f}",
            f"{on / calls * 1e6:.1f}",
            f"{(on - off) / off * 100:+.1f}% (goal < 2%)",
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
        f"Hook overhead: a loop of {args.calls} Tool.invoke calls (median of {args.runs})",
        ["configuration", "CPU ms", "CPU us per call", "vs its reference"],
        hook_rows(args.calls, args.runs),
    )
    try:
        rows = tracing_rows(args.calls, args.runs)
    except ImportError:
        rows = [["tracing on", "-", "-", "pip install 'llmspell[otel]' to measure"]]
    print_table(
        f"Tracing: {args.calls} Tool.invoke calls with the events on (median of {args.runs})",
        ["configuration", "CPU ms", "CPU us per call", "vs off"],
        rows,
    )
    print_table(
        f"Event publish -> receive ({args.events} events)",
        ["path", "median us", "p95 us", ""],
        latency_rows(args.events, args.runs),
    )


if __name__ == "__main__":
    main()
