"""Breakpoint conditions evaluated in the right frame: locals, shadowed locals, upvalues of
different closures, globals, errors and statement-form conditions (engine API, real Lua)."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.debug import Debugger
from llmspell_kernel.lua.engine import LuaEngine

SCRIPT = """\
local seen = {}
local function make(tag)
  return function(n)
    local v = n * 10
    seen[#seen + 1] = tag .. v
    return v
  end
end
local a, b = make("a"), make("b")
limit = 3
for i = 1, 4 do
  a(i)
  b(i)
end
local x = 1
do
  local x = 2
  x = x + 1
end
return #seen
"""


class Session:
    def __init__(
        self, tmp_path: Path, breakpoints: list[dict[str, Any]], script: str = SCRIPT
    ) -> None:
        self.stops: queue.Queue[dict[str, Any]] = queue.Queue()
        self.debugger = Debugger(
            lambda name, body: self.stops.put(body) if name == "stopped" else None
        )
        engine = LuaEngine()
        self.debugger.attach(engine)
        path = tmp_path / "cond.lua"
        path.write_text(script)
        chunk = "@" + str(path)
        self.placed = self.debugger.set_breakpoints(chunk, breakpoints)
        self.debugger.run_started()
        self.outcome: list[Any] = []
        self.thread = threading.Thread(
            target=lambda: self.outcome.append(engine.execute(script, chunk_name=chunk)),
            daemon=True,
        )
        self.thread.start()

    def next_stop(self) -> dict[str, Any] | None:
        """The next stop's body, or None once the script has finished."""
        while True:
            try:
                return self.stops.get(timeout=0.05)
            except queue.Empty:
                if not self.thread.is_alive():
                    return None

    def value(self, expression: str) -> str:
        frames, _ = self.debugger.stack_trace()
        return self.debugger.evaluate(expression, frames[0]["id"])["result"]

    def stops_with(self, expression: str) -> list[str]:
        values = []
        while (stop := self.next_stop()) is not None:
            values.append((stop["reason"], self.value(expression)))
            self.debugger.resume("continue")
        self.thread.join(10)
        assert self.outcome and self.outcome[0].status == "ok", self.outcome
        return values


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("n == 2", ["a20", "b20"]),  # a parameter
        ('tag == "b" and n >= 3', ["b30", "b40"]),  # an upvalue: each closure's own
        ("n > limit", ["a40", "b40"]),  # a global
        ("#seen == 5", ["b30"]),  # an upvalue table, five entries in
    ],
)
def test_condition_sees_the_frames_values(
    tmp_path: Path, condition: str, expected: list[str]
) -> None:
    session = Session(tmp_path, [{"line": 5, "condition": condition}])
    assert session.stops_with("tag .. v") == [("breakpoint", f'"{e}"') for e in expected]


def test_condition_on_a_shadowed_local_uses_the_inner_one(tmp_path: Path) -> None:
    session = Session(tmp_path, [{"line": 18, "condition": "x == 2"}])
    assert session.stops_with("x") == [("breakpoint", "2")]


def test_condition_naming_a_local_not_yet_declared_reads_the_global(tmp_path: Path) -> None:
    # at line 4 `v` is not a local yet, so `v` is the (nil) global, as in Lua itself
    session = Session(tmp_path, [{"line": 4, "condition": "v == nil and n == 1"}])
    assert session.stops_with("n") == [("breakpoint", "1"), ("breakpoint", "1")]


def test_condition_that_fails_stops_and_says_why(tmp_path: Path) -> None:
    session = Session(tmp_path, [{"line": 5, "condition": "n.missing > 1"}])
    stop = session.next_stop()
    assert stop is not None and "condition failed" in stop["description"]
    assert "(condition):1:" in stop["description"]
    session.debugger.terminate()
    session.thread.join(10)


