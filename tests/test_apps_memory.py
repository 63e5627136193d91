"""Memory stability of `llmspell app validate --repeat N`: N rounds in one process, each app in a
fresh kernel, must not grow the process without bound. A soak of 200 agent calls (20 rounds of
a 10-call workflow) against the scripted local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.llm_server import Reply, ScriptedLLMServer, openai_text
from tests.processes import llmspell

ROUNDS = 20
CALLS_PER_ROUND = 10
# After the first rounds (imports, caches, the allocator's arenas), what 15 more rounds of 10
# agent calls in fresh kernels may add to the process's RSS. Measured: about 4 MB in all (steps
# of 1 MB every few rounds, the allocator's); a kernel or Lua state kept per round is more.
GROWTH_BOUND_MB = 12

SOAK_MAIN = """
for i = 1, 10 do
  Agent.builder():name("agent_" .. i):model("openai/gpt-4o-mini"):build()
end
local b = Workflow.builder():name("soak"):sequential()
for i = 1, 10 do
  b:add_step({name = "s" .. i, type = "agent", agent = "agent_" .. i, input = "step " .. i .. " of {{topic}}"})
end
local r = b:build():execute({text = "x", topic = string.rep("memory ", 200)})
assert(r.success, r.error)
local w = Tool.invoke("file_operations", {operation = "write", path = ARGS.output .. "/out.json",
  input = JSON.stringify(r.outputs)})
assert(w.success, w.error)
"""

SOAK_MANIFEST = """
name = "soak"
layer = 1
agents = 10
workflows = 1
providers = ["openai"]

[[outputs]]
path = "out.json"
format = "json"
nonempty = ["s10"]
"""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    server = ScriptedLLMServer()
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LLMSPELL_OPENAI_ENDPOINT", server.url)
    yield server
    server.close()


@pytest.mark.slow
def test_two_hundred_agent_calls_over_twenty_rounds_do_not_grow_the_process(
    server, tmp_path: Path
) -> None:
    app = tmp_path / "soak"
    app.mkdir()
    (app / "main.lua").write_text(SOAK_MAIN)
    (app / "config.toml").write_text("")
    (app / "app.toml").write_text(SOAK_MANIFEST)
    long_reply = "a reply long enough to be kept in the state records " * 20
    server.script(*(Reply(body=openai_text(long_reply)) for _ in range(ROUNDS * CALLS_PER_ROUND)))
    done = llmspell(
        "app", "validate", str(app), "--repeat", str(ROUNDS), "--output", "json",
        "--work-dir", str(tmp_path / "runs"), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert len(report["apps"]) == ROUNDS and all(a["passed"] for a in report["apps"])
    assert sum(a["agent_calls"] for a in report["apps"]) == ROUNDS * CALLS_PER_ROUND
    rounds = report["rounds"]
    settled = rounds[4]["rss_after_bytes"]
    final = rounds[-1]["rss_after_bytes"]
    growth_mb = (final - settled) / (1024 * 1024)
    per_round = [round(r["growth_bytes"] / 1024 / 1024, 2) for r in rounds]
    assert growth_mb < GROWTH_BOUND_MB, f"RSS grew {growth_mb:.1f} MB after round 5: {per_round}"
