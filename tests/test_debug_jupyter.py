"""JupyterLab's debugger protocol (debug_request / debug_event) against the real kernel process,
in the style of ipykernel's tests/test_debugger.py."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.debug.murmur import murmur2
from llmspell_kernel.protocol.kernelspec import kernelspec, write_kernelspec

CELL = """\
function scale(values, factor)
  local out = {}
  for i, v in ipairs(values) do
    out[i] = v * factor
  end
  return out
end
result = scale({1, 2, 3}, 10)
"""


# murmur2_x86(text, 0xC70F6907) as ipykernel 7.4's ipykernel.compiler computes it: JupyterLab
# names cells by this hash, so ours must agree bit for bit.
IPYKERNEL_MURMUR2 = {
    "": 3990065800,
    "a": 2167009006,
    "ab": 2805137849,
    "abc": 3350977461,
    "abcd": 804720481,
    CELL: 3154024515,
    "ünïcode ✓": 3382354675,
}


def test_murmur2_matches_ipykernel_and_kernelspec_enables_the_debugger():
    assert kernelspec()["metadata"]["debugger"] is True
    for text, expected in IPYKERNEL_MURMUR2.items():
        assert murmur2(text.encode("utf-8"), 0xC70F6907) == expected, text


class DebugSession:
    """A kernel started from its kernelspec plus helpers for debug requests."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seq = 0
        self.events: list[dict[str, Any]] = []

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        self.seq += 1
        content = {"type": "request", "seq": self.seq, "command": command, "arguments": arguments}
        msg = self.client.session.msg("debug_request", content)
        self.client.control_channel.send(msg)
        while True:
            reply = self.client.control_channel.get_msg(timeout=10)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply["content"]

    def ok(self, command: str, **arguments: Any) -> dict[str, Any]:
        reply = self.request(command, **arguments)
        assert reply["success"], f"{command}: {reply.get('message')}"
        return reply.get("body") or {}

    def wait_event(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {name} debug_event") from None
            if msg["msg_type"] == "debug_event":
                self.events.append(msg["content"])
                if msg["content"]["event"] == name:
                    return msg["content"].get("body") or {}

    def reply_to(self, msg_id: str) -> dict[str, Any]:
        while True:
            reply = self.client.get_shell_msg(timeout=10)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DebugSession]:
    from jupyter_client.manager import start_new_kernel

    write_kernelspec(tmp_path / "kernels" / "llmspell-debug")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    manager, client = start_new_kernel(kernel_name="llmspell-debug", startup_timeout=30)
    try:
        yield DebugSession(client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.mark.slow
def test_breakpoint_in_a_cell_stops_and_inspects_then_survives_an_interrupt(session):
    info = session.client.kernel_info(reply=True)["content"]
    assert info["debugger"] is True and "debugger" in info["supported_features"]
    caps = session.ok(
        "initialize",
        clientID="test",
        adapterID="llmspell",
        pathFormat="path",
        linesStartAt1=True,
        columnsStartAt1=True,
    )
    assert caps["supportsConfigurationDoneRequest"]
    session.ok("attach")
    debug_info = session.ok("debugInfo")
    assert debug_info["isStarted"] and debug_info["hashMethod"] == "Murmur2"
    expected = (
        debug_info["tmpFilePrefix"]
        + str(murmur2(CELL.encode(), debug_info["hashSeed"]))
        + debug_info["tmpFileSuffix"]
    )
    path = session.ok("dumpCell", code=CELL)["sourcePath"]
    assert path == expected and Path(path).read_text() == CELL
    placed = session.ok(
        "setBreakpoints", source={"path": path}, breakpoints=[{"line": 4}], sourceModified=False
    )["breakpoints"]
    assert placed[0]["verified"]
    session.ok("setExceptionBreakpoints", filters=[])
    session.ok("configurationDone")

    msg_id = session.client.execute(CELL)
    stopped = session.wait_event("stopped")
    assert stopped["reason"] == "breakpoint"
    assert session.ok("debugInfo")["stoppedThreads"] == [1]
    frames = session.ok("stackTrace", threadId=1)["stackFrames"]
    assert frames[0]["line"] == 4 and frames[0]["source"]["path"] == path
    scopes = session.ok("scopes", frameId=frames[0]["id"])["scopes"]
    local = {
        v["name"]: v
        for v in session.ok("variables", variablesReference=scopes[0]["variablesReference"])[
            "variables"
        ]
    }
    assert local["factor"]["value"] == "10" and local["v"]["value"] == "1"
    values = session.ok("variables", variablesReference=local["values"]["variablesReference"])
    assert [v["value"] for v in values["variables"]] == ["1", "2", "3"]
    rich = session.ok("richInspectVariables", variableName="factor", frameId=frames[0]["id"])
    assert rich["data"]["text/plain"] == "10"
    session.ok("setBreakpoints", source={"path": path}, breakpoints=[])
    session.ok("continue", threadId=1)
    assert session.reply_to(msg_id)["status"] == "ok"
    names = {v["name"] for v in session.ok("inspectVariables")["variables"]}
    assert {"scale", "result"} <= names

    # An interrupt during the session leaves the breakpoints working.
    loop = session.client.execute("while true do end")
    time.sleep(0.5)
    session.client.control_channel.send(session.client.session.msg("interrupt_request", {}))
    assert session.reply_to(loop)["status"] == "error"
    session.ok("setBreakpoints", source={"path": path}, breakpoints=[{"line": 4}])
    again = session.client.execute(CELL)
    assert session.wait_event("stopped")["reason"] == "breakpoint"
    session.ok("setBreakpoints", source={"path": path}, breakpoints=[])
    session.ok("continue", threadId=1)
    assert session.reply_to(again)["status"] == "ok"
    session.ok("disconnect", restart=False, terminateDebuggee=True)
    assert not session.ok("debugInfo")["isStarted"]
    assert os.path.exists(path)


TYPED_CELL = """\
n = 2
f = 1.5
b = true
s = "hi"
tbl = {1}
x = n + 1
"""


@pytest.mark.slow
def test_jupyterlab_modules_variable_types_and_terminate(session):
    """Issue 12 item 9: `modules` answered success:false (JupyterLab threw on it after every
    cell); Variables showed `n: number` (JupyterLab prints values only for int/float/bool/str);
    after Terminate the breakpoints stayed and the next run hung stopped with no UI."""
    session.ok("initialize", clientID="test", adapterID="llmspell", pathFormat="path")
    session.ok("attach")
    path = session.ok("dumpCell", code=TYPED_CELL)["sourcePath"]
    session.ok("setBreakpoints", source={"path": path}, breakpoints=[{"line": 6}])
    session.ok("configurationDone")
    modules = session.ok("modules", startModule=0, moduleCount=50)
    assert modules["modules"] == [] and modules["totalModules"] == 0

    msg_id = session.client.execute(TYPED_CELL)
    assert session.wait_event("stopped")["reason"] == "breakpoint"
    frames = session.ok("stackTrace", threadId=1)["stackFrames"]
    scopes = session.ok("scopes", frameId=frames[0]["id"])["scopes"]
    ref = next(s for s in scopes if s["name"] == "Globals")["variablesReference"]
    found = {v["name"]: v for v in session.ok("variables", variablesReference=ref)["variables"]}
    shown = {name: (found[name]["type"], found[name]["value"]) for name in ("n", "f", "b", "s")}
    assert shown == {
        "n": ("int", "2"),
        "f": ("float", "1.5"),
        "b": ("bool", "true"),
        "s": ("str", '"hi"'),
    }
    assert found["n"]["luaType"] == "number" and found["s"]["luaType"] == "string"
    assert found["tbl"]["type"] == "table" and "luaType" not in found["tbl"]
    inspected = {v["name"]: v for v in session.ok("inspectVariables")["variables"]}
    assert inspected["n"]["type"] == "int"

    session.ok("terminate")
    assert session.reply_to(msg_id)["status"] == "error"  # the cell was ended
    info = session.ok("debugInfo")
    assert not info["isStarted"] and info["breakpoints"] == []
    again = session.client.execute(TYPED_CELL)  # runs through: no breakpoint is left
    assert session.reply_to(again)["status"] == "ok"
