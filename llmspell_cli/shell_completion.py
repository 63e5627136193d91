"""Shell completion scripts for bash, zsh and fish, generated from typer and checked in under
`completions/` (regenerate with `python -m llmspell_cli.shell_completion`)."""

from __future__ import annotations

import sys
from pathlib import Path

SHELLS = {"bash": "llmspell.bash", "zsh": "_llmspell", "fish": "llmspell.fish"}


def completion_script(shell: str) -> str:
    """The completion script typer generates for `shell`."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(
        prog_name="llmspell", complete_var="_LLMSPELL_COMPLETE", shell=shell
    )


def write_all(directory: Path) -> list[Path]:
    """(Re)write every shell's script into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, filename in SHELLS.items():
        path = directory / filename
        path.write_text(completion_script(shell).rstrip("\n") + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "completions"
    )
    for written_path in write_all(target):
        print(written_path)
