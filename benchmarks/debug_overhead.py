"""What debugging costs: a compute-heavy Lua script (loops and calls, about 1 s bare) run by bare
lupa, by `llmspell run`, and under the debugger with no breakpoint, with a breakpoint in a
function that is never called, and with a false-condition breakpoint in the hot function.
Plus the median response time of `next` (resume → stopped) and of `variables` on a 1,000-entry
table. Goals: no breakpoints <= run + 10 %, breakpoint elsewhere <= 2x, false condition in the
hot path <= 15x; next <= 5 ms, variables <= 20 ms.

Then the call-heavy case (issue 12, item 11): a loop of plain Lua function calls, each case
compared with the same loop on a LuaEngine without a debugger in the same process run. Goals:
breakpoint elsewhere <= 3x, function breakpoint <= 5x, false condition in the loop <= 15x. The
debugger uses its C hook filter (llmspell_kernel/debug/_chook.c) when it is built; `--lua-hook`
measures the Lua hook alone (the path used without the extension)."""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import llmspell_argv, median, print_table, time_command

SCRIPT = """\
local function hot(x)
  local y = x * 2
  if y % 3 == 0 then y = y + 1 end
  return y
end
local function never(x)
  return x + 1
end
local s = 0
for i = 1, {n} do
  s = s + hot(i)
  for j = 1, 40 do s = s + j % 7 end
end
return s
"""
HOT_LINE, NEVER_LINE = 2, 7
CALLS = """\
local function f(x) return x + 1 end
local function never(y)
  return y - 1
end
local s = 0
for i = 1, {n} do
  s = f(s)
end
local t = 0
for i = 1, {n} do
  t = t + i
end
return s + t
"""
CALLS_NEVER_LINE, CALLS_LOOP_LINE = 3, 7
CALLS_ONLY = CALLS.split("local t = 0")[0] + "return s\n"
PLAIN_ONLY = (
    CALLS.split("local s = 0")[0] + "local t = 0" + CALLS.split("local t = 0")[1]
).replace("return s + t", "return t")
STEPPER = """\
local big = {}
for i = 1, 1000 do big[i] = { id = i, name = "item" .. i } end
local acc = 0
for i = 1, 1000000 do
  acc = acc + i
end
"""


def run_in_engine(
    code: str,
    path: str,
    breakpoints: list[dict[str, Any]] | None,
    functions: list[str] | None = None,
) -> float:
    """CPU seconds to run `code` on a LuaEngine, with a Debugger attached unless `breakpoints`
    is None (`functions`: function breakpoints)."""
    from llmspell_kernel.debug import Debugger
    from llmspell_kernel.lua.engine import LuaEngine

    engine = LuaEngine()
    if breakpoints is not None:
        debugger = Debugger(lambda _name, _body: None)
        debugger.attach(engine)
        debugger.set_breakpoints("@" + path, breakpoints)
        debugger.set_function_breakpoints(functions or [])
        debugger.run_started()
    started = time.process_time()
    outcome = engine.execute(code, chunk_name="@" + path, script_path=path)
    elapsed = time.process_time() - started
    assert outcome.status == "ok", outcome.evalue
    return elapsed


def hook_kind() -> str:
    """Which hook the debugger sessions of this run use."""
    from llmspell_kernel.debug import session

    return "C hook filter" if session.c_filter_path() else "Lua hook"


def call_heavy(workdir: Path, n: int, runs: int) -> None:
    """The call-heavy table: each case against the no-debugger run of the same code."""
    cases: list[tuple[str, str, list[dict[str, Any]] | None, list[str], float | None]] = [
        ("no debugger", CALLS_ONLY, None, [], None),
        ("debugger, no breakpoints", CALLS_ONLY, [], [], 1.10),
        ("breakpoint in a never-called function", CALLS_ONLY, [{"line": CALLS_NEVER_LINE}], [], 3),
        ("function breakpoint (never called)", CALLS_ONLY, [], ["never"], 5),
        (
            "false condition in the loop",
            CALLS_ONLY,
            [{"line": CALLS_LOOP_LINE, "condition": "s < 0"}],
            [],
            15,
        ),
        ("loop without calls: no debugger", PLAIN_ONLY, None, [], None),
        (
            "loop without calls: breakpoint elsewhere",
            PLAIN_ONLY,
            [{"line": CALLS_NEVER_LINE}],
            [],
            1.10,
        ),
    ]
    # Interleaved rounds (every case once per round, in order), each case's ratio taken against
    # the no-debugger run of the same round: the machine's load changes less within a round.
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for index, (_label, template, bps, functions, _goal) in enumerate(cases):
            code = template.replace("{n}", str(n))
            path = workdir / ("calls.lua" if template is CALLS_ONLY else "plain.lua")
            path.write_text(code)
            times[index].append(run_in_engine(code, str(path), bps, functions))
    rows = []
    base: dict[str, list[float]] = {}
    for index, (label, template, bps, _functions, goal) in enumerate(cases):
        if bps is None:
            base[template] = times[index]
        ratio = median([t / b for t, b in zip(times[index], base[template], strict=True)])
        verdict = "" if goal is None else f"<= {goal:g}x: " + ("ok" if ratio <= goal else "MISSED")
        rows.append([label, f"{median(times[index]) * 1000:.0f}", f"{ratio:.2f}x", verdict])
    print_table(
        f"Call-heavy code, {n:,} calls, {hook_kind()} (CPU ms, median of {runs} interleaved rounds; ratio: "
        "median of each round's ratio to its no-debugger run)",
        ["case", "ms", "vs no debugger", "goal"],
        rows,
    )


