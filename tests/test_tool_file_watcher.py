"""file_watcher on real files in tmp_path: a writer thread keeps changing files until the
watcher returns (so the test does not depend on when the watcher's first look happens)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.test_tools import allowed, failure, make_engine, run

__all__ = ["allowed"]


@contextmanager
def changing(step: Callable[[int], None]) -> Iterator[None]:
    """Call step(0), step(1), ... every 30 ms until the block ends."""
    done = threading.Event()

    def loop() -> None:
        n = 0
        while not done.wait(0.03):
            step(n)
            n += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def _watch(params: str) -> str:
    return f'return Tool.invoke("file_watcher", {{{params}}})'


def test_reports_created_files_matching_the_pattern(allowed: Path):
    engine, _ = make_engine(allowed)

    def create(n: int) -> None:
        (allowed / f"skip{n}.tmp").write_text("x")
        (allowed / f"new{n}.txt").write_text("x")

    with changing(create):
        r = run(
            engine,
            _watch(
                f'path = "{allowed}", pattern = "*.txt", timeout_seconds = 60, interval_ms = 20'
            ),
        )
    result = r["result"]
    assert result["changed"] is True and result["events"]
    assert {e["kind"] for e in result["events"]} == {"created"}
    assert all(e["path"].startswith(f"{allowed}/new") for e in result["events"])


def test_modified_and_deleted_files_and_recursion(allowed: Path):
    engine, _ = make_engine(allowed)
    log = allowed / "sub" / "app.log"
    log.parent.mkdir()
    log.write_text("start\n")

    def append(_n: int) -> None:
        with open(log, "a") as handle:
            handle.write("line\n")

    with changing(append):
        flat = run(engine, _watch(f'path = "{allowed}", timeout_seconds = 0.3'))["result"]
        deep = run(engine, _watch(f'path = "{allowed}", recursive = true, events = {{"modified"}}, timeout_seconds = 60'))  # fmt: skip
        single = run(engine, _watch(f'path = "{log}", timeout_seconds = 60'))
    assert flat["changed"] is False and flat["events"] == {}  # an empty Lua table
    assert deep["result"]["events"] == [{"kind": "modified", "path": f"{allowed}/sub/app.log"}]
    assert single["result"]["events"] == [{"kind": "modified", "path": str(log)}]
    victims = [allowed / f"old{n}.txt" for n in range(200)]
    for victim in victims:
        victim.write_text("x")
    with changing(lambda n: victims[n].unlink(missing_ok=True) if n < len(victims) else None):
        gone = run(
            engine, _watch(f'path = "{allowed}", events = {{"deleted"}}, timeout_seconds = 60')
        )
    assert {e["kind"] for e in gone["result"]["events"]} == {"deleted"}


def test_gate_and_bounds(allowed: Path, tmp_path: Path):
    engine, _ = make_engine(allowed)
    assert "tools.file_operations.allowed_paths" in failure(engine, _watch(f'path = "{tmp_path}"'))
    assert "between 0 and 300" in failure(
        engine, _watch(f'path = "{allowed}", timeout_seconds = 301')
    )
    assert "may hold created, modified, deleted" in failure(engine, _watch(f'path = "{allowed}", events = {{"moved"}}'))  # fmt: skip
    none = run(engine, _watch(f'path = "{allowed}/later.txt", timeout_seconds = 0'))
    assert none["result"]["changed"] is False and none["message"].startswith("no change in")
