"""What the README tells a new user: its example files exist and run, and its notes hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port_block, llmspell

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_scripts_the_readme_runs_from_the_repo_are_shipped():
    """Examples (examples/*.lua) and the kernel section's script, whose commands run as is."""
    kernel_section = README.split("## A kernel that stays up", 1)[1]
    kernel_commands = kernel_section.split("```bash\n", 1)[1].split("```", 1)[0]
    named = set(re.findall(r"llmspell run (examples/\S+\.lua)", README))
    named |= set(re.findall(r"llmspell run (\S+\.lua)", kernel_commands))
    assert "examples/counter.lua" in named
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []


def test_readme_says_jupyter_console_is_its_own_package():
    assert "pip install jupyter-console" in README


@pytest.fixture
def kernel_port(isolated_home: Path) -> Iterator[int]:
    port = free_port_block()
    started = llmspell("kernel", "start", "--daemon", "--port", str(port), "--id", "readme")
    assert started.returncode == 0, started.stderr
    try:
        yield port
    finally:
        llmspell("kernel", "stop", "--all", "--force")


@pytest.mark.slow
def test_the_kernel_example_keeps_counter_between_commands(kernel_port: int):
    address = f"localhost:{kernel_port}"
    script = str(ROOT / "examples" / "counter.lua")
    for run in (1, 2):
        done = llmspell("run", script, "--connect", address, "--", "--name", "x")
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert done.stdout == f"hello x: run {run} on this kernel\n{run}\n"
    assert llmspell("exec", "return counter", "--connect", address).stdout == "2\n"


def test_connect_to_an_address_without_a_connection_file_says_what_is_needed():
    done = llmspell("exec", "return 1", "--connect", "192.0.2.1:9555")
    assert done.returncode == 4 and done.stdout == ""
    error, hint = done.stderr.splitlines()
    assert error.startswith("error: no kernel known at 192.0.2.1:9555 (no matching connection file")
    assert hint == (
        "hint: HOST:PORT reads the kernel's key from its connection file on this machine; for a"
        " kernel elsewhere, copy its kernel-*.json here and pass that path (or start one here"
        " with `llmspell kernel start --port PORT`)"
    )
    assert "works only when the matching connection file exists on\nthis machine" in README
