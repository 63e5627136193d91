"""`llmspell app`: the shipped applications' catalogue, running an application directory, and the
validation suite's checks, reports and regression detection, through the real CLI. Agents talk
to the scripted local server (tests/llm_server.py); the nine apps on the real local model are
tests/test_apps_local_model.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from llmspell_kernel.apps.catalogue import OutputSpec, find_app, load_app
from llmspell_kernel.apps.checks import RunRecords, check_outputs, check_records
from tests.llm_server import Reply, ScriptedLLMServer, openai_text
from tests.processes import llmspell

NINE = {
    "file-organizer": (1, 3),
    "research-collector": (1, 2),
    "knowledge-base": (1, 3),
    "content-creator": (2, 4),
    "personal-assistant": (2, 4),
    "communication-manager": (2, 5),
    "code-review-assistant": (2, 7),
    "process-orchestrator": (3, 8),
    "webapp-creator": (3, 20),
}

# A small application: a sequential workflow of two agents, one JSON file and one Markdown file
# written below --output. Its manifest (app.toml) is written by each test.
APP_MAIN = """
local out = ARGS.output
Agent.builder():name("writer"):model("openai/gpt-4o-mini"):build()
Agent.builder():name("editor"):model("openai/gpt-4o-mini"):build()
local wf = Workflow.builder():name("pair"):sequential()
  :add_step({name = "draft", type = "agent", agent = "writer", input = "Write about {{topic}}"})
  :add_step({name = "edit", type = "agent", agent = "editor", input = "Edit: {{draft}}"})
  :build()
local r = wf:execute({text = "x", topic = ARGS.topic or "lua"})
assert(r.success, r.error)
local function put(name, text)
  local w = Tool.invoke("file_operations", {operation = "write", path = out .. "/" .. name, input = text})
  assert(w.success, w.error)
end
put("result.json", JSON.stringify({topic = ARGS.topic or "lua", text = r.outputs.edit}))
put("report.md", "# Report\\n\\n## Summary\\n\\n" .. r.outputs.edit .. "\\n")
print("Output: " .. out)
"""

APP_MANIFEST = """
name = "pair"
layer = {layer}
agents = 2
workflows = 1
providers = ["openai"]

[[outputs]]
path = "result.json"
format = "json"
keys = ["topic"]
nonempty = ["text"]

