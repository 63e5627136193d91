"""VS Code's reference client (@vscode/debugadapter-testsupport, from npm) against the adapter:
over stdio (the editor spawns `llmspell debug --dap`) and over TCP (`--dap-port`, with its token)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.debug_scripts import UNCAUGHT
from tests.test_debug_dap import DapServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None or shutil.which("npm") is None, reason="node/npm not installed"
    ),
]

PACKAGES = ["@vscode/debugadapter-testsupport@1.68.0", "@vscode/debugprotocol@1.68.0"]
NODE_TESTS = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    modules = Path(os.environ.get("LLMSPELL_NODE_MODULES", tmp_path_factory.mktemp("npm")))
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
    return modules / "node_modules"


def run_node(test_file: str, node_modules: Path, **env: str) -> None:
    done = subprocess.run(
        ["node", "--test", str(NODE_TESTS / test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(node_modules), **env},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_vscode_debug_client_over_stdio(tmp_path: Path, node_modules: Path):
    script = tmp_path / "smoke.lua"
    script.write_text("local n = 0\nn = n + 1\nprint(n)\n")
    failing = tmp_path / "boom.lua"
    failing.write_text(UNCAUGHT)
    launcher = tmp_path / "llmspell-dap"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -m llmspell_cli debug --dap\n")
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    run_node(
        "smoke.test.js",
        node_modules,
        LLMSPELL_CLI=str(launcher),
        SCRIPT=str(script),
        ERROR_SCRIPT=str(failing),
    )


def test_vscode_debug_clients_over_tcp_with_the_token(tmp_path: Path, node_modules: Path):
    script = tmp_path / "smoke.lua"
    script.write_text("local n = 0\nn = n + 1\nprint(n)\n")
    server = DapServer()
    try:
        run_node(
            "tcp.test.js",
            node_modules,
            PORT=str(server.port),
            TOKEN=server.token,
            SCRIPT=str(script),
        )
        assert server.proc.poll() is None
    finally:
        server.stop()
