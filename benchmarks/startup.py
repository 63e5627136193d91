"""Start-up time of the CLI against what it cannot avoid (issue 19: speed where users feel it).

Goals: `run FILE` / `exec CODE` <= 2x `python -c 'import lupa.lua54'`; `--version` <= 1.2x
`python -c pass`; bash completion of `llmspell st<Tab>` <= 60 ms; `--help` <= 1.3x
`python -c 'import typer'` (typer builds the help). Every command runs once per round, in turn,
so a busy machine slows references and ours alike; ratios are of medians, of wall time and of
CPU time (the child's user + system), the latter steadier when other work shares the cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _common import llmspell_argv, median, percentile, print_table


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `argv`."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed with exit code {code}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    py = sys.executable
    cli = llmspell_argv()
    home = tempfile.mkdtemp(prefix="llmspell-bench-")
    script = os.path.join(home, "hello.lua")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write('print("hello")\n')
    env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home}
    completion = {
        "_LLMSPELL_COMPLETE": "complete_bash",
        "COMP_WORDS": "llmspell st",
        "COMP_CWORD": "1",
    }
    references = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import lupa.lua54'": [py, "-c", "import lupa.lua54"],
        "python -c 'import typer'": [py, "-c", "import typer"],
    }
    # name -> (argv, extra environment, reference, goal: a ratio, or milliseconds when no reference)
    ours: dict[str, tuple[list[str], dict[str, str], str | None, float]] = {
        "llmspell --version": ([*cli, "--version"], {}, "python -c pass", 1.2),
        "llmspell exec 'return 1'": (
            [*cli, "exec", "return 1"],
            {},
            "python -c 'import lupa.lua54'",
            2.0,
        ),
        "llmspell run hello.lua": ([*cli, "run", script], {}, "python -c 'import lupa.lua54'", 2.0),
        "llmspell st<Tab> (bash)": ([*cli], completion, None, 60.0),
        "llmspell --help": ([*cli, "--help"], {}, "python -c 'import typer'", 1.3),
    }
    # A wheel install ships compiled bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would recompile our modules on every start. Compile them once.
    import compileall

    import llmspell_cli
    import llmspell_kernel

    for package in (llmspell_cli, llmspell_kernel):
        compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)
    commands = {name: (argv, env) for name, argv in references.items()}
    commands.update({name: (argv, {**env, **extra}) for name, (argv, extra, _, _) in ours.items()})
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for argv, command_env in commands.values():  # warm the page cache
        run_once(argv, command_env)
    for _ in range(runs):
        for name, (argv, command_env) in commands.items():
            wall, cpu = run_once(argv, command_env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    rows = []
    for name in commands:
        wall_ms, cpu_ms = median(walls[name]) * 1000, median(cpus[name]) * 1000
        row = [
            name,
            f"{wall_ms:.1f}",
            f"{percentile(walls[name], 0.95) * 1000:.1f}",
            f"{cpu_ms:.1f}",
        ]
        if name in references:
            rows.append([*row, "reference", "", "", ""])
            continue
        _, _, reference, goal = ours[name]
        if reference is None:
            ok = wall_ms <= goal and cpu_ms <= goal
            rows.append([*row, "", "", "", f"<= {goal:.0f} ms {'ok' if ok else 'MISSED'}"])
            continue
        wall_ratio = wall_ms / (median(walls[reference]) * 1000)
        cpu_ratio = cpu_ms / (median(cpus[reference]) * 1000)
        verdict = "ok" if max(wall_ratio, cpu_ratio) <= goal else "MISSED"
        rows.append(
            [*row, reference, f"{wall_ratio:.2f}x", f"{cpu_ratio:.2f}x", f"<= {goal}x {verdict}"]
        )
    print_table(
        f"CLI start-up (median of {runs} rounds, ms)",
        ["command", "wall", "wall p95", "CPU", "compared with", "wall ratio", "CPU ratio", "goal"],
        rows,
    )


if __name__ == "__main__":
    main()
