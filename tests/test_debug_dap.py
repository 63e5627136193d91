"""The DAP server driven by a real DAP client: over stdio and TCP (subprocesses), and in-process."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.debug.server import DapConnection, serve_connection
from tests.dap_client import DapClient
from tests.debug_scripts import LOOP, MAIN, UNCAUGHT


def llmspell() -> list[str]:
    cli = Path(sys.executable).parent / "llmspell"
    return [str(cli)] if cli.exists() else [sys.executable, "-m", "llmspell_cli"]


@pytest.fixture
def in_process() -> Iterator[DapClient]:
    """A DAP session served by serve_connection in a thread, over two pipes."""
    to_server_r, to_server_w = os.pipe()
    to_client_r, to_client_w = os.pipe()
    server_in, server_out = os.fdopen(to_server_r, "rb"), os.fdopen(to_client_w, "wb")
    thread = threading.Thread(
        target=serve_connection, args=(DapConnection(server_in, server_out),), daemon=True
    )
    thread.start()
    client = DapClient(os.fdopen(to_client_r, "rb"), os.fdopen(to_server_w, "wb"))
    yield client
    try:
        client.send("disconnect", terminateDebuggee=True)
    except (OSError, ValueError):  # a test may have closed the connection itself
        pass
    thread.join(5)


def start(client: DapClient, script: Path, **launch: object) -> dict:
    caps = client.request("initialize", adapterID="llmspell", linesStartAt1=True)
    client.wait_event("initialized")
    client.request("launch", program=str(script), **launch)
    return caps


def top(client: DapClient) -> dict:
    return client.request("stackTrace", threadId=1)["stackFrames"][0]


def locals_of(client: DapClient, frame_id: int) -> dict[str, dict]:
    scopes = client.request("scopes", frameId=frame_id)["scopes"]
    assert [s["name"] for s in scopes] == ["Locals", "Upvalues", "Globals"]
    ref = scopes[0]["variablesReference"]
    return {v["name"]: v for v in client.request("variables", variablesReference=ref)["variables"]}


def step(client: DapClient, command: str) -> dict:
    client.request(command, threadId=1)
    body = client.wait_event("stopped")
    assert body["reason"] == "step"
    return top(client)


def full_session(client: DapClient, script: Path, **launch: object) -> None:
    """The acceptance scenario: breakpoints of every kind, inspection, stepping, the end."""
    caps = start(client, script, **launch)
    assert caps["supportsConditionalBreakpoints"] and caps["supportsLogPoints"]
    placed = client.request(
        "setBreakpoints",
        source={"path": str(script)},
        breakpoints=[
            {"line": 24},  # blank line: moved to 25, reported unverified
            {"line": 2, "hitCondition": "3"},
            {"line": 3, "logMessage": "sum {c} of {a}+{b}"},
            {"line": 27, "condition": "i == 4"},
        ],
    )["breakpoints"]
    assert placed[0]["verified"] is False and placed[0]["line"] == 25 and placed[0]["message"]
    assert all(bp["verified"] for bp in placed[1:])
    client.request("setExceptionBreakpoints", filters=[])
    client.request("configurationDone")

    assert client.wait_event("stopped")["reason"] == "breakpoint"
    assert top(client)["line"] == 25
    client.request("continue", threadId=1)

    stopped = client.wait_event("stopped")
    assert stopped["hitBreakpointIds"] == [placed[1]["id"]]
    trace = client.request("stackTrace", threadId=1, startFrame=0, levels=1)
    assert trace["totalFrames"] == 2 and len(trace["stackFrames"]) == 1
    frame = trace["stackFrames"][0]
    assert (frame["name"], frame["line"], frame["source"]["path"]) == ("add", 2, str(script))
    local = locals_of(client, frame["id"])
    assert (local["a"]["value"], local["b"]["value"]) == ("3", "3")
    assert (
        client.request("evaluate", expression="a + b", frameId=frame["id"], context="repl")[
            "result"
        ]
        == "6"
    )
    client.request("continue", threadId=1)

    client.wait_event("stopped")
    frame = top(client)
    assert frame["line"] == 27
    local = locals_of(client, frame["id"])
    assert local["i"]["value"] == "4"
    config = local["config"]
    assert config["value"] == "Config<demo>" and config["variablesReference"] > 0
    children = {
        v["name"]: v
        for v in client.request("variables", variablesReference=config["variablesReference"])[
            "variables"
        ]
    }
    assert {"name", "sizes", "inner", "(metatable)"} <= set(children)
    inner = client.request("variables", variablesReference=children["inner"]["variablesReference"])
    deep = inner["variables"][0]
    assert deep["name"] == "deep"
    leaf = client.request("variables", variablesReference=deep["variablesReference"])["variables"]
    assert leaf == [{"name": "x", "value": "42", "type": "number", "variablesReference": 0}]
    sizes = client.request(
        "variables",
        variablesReference=children["sizes"]["variablesReference"],
        filter="indexed",
        start=1,
        count=2,
    )["variables"]
    assert [v["name"] for v in sizes] == ["[2]", "[3]"]
    scopes = client.request("scopes", frameId=frame["id"])["scopes"]
    changed = client.request(
        "setVariable",
        variablesReference=scopes[0]["variablesReference"],
        name="total",
        value="1000",
    )
    assert changed["value"] == "1000"
    assert (
        client.request("evaluate", expression="total", frameId=frame["id"], context="watch")[
            "result"
        ]
        == "1000"
    )

    client.request(
        "setBreakpoints",
        source={"path": str(script)},
        breakpoints=[{"line": 3, "logMessage": "sum {c} of {a}+{b}"}, {"line": 29}],
    )
    client.request("continue", threadId=1)
    client.wait_event("stopped")
    assert top(client)["line"] == 29
    # pcall + error: step into risky, then over the error back to the caller.
    assert step(client, "stepIn")["line"] == 10
    assert step(client, "next")["line"] == 11
    assert step(client, "next")["line"] == 30
    # A tail call: tail() is replaced by add(); stepping out lands in the main chunk.
    assert step(client, "stepIn")["line"] == 17
    frame = step(client, "stepIn")
    assert frame["line"] == 2 and frame["name"].endswith("main.lua:1>")  # tail calls lose names
    assert step(client, "stepOut")["line"] == 31
    # A coroutine: step into its body, over the yield back to the resumer, over the resume.
    frame = step(client, "stepIn")
    assert frame["line"] == 21
    assert step(client, "next")["line"] == 32
    assert step(client, "next")["line"] == 33
    client.request("continue", threadId=1)
    assert client.wait_event("exited")["exitCode"] == 0
    client.wait_event("terminated")
    output = client.output()
    assert "sum 1 of 0+1\n" in output
    assert "done\t1009\tfalse\t101\t11\t14\n" in output


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "main.lua"
    path.write_text(MAIN)
    return path


def test_in_process_session_covers_breakpoints_inspection_and_stepping(in_process, script):
    full_session(in_process, script)


@pytest.mark.slow
def test_stdio_server_session(script: Path):
    proc = subprocess.Popen(
        [*llmspell(), "debug", "--dap"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        client = DapClient(proc.stdout, proc.stdin)
        full_session(client, script)
        client.request("disconnect")
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()


class DapServer:
    """`llmspell debug --dap-port 0` in a subprocess: its port, token and token file."""

    def __init__(self, *options: str) -> None:
        self.proc = subprocess.Popen(
            [*llmspell(), "debug", "--dap-port", "0", *options], stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stderr is not None
        banner = self.proc.stderr.readline() + self.proc.stderr.readline()
        found = re.search(r"127\.0\.0\.1:(\d+)\ntoken: (\S+) .* also in (\S+)\)", banner)
        assert found, banner
        self.port, self.token = int(found.group(1)), found.group(2)
        self.token_file = Path(found.group(3))

    def client(self) -> DapClient:
        return DapClient.tcp(self.port)

    def session(self, script: Path, **launch: object) -> DapClient:
        """A client past initialize and an authenticated launch of `script`."""
        client = self.client()
        start(client, script, token=self.token, **launch)
        return client

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def dap_server() -> Iterator[DapServer]:
    server = DapServer()
    yield server
    server.stop()


@pytest.mark.slow
def test_tcp_server_session(script: Path, dap_server: DapServer):
    client = dap_server.client()
    full_session(client, script, token=dap_server.token)
    client.request("disconnect")
    client.close()

    # an editor that drops the connection while stopped ends its session, not the server
    first = dap_server.session(script)
    first.request("setBreakpoints", source={"path": str(script)}, breakpoints=[{"line": 2}])
    first.request("configurationDone")
    first.wait_event("stopped")
    assert first.sock is not None
    first.sock.shutdown(socket.SHUT_RDWR)
    first.close()
    second = dap_server.session(script)
    second.request("configurationDone")
    assert second.wait_event("exited")["exitCode"] == 0
    second.request("disconnect")
    second.close()
    assert dap_server.proc.poll() is None


def _refused(client: DapClient, command: str, **arguments: object) -> str:
    """The message of a refused request; the server then closes the connection."""
    response = client.response(client.send(command, **arguments))
    assert response["success"] is False
    client.wait_closed()
    return response["message"]


@pytest.mark.slow
def test_tcp_sessions_need_the_token_from_the_owner_only_token_file(
    script: Path, dap_server: DapServer, isolated_home: Path
):
    token_file = dap_server.token_file
    assert token_file.parent == isolated_home / "jupyter-runtime"  # beside connection files
    assert token_file.read_text().strip() == dap_server.token
    assert token_file.stat().st_mode & 0o777 == 0o600

    anonymous = dap_server.client()
    assert anonymous.request("initialize", adapterID="x")["supportsConfigurationDoneRequest"]
    message = _refused(anonymous, "launch", program=str(script))
    assert "needs a token" in message and '"token"' in message
    for command, arguments in (
        ("evaluate", {"expression": "os.exit(3)"}),
        ("pause", {"threadId": 1}),
        ("setBreakpoints", {"source": {"path": str(script)}, "breakpoints": [{"line": 2}]}),
    ):
        assert "refused" in _refused(dap_server.client(), command, **arguments)
    wrong = dap_server.client()
    assert "wrong token" in _refused(wrong, "launch", program=str(script), token="x" * 43)
    attach = dap_server.client()
    assert "needs a token" in _refused(attach, "attach", connect="localhost:9")

    owner = dap_server.session(script)  # the server still serves whoever holds the token
    owner.request("configurationDone")
    assert owner.wait_event("exited")["exitCode"] == 0
    assert "done\t" in owner.output()
    dap_server.stop()
    assert not token_file.exists()  # removed when the server stops


@pytest.mark.slow
def test_oversized_or_too_deep_messages_close_that_connection_only(tmp_path: Path):
    server = DapServer("--dap-max-message", "4096")
    try:
        cases = [
            (b"Content-Length: 99999999999999\r\n\r\n", "over the limit of 4096 bytes"),
            (b"Content-Length: 5000\r\n\r\n" + b" " * 5000, "over the limit of 4096 bytes"),
            (b"X-Filler: " + b"a" * 20000 + b"\r\n", "header is longer than"),
            (b"Content-Length: 12abc\r\n\r\n", "bad Content-Length"),
        ]
        deep = b"[" * 2000 + b"]" * 2000
        cases.append((b"Content-Length: %d\r\n\r\n" % len(deep) + deep, "nests deeper than"))
        nested = b'{"seq":1,"type":"request","command":"initialize","arguments":'
        nested += b'{"a":' * 100 + b"1" + b"}" * 100 + b"}"
        cases.append((b"Content-Length: %d\r\n\r\n" % len(nested) + nested, "nests deeper"))
        for data, expected in cases:
            client = server.client()
            client.send_raw(data)
            client.wait_closed()
            assert expected in client.output(), (data[:40], client.output())
            assert any(e["event"] == "terminated" for e in client.seen)
        script = tmp_path / "ok.lua"
        script.write_text("print('still serving')\n")
        client = server.session(script)
        client.request("configurationDone")
        assert client.wait_event("exited")["exitCode"] == 0
        assert "still serving" in client.output()
    finally:
        server.stop()


@pytest.mark.slow
def test_two_simultaneous_tcp_clients_each_get_a_session(tmp_path: Path, dap_server: DapServer):
    scripts = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.lua"
        path.write_text(f"local who = '{name}'\nprint(who)\n")
        scripts.append(path)
    first, second = (dap_server.session(path) for path in scripts)
    for client, path in ((first, scripts[0]), (second, scripts[1])):
        client.request("setBreakpoints", source={"path": str(path)}, breakpoints=[{"line": 2}])
        client.request("configurationDone")
        client.wait_event("stopped")
    # both are stopped at once, each in its own script
    for client, name in ((first, "one"), (second, "two")):
        frame = top(client)
        assert locals_of(client, frame["id"])["who"]["value"] == f'"{name}"'
    for client, name in ((second, "two"), (first, "one")):
        client.request("continue", threadId=1)
        assert client.wait_event("exited")["exitCode"] == 0
        assert client.output() == f"{name}\n"
        client.close()


@pytest.mark.slow
def test_one_sessions_cwd_does_not_leak_into_the_next(tmp_path: Path, dap_server: DapServer):
    project = tmp_path / "project"
    project.mkdir()
    (project / "job.lua").write_text("print(io.open('data.txt'):read('a'))\n")
    (project / "data.txt").write_text("job ran")
    first = dap_server.client()
    first.request("initialize", adapterID="llmspell")
    first.request("launch", program="job.lua", cwd=str(project), token=dap_server.token)
    first.request("configurationDone")
    assert first.wait_event("exited")["exitCode"] == 0
    assert first.output() == "job ran\n"
    first.close()
    second = dap_server.client()  # no cwd: the server's own directory, not the last session's
    second.request("initialize", adapterID="llmspell")
    response = second.response(second.send("launch", program="job.lua", token=dap_server.token))
    assert response["success"] is False and "program not found" in response["message"]
    second.close()


def test_pause_stops_a_running_loop_and_breakpoints_can_be_added_while_running(
    in_process, tmp_path
):
    path = tmp_path / "loop.lua"
    path.write_text(LOOP)
    start(in_process, path)
    in_process.request("configurationDone")
    time.sleep(0.3)
    in_process.request("pause", threadId=1)
    assert in_process.wait_event("stopped", timeout=5)["reason"] == "pause"
    frames = in_process.request("stackTrace", threadId=1)["stackFrames"]
    assert frames[0]["line"] in (3, 5, 6)
    main = frames[-1]
    assert main["name"] == "main chunk"
    assert (
        in_process.request("evaluate", expression="count > 0", frameId=main["id"])["result"]
        == "true"
    )
    in_process.request("continue", threadId=1)
    time.sleep(0.2)
    placed = in_process.request(
        "setBreakpoints", source={"path": str(path)}, breakpoints=[{"line": 3}]
    )["breakpoints"]
    assert placed[0]["verified"]
    assert in_process.wait_event("stopped", timeout=5)["reason"] == "breakpoint"
    assert top(in_process)["line"] == 3
    in_process.request("setBreakpoints", source={"path": str(path)}, breakpoints=[])
    in_process.request("setFunctionBreakpoints", breakpoints=[{"name": "work"}])
    in_process.request("continue", threadId=1)
    assert in_process.wait_event("stopped", timeout=5)["reason"] == "function breakpoint"
    assert top(in_process)["line"] == 3
    in_process.request("terminate")
    in_process.wait_event("terminated")


def test_uncaught_error_stops_with_the_failing_frame(in_process, tmp_path):
    path = tmp_path / "boom.lua"
    path.write_text(UNCAUGHT)
    start(in_process, path)
    in_process.request("setExceptionBreakpoints", filters=["error"])
    in_process.request("configurationDone")
    stopped = in_process.wait_event("stopped")
    assert stopped["reason"] == "exception" and "bad input" in stopped["text"]
    frame = top(in_process)
    assert (frame["name"], frame["line"]) == ("explode", 3)
    assert locals_of(in_process, frame["id"])["reason"]["value"] == '"bad input"'
    in_process.request("continue", threadId=1)
    assert in_process.wait_event("exited")["exitCode"] == 1
    assert "bad input" in in_process.output()


def test_errors_caught_by_pcall_stop_only_with_the_pcall_filter(in_process, script):
    start(in_process, script)
    in_process.request("setExceptionBreakpoints", filters=["pcall"])
    in_process.request("configurationDone")
    stopped = in_process.wait_event("stopped")
    assert stopped["reason"] == "exception" and "too big: 5" in stopped["text"]
    assert top(in_process)["line"] == 11
    in_process.request("continue", threadId=1)
    assert in_process.wait_event("exited")["exitCode"] == 0


def test_stop_on_entry_and_bad_requests_get_clear_errors(in_process, tmp_path):
    path = tmp_path / "s.lua"
    path.write_text("local x = 1\nprint(x)\n")
    caps = in_process.request("initialize", adapterID="llmspell")
    assert caps["supportsConfigurationDoneRequest"]
    missing = in_process.response(in_process.send("launch", program=str(tmp_path / "nope.lua")))
    assert not missing["success"] and "program not found" in missing["message"]
    unknown = in_process.response(in_process.send("reverseContinue", threadId=1))
    assert not unknown["success"]
    not_paused = in_process.response(in_process.send("stackTrace", threadId=1))
    assert not not_paused["success"] and "not paused" in not_paused["message"]
    in_process.request("launch", program=str(path), stopOnEntry=True)
    in_process.request("configurationDone")
    assert in_process.wait_event("stopped")["reason"] == "entry"
    assert top(in_process)["line"] == 1
    sources = in_process.request("loadedSources")["sources"]
    assert any(s.get("path") == str(path.resolve()) for s in sources)
    content = in_process.request("source", source={"path": str(path)})["content"]
    assert content.startswith("local x = 1")
    in_process.request("continue", threadId=1)
    in_process.wait_event("terminated")


@contextlib.contextmanager
def _daemon(kernel_id: str) -> Iterator[int]:
    """A `kernel start --daemon` kernel on free ports; yields its base port."""
    from tests.processes import daemon_kernel

    with daemon_kernel(kernel_id) as port:
        yield port


def _run_connected(script: Path, port: int) -> subprocess.Popen[str]:
    """`llmspell run SCRIPT --connect localhost:PORT` in the background, output piped."""
    return subprocess.Popen(
        [*llmspell(), "run", str(script), "--connect", f"localhost:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _attach_and_run(
    client: DapClient, port: int, script: Path, breakpoints: list[dict[str, Any]]
) -> subprocess.Popen[str]:
    """Attach the editor to the kernel at `port`, set `breakpoints` in `script`, then start
    `llmspell run SCRIPT --connect` (another client of that kernel)."""
    client.request("initialize", adapterID="llmspell", linesStartAt1=True)
    client.request("attach", connect=f"localhost:{port}")
    client.request("setBreakpoints", source={"path": str(script)}, breakpoints=breakpoints)
    client.request("configurationDone")
    return _run_connected(script, port)


def _finished(runner: subprocess.Popen[str]) -> str:
    """The stripped stdout of a connected run that must end by itself with exit code 0."""
    try:
        out, err = runner.communicate(timeout=20)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, err
    return out.strip()


def test_attach_to_a_running_kernel_stops_another_clients_run(in_process, tmp_path):
    """DAP `attach {connect}`: the editor's breakpoints stop a script that another client runs
    in the kernel (`llmspell run --connect`); events and output are relayed."""
    from tests.processes import llmspell as run_cli

    with _daemon("dapk") as port:
        script = tmp_path / "job.lua"
        script.write_text(
            "local items = {10, 20, 30}\nlocal sum = 0\nfor _, v in ipairs(items) do\n  sum = sum + v\nend\nprint('sum', sum)\n"
        )
        client = in_process
        client.request("initialize", adapterID="llmspell", linesStartAt1=True)
        client.wait_event("initialized")
        failed = client.send("attach", connect="localhost:1")
        assert client.response(failed)["success"] is False
        client.request("attach", connect=f"localhost:{port}")
        placed = client.request(
            "setBreakpoints",
            source={"path": str(script)},
            breakpoints=[{"line": 4, "condition": "v == 20"}],
        )["breakpoints"]
        assert placed[0]["verified"]
        client.request("configurationDone")
        runner = _run_connected(script, port)
        try:
            assert client.wait_event("stopped")["reason"] == "breakpoint"
            frame = top(client)
            assert frame["line"] == 4 and frame["source"]["path"] == str(script)
            local = locals_of(client, frame["id"])
            assert (local["v"]["value"], local["sum"]["value"]) == ("20", "10")
            # errors relayed from the kernel say why, and the session goes on
            assert "no frame 9999" in _fails(client, "variables", variablesReference=39997)
            assert "nothing to evaluate" in _fails(client, "evaluate", expression=" ")
            assert "unsupported" in _fails(client, "reverseContinue", threadId=1)
            assert client.request("evaluate", expression="sum + v", frameId=1)["result"] == "30"
            client.request("continue", threadId=1)
            out, err = runner.communicate(timeout=20)
        finally:
            if runner.poll() is None:
                runner.kill()
        assert runner.returncode == 0, err
        assert out.strip() == "sum\t60"
        deadline = time.monotonic() + 5
        while "sum\t60" not in client.output() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "sum\t60" in client.output()  # the kernel's output reached the editor too
        client.request("disconnect", terminateDebuggee=True)
        again = run_cli("run", str(script), "--connect", f"localhost:{port}")
        assert again.stdout.strip() == "sum\t60"  # detached: no stop, kernel still serving


def test_an_editor_that_vanishes_while_attached_leaves_the_kernel_running(in_process, tmp_path):
    """The DAP connection closes while a run in the kernel is stopped at its breakpoint: the
    adapter ends the kernel's debug session, so the run finishes and the next one is not held."""
    from tests.processes import llmspell as run_cli

    with _daemon("gone") as port:
        script = tmp_path / "held.lua"
        script.write_text("local n = 1\nn = n + 1\nprint('done', n)\n")
        client = in_process
        runner = _attach_and_run(client, port, script, [{"line": 2}])
        try:
            client.wait_event("stopped")
            client._writer.close()  # the editor crashes: no disconnect request
            out, err = runner.communicate(timeout=20)
        finally:
            if runner.poll() is None:
                runner.kill()
        assert runner.returncode == 0, err
        assert out.strip() == "done\t2"
        again = run_cli("run", str(script), "--connect", f"localhost:{port}", timeout=20)
        assert again.stdout.strip() == "done\t2"


