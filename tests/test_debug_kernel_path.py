"""Every debugger front end goes through a kernel: `llmspell debug` through an embedded one, a DAP
`launch` through a kernel of its own session (shut down with it); the debugger's Lua side
leaves the host runtime's globals alone."""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

from llmspell_kernel.debug import Debugger
from llmspell_kernel.debug.server import DapConnection, serve_connection
from llmspell_kernel.lua.engine import LuaEngine
from tests.dap_client import DapClient
from tests.processes import llmspell


def test_terminal_debugger_script_reads_the_terminal_like_run(tmp_path: Path) -> None:
    """The script's io.read gets the input (the kernel's input request), and a stop still
    takes its commands from the same stdin, in order."""
    script = tmp_path / "ask.lua"
    script.write_text('local line = io.read("l")\nprint("got " .. line)\nreturn #line\n')
    done = llmspell(
        "debug", str(script), "--break", f"{script}:2", stdin="hello\n.print line\n.c\n"
    )
    assert done.returncode == 0, done.stderr
    assert "stopped (breakpoint) at ask.lua:2" in done.stdout
    assert 'debug> "hello"\n' in done.stdout
    assert done.stdout.endswith("got hello\n5\n")


def test_terminal_debugger_exit_code_is_runs(tmp_path: Path) -> None:
    script = tmp_path / "leave.lua"
    script.write_text("os.exit(3)\n")
    debugged = llmspell("debug", str(script), stdin="")
    ran = llmspell("run", str(script))
    assert debugged.returncode == ran.returncode == 3
    assert debugged.stderr == ran.stderr


def _kernel_threads() -> set[threading.Thread]:
    names = ("llmspell-executor", "llmspell-control", "llmspell-output", "llmspell-dap-relay")
    return {t for t in threading.enumerate() if t.name in names and t.is_alive()}


def test_dap_launch_runs_in_a_kernel_that_ends_with_the_session(tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    script.write_text("local n = 41\nprint('n', n)\nreturn n + 1\n")
    before = _kernel_threads()
    to_server_r, to_server_w = os.pipe()
    to_client_r, to_client_w = os.pipe()
    connection = DapConnection(os.fdopen(to_server_r, "rb"), os.fdopen(to_client_w, "wb"))
    server = threading.Thread(target=serve_connection, args=(connection,), daemon=True)
    server.start()
    client = DapClient(os.fdopen(to_client_r, "rb"), os.fdopen(to_server_w, "wb"))
    client.request("initialize", adapterID="llmspell")
    client.wait_event("initialized")
    client.request("setBreakpoints", source={"path": str(script)}, breakpoints=[{"line": 2}])
    assert _kernel_threads() - before, "the session's kernel starts with its first request"
    client.request("launch", program=str(script))
    client.request("configurationDone")
    assert client.wait_event("stopped")["reason"] == "breakpoint"
    # the kernel's own Jupyter request answers: the editor's session is the kernel's
    info = client.request("debugInfo")
    assert info["isStarted"] and info["stoppedThreads"] == [1]
    client.request("continue", threadId=1)
    assert client.wait_event("exited")["exitCode"] == 0
    assert client.output() == "n\t41\n42\n"
    client.request("disconnect")
    server.join(10)
    deadline = time.monotonic() + 10
    while _kernel_threads() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _kernel_threads() - before, "the kernel ends with its session"


def test_debugger_writes_no_global_of_the_host_runtime(tmp_path: Path) -> None:
    """hooks.lua runs with the host's globals: every assignment there must be a local."""
    engine = LuaEngine()
    engine.runtime.execute(
        "__writes = {}\n"
        "local w = __writes\n"
        "setmetatable(_G, {__newindex = function(t, k, v) w[#w + 1] = tostring(k);"
        " rawset(t, k, v) end})\n"
    )
    stops: queue.Queue[dict[str, object]] = queue.Queue()
    debugger = Debugger(lambda name, body: stops.put(body) if name == "stopped" else None)
    debugger.attach(engine)
    chunk = "@" + str(tmp_path / "p.lua")
    code = (
        "local function f(x) local y = x * 2 return y end\n"
        "local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(f(i)) end end)\n"
        "local t = {a = 1, b = {c = 2}}\n"
        "for i = 1, 3 do co() end\n"
        'pcall(error, "caught")\n'
        "return f(3)\n"
    )
    debugger.set_breakpoints(chunk, [{"line": 1}, {"line": 4, "condition": "i > 1"}])
    debugger.set_function_breakpoints(["f"])
    debugger.set_exception_filters(["error", "pcall"])
    debugger.run_started()
    outcome = []
    run = threading.Thread(target=lambda: outcome.append(engine.execute(code, chunk_name=chunk)))
    run.start()
    stopped = 0
    while run.is_alive() or not stops.empty():
        try:
            stops.get(timeout=0.1)
        except queue.Empty:
            continue
        stopped += 1
        frames, _ = debugger.stack_trace()
        for scope in debugger.scopes(frames[0]["id"]):
            debugger.variables(scope["variablesReference"])
        debugger.evaluate("t", frames[0]["id"])
        debugger.resume("next" if stopped % 2 else "stepIn")
    run.join(10)
    debugger.run_finished()
    assert outcome[0].status == "ok" and stopped > 5
    assert engine.runtime.eval("table.concat(__writes, ' ')") == ""


def test_pause_stops_a_running_loop_every_time(tmp_path: Path) -> None:
    """`pause` reaches the hook through its poll (session.Poll, handed to Lua as an integer)."""
    engine = LuaEngine()
    stops: queue.Queue[dict[str, object]] = queue.Queue()
    debugger = Debugger(lambda name, body: stops.put(body) if name == "stopped" else None)
    debugger.attach(engine)
    chunk = "@" + str(tmp_path / "spin.lua")
    debugger.set_breakpoints(chunk, [{"line": 2}])
    debugger.run_started()
    code = "local spin = 0\nspin = 1\nwhile spin >= 0 do spin = spin + 1 end\nreturn spin\n"
    outcome = []
    run = threading.Thread(target=lambda: outcome.append(engine.execute(code, chunk_name=chunk)))
    run.start()
    assert stops.get(timeout=10)["reason"] == "breakpoint"
    debugger.set_breakpoints(chunk, [])
    debugger.resume("continue")
    for _ in range(10):
        debugger.pause()
        assert stops.get(timeout=10)["reason"] == "pause"
        debugger.resume("continue")
    debugger.pause()
    stops.get(timeout=10)
    frames, _ = debugger.stack_trace()
    debugger.evaluate("spin = -1", frames[0]["id"])
    debugger.resume("continue")
    run.join(10)
    assert outcome[0].status == "ok" and outcome[0].value == -1
