"""The suite never touches the user's real home, XDG dirs or LLMSPELL_* settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SESSION_HOME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_child_pytest_leaves_the_real_dirs_untouched(tmp_path: Path) -> None:
    real = tmp_path / "real"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV")}
    env.update(
        {
            "HOME": str(real / "home"),
            "XDG_DATA_HOME": str(real / "data"),
            "XDG_CONFIG_HOME": str(real / "config"),
            "XDG_STATE_HOME": str(real / "state"),
            "XDG_CACHE_HOME": str(real / "cache"),
            "XDG_RUNTIME_DIR": str(real / "runtime"),
            "JUPYTER_RUNTIME_DIR": str(real / "jupyter-runtime"),
            "JUPYTER_DATA_DIR": str(real / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(real / "jupyter-config"),
            # A real setting that would send the store elsewhere if it leaked into the tests.
            "LLMSPELL_RUNTIME_STATE_PERSISTENCE_BACKEND": "not-a-backend",
        }
    )
    for name in ("home", "data", "config", "state", "cache", "runtime"):
        (real / name).mkdir(parents=True)
    (real / "runtime").chmod(0o700)
    (real / "config" / "llmspell").mkdir()
    (real / "config" / "llmspell" / "config.toml").write_text("this is not toml = = =\n")
    before = _files(real)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/isolation_probe.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert _files(real) == before


def test_each_test_runs_in_its_own_dirs(isolated_home: Path) -> None:
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        assert Path(os.environ[name]).is_relative_to(isolated_home)
    assert SESSION_HOME.is_dir()
    assert not [name for name in os.environ if name.startswith("LLMSPELL_")]