def test_attached_editor_is_told_of_every_step_and_pause(in_process, tmp_path):
    """Attach mode: each `next` and each `pause` ends in a `stopped` event, even when the kernel
    publishes it before its reply to that request reaches the adapter (the adapter's client
    used to hand such an event to the waiting request, which dropped it)."""
    with _daemon("steps") as port:
        script = tmp_path / "steps.lua"
        script.write_text(
            "local total = 0\nfor i = 1, 1000 do\n  total = total + i\nend\n"
            "local spin = 0\nwhile spin >= 0 do spin = spin + 1 end\nprint('total', total)\n"
        )
        client = in_process
        runner = _attach_and_run(client, port, script, [{"line": 3}])
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(lambda: runner.poll() is None and runner.kill())
            assert client.wait_event("stopped")["reason"] == "breakpoint"
            client.request("setBreakpoints", source={"path": str(script)}, breakpoints=[])
            for _ in range(40):
                client.request("next", threadId=1)
                assert client.wait_event("stopped", timeout=5)["reason"] == "step"
            client.request("continue", threadId=1)
            for _ in range(10):
                client.request("pause", threadId=1)
                assert client.wait_event("stopped", timeout=5)["reason"] == "pause"
                client.request("continue", threadId=1)
            client.request("pause", threadId=1)
            client.wait_event("stopped", timeout=5)
            client.request("evaluate", expression="spin = -1", frameId=1)  # ends the loop
            client.request("continue", threadId=1)
            assert _finished(runner) == "total\t500500"