def test_statement_condition_still_works(tmp_path: Path) -> None:
    session = Session(tmp_path, [{"line": 5, "condition": "if n == 4 then return true end"}])
    assert session.stops_with("tag") == [("breakpoint", '"a"'), ("breakpoint", '"b"')]


NESTED = """\
local function inner(n)
  return n + 1
end
local function mid(n)
  local r = inner(n)
  return r * 2
end
local function outer(n)
  local r = mid(n)
  local after = r + 1
  return after
end
return outer(1) + outer(2)
"""


def test_breakpoint_after_returning_through_a_function_without_breakpoints(
    tmp_path: Path,
) -> None:
    """inner (breakpoint) returns into mid (none), which returns into outer (breakpoint)."""
    session = Session(tmp_path, [{"line": 2, "condition": "n > 0"}, {"line": 10}], NESTED)
    assert [value for _, value in session.stops_with("n")] == ["1", "1", "2", "2"]


def test_terminal_debugger_function_breakpoint_and_end_of_input(tmp_path: Path) -> None:
    """`--break NAME` stops in that function; end of input at the debug prompt ends the script
    (exit 130, as an interrupt) with no error message."""
    from tests.processes import llmspell

    script = tmp_path / "fb.lua"
    script.write_text(NESTED)
    done = llmspell("debug", str(script), "--break", "inner", stdin=".print n\n.c\n")
    assert "breakpoint 1 at function inner" in done.stdout
    assert "stopped (function breakpoint) at fb.lua:2 in inner" in done.stdout
    assert "debug> 1\n" in done.stdout
    assert done.returncode == 130 and done.stderr == ""


def test_breakpoints_survive_an_in_place_restart() -> None:
    """A kernel restarted in place (fresh Lua state) keeps the debug session's breakpoints."""
    from llmspell_kernel.api import start_embedded_kernel
    from llmspell_kernel.client import DebugStop

    with start_embedded_kernel() as kernel:
        client = kernel.client()
        for command, arguments in (
            ("initialize", {"adapterID": "test"}),
            ("attach", {}),
            ("setFunctionBreakpoints", {"breakpoints": [{"name": "double"}]}),
            ("configurationDone", {}),
        ):
            assert client.debug_request(command, arguments)["success"], command
        assert client.shutdown(restart=True)["restart"] is True
        list(client.execute("function double(x) return x * 2 end", cell_names=True))
        execution = client.execute("return double(21)", cell_names=True, debug_events=True)
        stops = []
        for output in execution:
            if isinstance(output, DebugStop):
                stops.append(output.body["reason"])
                assert client.debug_request("continue", {"threadId": 1})["success"]
        assert stops == ["function breakpoint"]
        assert execution.reply is not None and execution.reply["status"] == "ok"


COROUTINE = """\
local co = coroutine.wrap(function()
  for i = 1, 3 do
    coroutine.yield(i)
  end
end)
co()
local x = 1
print(co())
"""


def test_breakpoint_added_while_a_coroutine_is_suspended_stops_inside_it(tmp_path: Path) -> None:
    session = Session(tmp_path, [{"line": 7}], COROUTINE)
    chunk = "@" + str(tmp_path / "cond.lua")
    first = session.next_stop()
    assert first is not None
    assert session.debugger.stack_trace()[0][0]["line"] == 7
    session.debugger.set_breakpoints(chunk, [{"line": 7}, {"line": 3}])
    session.debugger.resume("continue")
    second = session.next_stop()
    assert second is not None and second["reason"] == "breakpoint"
    frames, _ = session.debugger.stack_trace()
    assert frames[0]["line"] == 3
    assert session.value("i") == "2"
    session.debugger.set_breakpoints(chunk, [])
    session.debugger.resume("continue")
    session.thread.join(10)
    assert session.outcome and session.outcome[0].status == "ok"


