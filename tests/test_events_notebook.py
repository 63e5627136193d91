"""Acceptance (issue 15): after one notebook cell run by nbclient on a kernel Jupyter launches,
`llmspell events --correlation <the cell's msg_id>` lists the cell's agent call, tool calls
and hooks in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.protocol.kernelspec import write_kernelspec
from tests import scripted_provider
from tests.llm_server import Reply, ScriptedLLMServer, openai_text, openai_tool_call

pytestmark = pytest.mark.slow

KERNEL_NAME = "llmspell-events-test"

CELL = """
Tool.register({name = "lookup", description = "looks things up",
  fn = function(p) return "found " .. tostring(p.q) end})
Hook.register("BeforeToolExecution", function(ctx) end, {name = "audit"})
local a = Agent.builder():name("researcher"):model("openai/gpt-4o-mini")
  :allow_tool("lookup"):build()
print(a:execute("find it").text)
"""

server = scripted_provider.server  # the fixture


def test_events_of_one_notebook_cell_by_its_msg_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: ScriptedLLMServer
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    server.script(
        Reply(body=openai_tool_call("lookup", {"q": "a"}, "call_1")),
        Reply(body=openai_tool_call("lookup", {"q": "b"}, "call_2")),
        Reply(body=openai_text("all found")),
    )
    specs = tmp_path / "jupyter-path"
    write_kernelspec(specs / "kernels" / KERNEL_NAME)
    monkeypatch.setenv("JUPYTER_PATH", str(specs))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(CELL)]
    replies: list[dict[str, Any]] = []
    runner = nbclient.NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=120,
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.append(execute_reply),
    )
    runner.execute()
    assert notebook.cells[1].outputs[0]["text"] == "all found\n"
    msg_id = replies[1]["parent_header"]["msg_id"]
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmspell_cli",
            "events",
            "--correlation",
            msg_id,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert [(e["event_type"], e["data"].get("name")) for e in events] == [
        ("agent.started", "researcher"),
        ("tool.started", "lookup"),
        ("hook.executed", "audit"),
        ("tool.completed", "lookup"),
        ("tool.started", "lookup"),
        ("hook.executed", "audit"),
        ("tool.completed", "lookup"),
        ("agent.completed", "researcher"),
    ]
    assert {e["correlation_id"] for e in events} == {msg_id}
    assert [e["sequence"] for e in events] == sorted(e["sequence"] for e in events)
    text = subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "events", "--correlation", msg_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "hook.executed" in text.stdout and "hook_point=BeforeToolExecution" in text.stdout
