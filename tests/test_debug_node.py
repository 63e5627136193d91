"""Smoke test with VS Code's reference client (@vscode/debugadapter-testsupport, from npm)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not installed"
    ),
]

PACKAGES = ["@vscode/debugadapter-testsupport@1.68.0", "@vscode/debugprotocol@1.68.0"]
TEST_JS = Path(__file__).parent / "node" / "smoke.test.js"


def test_vscode_debug_client_hits_a_breakpoint(tmp_path: Path):
    modules = Path(os.environ.get("LLMSPELL_NODE_MODULES", tmp_path / "npm"))
    if not (modules / "node_modules" / "@vscode" / "debugadapter-testsupport").is_dir():
        modules.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(modules),
                *PACKAGES,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm install failed (offline?): {done.stderr.strip()[:200]}")
    script = tmp_path / "smoke.lua"
    script.write_text("local n = 0\nn = n + 1\nprint(n)\n")
    launcher = tmp_path / "llmspell-dap"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -m llmspell_cli debug --dap\n")
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "NODE_PATH": str(modules / "node_modules"),
        "LLMSPELL_CLI": str(launcher),
        "SCRIPT": str(script),
    }
    done = subprocess.run(
        ["node", "--test", str(TEST_JS)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