def responsiveness(path: Path, samples: int) -> tuple[float, float]:
    """Median ms of next (resume → stopped) and of variables on a 1,000-entry table."""
    from llmspell_kernel.debug import Debugger
    from llmspell_kernel.lua.engine import LuaEngine

    stops: queue.Queue[dict[str, Any]] = queue.Queue()
    debugger = Debugger(lambda name, body: stops.put(body) if name == "stopped" else None)
    engine = LuaEngine()
    debugger.attach(engine)
    path.write_text(STEPPER)
    chunk = "@" + str(path)
    debugger.set_breakpoints(chunk, [{"line": 5}])
    debugger.run_started()
    thread = threading.Thread(
        target=engine.execute, args=(STEPPER,), kwargs={"chunk_name": chunk}, daemon=True
    )
    thread.start()
    stops.get(timeout=10)
    debugger.set_breakpoints(chunk, [])
    big = next(v for v in debugger.variables(5) if v["name"] == "big")["variablesReference"]
    steps, listings = [], []
    for _ in range(samples):
        started = time.perf_counter()
        debugger.resume("next")
        stops.get(timeout=10)
        steps.append(time.perf_counter() - started)
    for _ in range(max(5, samples // 10)):
        started = time.perf_counter()
        assert len(debugger.variables(big)) == 1000
        listings.append(time.perf_counter() - started)
    debugger.terminate()
    thread.join(10)
    return median(steps) * 1000, median(listings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=0, help="Loop count (default: calibrated ~1 s).")
    parser.add_argument("--calls", type=int, default=2_000_000, help="Calls in the call loop.")
    parser.add_argument("--calls-only", action="store_true", help="Only the call-heavy table.")
    parser.add_argument(
        "--lua-hook", action="store_true", help="Debug with the Lua hook alone (no C filter)."
    )
    options = parser.parse_args()
    if options.lua_hook:
        from llmspell_kernel.debug import session

        session.USE_C_FILTER = False
    if options.calls_only:
        call_heavy(Path(tempfile.mkdtemp(prefix="llmspell-bench-")), options.calls, options.runs)
        return
    import lupa.lua54 as lua54

    n = options.n or 1
    if not options.n:
        probe = lua54.LuaRuntime()
        n = 20000
        while True:
            started = time.perf_counter()
            probe.execute(SCRIPT.replace("{n}", str(n)))
            if time.perf_counter() - started > 0.25:
                break
            n *= 2
        n = int(n / (time.perf_counter() - started) * 1.0 * 0.25 / 0.25)
    code = SCRIPT.replace("{n}", str(n))
    workdir = Path(tempfile.mkdtemp(prefix="llmspell-bench-"))
    path = workdir / "bench.lua"
    path.write_text(code)
    (workdir / "empty.lua").write_text("return 1\n")

    runtime = lua54.LuaRuntime()
    bare = []
    for _ in range(options.runs):
        started = time.process_time()
        runtime.execute(code)
        bare.append(time.process_time() - started)
    bare_s = median(bare)
    cli = llmspell_argv()
    startup = median(time_command([*cli, "run", str(workdir / "empty.lua")], options.runs))
    run_s = median(time_command([*cli, "run", str(path)], options.runs)) - startup
    engine_s = median([run_in_engine(code, str(path), None) for _ in range(options.runs)])
    cases = [
        ("debugger, no breakpoints", [], engine_s * 1.10, "<= engine +10%"),
        ("breakpoint in a never-called function", [{"line": NEVER_LINE}], bare_s * 2, "<= 2x"),
        (
            "false-condition breakpoint in the hot function",
            [{"line": HOT_LINE, "condition": "x < 0"}],
            bare_s * 15,
            "<= 15x",
        ),
    ]
    rows = [
        ["bare lupa (in process)", f"{bare_s * 1000:.0f}", "1.00x", ""],
        ["llmspell run (minus its startup)", f"{run_s * 1000:.0f}", f"{run_s / bare_s:.2f}x", ""],
        ["LuaEngine, no debugger", f"{engine_s * 1000:.0f}", f"{engine_s / bare_s:.2f}x", ""],
    ]
    for label, bps, limit, goal in cases:
        seconds = median([run_in_engine(code, str(path), bps) for _ in range(options.runs)])
        verdict = "ok" if seconds <= limit else "MISSED"
        rows.append(
            [label, f"{seconds * 1000:.0f}", f"{seconds / bare_s:.2f}x", f"{goal}: {verdict}"]
        )
    next_ms, variables_ms = responsiveness(workdir / "stepper.lua", 200)
    print_table(
        f"Debugger overhead, {n:,} iterations (median of {options.runs})",
        ["runner", "ms", "vs bare lupa", "goal"],
        rows,
    )
    print_table(
        "Debugger response times (median, engine API, no transport)",
        ["request", "ms", "goal"],
        [
            [
                "next (resume → stopped)",
                f"{next_ms:.2f}",
                "<= 5 ms: " + ("ok" if next_ms <= 5 else "MISSED"),
            ],
            [
                "variables, 1,000-entry table",
                f"{variables_ms:.2f}",
                "<= 20 ms: " + ("ok" if variables_ms <= 20 else "MISSED"),
            ],
        ],
    )
    call_heavy(workdir, options.calls, options.runs)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