def _fails(client: DapClient, command: str, **arguments: object) -> str:
    response = client.response(client.send(command, **arguments))
    assert response["success"] is False, response
    assert response["message"], response
    return response["message"]


def stale_references_fail_and_the_session_goes_on(
    client: DapClient, script: Path, **launch: object
) -> None:
    """References kept from an earlier, deeper stop (as editors do) get errors, not a crash."""
    start(client, script, **launch)
    client.request(
        "setBreakpoints",
        source={"path": str(script)},
        breakpoints=[{"line": 2, "hitCondition": "1"}, {"line": 29}],
    )
    client.request("configurationDone")
    client.wait_event("stopped")
    frames = client.request("stackTrace", threadId=1)["stackFrames"]
    assert [f["line"] for f in frames] == [2, 27]
    deeper = client.request("scopes", frameId=frames[1]["id"])["scopes"][0]["variablesReference"]
    config = locals_of(client, frames[1]["id"])["config"]["variablesReference"]
    client.request("continue", threadId=1)
    client.wait_event("stopped")
    assert top(client)["line"] == 29  # now a single frame: frame 2 is gone
    assert "no frame 2" in _fails(client, "variables", variablesReference=deeper)
    assert "no frame 9999" in _fails(client, "variables", variablesReference=9999 * 4 + 1)
    _fails(client, "scopes", frameId=99999)
    _fails(client, "evaluate", expression="total", frameId=9999, context="watch")
    _fails(client, "setVariable", variablesReference=9999 * 4 + 1, name="x", value="1")
    assert "no longer available" in _fails(client, "variables", variablesReference=987654)
    _fails(client, "variables", variablesReference="abc")
    # still serving: the table reference of the earlier stop still names a live table
    children = client.request("variables", variablesReference=config)["variables"]
    assert "name" in {v["name"] for v in children}
    assert client.request("evaluate", expression="total", frameId=1)["result"] == "15"
    client.request("continue", threadId=1)
    assert client.wait_event("exited")["exitCode"] == 0