def test_debug_command_line_mistakes_are_usage_errors(tmp_path: Path) -> None:
    from tests.processes import llmspell

    script = tmp_path / "s.lua"
    script.write_text("local a = 1\nreturn a\n")
    cases = [
        (["debug", str(script), "--break", "s.lua:abc"], "is not FILE:LINE"),
        (["debug", "--dap", "--dap-port", "0"], "not both"),
        (["debug", str(script), "--dap", "--break", f"{script}:2"], "editor sets breakpoints"),
        (["debug", str(script), "--break", "missing.lua:2"], "breakpoint file not found"),
    ]
    for argv, message in cases:
        done = llmspell(*argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr


def test_break_file_is_also_found_beside_the_script(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    script = tmp_path / "lib" / "s.lua"
    script.write_text("local a = 1\na = a + 1\nprint(a)\n")
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "debug", "lib/s.lua", "--break", "s.lua:2"],
        capture_output=True,
        text=True,
        timeout=30,
        input=".print a\n.c\n",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "stopped (breakpoint) at s.lua:2" in done.stdout and "debug> 1\n" in done.stdout


def test_break_on_error_stops_where_the_error_is_raised(tmp_path: Path) -> None:
    from tests.processes import llmspell

    script = tmp_path / "boom.lua"
    script.write_text(
        'local function explode(x)\n  local reason = "bad " .. x\n  error(reason)\nend\n'
        'explode("input")\n'
    )
    done = llmspell("debug", str(script), "--break-on-error", stdin=".print reason\n.c\n")
    assert "stopped (exception) at boom.lua:3 in explode" in done.stdout
    assert 'debug> "bad input"\n' in done.stdout
    assert done.returncode == 1 and "bad input" in done.stderr


def test_breakpoint_in_a_source_not_loaded_yet_is_placed_when_it_runs(tmp_path: Path) -> None:
    """A breakpoint set on a cell before it exists is unverified, then a `breakpoint` event
    (changed) reports it placed when the cell runs, and it stops there; resuming sends
    `continued` for the other front ends."""
    events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    debugger = Debugger(lambda name, body: events.put((name, body)))
    engine = LuaEngine()
    debugger.attach(engine)
    [placed] = debugger.set_breakpoints("=later", [{"line": 3}])
    assert placed.verified is False and "not loaded yet" in placed.message
    debugger.run_started()
    code = "local a = 1\n\nlocal b = a + 1\nreturn b\n"
    outcome: list[Any] = []
    thread = threading.Thread(
        target=lambda: outcome.append(engine.execute(code, chunk_name="=later")), daemon=True
    )
    thread.start()
    seen = []
    while True:
        name, body = events.get(timeout=10)
        seen.append(name)
        if name == "breakpoint":
            assert body["reason"] == "changed"
            assert body["breakpoint"]["verified"] is True and body["breakpoint"]["line"] == 3
        if name == "stopped":
            break
    assert seen[0] == "breakpoint"
    debugger.resume("continue")
    assert events.get(timeout=10)[0] == "continued"
    thread.join(10)
    assert outcome[0].status == "ok"


def test_terminal_debugger_reports_an_error_as_run_does(tmp_path: Path) -> None:
    (tmp_path / "boom.lua").write_text('local x = 1\nerror("bad input")\n')
    argv = [sys.executable, "-m", "llmspell_cli"]
    debugged = subprocess.run(
        [*argv, "debug", "boom.lua"], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    ran = subprocess.run(
        [*argv, "run", "boom.lua"], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert debugged.returncode == ran.returncode == 1
    assert debugged.stderr == ran.stderr == "error: boom.lua:2: bad input\n"


def test_expressions_at_a_stop_see_the_frames_varargs(tmp_path: Path) -> None:
    script = (
        'local function f(...)\n  local n = select("#", ...)\n  return n\nend\nreturn f("a", "b")\n'
    )
    session = Session(tmp_path, [{"line": 3}], script)
    assert session.next_stop() is not None
    assert session.value('select("#", ...)') == "2"
    assert session.value("(select(2, ...))") == '"b"'
    session.debugger.resume("continue")
    session.thread.join(10)
