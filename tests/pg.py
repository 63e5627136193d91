"""A throwaway PostgreSQL 15 for the tests (and benchmarks/state_store.py).

`initdb` and `pg_ctl` from /usr/lib/postgresql/15/bin (else from PATH), run as the postgres user
through `runuser` when we are root (PostgreSQL refuses to run as root), with the data directory
in a temporary directory of its own (the postgres user cannot enter pytest's 0700 tmp_path),
trust authentication, listening on 127.0.0.1 on a free port, its unix socket in that directory.
One server per test session (`postgres_server`); every test gets a schema of its own through
its DSN (`pg_dsn`), so tests never see each other's rows. Skipped, with the reason, only when
the binaries or psycopg are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port_block

PG_BIN = Path(os.environ.get("LLMSPELL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _binary(name: str) -> str | None:
    candidate = PG_BIN / name
    return str(candidate) if candidate.is_file() else shutil.which(name)


def missing() -> str | None:
    """Why no server can be started here (None when it can)."""
    if _binary("initdb") is None or _binary("pg_ctl") is None:
        return f"PostgreSQL's initdb/pg_ctl are not installed (looked in {PG_BIN} and PATH)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser (to start PostgreSQL as the postgres user) is not installed"
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        return f"the postgres extra is not installed ({exc}): pip install -e '.[postgres]'"
    return None


def _free_port() -> int:
    return free_port_block(1)  # outside the ephemeral range (tests/processes.py)


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, started and stopped with pg_ctl."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="llmspell-pg-"))
        self.data = self.home / "data"
        self.port = 0
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")

    def _run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.home,
            check=False,
        )

    def start(self) -> None:
        """initdb (once) and start; raises RuntimeError with PostgreSQL's own words."""
        if not self.data.exists():
            made = self._run(
                str(_binary("initdb")), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            if made.returncode != 0:
                raise RuntimeError(f"initdb failed: {made.stderr.strip()[-300:]}")
        for _attempt in range(3):  # a free port can be taken before the server binds it
            self.port = _free_port()
            started = self._pg_ctl("start")
            if started.returncode == 0:
                return
        log = (
            (self.home / "log").read_text(errors="replace") if (self.home / "log").exists() else ""
        )
        raise RuntimeError(f"PostgreSQL did not start: {(started.stdout + log).strip()[-300:]}")

    def _pg_ctl(self, action: str, *extra: str) -> subprocess.CompletedProcess[str]:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.home} -c fsync=off -c max_connections=200"
        )
        return self._run(
            str(_binary("pg_ctl")), "-D", str(self.data), "-o", options,
            "-l", str(self.home / "log"), "-w", "-t", "90", *extra, action,
        )  # fmt: skip

    def restart(self) -> None:
        """`pg_ctl restart` (fast mode: clients are disconnected, committed data stays)."""
        done = self._pg_ctl("restart", "-m", "fast")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {done.stderr.strip()[-300:]}")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def close(self) -> None:
        """Stop the server and remove its directory."""
        if self.data.exists():
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, schema: str | None = None) -> str:
        """A DSN as the postgres user; with `schema`, one whose tables live in that schema."""
        base = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return base if schema is None else f"{base}?options=-csearch_path%3D{schema}"

    def new_schema(self) -> str:
        """A DSN of a fresh, empty schema."""
        import psycopg

        schema = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return self.url(schema)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL 15 (skipped with the reason when it cannot exist here)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> str:
    """A DSN of an empty schema of the session's server, for this test alone."""
    return postgres_server.new_schema()


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> str:
    """Run the test once on SQLite and once on PostgreSQL (through the environment, so every
    configuration the test loads and every process it starts uses that backend)."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv("LLMSPELL_STATE_BACKEND", "postgres")
        monkeypatch.setenv("LLMSPELL_STATE_DSN", server.new_schema())
    return str(request.param)
