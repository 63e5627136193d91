"""The start-up fast path of `run`/`exec`/`kernel stop` (llmspell_cli/fast_path.py): it imports
no CLI framework, and every option typer accepts for those commands means the same on it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmspell_cli import fast_path
from llmspell_cli.commands import run as run_module
from llmspell_cli.main import app, load_command

runner = CliRunner()

ENV_NAMES = ("LLMSPELL_CONFIG", "LLMSPELL_TRACE", "LLMSPELL_OUTPUT", "LLMSPELL_MODEL_OVERRIDE")

# Imported by a plain run/exec, these cost more than the kernel does (typer with click and rich
# about 70% of `exec 'return 1'`; typing, pathlib, re, datetime and ctypes together a fifth).
FRAMEWORK = ("typer", "click", "rich")
STARTUP_STDLIB = ("typing", "pathlib", "re", "datetime", "ctypes", "json", "yaml", "sqlite3")


def _modules_imported_by(argv: list[str], cwd: Path) -> list[str]:
    """Modules that main() imports for `argv` (those the interpreter had loaded are left out)."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from llmspell_cli.__main__ import main\n"
        f"sys.argv = ['llmspell', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "sys.stderr.write(repr(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stderr.splitlines()[-1])


def _top_level(modules: list[str]) -> set[str]:
    return {name.split(".", 1)[0] for name in modules}


@pytest.mark.parametrize("kind", ["exec", "run"])
def test_plain_run_and_exec_import_no_cli_framework(kind: str, tmp_path: Path) -> None:
    script = tmp_path / "hello.lua"
    script.write_text('print("hi") return 1\n', encoding="utf-8")
    argv = ["exec", "return 1"] if kind == "exec" else ["run", str(script), "--", "a"]
    loaded = _top_level(_modules_imported_by(argv, tmp_path))
    assert loaded.isdisjoint(FRAMEWORK), sorted(loaded & set(FRAMEWORK))
    assert loaded.isdisjoint(STARTUP_STDLIB), (
        f"{sorted(loaded & set(STARTUP_STDLIB))} joined the start-up path of `llmspell {kind}`: "
        "import them where they are used (`python -X importtime` shows who imports them)"
    )


def test_other_commands_and_help_still_go_through_typer() -> None:
    for argv in (
        ["exec", "--help"],
        ["run", "-h"],
        ["exec"],
        ["exec", "a", "b"],
        ["run"],
        ["exec", "--nope", "x"],
        ["exec", "--timeout", "soon", "x"],
        ["exec", "--timeout"],
        ["--output", "toml", "exec", "x"],
        ["--version", "exec", "x"],
        ["-cfile.toml", "exec", "x"],
        ["state", "list"],
        ["repl"],
    ):
        assert fast_path.parse(argv, {}) is None, argv
    assert fast_path.parse(["exec", "x"], {"_LLMSPELL_COMPLETE": "complete_bash"}) is None
    assert fast_path.parse(["exec", "x"], {"LLMSPELL_TRACE": "loud"}) is None


class _Calls:
    """Stands in for run_module.run / exec_ and records what each path passed."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def record(self, kind: str) -> Any:
        def command(opts: Any, *positional: Any, **options: Any) -> int:
            self.calls.append(
                {
                    "kind": kind,
                    "config": opts.config_path,
                    "trace": opts.trace,
                    "output": opts.output,
                    "trace_explicit": opts.trace_explicit,
                    "positional": [list(p) if isinstance(p, list) else p for p in positional],
                    **options,
                }
            )
            return 0

        return command


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> _Calls:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    recorder = _Calls()
    monkeypatch.setattr(run_module, "run", recorder.record("run"))
    monkeypatch.setattr(run_module, "exec_", recorder.record("exec"))
    return recorder


def _both(calls: _Calls, argv: list[str], env: dict[str, str] | None = None) -> list[Any]:
    """What typer and the fast path each passed to the command for `argv`."""
    result = runner.invoke(app, argv, env=env)
    assert result.exit_code == 0, (argv, result.output)
    through_typer = calls.calls.pop()
    command = fast_path.parse(argv, env or {})
    assert command is not None, f"the fast path does not take {argv}"
    assert command() == 0
    return [through_typer, calls.calls.pop()]


def _sample(param: Any) -> str:
    """A value typer accepts for an option, unlike its default."""
    if param.type.name == "float":
        return "2.5"
    return f"{param.name}-value"


def _option_cases(name: str) -> list[tuple[str, list[str], dict[str, str] | None]]:
    """(label, argv after the command word, env) for every option of `name` and the root."""
    command = load_command(name)
    cases: list[tuple[str, list[str], dict[str, str] | None]] = []
    params = [p for p in command.params if p.param_type_name == "option"]
    assert {p.name for p in params} == set(run_module.RUN_OPTIONS), "run/exec options changed"
    for param in params:
        value = _sample(param)
        for flag in param.opts:
            cases.append((f"{flag} value", [flag, value], None))
            if flag.startswith("--"):
                cases.append((f"{flag}=value", [f"{flag}={value}"], None))
        if param.envvar:
            cases.append((f"${param.envvar}", [], {param.envvar: value}))
            cases.append(
                (f"flag over ${param.envvar}", [param.opts[0], value], {param.envvar: "x"})
            )
            cases.append((f"empty ${param.envvar}", [], {param.envvar: ""}))
        cases.append((f"{param.opts[0]} twice", [param.opts[0], "1", param.opts[0], value], None))
    return cases


GLOBAL_CASES = [
    ["--config", "a.toml"],
    ["-c", "a.toml"],
    ["--config=a.toml"],
    ["--trace", "INFO"],
    ["--trace=debug"],
    ["--output", "yaml"],
    ["--output=JSON", "--trace", "off"],
]


@pytest.mark.parametrize("name", ["run", "exec"])
def test_every_option_typer_accepts_means_the_same_on_the_fast_path(
    name: str, calls: _Calls
) -> None:
    positional = ["script.lua"] if name == "run" else ["return 1"]
    for label, options, env in _option_cases(name):
        typer_call, fast_call = _both(calls, [name, *positional, *options], env)
        assert fast_call == typer_call, label
        before = _both(calls, [name, *options, *positional], env)
        assert before[0] == before[1], f"{label} before the argument"
    for options in GLOBAL_CASES:
        front = _both(calls, [*options, name, *positional])
        assert front[0] == front[1], options
        after = _both(calls, [name, *positional, *options])  # global options go anywhere
        assert after[0] == after[1], options
    for env in ({"LLMSPELL_TRACE": "info"}, {"LLMSPELL_OUTPUT": "yaml"}, {"LLMSPELL_CONFIG": "b"}):
        from_env = _both(calls, [name, *positional], env)
        assert from_env[0] == from_env[1], env


def test_script_arguments_and_double_dash_are_read_as_typer_reads_them(calls: _Calls) -> None:
    for argv in (
        ["run", "s.lua", "a", "b"],
        ["run", "s.lua", "--", "--timeout", "3", "--output", "json"],
        ["run", "--", "s.lua", "-x"],
        ["run", "s.lua", "x", "--timeout", "1", "y"],
        ["run", "-", "--session", "--"],
        ["exec", "--", "--help"],
        ["exec", "-"],
    ):
        typer_call, fast_call = _both(calls, argv)
        assert fast_call == typer_call, argv


def test_kernel_stop_imports_no_cli_framework(tmp_path: Path) -> None:
    # No kernel runs under the test's isolated runtime dir: "no kernels running", exit 0.
    loaded = _top_level(_modules_imported_by(["kernel", "stop"], tmp_path))
    assert loaded.isdisjoint(FRAMEWORK), sorted(loaded & set(FRAMEWORK))


@pytest.mark.slow
def test_stopping_a_running_kernel_imports_neither_pyzmq_nor_subprocess(tmp_path: Path) -> None:
    from tests.processes import daemon_kernel

    with daemon_kernel("lean"):
        loaded = _modules_imported_by(["kernel", "stop", "lean"], tmp_path)
    # pyzmq, our full client and subprocess (with locale, selectors) were a third of the
    # command's 100 ms (issue 19): one shutdown request needs none of them
    unwanted = {"zmq", "subprocess", "typing", "llmspell_kernel.client", *FRAMEWORK}
    assert unwanted.isdisjoint(loaded), sorted(unwanted & set(loaded))
    assert "llmspell_kernel.transport.zmtp" in loaded


def test_kernel_stop_means_the_same_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmspell_cli import kernel_service

    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    seen: list[dict[str, Any]] = []

    def stop_kernels(opts: Any, **options: Any) -> int:
        seen.append({"output": opts.output, "trace": opts.trace, **options})
        return 0

    monkeypatch.setattr(kernel_service, "stop_kernels", stop_kernels)
    for argv in (
        ["kernel", "stop"],
        ["kernel", "stop", "abc123"],
        ["kernel", "stop", "--all"],
        ["kernel", "stop", "--force", "abc123"],
        ["kernel", "stop", "abc123", "--force", "--all", "--force"],
        ["--output", "json", "kernel", "stop", "--all"],
        ["kernel", "stop", "--trace=info", "x"],
        ["kernel", "stop", "--", "x"],
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, (argv, result.output)
        command = fast_path.parse(argv, {})
        assert command is not None, f"the fast path does not take {argv}"
        assert command() == 0
        assert seen.pop() == seen.pop(), argv
    for argv in (
        ["kernel", "stop", "a", "b"],
        ["kernel", "stop", "--all=yes"],
        ["kernel", "stop", "--help"],
        ["kernel", "status"],
        ["kernel"],
        ["state", "set", "kernel", "stop"],
    ):
        assert fast_path.parse(argv, {}) is None, argv


def _complete(env: dict[str, str], *, through_typer: bool) -> str:
    entry = "from llmspell_cli.main import app; app(prog_name='llmspell')"
    if not through_typer:
        entry = "import sys; from llmspell_cli.__main__ import main; main([])"
    code = "import sys\n" + entry + "\nprint(sorted(m for m in sys.modules if 'typer' in m))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    if not through_typer:
        # The fast path returns; typer exits before the modules are printed.
        assert done.stdout.endswith("[]\n"), done.stdout
        return done.stdout[: -len("[]\n")]
    return done.stdout


@pytest.mark.parametrize("words", ["llmspell st", "llmspell ", "llmspell s", "llmspell zz"])
def test_bash_completion_of_a_command_name_matches_typer_without_importing_it(words: str) -> None:
    env = {"_LLMSPELL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "1"}
    assert _complete(env, through_typer=False) == _complete(env, through_typer=True)
    assert fast_path.complete({**env, "COMP_CWORD": "2"}) is None  # arguments: typer
    assert fast_path.complete({**env, "COMP_WORDS": "llmspell --tr"}) is None  # options: typer
