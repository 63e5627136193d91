"""A script that hits the memory limit fails no slower than it would finish without it (issue 19,
goal 5). Each case runs on a fresh LuaEngine twice per round, in turn: without a limit (it
finishes, its heap peaking a little above the limit) and under `max_memory_bytes` (it fails with
`memory limit exceeded`); CPU time of this process, median of the rounds; the ratio is the median
of each round's ratio (the two runs of a round see the same load).
"""

from __future__ import annotations

import argparse
import time

from _common import median, print_table

from llmspell_kernel.lua.engine import EngineSettings, LuaEngine

LIMIT = 50 * 1024 * 1024
# Each peaks at about 56 MB without a limit.
CASES = {
    "table of 64-byte strings": (
        "local t, s = {}, string.rep('x', 56) for i = 1, 620000 do t[i] = s .. i end return #t"
    ),
    "one string doubled": (
        "local s = string.rep('x', 1200) for i = 1, 15 do s = s .. s end return #s"
    ),
    "nested tables": ("local t = {} for i = 1, 400000 do t[i] = {i, i + 1, {x = i}} end return #t"),
}


def _run(code: str, limit: int) -> tuple[float, str]:
    engine = LuaEngine(EngineSettings(max_memory_bytes=limit))
    started = time.process_time()
    outcome = engine.execute(code)
    elapsed = time.process_time() - started
    return elapsed, outcome.status if outcome.status == "ok" else str(outcome.ename)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    rounds = parser.parse_args().rounds
    rows = []
    for name, code in CASES.items():
        finish, fail = [], []
        for _ in range(rounds):
            seconds, status = _run(code, 0)
            assert status == "ok", (name, status)
            finish.append(seconds)
            seconds, status = _run(code, LIMIT)
            assert status == "MemoryError", (name, status)
            fail.append(seconds)
        ratio = median([a / b for a, b in zip(fail, finish, strict=True)])  # paired by round
        rows.append(
            [
                name,
                f"{median(finish) * 1000:.0f}",
                f"{median(fail) * 1000:.0f}",
                f"{ratio:.2f}x",
                f"<= 1x {'ok' if ratio <= 1 else 'MISSED'}",
            ]
        )
    print_table(
        f"Failing at the {LIMIT >> 20} MB limit vs finishing without it (CPU ms, median of {rounds})",
        ["script", "finishes (no limit)", "fails (limit)", "fail / finish", "goal"],
        rows,
    )


if __name__ == "__main__":
    main()
