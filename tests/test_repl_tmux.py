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
    # Every key goes in only once the REPL is ready for it (prompt drawn, code running), as a
    # person waits for the screen: typed ahead into a cooked tty, Ctrl-R shows up as ^R and
    # Ctrl-C can reach nobody. On a loaded machine that difference is the whole test.
    def at_prompt(count: int) -> str:
        return term.wait_until(
            lambda screen: screen.count(prompt) >= count and term.last_line() == prompt,
            f"prompt {prompt!r} number {count}",
        )

    shown = term.screen().count(prompt)
    term.line("function add(a, b)")
    term.wait_for("...>")
    term.line("return a + b")
    term.wait_for("...>", count=2)
    term.line("end")
    at_prompt(shown + 1)
    term.line("add(2, 3)")
    screen = at_prompt(shown + 2)
    assert "\n5\n" in screen
    term.type("string.fo")
    term.keys("Tab")
    term.wait_for("string.format")
    term.line('("%d-%s", 7, "x")')
    term.wait_for('"7-x"')
    at_prompt(shown + 3)
    term.keys("Up")
    term.wait_until(
        lambda _screen: term.last_line().endswith('string.format("%d-%s", 7, "x")'),
        "the history entry recalled by Up",
    )
    term.keys("C-u")
    term.wait_until(lambda _screen: term.last_line() == prompt, "the cleared input line")
    term.line('print("spin" .. "ning") while true do end')
    term.wait_for("\nspinning\n")  # the loop runs now: Ctrl-C has something to interrupt
    term.keys("C-c")
    term.wait_for("error: interrupted")
    shown = term.screen().count(prompt)
    term.line("add(40, 2)")
    term.wait_for("\n42\n")
    at_prompt(shown + 1)
    fives = term.screen().count("\n5\n")
    term.keys("C-r")
    term.type("add(2")
    term.wait_for("I-search backward: add(2")
    term.keys("Enter")  # accept the match ...
    term.wait_until(
        lambda _screen: term.last_line() == f"{prompt} add(2, 3)", "the accepted search match"
    )
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
        term.line(".vars")  # every global of the kernel's state, whichever client made it
        term.wait_for("shared_value  string")
        term.line('{[0] = "z", [-1] = "m"}')
        term.wait_for('{[-1] = "m", [0] = "z"}')
        other = cli(
            "exec", "print('hello from another client')", "--connect", f"localhost:{daemon_port}"
        )
        assert other.returncode == 0
        # Another client's input and output appear, marked, above the prompt.
        term.wait_for("[other] >> print('hello from another client')")
        term.wait_for("[other] hello from another client")
        # ... and the events its execution publishes (IOPub comm messages, README Events)
        note = "Event.publish('demo.note', {name = 'from elsewhere'})"
        assert cli("exec", note, "--connect", f"localhost:{daemon_port}").returncode == 0
        term.wait_for("[other] event demo.note: from elsewhere")
        person_scenario(term, prompt)
    finally:
        term.close()
