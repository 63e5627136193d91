"""End to end: a person types into `llmspell repl` in a real terminal (tmux)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port_block
from tests.processes import llmspell as cli
from tests.tmux_driver import TmuxSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def llmspell() -> list[str]:
    cli = Path(sys.executable).parent / "llmspell"
    return [str(cli)] if cli.exists() else [sys.executable, "-m", "llmspell_cli"]


def environment(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV")}
    return {
        **keep,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "TERM": "xterm-256color",
    }


@pytest.fixture
def repl(isolated_home: Path, tmp_path: Path) -> Iterator[TmuxSession]:
    session = TmuxSession(
        [*llmspell(), "repl", "--history", str(tmp_path / "history")], environment(isolated_home)
    )
    try:
        session.wait_for("lua>")
        yield session
    finally:
        session.close()


def person_scenario(term: TmuxSession, prompt: str) -> None:
    shown = term.screen().count(prompt)
    term.line("function add(a, b)")
    term.wait_for("...>")
    term.line("return a + b")
    time.sleep(0.3)
    term.line("end")
    term.wait_for(prompt, count=shown + 1)
    term.line("add(2, 3)")
    screen = term.wait_for(prompt, count=shown + 2)
    assert "\n5\n" in screen
    term.type("string.fo")
    term.keys("Tab")
    term.wait_for("string.format")
    term.line('("%d-%s", 7, "x")')
    term.wait_for('"7-x"')
    term.keys("Up")
    time.sleep(0.5)
    assert term.screen().rstrip().endswith('string.format("%d-%s", 7, "x")')
    term.keys("C-u")
    term.line("while true do end")
    time.sleep(0.8)
    term.keys("C-c")
    term.wait_for("error: interrupted")
    term.line("add(40, 2)")
    term.wait_for("\n42\n")
    fives = term.screen().count("\n5\n")
    term.keys("C-r")
    term.type("add(2")
    term.wait_for("I-search backward: add(2")
    term.keys("Enter")  # accept the match ...
    time.sleep(0.3)
    term.keys("Enter")  # ... and run it
    term.wait_for("\n5\n", count=fives + 1)
    term.keys("C-d")
    deadline = time.monotonic() + 10
    while not term.dead() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert term.dead(), "Ctrl-D on an empty line should exit"


def test_person_uses_embedded_repl(repl: TmuxSession):
    person_scenario(repl, "lua>")


@pytest.fixture
def daemon_port(isolated_home: Path) -> Iterator[int]:
    port = free_port_block()
    started = cli("kernel", "start", "--daemon", "--port", str(port), "--id", "repl-e2e")
    assert started.returncode == 0, started.stderr
    try:
        yield port
    finally:
        cli("kernel", "stop", "--all", "--force")


def test_person_uses_connected_repl_and_sees_other_clients(
    daemon_port: int, isolated_home: Path, tmp_path: Path
):
    assert (
        cli(
            "exec", "shared_value = 'set elsewhere'", "--connect", f"localhost:{daemon_port}"
        ).returncode
        == 0
    )
    term = TmuxSession(
        [
            *llmspell(),
            "repl",
            "--connect",
            f"localhost:{daemon_port}",
            "--history",
            str(tmp_path / "h"),
        ],
        environment(isolated_home),
    )
    try:
        prompt = f"lua@127.0.0.1:{daemon_port}>"
        term.wait_for(prompt)
        term.line("shared_value")
        term.wait_for('"set elsewhere"')
        other = cli(
            "exec", "print('hello from another client')", "--connect", f"localhost:{daemon_port}"
        )
        assert other.returncode == 0
        # Another client's input and output appear, marked, above the prompt.
        term.wait_for("[other] >> print('hello from another client')")
        term.wait_for("[other] hello from another client")
        person_scenario(term, prompt)
    finally:
        term.close()
