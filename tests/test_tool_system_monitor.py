"""system_monitor: real figures through psutil when it is installed; absent (not a stub) when not."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from llmspell_kernel.tools import catalogue
from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


def test_without_psutil_the_tool_is_absent(allowed: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(catalogue._AVAILABLE, "psutil", False)
    engine, _ = make_engine(allowed)
    assert run(
        engine, 'return {Tool.exists("system_monitor"), Tool.get("system-monitor") == nil}'
    ) == [
        False,
        True,
    ]
    names = run(
        engine, "local n = {} for _, t in ipairs(Tool.list()) do n[#n + 1] = t.name end return n"
    )
    assert "system_monitor" not in names
    assert "Tool 'system_monitor' not found" in failure(engine, 'Tool.invoke("system_monitor", {})')


@pytest.mark.skipif(importlib.util.find_spec("psutil") is None, reason="psutil is not installed")
def test_with_psutil_it_reports_this_machine(allowed: Path):
    engine, _ = make_engine(allowed)
    everything = run(engine, 'return Tool.invoke("system_monitor", {interval = 0})')["result"]
    assert everything["cpu"]["logical_cores"] == os.cpu_count()
    assert 0 < everything["memory"]["used"] < everything["memory"]["total"]
    assert any(d["mountpoint"] == "/" for d in everything["disk"])
    assert everything["system"]["process_count"] > 1
    processes = run(
        engine, 'return Tool.invoke("system_monitor", {operation = "processes", limit = 3})'
    )
    rows = processes["result"]["processes"]
    assert len(rows) == 3 and rows[0]["rss"] >= rows[1]["rss"] >= rows[2]["rss"]
    assert "must be between 1 and 100" in failure(
        engine, 'Tool.invoke("system_monitor", {operation = "processes", limit = 0})'
    )
    assert "must be between 0 and 5 seconds" in failure(
        engine, 'Tool.invoke("system_monitor", {interval = 60})'
    )
