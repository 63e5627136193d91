"""The debugger's C hook filter (llmspell_kernel/debug/_chook.c) and the Lua hook it stands in
front of stop at the same places: line breakpoints, conditions it evaluates itself and those it
hands on, hit counts, function breakpoints, coroutines, one line number in two sources. Plus:
the filter is used when it is built, and the Lua hook alone works when it is not (real Lua)."""

from __future__ import annotations

import importlib.util
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.debug import Debugger, session
from llmspell_kernel.lua.engine import EngineSettings, LuaEngine

SCRIPT = """\
local function f(x) return x + 1 end
local function never(y)
  return y - 1
end
local s = 0
for i = 1, 2000 do
  s = f(s)
end
local co = coroutine.create(function(n)
  for k = 1, n do
    coroutine.yield(k * 2)
  end
end)
local got = {}
while true do
  local ok, v = coroutine.resume(co, 3)
  if v == nil then break end
  got[#got + 1] = v
end
local x = 1
do
  local x = 5
  x = x + 0
end
return s + #got
"""
LOOP, NEVER, F, YIELD, SHADOW = 7, 3, 1, 11, 23

BUILT = importlib.util.find_spec("llmspell_kernel.debug._chook") is not None


@pytest.fixture(params=["c-filter", "lua-hook"])
def hook(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the C filter (skipped when it is not built) and with the Lua hook."""
    if request.param == "c-filter" and not BUILT:
        pytest.skip("the C hook filter is not built")
    monkeypatch.setattr(session, "USE_C_FILTER", request.param == "c-filter")
    return str(request.param)


class Run:
    """One debugged execution of a script file on a fresh engine, driven from the test."""

    def __init__(self, engine: LuaEngine | None = None) -> None:
        self.stops: queue.Queue[dict[str, Any]] = queue.Queue()
        self.engine = engine or LuaEngine()
        self.debugger = Debugger(
            lambda name, body: self.stops.put(body) if name == "stopped" else None
        )
        self.debugger.attach(self.engine)
        self.thread: threading.Thread | None = None
        self.outcome: list[Any] = []

    def start(self, path: Path, script: str) -> None:
        path.write_text(script)
        self.debugger.run_started()
        chunk = "@" + str(path)
        self.thread = threading.Thread(
            target=lambda: self.outcome.append(self.engine.execute(script, chunk_name=chunk)),
            daemon=True,
        )
        self.thread.start()

    def next_stop(self) -> dict[str, Any] | None:
        """The next stop's body, or None once the script has finished."""
        assert self.thread is not None
        while True:
            try:
                return self.stops.get(timeout=0.05)
            except queue.Empty:
                if not self.thread.is_alive():
                    return None

    def where(self, expression: str) -> tuple[str, int, str]:
        frames, _ = self.debugger.stack_trace()
        value = self.debugger.evaluate(expression, frames[0]["id"])["result"]
        return frames[0]["source"]["name"], int(frames[0]["line"]), value

    def collect(self, expression: str, limit: int = 50) -> list[tuple[str, str, int, str]]:
        """(reason, source name, line, value of `expression`) of every stop, resuming each."""
        seen = []
        while (stop := self.next_stop()) is not None:
            seen.append((stop["reason"], *self.where(expression)))
            if len(seen) >= limit:
                self.debugger.terminate()
                break
            self.debugger.resume("continue")
        assert self.thread is not None
        self.thread.join(30)
        return seen

    def finished_ok(self) -> bool:
        return bool(self.outcome) and self.outcome[0].status == "ok"


def debug(
    tmp_path: Path,
    breakpoints: list[dict[str, Any]],
    functions: list[str] | None = None,
    expression: str = "i",
) -> tuple[Run, list[tuple[str, str, int, str]]]:
    run = Run()
    path = tmp_path / "calls.lua"
    path.write_text(SCRIPT)
    run.debugger.set_breakpoints("@" + str(path), breakpoints)
    run.debugger.set_function_breakpoints(functions or [])
    run.start(path, SCRIPT)
    return run, run.collect(expression)


def test_the_c_filter_serves_the_session_when_it_is_built(hook: str, tmp_path: Path) -> None:
    run, stops = debug(tmp_path, [{"line": NEVER}])
    assert stops == [] and run.finished_ok()
    assert run.debugger.c_filter is (hook == "c-filter")


def test_a_condition_the_filter_evaluates_stops_once(hook: str, tmp_path: Path) -> None:
    run, stops = debug(tmp_path, [{"line": LOOP, "condition": "i == 1500"}])
    assert stops == [("breakpoint", "calls.lua", LOOP, "1500")]
    assert run.finished_ok()


def test_an_ordering_condition_on_a_local(hook: str, tmp_path: Path) -> None:
    _, stops = debug(tmp_path, [{"line": LOOP, "condition": "s >= 1998"}], expression="s")
    assert stops == [
        ("breakpoint", "calls.lua", LOOP, "1998"),
        ("breakpoint", "calls.lua", 7, "1999"),
    ]


def test_a_condition_the_filter_hands_on(hook: str, tmp_path: Path) -> None:
    _, stops = debug(tmp_path, [{"line": LOOP, "condition": "i % 500 == 0"}])
    assert [value for *_, value in stops] == ["500", "1000", "1500", "2000"]


def test_a_condition_comparing_values_lua_cannot_compare_stops_and_says_why(
    hook: str, tmp_path: Path
) -> None:
    run = Run()
    path = tmp_path / "calls.lua"
    path.write_text(SCRIPT)
    run.debugger.set_breakpoints("@" + str(path), [{"line": LOOP, "condition": 's < "x"'}])
    run.start(path, SCRIPT)
    stop = run.next_stop()
    assert stop is not None and stop["reason"] == "breakpoint"
    assert "condition failed" in stop["description"] and "compare" in stop["description"]
    assert run.where("i")[1:] == (LOOP, "1")
    run.debugger.terminate()
    assert run.thread is not None
    run.thread.join(30)


def test_hit_count_with_a_condition(hook: str, tmp_path: Path) -> None:
    _, stops = debug(tmp_path, [{"line": LOOP, "condition": "i > 100", "hitCondition": "1000"}])
    assert stops == [("breakpoint", "calls.lua", LOOP, "1000")]


def test_a_hit_count_alone(hook: str, tmp_path: Path) -> None:
    _, stops = debug(tmp_path, [{"line": LOOP, "hitCondition": "%700"}])
    assert [value for *_, value in stops] == ["700", "1400"]


def test_function_breakpoints_on_a_hot_function_and_one_never_called(
    hook: str, tmp_path: Path
) -> None:
    run, stops = debug(tmp_path, [], functions=["never"])
    assert stops == [] and run.finished_ok()
    run = Run()
    path = tmp_path / "calls.lua"
    run.debugger.set_function_breakpoints(["f"])
    run.start(path, SCRIPT)
    stop = run.next_stop()
    assert stop is not None and stop["reason"] == "function breakpoint"
    assert run.where("x") == ("calls.lua", F, "0")
    run.debugger.set_function_breakpoints([])
    run.debugger.resume("continue")
    assert run.collect("x") == [] and run.finished_ok()


def test_breakpoints_inside_a_coroutine(hook: str, tmp_path: Path) -> None:
    _, stops = debug(tmp_path, [{"line": YIELD}], expression="k")
    assert [(line, value) for _, _, line, value in stops] == [
        (YIELD, "1"),
        (YIELD, "2"),
        (YIELD, "3"),
    ]
    _, stops = debug(tmp_path, [{"line": YIELD, "condition": "k == 2"}], expression="k")
    assert [(line, value) for _, _, line, value in stops] == [(YIELD, "2")]


def test_a_condition_on_a_shadowed_local_reads_the_inner_one(hook: str, tmp_path: Path) -> None:
    _, stops = debug(tmp_path, [{"line": SHADOW, "condition": "x == 5"}], expression="x")
    assert stops == [("breakpoint", "calls.lua", SHADOW, "5")]
    _, stops = debug(tmp_path, [{"line": SHADOW, "condition": "x == 1"}], expression="x")
    assert stops == []


def test_a_false_condition_in_one_source_keeps_the_same_line_of_another(
    hook: str, tmp_path: Path
) -> None:
    run = Run()
    first, second = tmp_path / "first.lua", tmp_path / "second.lua"
    first.write_text(SCRIPT)
    other = "local t = 0\nfor i = 1, 3 do\n  t = t + i\nend\nlocal u = 0\nlocal v = 0\nu = t\nreturn u\n"
    second.write_text(other)
    run.debugger.set_breakpoints("@" + str(first), [{"line": LOOP, "condition": "i == -1"}])
    run.debugger.set_breakpoints("@" + str(second), [{"line": 7}])
    run.start(first, SCRIPT)
    assert run.collect("i") == [] and run.finished_ok()
    run.outcome.clear()
    run.start(second, other)
    assert run.collect("t") == [("breakpoint", "second.lua", 7, "6")]


def test_without_the_extension_the_lua_hook_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llmspell_kernel.debug._chook", None)  # import fails
    assert session.c_filter_path() is None
    run, stops = debug(tmp_path, [{"line": LOOP, "condition": "i == 2000"}])
    assert stops == [("breakpoint", "calls.lua", LOOP, "2000")] and run.finished_ok()
    assert run.debugger.c_filter is False


def test_the_environment_turns_the_filter_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSPELL_DEBUG_C_HOOK", "0")
    assert session.c_filter_path() is None
    monkeypatch.delenv("LLMSPELL_DEBUG_C_HOOK")
    assert (session.c_filter_path() is not None) is BUILT


def long_loop(tmp_path: Path) -> tuple[Run, str]:
    """A run of SCRIPT whose first loop does not end, with a false condition in it."""
    script = SCRIPT.replace("for i = 1, 2000 do", "for i = 1, 1e12 do")
    run = Run()
    path = tmp_path / "calls.lua"
    path.write_text(script)
    chunk = "@" + str(path)
    run.debugger.set_breakpoints(chunk, [{"line": LOOP, "condition": "i == -1"}])
    run.start(path, script)
    return run, chunk


def until_stopped(run: Run, ask: Callable[[], object]) -> dict[str, Any]:
    """Ask (`ask()`) until the running script stops (at most 30 s): the first ask may come
    before the script runs."""
    for _ in range(600):
        ask()
        try:
            return run.stops.get(timeout=0.05)
        except queue.Empty:
            continue
    raise AssertionError("the script never stopped")


def end(run: Run) -> None:
    run.debugger.terminate()
    assert run.thread is not None
    run.thread.join(30)
    assert not run.thread.is_alive() and run.outcome and run.outcome[0].status != "ok"


def test_pause_and_terminate_in_a_loop_with_a_false_condition(hook: str, tmp_path: Path) -> None:
    """The engine wakes the hook from another thread (ldblib's hook armed over the filter): the
    pause must arrive while every event is filtered, and the run must end on terminate."""
    run, _ = long_loop(tmp_path)
    assert until_stopped(run, run.debugger.pause)["reason"] == "pause"
    assert run.debugger.c_filter is (hook == "c-filter")  # answered while Lua is paused
    source, line, _ = run.where("s")
    assert source == "calls.lua" and line in (F, LOOP - 1, LOOP)
    end(run)


def test_a_breakpoint_changed_while_the_loop_runs_is_taken(hook: str, tmp_path: Path) -> None:
    run, chunk = long_loop(tmp_path)
    stop = until_stopped(
        run, lambda: run.debugger.set_breakpoints(chunk, [{"line": LOOP, "condition": "i > 5"}])
    )
    assert stop["reason"] == "breakpoint"
    _, line, value = run.where("i")
    assert line == LOOP and int(value) > 5
    end(run)


def test_under_the_smallest_memory_limit(hook: str, tmp_path: Path) -> None:
    """The filter's state (about 100 KB, allocated by Lua) fits beside a script at 1 MB."""
    run = Run(LuaEngine(EngineSettings(max_memory_bytes=1024 * 1024)))
    path = tmp_path / "calls.lua"
    path.write_text(SCRIPT)
    run.debugger.set_breakpoints("@" + str(path), [{"line": LOOP, "condition": "i == 7"}])
    run.start(path, SCRIPT)
    assert run.collect("i") == [("breakpoint", "calls.lua", LOOP, "7")] and run.finished_ok()
    assert run.debugger.c_filter is (hook == "c-filter")


def test_two_engines_debugged_at_once_keep_their_own_breakpoints(hook: str, tmp_path: Path) -> None:
    """Each Lua state has its own filter, also while two executor threads run at once."""
    script = SCRIPT.replace("for i = 1, 2000 do", "for i = 1, 300000 do")
    runs = []
    for name, stop_at in (("one", 200000), ("two", 250000)):
        run = Run()
        path = tmp_path / name / "calls.lua"
        path.parent.mkdir()
        path.write_text(script)
        condition = f"i == {stop_at}"
        run.debugger.set_breakpoints("@" + str(path), [{"line": LOOP, "condition": condition}])
        runs.append((run, path))
    for run, path in runs:
        run.start(path, script)
    first, second = (run.collect("i") for run, _ in runs)
    assert first == [("breakpoint", "calls.lua", LOOP, "200000")]
    assert second == [("breakpoint", "calls.lua", LOOP, "250000")]
    assert all(run.finished_ok() for run, _ in runs)
