"""`llmspell run` / `exec` through the real CLI (typer's CliRunner and real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from llmspell_cli.main import app

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_exec_prints_stream_then_readable_table():
    result = invoke("exec", 'print("hi") return {a=1, b={2,3}}')
    assert result.exit_code == 0, result.output
    assert result.stdout == "hi\n{a = 1, b = {2, 3}}\n"


def test_exec_json_output_is_one_document():
    result = invoke("exec", 'print("hi") return {a=1, b={2,3}}', "--output", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["stdout"] == "hi\n"
    assert document["result"] == {"a": 1, "b": [2, 3]}
    assert document["status"] == "ok"
    assert set(document) >= {
        "status",
        "stdout",
        "stderr",
        "result",
        "error",
        "execution_count",
        "duration_ms",
    }


def test_global_output_option_before_subcommand_and_yaml():
    result = invoke("--output", "yaml", "exec", "return 'x'")
    assert yaml.safe_load(result.stdout)["result"] == "x"


def test_exec_reads_stdin_with_dash():
    result = invoke("exec", "-", input="return 40 + 2\n")
    assert result.stdout == "42\n"


def test_string_result_is_printed_raw():
    assert invoke("exec", 'return "plain text"').stdout == "plain text\n"


def test_run_script_with_args(tmp_path: Path):
    script = tmp_path / "args.lua"
    script.write_text(
        'print(ARGS.name, ARGS.flag, ARGS[1], ARGS[0])\nreturn ARGS.name == "x" and ARGS.flag == "true"'
    )
    result = invoke("run", str(script), "--", "--name", "x", "--flag", "pos1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "x\ttrue\tpos1\targs.lua\ntrue\n"


def test_run_example_hello():
    root = Path(__file__).resolve().parent.parent
    result = invoke("run", str(root / "examples" / "hello.lua"), "--", "--name", "Ada")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Hello, Ada!\n")


def test_runtime_error_is_one_line_with_script_location(tmp_path: Path):
    (tmp_path / "hello.lua").write_text("local x = 1\n\nfoo()\n")
    result = invoke("run", "hello.lua")
    assert result.exit_code == 1
    assert result.stderr == "error: hello.lua:3: attempt to call a nil value (global 'foo')\n"
    assert "Traceback" not in result.output


def test_syntax_error_exits_1(tmp_path: Path):
    (tmp_path / "bad.lua").write_text("x = = 1\n")
    result = invoke("run", "bad.lua")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: bad.lua:1:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_script_exits_2():
    result = invoke("run", "nope.lua")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: script not found: nope.lua")


def test_bad_option_exits_2():
    result = invoke("exec", "return 1", "--no-such-option")
    assert result.exit_code == 2


def test_unknown_engine_exits_2():
    result = invoke("exec", "return 1", "--engine", "js")
    assert result.exit_code == 2
    assert "unknown engine 'js'" in result.stderr


def test_broken_config_exits_3(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text("[runtime]\nscript_timeout_seconds = 'soon'\n")
    result = invoke("exec", "return 1", "--config", str(config))
    assert result.exit_code == 3
    assert "runtime.script_timeout_seconds" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_config_file_exits_3():
    result = invoke("--config", "missing.toml", "exec", "return 1")
    assert result.exit_code == 3


def test_timeout_ends_loop_and_pcall_cannot_swallow_it():
    for code in ("while true do end", "pcall(function() while true do end end)"):
        started = time.monotonic()
        result = invoke("exec", code, "--timeout", "1")
        elapsed = time.monotonic() - started
        assert result.exit_code == 1
        assert "timed out" in result.stderr
        assert 0.9 < elapsed < 2.5


def test_timeout_from_config_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LLMSPELL_RUNTIME_SCRIPT_TIMEOUT_SECONDS", "0.5")
    result = invoke("exec", "while true do end")
    assert result.exit_code == 1 and "timed out after 0.5 s" in result.stderr


def test_memory_limit_is_an_error_not_an_oom_kill():
    result = invoke("exec", "local t={} for i=1,1e9 do t[i]=i end")
    assert result.exit_code == 1
    assert "memory limit exceeded" in result.stderr


def test_os_exit_code_is_the_process_exit_code():
    assert invoke("exec", "os.exit(7)").exit_code == 7


@pytest.mark.parametrize(
    ("code", "capability"),
    [
        ('os.execute("true")', "os.execute"),
        ('io.popen("ls")', "io.popen"),
        ('require("socket")', "require"),
        ("debug.sethook()", "debug library"),
        ('python.eval("1")', "python bridge"),
        ("string.dump(print)", "string.dump"),
        ('("").dump(print)', "string.dump"),
    ],
)
def test_safe_level_escape_routes_fail_clearly(code: str, capability: str):
    result = invoke("exec", code)
    assert result.exit_code == 1
    assert capability in result.stderr and "security level 'safe'" in result.stderr


def test_trace_debug_shows_lua_traceback(tmp_path: Path):
    (tmp_path / "t.lua").write_text("local function f() error('deep') end\nf()\n")
    result = invoke("run", "t.lua", "--trace", "debug")
    assert result.exit_code == 1
    assert "stack traceback" in result.stderr


def test_debug_logs_go_to_stderr_not_stdout():
    result = invoke("exec", 'Debug.warn("careful", "mod") print("out")')
    assert result.stdout == "out\n"
    assert "[WARN] [mod] careful" in result.stderr


def test_version_and_help():
    assert invoke("--version").stdout.startswith("llmspell ")
    result = invoke("run", "--help")
    assert result.exit_code == 0 and "ARGS" in result.stdout


def _cli() -> list[str]:
    candidate = Path(sys.executable).parent / "llmspell"
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "llmspell_cli"]


@pytest.mark.slow
def test_sigint_interrupts_running_script_with_exit_130(tmp_path: Path):
    script = tmp_path / "loop.lua"
    script.write_text('print("started")\nwhile true do end\n')
    proc = subprocess.Popen(
        [*_cli(), "run", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=5)
    elapsed = time.monotonic() - sent
    assert code == 130
    assert elapsed < 0.5
    assert "Traceback" not in proc.stderr.read()


@pytest.mark.slow
def test_console_script_runs_exec():
    done = subprocess.run(
        [*_cli(), "exec", "return 1 + 1"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and done.stdout == "2\n"


def test_shell_completion_completes_commands(monkeypatch: pytest.MonkeyPatch):
    env = {
        **os.environ,
        "_LLMSPELL_COMPLETE": "complete_bash",
        "COMP_WORDS": "llmspell ex",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(_cli(), capture_output=True, text=True, env=env, timeout=30)
    assert "exec" in done.stdout.split()


def test_checked_in_completions_are_up_to_date():
    from llmspell_cli.shell_completion import SHELLS, completion_script

    root = Path(__file__).resolve().parent.parent / "completions"
    for shell, filename in SHELLS.items():
        expected = completion_script(shell).rstrip("\n") + "\n"
        assert (root / filename).read_text() == expected, f"regenerate completions/{filename}"


def test_help_text_is_printed_by_exec():
    from tests.data_helpers import cli

    result = cli("exec", 'help("string.format")')
    assert result.exit_code == 0
    assert result.output.startswith("string.format(fmt, ...)\n")


def test_show_completion_prints_the_named_shells_script():
    root = Path(__file__).resolve().parent.parent
    for shell, shipped in (
        ("zsh", "_llmspell"),
        ("fish", "llmspell.fish"),
        ("bash", "llmspell.bash"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "llmspell_cli", "--show-completion", shell],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == (root / "completions" / shipped).read_text(), shell
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_cli", "--show-completion", "tcsh"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr == "error: no completion for shell 'tcsh' (one of: bash, zsh, fish)\n"
