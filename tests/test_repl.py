"""The REPL driven through prompt_toolkit's pipe input against a real embedded kernel."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from llmspell_cli.repl.prompt import run_repl
from llmspell_cli.repl.session import ReplSession
from llmspell_cli.repl.values import lua_literal
from llmspell_kernel.api import EmbeddedKernel, start_embedded_kernel


@pytest.fixture
def kernel() -> Iterator[EmbeddedKernel]:
    with start_embedded_kernel() as embedded:
        yield embedded


def drive(
    kernel: EmbeddedKernel, keys: str, *, history: Path | None = None
) -> tuple[str, str, ReplSession]:
    out, err = io.StringIO(), io.StringIO()
    session = ReplSession(kernel.client(), out=out, err=err)
    with create_pipe_input() as pipe:
        pipe.send_text(keys + "\x04")
        run_repl(session, input=pipe, output=DummyOutput(), history_path=history)
    return out.getvalue(), err.getvalue(), session


def test_multiline_function_then_call(kernel):
    out, err, _ = drive(kernel, "function add(a, b)\rreturn a + b\rend\radd(2, 3)\r")
    assert out == "5\n" and err == ""


def test_expression_forms_and_semicolon(kernel):
    out, _, _ = drive(kernel, "=1+1\r2*3\r4*4;\r'quoted'\r")
    assert out == '2\n6\n"quoted"\n'


def test_error_shows_location_and_tb_shows_traceback(kernel):
    out, err, _ = drive(kernel, "local function f() error('bad') end f()\r.tb\r")
    assert "error: cell[1]:1: bad" in err
    assert "stack traceback" in out


def test_invalid_input_is_sent_and_its_error_shown(kernel):
    _, err, _ = drive(kernel, "x = = 1\r")
    assert "error: cell[1]:1: unexpected symbol near '='" in err


def test_unknown_meta_command_suggests(kernel):
    _, err, _ = drive(kernel, ".varz\r")
    assert "did you mean .vars?" in err


def test_vars_lists_only_user_globals(kernel):
    out, _, _ = drive(kernel, "answer = 42\rgreet = function() end\r.vars\r")
    lines = [line.split() for line in out.splitlines()]
    assert ["answer", "number", "42"] in lines
    assert any(line[:2] == ["greet", "function"] for line in lines)
    assert not any(line and line[0] == "print" for line in lines)


def test_vars_lists_globals_other_clients_made_before_the_repl_started(kernel):
    other = kernel.client()
    execution = other.execute("made_elsewhere = 'yes'")
    execution.wait()
    assert execution.reply["status"] == "ok"
    out, _, _ = drive(kernel, "mine = 1\r.vars\r")
    names = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert names == ["made_elsewhere", "mine"]


def test_help_lists_every_meta_command(kernel):
    out, _, _ = drive(kernel, ".help\r")
    for name in (
        ".help",
        ".exit",
        ".load",
        ".save",
        ".history",
        ".vars",
        ".reset",
        ".info",
        ".time",
        ".tb",
        ".clear",
    ):
        assert name in out


def test_info_and_time(kernel):
    out, _, _ = drive(kernel, ".info\r.time\r1\r")
    assert "embedded" in out and "executions" in out
    assert "timing on" in out and " ms)" in out


def test_history_keeps_multiline_entries_and_persists(kernel, tmp_path: Path):
    history = tmp_path / "hist"
    out, _, _ = drive(kernel, "function f()\rreturn 1\rend\r.history\r", history=history)
    assert "   1  function f()" in out
    assert "return 1" in history.read_text()


def test_reset_asks_first(kernel):
    out, _, _ = drive(kernel, "kept = 1\r.reset\rn\rkept\r")
    assert "not reset" in out and out.rstrip().endswith("1")
    out, _, _ = drive(kernel, "gone = 1\r.reset\ry\rgone\r")
    assert "fresh Lua state" in out and not out.rstrip().endswith("1")


def test_load_runs_a_file_in_the_session(kernel, tmp_path: Path):
    script = tmp_path / "lib.lua"
    script.write_text("loaded_value = 99\nprint('loaded')\n")
    out, _, _ = drive(kernel, f".load {script}\rloaded_value\r")
    assert out == "loaded\n99\n"


def test_save_output_reruns_with_llmspell_run(kernel, tmp_path: Path):
    saved = tmp_path / "session.lua"
    keys = (
        "function sq(x)\rreturn x * x\rend\rsq(7)\rt = {1, 2, {a = 'b'}}\rt\r"
        "print('side effect')\rerror('skipped')\r"
        # a `return` ends only its own input; a local does not outlive its input
        "return 1, 'two'\rlocal z = 5\rprint(z)\r"
    )
    out, _, _ = drive(kernel, keys + f".save {saved}\r")
    assert f"saved 8 inputs to {saved}\n" in out
    repl_values = out.replace(f"saved 8 inputs to {saved}\n", "")
    assert repl_values.endswith('1\t"two"\nnil\n')
    cli = Path(sys.executable).parent / "llmspell"
    argv = [str(cli)] if cli.exists() else [sys.executable, "-m", "llmspell_cli"]
    done = subprocess.run([*argv, "run", str(saved)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == repl_values


def test_completion_menu_source(kernel):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from llmspell_cli.repl.prompt import KernelCompleter

    session = ReplSession(kernel.client())
    completer = KernelCompleter(session)
    found = [c.text for c in completer.get_completions(Document("string.fo"), CompleteEvent())]
    assert found == ["string.format"]
    meta = [c.text for c in completer.get_completions(Document(".he"), CompleteEvent())]
    assert meta == [".help"]


def test_values_are_lua_literals_with_limits():
    assert lua_literal({"b": [1, 2], "a": "x"}) == '{a = "x", b = {1, 2}}'
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    assert "{…}" in lua_literal(deep)
    long = list(range(200))
    assert "150 more" in lua_literal(long)


def test_debug_a_function_defined_in_the_repl(kernel):
    """.break NAME, call it, step through it at the debug> prompt, inspect, continue."""
    keys = (
        "function greet(name)\r"
        "local msg = 'hi ' .. name\r"
        "return msg .. '!'\r"
        "end\r"
        ".break greet\r"
        "greet('ada')\r"
        ".locals\r"
        ".next\r"
        ".print msg\r"
        ".bt\r"
        ".continue\r"
        ".breaks\r"
        ".delete all\r"
        "greet('bob')\r"
    )
    out, err, _ = drive(kernel, keys)
    assert err == ""
    assert "breakpoint 1 at function greet" in out
    assert "stopped (function breakpoint) at cell[1]:2 in greet" in out
    assert '  name = "ada"' in out
    assert "stopped (step) at cell[1]:3 in greet" in out
    assert '"hi ada"' in out
    assert "#1 greet at cell[1]:3" in out  # the REPL's `greet('ada')` is a tail call
    assert '"hi ada!"' in out  # the call's value once continued
    assert "1: function greet" in out
    assert "deleted all breakpoints" in out
    assert out.rstrip().endswith('"hi bob!"')  # no stop once the breakpoints are gone


def test_debug_a_line_of_an_earlier_input_with_a_condition(kernel):
    keys = (
        "function total(n)\r"
        "local s = 0\r"
        "for i = 1, n do\r"
        "s = s + i\r"
        "end\r"
        "return s\r"
        "end\r"
        ".break cell[1]:4:i == 3\r"
        "total(5)\r"
        ".print s\r"
        ".c\r"
        ".step\r"
    )
    out, err, _ = drive(kernel, keys)
    assert "breakpoint 1 at cell[1]:4" in out, out
    assert "stopped (breakpoint) at cell[1]:4 in total" in out
    assert "\n3\n" in out  # s after i = 1, 2
    assert "15\n" in out
    assert "error: .step works at a stop" in err


def test_leaving_the_repl_ends_its_debug_session(kernel):
    drive(kernel, "function greet(n) return n end\r.break greet\r")
    info = kernel.client().debug_request("debugInfo")["body"]
    assert info["isStarted"] is False and info["breakpoints"] == []


def test_catch_stops_at_an_error_raised_in_the_repl(kernel):
    keys = (
        "function check(n)\r"
        "if n > 2 then error('too big: ' .. n) end\r"
        "return n\r"
        "end\r"
        ".catch error\r"
        "check(5)\r"
        ".print n\r"
        ".c\r"
        ".catch off\r"
        "check(7)\r"
    )
    out, err, _ = drive(kernel, keys)
    assert "stopping on uncaught errors" in out
    assert "stopped (exception) at cell[1]:2 in check" in out
    assert "\n5\n" in out
    assert "errors do not stop the script" in out
    assert "error: cell[1]:2: too big: 5" in err and "error: cell[1]:2: too big: 7" in err
    assert out.count("stopped (exception)") == 1


def test_values_as_lua_shows_them(kernel):
    keys = (
        "string.format\r"  # a function: not a quoted string
        "nil\r"  # a nil value is shown ...
        "print('x')\r"  # ... no value is not
        "t = {tab = 'a\\tb', ctl = '\\1'}\r"
        "t\r"
        "help('string.format')\r"
    )
    out, err, _ = drive(kernel, keys)
    lines = out.splitlines()
    assert err == ""
    assert lines[0].startswith("function: ") and not lines[0].startswith('"')
    assert lines[1:3] == ["nil", "x"]
    assert lines[3] == '{ctl = "\\001", tab = "a\\tb"}'
    assert "string.format(fmt, ...)" in out and "Format values like C printf" in out


def test_clear_between_prompts_keeps_the_repl_going(kernel):
    out, err, _ = drive(kernel, ".clear\r1 + 1\r")
    assert err == "" and out == "\033[2J\033[H2\n"


def test_closing_keywords_dedent_their_line(kernel):
    keys = "function f(n)\rif n then\rreturn 1\relse\rreturn 2\rend\rend\rf(true)\r.history\r"
    out, err, _ = drive(kernel, keys)
    assert err == ""
    pad = " " * 6  # .history indents the lines after the first of an entry
    expected = ["function f(n)", "  if n then", "    return 1", "  else", "    return 2", "  end"]
    assert f"\n{pad}".join([*expected, "end"]) in out


def test_a_step_left_pending_does_not_stop_the_next_input(kernel):
    keys = (
        "function sq(x)\rreturn x * x\rend\r.break sq\rprint(sq(3))\r.finish\rx = 1\rprint(x + 1)\r"
    )
    out, err, _ = drive(kernel, keys)
    assert out.count("stopped") == 1, out
    assert out.rstrip().endswith("9\n2") and err == ""


def test_breakpoint_bookkeeping_and_the_debug_prompt(kernel):
    keys = (
        "function h(x)\rlocal y = x * 2\rreturn y\rend\r"
        "function greet(n) return n end\r"
        ".break h\r.break greet\r.break h\r.breaks\r"
        "h(4)\r"
        "x * 10\r"  # an expression at debug> is evaluated
        "not a command\x03"  # Ctrl-C drops the line, the stop goes on
        ".c\r"
    )
    out, err, _ = drive(kernel, keys)
    assert "breakpoint 1 at function h" in out and "breakpoint 2 at function greet" in out
    assert out.count("breakpoint 1 at function h") == 2  # the same breakpoint, not a new one
    assert "  1: function h\n  2: function greet\n" in out
    assert "\n40\n" in out
    assert out.rstrip().endswith("8") and err == ""


def test_save_to_a_bad_path_is_one_error_line_and_the_session_goes_on(kernel, tmp_path: Path):
    work = tmp_path / "work"
    target_dir = work / "out"
    target_dir.mkdir(parents=True)
    keys = f"x = 41\r.save {work}/no/such/dir/x.lua\r.save {target_dir}\r"
    as_user = os.geteuid() != 0  # root may write into a read-only directory
    if as_user:
        readonly = work / "ro"
        readonly.mkdir(mode=0o500)
        keys += f".save {readonly}/x.lua\r"
    out, err, _ = drive(kernel, keys + f"x + 1\r.save {target_dir}/ok.lua\r")
    lines = err.splitlines()
    assert lines[:2] == [
        f"error: cannot write {work}/no/such/dir/x.lua: no such directory: {work}/no/such/dir",
        f"error: cannot write {target_dir}: it is a directory",
    ]
    if as_user:
        assert lines[2] == f"error: cannot write {readonly}/x.lua: Permission denied"
    assert len(lines) == 2 + as_user
    assert out == f"42\nsaved 2 inputs to {target_dir}/ok.lua\n"
    # no temporary file anywhere, not even next to the directory
    left = sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if "home" not in p.parts
    )
    assert left == ["work", "work/out", "work/out/ok.lua"] + (["work/ro"] if as_user else [])
