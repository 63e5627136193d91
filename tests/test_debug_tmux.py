"""End to end: a person debugs a script with `llmspell debug` in a real terminal (tmux)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.test_repl_tmux import environment, llmspell
from tests.tmux_driver import TmuxSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

SCRIPT = """\
local function greet(name)
  local text = "hello " .. name
  return text
end
local names = { "ada", "lin" }
for _, n in ipairs(names) do
  print(greet(n))
end
"""


def test_person_steps_through_a_script_in_the_terminal(isolated_home: Path, tmp_path: Path):
    (tmp_path / "script.lua").write_text(SCRIPT)
    term = TmuxSession(
        [*llmspell(), "debug", "script.lua", "--break", "script.lua:5"],
        {**environment(isolated_home), "PWD": str(tmp_path)},
    )
    try:
        screen = term.wait_for("debug>")
        assert "stopped (breakpoint) at script.lua:5" in screen
        term.line(".next")
        term.wait_for("stopped (step) at script.lua:6")
        term.line(".locals")
        term.wait_for('names = {"ada", "lin"}')
        term.line(".step")
        term.wait_for("stopped (step) at script.lua:7")
        term.line(".step")
        term.wait_for("stopped (step) at script.lua:2 in greet")
        term.line(".print name:upper()")
        term.wait_for('"ADA"')
        term.line(".bt")
        term.wait_for("#2 main chunk at script.lua:7")
        term.line(".finish")
        term.wait_for("hello ada")
        term.line(".break 3")
        term.wait_for("breakpoint 2 at script.lua:3")
        term.line(".continue")
        term.wait_for("stopped (breakpoint) at script.lua:3")
        term.line(".print text")
        term.wait_for('"hello lin"')
        term.line(".delete all")
        term.line(".continue")
        term.wait_for("hello lin")
        deadline = time.monotonic() + 10
        while not term.dead() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.dead(), "the debugger should exit when the script ends"
    finally:
        term.close()
