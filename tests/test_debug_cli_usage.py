"""`llmspell debug` usage errors: one `error:` line on stderr, exit 2, nothing run."""

from __future__ import annotations

import io
from pathlib import Path

from llmspell_cli.repl.session import ReplSession
from llmspell_kernel.api import start_embedded_kernel
from tests.processes import llmspell


def test_break_condition_that_does_not_compile_is_a_usage_error(tmp_path: Path):
    script = tmp_path / "f.lua"
    script.write_text('local n = 1\nn = n + 1\nprint("ran")\n')
    done = llmspell("debug", "--break", f"{script}:2:n >", str(script), stdin="")
    assert done.returncode == 2
    assert done.stdout == ""  # no breakpoint report, and the script did not run
    assert done.stderr == (
        f"error: breakpoint '{script}:2:n >': the condition does not compile"
        " (syntax error near '>')\n"
    )


def test_break_condition_that_compiles_still_stops(tmp_path: Path):
    script = tmp_path / "f.lua"
    script.write_text('local n = 1\nn = n + 1\nprint("ran")\n')
    done = llmspell("debug", "--break", f"{script}:2:n == 1", str(script), stdin=".c\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"breakpoint 1 at {script.name}:2\n")
    assert "ran\n" in done.stdout


def test_repl_break_with_a_bad_condition_is_an_error_line_and_the_repl_goes_on():
    with start_embedded_kernel() as kernel:
        out, err = io.StringIO(), io.StringIO()
        session = ReplSession(kernel.client(), out=out, err=err)
        session.handle("x = 1")
        session.handle(".break cell[1]:1:x ==")
        session.handle(".breaks")
        assert "the condition does not compile" in out.getvalue() + err.getvalue()
        assert "breakpoint 1" not in out.getvalue()
