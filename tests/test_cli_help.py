"""The command tree: every command is listed, loads on demand and teaches with --help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from llmspell_cli.main import COMMANDS, app

runner = CliRunner()


def test_root_help_lists_every_command_with_its_summary() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name, (_module, summary) in COMMANDS.items():
        assert f"  {name} " in result.output
        assert summary in " ".join(result.output.split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_loads_and_has_help(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: llmspell {name}" in " ".join(result.output.split())
    assert "--install-completion" not in result.output  # only the root offers it


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output


def test_exec_path_imports_no_other_command_module() -> None:
    code = (
        "import sys\n"
        "from llmspell_cli.__main__ import main\n"
        "sys.argv = ['llmspell', 'exec', 'return 1']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('zmq', 'prompt_toolkit', 'jupyter_client', 'yaml', 'sqlite3', 'json', 'rich')\n"
        "loaded = [m for m in sys.modules if m.startswith('llmspell_cli.commands.')]\n"
        "print(sorted(loaded), [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "['llmspell_cli.commands.run'] []"
