"""Shared fixtures: the user's real home, XDG, Jupyter and LLMSPELL_* settings never reach a test.

Two layers. At import time (before any test module is imported, so before a test class's
`setUpClass` can start a kernel) the whole session is pointed into one temporary directory;
then every test gets its own HOME and dirs inside its `tmp_path`.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

# The throwaway PostgreSQL 15 (tests/pg.py) and the fixtures that run a test on both store
# backends: defined here once, so that the whole session shares one server.
from tests.pg import pg_dsn, postgres_server, store_backend  # noqa: F401

# Search paths that would add the user's own kernelspecs and settings; dropped for the session.
DROPPED_VARIABLES = ("JUPYTER_PATH", "JUPYTER_PLATFORM_DIRS", "JUPYTER_CONFIG_PATH")


def isolated_environment(home: Path) -> dict[str, str]:
    """The variables that keep a process below `home` (HOME, every XDG and Jupyter dir)."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
    }


def _isolate_session() -> Path:
    root = Path(tempfile.mkdtemp(prefix="llmspell-tests-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    home = root / "home"
    for name, value in isolated_environment(home).items():
        Path(value).mkdir(parents=True, exist_ok=True)
        os.environ[name] = value
    os.chmod(os.environ["XDG_RUNTIME_DIR"], 0o700)
    for name in list(os.environ):
        if name.startswith("LLMSPELL_") or name in DROPPED_VARIABLES:
            del os.environ[name]
    return home


# Read before the isolation below drops every LLMSPELL_* variable: where a checkout of upstream's
# examples is (tests/test_upstream_examples.py), and whether to run its scripts that take minutes.
UPSTREAM_EXAMPLES = os.environ.get("LLMSPELL_UPSTREAM_EXAMPLES", "")
UPSTREAM_LONG = os.environ.get("LLMSPELL_UPSTREAM_LONG", "") not in ("", "0")

SESSION_HOME = _isolate_session()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keep each test away from the user's (and the other tests') home, config and dirs."""
    home = tmp_path / "home"
    home.mkdir()
    for name, value in isolated_environment(home).items():
        monkeypatch.setenv(name, value)
    for name in list(os.environ):
        if name.startswith("LLMSPELL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # The configuration an in-process CLI command or kernel installed for the provider, price
    # and RAG layers is process-wide: a test's `[rag] exact_search_threshold = 5` must not
    # reach the next test in this worker.
    from llmspell_kernel import config

    saved = list(config.configured)
    yield home
    config.configured[:] = saved


# -- no test hangs the suite --------------------------------------------------------------------
# A test that waits for an answer that never comes (a pipe read, a socket) would hold CI until
# its own time limit. Past HANG_SECONDS every thread's stack is printed on the terminal (the
# test's own output is captured) and the main thread gets a SIGINT: pytest ends the run as
# interrupted, with the summary of the failures so far. Should that SIGINT be swallowed,
# faulthandler ends the process HANG_GRACE_SECONDS later. Far longer than any test takes on a
# loaded machine, far shorter than CI's budget.
HANG_SECONDS = 600
HANG_GRACE_SECONDS = 120


def _every_stack() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        parts.append(f"Thread {names.get(ident, ident)}:\n{''.join(traceback.format_stack(frame))}")
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _no_hang(request: pytest.FixtureRequest) -> Iterator[None]:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    main = threading.main_thread().ident
    assert main is not None

    def hung() -> None:
        message = f"{request.node.nodeid} still runs after {HANG_SECONDS} s; every thread:"
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():  # as pytest's live logging writes
                reporter.write_line(f"\n{message}\n{_every_stack()}")
        signal.pthread_kill(main, signal.SIGINT)  # the main thread: its system call ends (EINTR)

    watchdog = threading.Timer(HANG_SECONDS, hung)
    watchdog.daemon = True
    watchdog.start()
    faulthandler.dump_traceback_later(HANG_SECONDS + HANG_GRACE_SECONDS, exit=True)
    try:
        yield
    finally:
        watchdog.cancel()
        faulthandler.cancel_dump_traceback_later()
        # A handler a test left behind (a foreground kernel served in-process installs its own
        # for SIGINT and SIGTERM) would swallow the next tests' Ctrl-C and this watchdog's.
        for number, handler in SESSION_SIGNAL_HANDLERS.items():
            if signal.getsignal(number) is not handler:
                signal.signal(number, handler)


# A shell without job control starts a background command (`.ci/run &` in a script) with
# SIGINT ignored, and the CLI processes the tests start inherit that: their Ctrl-C tests would
# fail for the launcher's sake. Python's own handler here gives the children the default back.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
SESSION_SIGNAL_HANDLERS = {
    number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)
}


# -- a loaded machine on request ------------------------------------------------------------------
# `pytest --cpu-load 2` keeps two cores busy with spinning processes for the whole session: the
# suite must pass like that (tests wait for the state they need, never for a fixed time).


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-load",
        type=int,
        default=0,
        metavar="N",
        help="run N CPU-bound processes for the whole session (load the machine)",
    )


def pytest_configure(config: pytest.Config) -> None:
    count = int(config.getoption("--cpu-load") or 0)
    if count <= 0 or hasattr(config, "workerinput"):  # pytest-xdist's workers: the controller spins
        return
    import subprocess
    import sys

    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]

    def stop() -> None:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()

    atexit.register(stop)
    config.add_cleanup(stop)