def test_stale_frame_and_variable_references_get_errors(in_process, script):
    stale_references_fail_and_the_session_goes_on(in_process, script)


@pytest.mark.slow
def test_stale_references_over_tcp_leave_the_server_serving(script: Path, dap_server: DapServer):
    client = dap_server.client()
    stale_references_fail_and_the_session_goes_on(client, script, token=dap_server.token)
    client.close()
    again = dap_server.session(script)
    again.request("configurationDone")
    assert again.wait_event("exited")["exitCode"] == 0


def test_exception_info_describes_the_error_the_program_stopped_at(in_process, tmp_path):
    path = tmp_path / "boom.lua"
    path.write_text(UNCAUGHT)
    caps = start(in_process, path)
    assert caps["supportsExceptionInfoRequest"] is True
    in_process.request("setExceptionBreakpoints", filters=["error"])
    in_process.request("configurationDone")
    in_process.wait_event("stopped")
    info = in_process.request("exceptionInfo", threadId=1)
    assert "bad input" in info["description"] and info["breakMode"] == "unhandled"
    assert info["exceptionId"] and "bad input" in info["details"]["message"]
    assert f"explode ({path.resolve()}:3)" in info["details"]["stackTrace"]
    in_process.request("continue", threadId=1)
    in_process.wait_event("exited")