[[outputs]]
path = "{markdown}"
format = "markdown"
sections = ["Summary"]
"""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    server = ScriptedLLMServer()
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LLMSPELL_OPENAI_ENDPOINT", server.url)
    yield server
    server.close()


def make_app(root: Path, *, layer: int = 1, markdown: str = "report.md") -> Path:
    app = root / "pair-app"
    app.mkdir()
    (app / "main.lua").write_text(APP_MAIN)
    (app / "config.toml").write_text("[providers]\ndefault_provider = 'openai'\n")
    (app / "app.toml").write_text(APP_MANIFEST.format(layer=layer, markdown=markdown))
    return app


def replies(server: ScriptedLLMServer, count: int) -> None:
    server.script(*(Reply(body=openai_text(f"reply {i}")) for i in range(count)))


def test_app_list_shows_the_nine_applications_with_their_layers_and_agents() -> None:
    done = llmspell("app", "list", "--output", "json")
    assert done.returncode == 0, done.stderr
    apps = {a["name"]: (a["layer"], a["agents"]) for a in json.loads(done.stdout)}
    assert apps == NINE
    text = llmspell("app", "list")
    assert text.returncode == 0 and "webapp-creator" in text.stdout and "3 expert" in text.stdout


def test_every_shipped_app_has_its_files_and_a_manifest_naming_real_outputs() -> None:
    for name in NINE:
        app = find_app(name)
        for required in ("main.lua", "config.toml", "app.toml", "README.md"):
            assert (app.path / required).is_file(), f"{name} lacks {required}"
        assert app.outputs, f"{name} declares no outputs"
        assert app.validate_args, f"{name} has no validation arguments (small max_tokens)"
        source = app.main.read_text()
        assert "/tmp" not in source, f"{name} writes to a fixed /tmp path"
        assert "ARGS.output" in source


def test_app_info_names_the_outputs_and_an_unknown_app_is_a_usage_error() -> None:
    done = llmspell("app", "info", "webapp-creator", "--output", "json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["agents"] == 20 and info["layer"] == 3
    assert {"path": "taskflow/database/schema.sql", "format": "sql"} in info["outputs"]
    missing = llmspell("app", "info", "nope")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: unknown application 'nope'")
    assert "Traceback" not in missing.stderr


def test_app_run_of_a_directory_writes_below_its_output_and_gets_its_arguments(
    server, tmp_path: Path
) -> None:
    app = make_app(tmp_path)
    replies(server, 2)
    out = tmp_path / "out"
    done = llmspell("app", "run", str(app), "--", "--topic", "tables", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert f"Output: {out}" in done.stdout
    assert json.loads((out / "result.json").read_text()) == {"topic": "tables", "text": "reply 1"}
    assert "Write about tables" in json.dumps(server.seen[0].body)


def test_app_run_without_output_uses_a_fresh_directory_under_the_user_data_dir(
    server, tmp_path: Path
) -> None:
    app = make_app(tmp_path)
    replies(server, 4)
    first = llmspell("app", "run", str(app))
    second = llmspell("app", "run", str(app))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    runs = sorted((data_home / "llmspell-apps" / "pair").iterdir())  # the manifest name
    assert len(runs) == 2 and all((r / "result.json").is_file() for r in runs)
    assert f"Output: {runs[0]}" in first.stdout + second.stdout


def test_app_run_refuses_a_directory_without_main_and_config(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "main.lua").write_text("print(1)")
    done = llmspell("app", "run", str(tmp_path / "half"))
    assert done.returncode == 2
    assert "is not an application: it needs main.lua and config.toml" in done.stderr


def test_validate_checks_files_and_records_and_writes_json_and_html_reports(
    server, tmp_path: Path
) -> None:
    app = make_app(tmp_path)
    replies(server, 2)
    report = tmp_path / "report.json"
    done = llmspell(
        "app", "validate", str(app), "--work-dir", str(tmp_path / "runs"),
        "--report", "json", str(report), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["passed"] is True
    assert data["layers"] == [
        {
            "layer": 1,
            "name": "simple",
            "runs": 1,
            "passed": 1,
            "rate": 1.0,
            "target": 1.0,
            "met": True,
        }
    ]
    (result,) = data["apps"]
    checks = {c["name"]: c for c in result["checks"]}
    assert checks["agents"]["detail"] == "2 agents called the model (expected 2)"
    assert checks["workflows"]["passed"] and checks["agent outputs"]["passed"]
    assert checks["file result.json"]["detail"] == "valid JSON"
    assert result["agent_calls"] == 2 and result["input_tokens"] == 18
    assert result["output_tokens"] == 6 and result["peak_rss_bytes"] > 0
    assert Path(result["console_log"]).read_text().count("Output:") == 1

    replies(server, 2)
    html = tmp_path / "report.html"
    done = llmspell("app", "validate", str(app), "--report", "html", str(html), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "pair" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_validate_fails_on_a_missing_output_and_compare_flags_the_regression(
    server, tmp_path: Path
) -> None:
    app = make_app(tmp_path)
    replies(server, 2)
    before = tmp_path / "before.json"
    ok = llmspell("app", "validate", str(app), "--report", "json", str(before), timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (app / "app.toml").write_text(APP_MANIFEST.format(layer=1, markdown="missing.md"))
    replies(server, 2)
    after = tmp_path / "after.json"
    bad = llmspell(
        "app", "validate", str(app), "--compare", str(before), "--report", "json", str(after),
        timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "file missing.md: the file missing (0 found)" in bad.stdout
    assert "regression: pair (pass): passed before, fails now" in bad.stdout
    data = json.loads(after.read_text())
    assert data["passed"] is False and data["layers"][0]["met"] is False
    assert {"app": "pair", "what": "pass", "detail": "passed before, fails now"} in data[
        "regressions"
    ]


def test_validate_fails_when_the_script_errors_or_an_agent_call_fails(
    server, tmp_path: Path
) -> None:
    app = make_app(tmp_path)
    server.script(Reply(body=openai_text("only one")))  # the second call gets a 500
    done = llmspell("app", "validate", str(app), "--output", "json", timeout=120)
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)["apps"]
    checks = {c["name"]: c for c in result["checks"]}
    assert not checks["exit status"]["passed"] and "failed at step 'edit'" in result["error"]
    assert checks["provider calls"]["detail"].startswith("2 calls, 1 failed")
    assert not checks["agents"]["passed"]


def test_validate_rejects_bad_options_with_one_line(tmp_path: Path) -> None:
    for args, message in (
        (("--repeat", "0"), "error: --repeat must be 1 or more, got 0"),
        (("--report", "pdf", "x.pdf"), "error: --report must be json or html, got 'pdf'"),
        (("--compare", str(tmp_path / "none.json")), "error: --compare: no such report"),
        (("--layer", "7"), "error: no application of layer 7"),
    ):
        done = llmspell("app", "validate", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith(message), done.stderr
        assert "Traceback" not in done.stderr


def test_a_manifest_with_a_bad_layer_is_a_configuration_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, layer=9)
    done = llmspell("app", "info", str(app))
    assert done.returncode == 3
    assert "layer must be one of [1, 2, 3], got 9" in done.stderr


def test_output_checks_use_real_parsers(tmp_path: Path) -> None:
    files = {
        "good.sql": 'CREATE TABLE "t" ("id" INTEGER PRIMARY KEY, "name" TEXT);',
        "bad.sql": "CREATE TABLE t (id INTEGER,,);",
        "good.yaml": "openapi: '3.0.3'\npaths:\n  /x: {}\n",
        "bad.yaml": "a: [1, 2\n",
        "good.md": "# Title\n\n## Summary\n\ntext\n",
        "bad.md": "no headings here\n",
        "good.json": '{"a": {"b": [1]}}',
        "bad.json": '{"a": ',
    }
    if shutil.which("node"):
        files["good.js"] = "const x = { a: 1 };\nmodule.exports = x;\n"
        files["bad.js"] = "function ( {\n"
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    app = load_app(tmp_path)
    fmt = {"sql": "sql", "yaml": "yaml", "md": "markdown", "json": "json", "js": "javascript"}
    for name in files:
        spec = OutputSpec(
            name,
            fmt[name.rsplit(".", 1)[1]],
            sections=("Summary",) if name.endswith(".md") else (),
            nonempty=("a.b",) if name.endswith(".json") else (),
        )
        (result,) = check_outputs(_with_outputs(app, spec), tmp_path)
        assert result.passed == name.startswith("good"), (name, result)


def _with_outputs(app, *outputs):
    from dataclasses import replace

    return replace(app, outputs=tuple(outputs))


def test_records_count_workflow_events_and_step_records() -> None:
    app = load_app(Path(__file__).parent)  # no manifest: defaults
    from dataclasses import replace

    app = replace(app, agents=2, workflows=2)
    calls = [
        {"status": "ok", "agent": "a", "error": None},
        {"status": "ok", "agent": "b", "error": None},
    ]
    by_events = RunRecords(
        calls,
        {},
        [{"event_type": "workflow.completed"}, {"event_type": "workflow.completed"}],
    )
    assert all(c.passed for c in check_records(app, by_events) if c.name != "agent outputs")
    by_state = RunRecords(
        calls,
        {
            "workflow:e1:step": {"success": True},
            "workflow:e2:step": {"success": False},
            "workflow:e1:agent:a:output": "text",
        },
    )
    assert by_state.workflow_counts() == (1, 1)
    failed = {c.name: c for c in check_records(app, by_state)}
    assert not failed["workflows"].passed and failed["agent outputs"].passed
