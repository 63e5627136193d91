"""Workflows from the real CLI: every type from a script, `llmspell workflow list|show`
offline and through a kernel, and a session's workflow runs in `session show`."""

from __future__ import annotations

import json
from pathlib import Path

from llmspell_kernel.api import connect_to_kernel, kernel_settings_from_config, start_kernel_service
from llmspell_kernel.config import load_config
from tests.data_helpers import cli, cli_json, write_config
from tests.processes import llmspell

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "workflows" / "workflow-basics.lua"


def test_the_example_runs_every_workflow_type_and_its_runs_are_recorded(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml")
    done = llmspell("--config", str(config), "--output", "json", "run", str(EXAMPLE), timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    assert result["conditional"] == ["paged on-call", "filed a ticket", "ignored"]
    assert result["range"] == ["1", "4", "9", "16"]
    assert result["parallel"] == {"b64": "cGFyYWxsZWw=", "sum": "42"}
    assert result["sequential"].startswith("HELLO WORKFLOWS hashes to ")
    assert result["nested"].startswith("[NESTED hashes to ")
    assert result["while_iterations"] == 3
    assert result["fail_fast"].endswith("Workflow 'strict' failed at step 'boom': no luck")

    listed = cli_json("--config", str(config), "workflow", "list")
    assert listed["registered"] is None  # no kernel: only what the runs recorded
    by_name = {w["name"]: w for w in listed["recorded"]}
    assert by_name["router"]["runs"] == 3 and by_name["router"]["type"] == "conditional"
    assert by_name["strict"]["failures"] == 1 and by_name["strict"]["last_success"] is False
    shown = cli_json("--config", str(config), "workflow", "show", "squares")
    (run,) = shown["runs"]
    assert [(s["step_name"], s["iteration"]) for s in run["steps"]] == [
        ("square", 0), ("square", 1), ("square", 2), ("square", 3),
    ]  # fmt: skip
    assert all(s["duration_ms"] >= 0 and s["success"] for s in run["steps"])
    text = cli("--config", str(config), "workflow", "show", "squares")
    assert text.exit_code == 0 and "square" in text.stdout and run["execution_id"] in text.stdout
    by_run = cli_json("--config", str(config), "workflow", "show", run["execution_id"])
    assert by_run["runs"] == [run]
    missing = cli("--config", str(config), "workflow", "show", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: Workflow 'nope' not found")


def test_session_show_lists_its_workflow_runs_with_step_timings(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml")
    script = tmp_path / "s.lua"
    script.write_text(
        """
        local sid = Session.create({name = "wf"})
        Session.set_current(sid)
        Workflow.builder():name("timed"):sequential()
          :add_step({name = "a", type = "tool", tool = "uuid_generator", input = {operation = "generate"}})
          :add_step({name = "b", type = "custom", ["function"] = function() return "x" end})
          :build():execute({})
        print(sid)
        """,
        encoding="utf-8",
    )
    done = llmspell("--config", str(config), "run", str(script), timeout=60)
    assert done.returncode == 0, done.stderr
    session_id = done.stdout.strip()
    shown = cli_json("--config", str(config), "session", "show", session_id)
    (run,) = shown["workflow_runs"]
    assert run["name"] == "timed" and run["session_id"] == session_id and run["success"]
    assert [s["step_name"] for s in run["steps"]] == ["a", "b"]
    text = cli("--config", str(config), "session", "show", session_id)
    assert text.exit_code == 0
    assert "workflow runs" in text.stdout and run["execution_id"] in text.stdout


def test_workflow_list_and_show_through_a_kernel(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml")
    connection = str(tmp_path / "kernel-w.json")
    settings = kernel_settings_from_config(load_config(config).config)
    service = start_kernel_service(connection_file=connection, settings=settings)
    try:
        client = connect_to_kernel(connection)
        client.execute(
            """
            built = Workflow.builder():name("kept"):description("built in the kernel"):parallel()
              :max_concurrency(2)
              :add_step({name = "x", type = "tool", tool = "uuid_generator", input = {operation = "generate"}})
              :build()
            built:execute({})
            Workflow.builder():name("never_ran"):sequential()
              :add_step({name = "y", type = "custom", ["function"] = function() return 1 end}):build()
            """
        ).wait()
        client.close()
        listed = cli_json("workflow", "list", "--connect", connection)
        registered = {w["name"]: w for w in listed["registered"]}
        assert registered["kept"]["executions"] == 1 and registered["kept"]["type"] == "parallel"
        assert registered["never_ran"]["executions"] == 0
        assert [w["name"] for w in listed["recorded"]] == ["kept"]
        shown = cli_json("workflow", "show", "never_ran", "--kernel", connection)
        assert shown["definition"]["steps"][0]["name"] == "y" and shown["runs"] == []
        text = cli("workflow", "show", "kept", "--kernel", connection)
        assert text.exit_code == 0
        assert "built in the kernel" in text.stdout and "max concurrency: 2" in text.stdout
        missing = cli("workflow", "show", "nope", "--kernel", connection)
        assert missing.exit_code == 1 and "Workflow 'nope' not found" in missing.stderr
    finally:
        service.stop()
