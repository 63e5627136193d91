"""Shared fixtures: every test runs with HOME, XDG dirs and Jupyter dirs inside tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keep tests away from the user's real home, config and Jupyter runtime dirs."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(home / "jupyter-runtime"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(home / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(home / "jupyter-config"))
    for name in list(os.environ):
        if name.startswith("LLMSPELL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield home
