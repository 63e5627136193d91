"""Orchestration (issue 15, Measure): what the Workflow engine adds per step, and how much a
parallel workflow of agent steps overlaps its provider calls, each against a reference in the
same run.

- Engine overhead: a workflow of N cheap tool steps (base64_encoder) against the same N calls
  of Tool.invoke from a Lua loop, in CPU time of this process (the work is all on the script's
  thread; other processes' load does not count); the difference per step is the engine's
  (placeholders, step records, the State keys written in one transaction per run, the branch
  coroutine, the workflow.step.completed event when events are on).
- Parallel speed-up: 20 agent steps against a local provider that takes 200 ms per reply, with
  max_concurrency = 20, against one call and against the same 20 steps run sequentially.

    python benchmarks/orchestration.py [--steps 1000] [--runs 5] [--delay 0.2] [--agents 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import median, print_table  # noqa: E402

Row = list[object]


def engine_in(directory: str, *, events: bool = True) -> object:
    """An engine whose store is an SQLite file in `directory` (as a user's would be);
    `events=False` turns the system events off ([events] enabled = false)."""
    from llmspell_kernel.events.settings import EventSettings
    from llmspell_kernel.lua.engine import EngineSettings, LuaEngine
    from llmspell_kernel.state.settings import DataSettings

    data = DataSettings(path=os.path.join(directory, "state.db"))
    return LuaEngine(EngineSettings(data=data, events=EventSettings(enabled=events)))


def timed(engine: object, code: str, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds one execution of `code` takes (it must succeed); `clock` = time.process_time
    counts this process's CPU time, which other processes' load on the machine leaves alone."""
    started = clock()
    outcome = engine.execute(code)  # type: ignore[attr-defined]
    elapsed = clock() - started
    if outcome.status != "ok":
        raise SystemExit(f"benchmark code failed: {outcome.evalue}")
    return elapsed


# Lua templates: "{n}" is replaced by the count (str.format would trip on Lua's braces).
DIRECT = """
local params = {operation = "encode", input = "workflow benchmark"}
for i = 1, {n} do
  local r = Tool.invoke("base64_encoder", params)
end
"""

BUILD = """
local b = Workflow.builder():name("cheap"):sequential()
for i = 1, {n} do
  b:add_step({name = "s" .. i, type = "tool", tool = "base64_encoder",
              input = {operation = "encode", input = "workflow benchmark"}})
end
cheap = b:build()
"""


def lua(template: str, n: int) -> str:
    return template.replace("{n}", str(n))


def overhead_rows(steps: int, runs: int) -> list[Row]:
    """Median time of the workflow and of the direct calls, with the system events on (the
    default: tool.*, workflow.* and workflow.step.completed are published and stored) and off;
    their difference per step is the engine's overhead."""
    rows: list[Row] = []
    for events in (True, False):
        with tempfile.TemporaryDirectory() as directory:
            engine = engine_in(directory, events=events)
            timed(engine, lua(BUILD, steps))
            timed(engine, "cheap:execute({})")  # warm: the tool's module, the store
            timed(engine, lua(DIRECT, steps))
            direct, flow = [], []
            cpu = time.process_time
            for _ in range(runs):  # interleaved, so that the machine's load hits both alike
                direct.append(timed(engine, lua(DIRECT, steps), cpu))
                flow.append(timed(engine, "cheap:execute({})", cpu))
        d, f = median(direct), median(flow)
        label = "events on" if events else "events off"
        rows.append(
            [
                f"{steps} Tool.invoke calls, {label} (reference)",
                f"{d * 1000:.1f}",
                f"{d / steps * 1e6:.1f}",
                "",
            ]
        )
        rows.append(
            [
                f"workflow of {steps} tool steps, {label}",
                f"{f * 1000:.1f}",
                f"{f / steps * 1e6:.1f}",
                f"**{(f - d) / steps * 1e6:.1f}** (goal < 100)",
            ]
        )
    return rows


AGENTS = """
for i = 1, {n} do
  Agent.builder():name("w" .. i):model("openai/gpt-4o-mini"):build()
end
local function flow(kind, width)
  local b = Workflow.builder():name(kind):max_concurrency(width)
  if kind == "par" then b:parallel() else b:sequential() end
  for i = 1, {n} do
    b:add_step({name = "s" .. i, type = "agent", agent = "w" .. i, input = "part " .. i})
  end
  return b:build()
end
par, seq = flow("par", {n}), flow("seq", 1)
"""


def parallel_rows(agents: int, delay: float, runs: int) -> list[Row]:
    """One call, the parallel workflow and the sequential one against the delayed provider."""
    from llmspell_kernel import providers
    from llmspell_kernel.config import load_config
    from tests.llm_server import Reply, ScriptedLLMServer, openai_text

    server = ScriptedLLMServer()
    try:
        with tempfile.TemporaryDirectory() as directory:
            os.environ["OPENAI_API_KEY"] = "sk-bench"
            os.environ["LLMSPELL_OPENAI_ENDPOINT"] = server.url
            config = os.path.join(directory, "providers.toml")
            with open(config, "w", encoding="utf-8") as handle:
                handle.write(f"[providers.openai]\nmax_concurrency = {max(8, agents)}\n")
            providers.configure(load_config(config).config)
            engine = engine_in(directory)

            def replies(count: int) -> None:
                server.script(*[Reply(body=openai_text("ok"), delay=delay) for _ in range(count)])

            timed(engine, lua(AGENTS, agents))
            replies(agents + 1)
            timed(engine, 'Agent.get("w1"):execute("warm up")')
            timed(engine, "par:execute({})")  # warm: one connection per branch

            def sample(code: str, count: int) -> Callable[[], float]:
                def one() -> float:
                    replies(count)
                    return timed(engine, code)

                return one

            one = median([sample('Agent.get("w1"):execute("x")', 1)() for _ in range(runs)])
            par = median([sample("par:execute({})", agents)() for _ in range(runs)])
            seq = sample("seq:execute({})", agents)()
    finally:
        server.close()
    return [
        ["one agent call (reference)", f"{one * 1000:.0f}", "1.00x"],
        [
            f"parallel workflow, {agents} agent steps",
            f"{par * 1000:.0f}",
            f"**{par / one:.2f}x** (goal <= 2x)",
        ],
        [f"sequential workflow, {agents} agent steps", f"{seq * 1000:.0f}", f"{seq / one:.2f}x"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per provider reply")
    args = parser.parse_args()
    print_table(
        f"Workflow engine overhead per step (CPU time, median of {args.runs})",
        ["what", "CPU ms", "us per step", "engine overhead us/step"],
        overhead_rows(args.steps, args.runs),
    )
    print_table(
        f"Parallel agent steps, provider {args.delay * 1000:.0f} ms per call (median of {args.runs})",
        ["what", "ms", "vs one call"],
        parallel_rows(args.agents, args.delay, args.runs),
    )


if __name__ == "__main__":
    main()
