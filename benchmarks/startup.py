"""Startup time of the CLI against the imports it cannot avoid (issue: foundation).

Goals: `--version` <= 1.5x `python -c pass`; `--help` <= 1.3x `import typer`;
`exec 'return 1'` <= 1.3x `import typer, lupa.lua54`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from _common import llmspell_argv, median, percentile, print_table, time_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    py = sys.executable
    cli = llmspell_argv()
    home = tempfile.mkdtemp(prefix="llmspell-bench-")
    env = {"HOME": home, "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home}
    references = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import typer'": [py, "-c", "import typer"],
        "python -c 'import typer, lupa.lua54'": [py, "-c", "import typer, lupa.lua54"],
    }
    ours = {
        "llmspell --version": ([*cli, "--version"], "python -c pass", 1.5),
        "llmspell --help": ([*cli, "--help"], "python -c 'import typer'", 1.3),
        "llmspell exec 'return 1'": (
            [*cli, "exec", "return 1"],
            "python -c 'import typer, lupa.lua54'",
            1.3,
        ),
    }
    # A wheel install ships compiled bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would recompile our modules on every start. Compile them once.
    import compileall
    import os

    import llmspell_cli
    import llmspell_kernel

    for package in (llmspell_cli, llmspell_kernel):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)
    measured: dict[str, list[float]] = {}
    for name, argv in references.items():
        measured[name] = time_command(argv, runs, env)
    rows = []
    for name in references:
        samples = measured[name]
        rows.append(
            [
                name,
                f"{median(samples) * 1000:.1f}",
                f"{percentile(samples, 0.95) * 1000:.1f}",
                "reference",
                "",
                "",
            ]
        )
    for name, (argv, reference, goal) in ours.items():
        samples = time_command(argv, runs, env)
        ratio = median(samples) / median(measured[reference])
        rows.append(
            [
                name,
                f"{median(samples) * 1000:.1f}",
                f"{percentile(samples, 0.95) * 1000:.1f}",
                reference,
                f"{ratio:.2f}x",
                f"<= {goal}x {'ok' if ratio <= goal else 'MISSED'}",
            ]
        )
    print_table(
        f"CLI startup (median of {runs} runs, ms)",
        ["command", "median ms", "p95 ms", "compared with", "ratio", "goal"],
        rows,
    )


if __name__ == "__main__":
    main()