def test_exception_info_of_a_caught_error_and_outside_an_error_stop(in_process, script):
    start(in_process, script)
    in_process.request("setExceptionBreakpoints", filters=["pcall"])
    in_process.request("setBreakpoints", source={"path": str(script)}, breakpoints=[{"line": 31}])
    in_process.request("configurationDone")
    in_process.wait_event("stopped")
    info = in_process.request("exceptionInfo", threadId=1)
    assert "too big: 5" in info["description"] and info["breakMode"] == "always"
    in_process.request("continue", threadId=1)
    assert in_process.wait_event("stopped")["reason"] == "breakpoint"
    assert "not stopped at an error" in _fails(in_process, "exceptionInfo", threadId=1)
    in_process.request("continue", threadId=1)
    in_process.wait_event("exited")


def test_attach_refuses_a_kernel_whose_key_it_does_not_hold(in_process, tmp_path):
    """An unsigned connection file (key "") is refused before anything is sent to the kernel."""
    import json

    unsigned = tmp_path / "kernel-unsigned.json"
    ports = dict.fromkeys(("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"), 9)
    unsigned.write_text(json.dumps({**ports, "ip": "127.0.0.1", "key": "", "transport": "tcp"}))
    in_process.request("initialize", adapterID="llmspell")
    message = _fails(in_process, "attach", connect=str(unsigned))
    assert "has no key" in message
    # and no kernel is reached by a bare address without a connection file of this user
    assert "no kernel known" in _fails(in_process, "attach", connect="127.0.0.1:9")


@pytest.mark.slow
def test_a_fixed_token_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMSPELL_DAP_TOKEN", "short")
    refused = subprocess.run(
        [*llmspell(), "debug", "--dap-port", "0"], capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: LLMSPELL_DAP_TOKEN must be at least 16 characters long"
    ]
    monkeypatch.setenv("LLMSPELL_DAP_TOKEN", "kept-across-restarts-1234")
    server = DapServer()
    try:
        assert server.token == "kept-across-restarts-1234"
        script = tmp_path / "s.lua"
        script.write_text("print(1)\n")
        client = server.session(script)
        client.request("configurationDone")
        assert client.wait_event("exited")["exitCode"] == 0
    finally:
        server.stop()
