"""JupyterLab in a real browser (issue 12 item 9): `jupyter lab` with the llmspell kernelspec, a
notebook opened in headless Chromium driven by Playwright, a cell with a print and a returned
value run from the toolbar, then a breakpoint set in the cell's gutter through the debugger panel,
hit, shown in the call stack and continued.

Needs Debian's `chromium` (Playwright drives it through `executable_path`, no browser download)
and the `jupyterlab` and `playwright` packages (`.[test]`); skipped, saying which is missing,
without them. Every step waits for a state of the page or the server, never for a fixed time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmspell_kernel.protocol.kernelspec import write_kernelspec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = [
    name
    for name, present in (
        ("chromium (apt-get install chromium)", CHROMIUM is not None),
        ("jupyterlab", importlib.util.find_spec("jupyterlab") is not None),
        ("playwright", importlib.util.find_spec("playwright") is not None),
    )
    if not present
]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}")

KERNEL_NAME = "llmspell"
CELL = 'print("hello from lua")\nreturn 40 + 2'
# A loaded 2-core machine: JupyterLab's first page load alone can take 15-25 s there.
TIMEOUT_MS = 90_000
# Chromium as root in a closed network: no sandbox, no GPU, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Lab:
    """A running `jupyter lab` server: where it listens and its token."""

    def __init__(self, url: str, token: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.token = token
        self.process = process

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as reply:
            return json.load(reply)


def _wait_for(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT_MS / 1000) -> Any:
    """Poll `condition` until it returns something true (a server state, not a page state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """`jupyter lab` on a free port of 127.0.0.1, with the kernelspec and every Jupyter and
    JupyterLab directory inside tmp_path (conftest isolates HOME and the XDG/Jupyter dirs)."""
    specs = tmp_path / "jupyter-path"
    write_kernelspec(specs / "kernels" / KERNEL_NAME)
    monkeypatch.setenv("JUPYTER_PATH", str(specs))
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path / "lab-settings"))
    monkeypatch.setenv("JUPYTERLAB_WORKSPACES_DIR", str(tmp_path / "lab-workspaces"))
    runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
    work = tmp_path / "notebooks"
    work.mkdir()
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "lua-cell",
                "metadata": {},
                "outputs": [],
                "source": CELL,
            }
        ],
        "metadata": {
            "kernelspec": {"name": KERNEL_NAME, "display_name": "llmspell (Lua)", "language": "lua"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (work / "lua.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    token = secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            "--port=0",  # a free port; the server's runtime file says which
            "--allow-root",  # CI runs as root
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        info_file = runtime / f"jpserver-{process.pid}.json"

        def written() -> dict[str, Any] | None:
            assert process.poll() is None, (tmp_path / "lab.log").read_text(errors="replace")
            try:
                return dict(json.loads(info_file.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # not there yet, or half written
                return None

        info = _wait_for(written, "jupyter lab's runtime file")
        server = Lab(f"http://127.0.0.1:{info['port']}", token, process)

        def answers() -> bool:
            try:
                server.api("/api/status")
            except (urllib.error.URLError, OSError):
                return False
            return True

        _wait_for(answers, "jupyter lab's REST API")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_notebook_cell_and_a_breakpoint_in_jupyterlab(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{lab.url}/lab/tree/lua.ipynb?token={lab.token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content")

            def kernel_idle() -> bool:
                sessions = lab.api("/api/sessions")
                return any(
                    s["kernel"]["name"] == KERNEL_NAME and s["kernel"]["execution_state"] == "idle"
                    for s in sessions
                )

            # The page shows "idle" before it has a kernel at all; the server knows better.
            _wait_for(kernel_idle, "the llmspell kernel to be idle")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            page.wait_for_selector(".jp-DebuggerBugButton")  # the kernel said it can debug

            cell = page.locator(".jp-Notebook .jp-Cell").first
            cell.click()
            page.click("[data-command='notebook:run-cell-and-select-next']")
            outputs = cell.locator(".jp-OutputArea")
            outputs.locator(".jp-OutputArea-output:has-text('hello from lua')").wait_for()
            result = outputs.locator(".jp-OutputArea-executeResult")
            result.wait_for()
            assert result.inner_text().strip().endswith("42")  # "[1]:\n42": text/plain
            assert "root" not in outputs.inner_text()  # not a JSON tree

            # The debugger panel: a breakpoint on the cell's second line, hit, then continued.
            page.click(".jp-DebuggerBugButton")
            page.wait_for_selector(".jp-DebuggerSidebar")
            line_two = cell.locator(".cm-breakpoint-gutter .cm-gutterElement").nth(2)
            line_two.wait_for()
            line_two.click()
            breakpoint_line = page.locator(".jp-DebuggerBreakpoint .jp-DebuggerBreakpoint-line")
            breakpoint_line.wait_for()
            assert breakpoint_line.inner_text().strip() == "2"

            cell.click()
            page.click("[data-command='notebook:run-cell-and-select-next']")
            frame = page.locator(".jp-DebuggerCallstackFrame").first
            frame.wait_for()
            assert frame.locator(".jp-DebuggerCallstackFrame-location").inner_text().endswith(":2")
            # Stopped before line 2: line 1's print has been shown, the result not yet.
            outputs.locator(".jp-OutputArea-output:has-text('hello from lua')").wait_for()
            assert result.count() == 0

            page.click("jp-button[title^='Continue']")
            result.wait_for()
            assert result.inner_text().strip().endswith("42")
            page.wait_for_selector(".jp-DebuggerCallstackFrame", state="detached")
            assert cell.locator(".jp-InputPrompt").inner_text().strip() == "[2]:"
        finally:
            browser.close()
